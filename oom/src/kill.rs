//! Killing a cgroup: `cgroup.kill` (kernel 5.14+), else `SIGKILL` to every pid of the
//! subtree until no new ones appear, then waiting until the cgroup is empty.
//!
//! systemd 248 only has the `SIGKILL` loop (`cgroup.kill` came with v250). The fallback
//! here is the same loop; `cgroup.kill` is preferred because it cannot race with forks.
//!
//! # References
//! - <https://docs.kernel.org/admin-guide/cgroup-v2.html> (`cgroup.kill`, `cgroup.events`)

use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;

/// How the processes were killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KillMethod {
    /// `1` written to `cgroup.kill`.
    CgroupKill,
    /// `SIGKILL` sent to each pid.
    SigkillEach,
}

/// What [`kill_cgroup`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct KillReport {
    /// The cgroup directory.
    pub dir: PathBuf,
    /// The method used.
    pub method: KillMethod,
    /// Pids signalled ([`KillMethod::SigkillEach`] only).
    pub signalled: Vec<i32>,
    /// Processes found in the subtree before the kill.
    pub found: usize,
    /// The cgroup was seen empty within the timeout.
    pub emptied: bool,
    /// How long the kill and its confirmation took.
    pub waited: Duration,
    /// The new value of the `user.oomd_kill` xattr (incremented by [`KillReport::found`]
    /// as systemd 248 does); `None` when it could not be updated.
    pub kill_counter: Option<u64>,
}

/// A cgroup could not be killed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KillError {
    /// A cgroup file could not be read or written.
    #[error("cannot access {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `cgroup.procs` holds something that is not a pid.
    #[error("{}:{line}: not a pid", path.display())]
    BadPid {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
    },
    /// `kill(2)` failed with something other than `ESRCH`.
    #[error("cannot send SIGKILL to pid {pid}")]
    Signal {
        /// The pid.
        pid: i32,
        /// The cause.
        #[source]
        errno: Errno,
    },
}

/// Options of [`kill_cgroup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct KillOptions {
    /// Skip `cgroup.kill` even where the kernel has it.
    pub force_sigkill_each: bool,
    /// How long to wait for the cgroup to empty.
    pub confirm_timeout: Duration,
}

impl Default for KillOptions {
    fn default() -> Self {
        Self {
            force_sigkill_each: false,
            confirm_timeout: Duration::from_secs(1),
        }
    }
}

/// Parses `cgroup.procs` text. `path` names the file in errors.
///
/// # Errors
/// [`KillError::BadPid`] naming the line.
pub fn parse_procs(text: &str, path: &Path) -> Result<Vec<i32>, KillError> {
    let mut out = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() {
            continue;
        }
        match l.parse::<i32>() {
            Ok(p) if p > 0 => out.push(p),
            _ => {
                return Err(KillError::BadPid {
                    path: path.to_path_buf(),
                    line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                });
            }
        }
    }
    Ok(out)
}

/// Every pid in the subtree rooted at `dir` (vanished cgroups are skipped).
///
/// # Errors
/// [`KillError`] when a directory or `cgroup.procs` cannot be read.
pub fn subtree_pids(dir: &Path) -> Result<Vec<i32>, KillError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let procs = d.join("cgroup.procs");
        match std::fs::read_to_string(&procs) {
            Ok(t) => out.extend(parse_procs(&t, &procs)?),
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(KillError::Io {
                    path: procs,
                    source,
                });
            }
        }
        let entries = match std::fs::read_dir(&d) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(source) => return Err(KillError::Io { path: d, source }),
        };
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(entry.path());
            }
        }
    }
    Ok(out)
}

/// Whether `cgroup.events` says `populated 0` (falls back to an empty subtree when the
/// file is absent, as in fixture trees).
///
/// # Errors
/// [`KillError`] when the files cannot be read.
pub fn is_empty(dir: &Path) -> Result<bool, KillError> {
    let events = dir.join("cgroup.events");
    match std::fs::read_to_string(&events) {
        Ok(t) => Ok(t.lines().any(|l| l.trim() == "populated 0")),
        Err(e) if e.kind() == ErrorKind::NotFound && dir.exists() => {
            Ok(subtree_pids(dir)?.is_empty())
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(true),
        Err(source) => Err(KillError::Io {
            path: events,
            source,
        }),
    }
}

fn sigkill_each(dir: &Path, signalled: &mut Vec<i32>) -> Result<(), KillError> {
    // Repeat until a pass finds no pid not yet signalled: forks during the loop are
    // caught by the next pass. Bounded so a fork bomb cannot hold us forever. Our own
    // process is never signalled (systemd's CGROUP_IGNORE_SELF).
    let own = i32::try_from(std::process::id()).unwrap_or(0);
    for _ in 0..64 {
        let mut new = false;
        for pid in subtree_pids(dir)? {
            if pid == own || signalled.contains(&pid) {
                continue;
            }
            new = true;
            match kill(Pid::from_raw(pid), Signal::SIGKILL) {
                Ok(()) | Err(Errno::ESRCH) => signalled.push(pid),
                Err(errno) => return Err(KillError::Signal { pid, errno }),
            }
        }
        if !new {
            break;
        }
    }
    Ok(())
}

/// Kills every process in cgroup directory `dir` and its descendants, then waits up to
/// `opts.confirm_timeout` for it to be empty.
///
/// # Errors
/// [`KillError`]. A timeout is not an error: see [`KillReport::emptied`].
pub fn kill_cgroup(dir: &Path, opts: &KillOptions) -> Result<KillReport, KillError> {
    let start = Instant::now();
    let found = subtree_pids(dir)?.len();
    let mut signalled = Vec::new();
    let kill_file = dir.join("cgroup.kill");
    let method = if !opts.force_sigkill_each && kill_file.exists() {
        match std::fs::write(&kill_file, b"1") {
            Ok(()) => KillMethod::CgroupKill,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(KillError::Io {
                    path: kill_file,
                    source: e,
                });
            }
            Err(_) => {
                sigkill_each(dir, &mut signalled)?;
                KillMethod::SigkillEach
            }
        }
    } else {
        sigkill_each(dir, &mut signalled)?;
        KillMethod::SigkillEach
    };
    let confirm_start = Instant::now();
    let emptied = loop {
        if is_empty(dir)? {
            break true;
        }
        if confirm_start.elapsed() >= opts.confirm_timeout {
            break false;
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let waited = start.elapsed();
    let killed = if method == KillMethod::SigkillEach {
        signalled.len()
    } else {
        found
    };
    Ok(KillReport {
        dir: dir.to_path_buf(),
        method,
        signalled,
        found,
        emptied,
        waited,
        kill_counter: bump_kill_counter(dir, killed),
    })
}

/// Adds `n` to the decimal `user.oomd_kill` xattr of `dir`; best effort.
fn bump_kill_counter(dir: &Path, n: usize) -> Option<u64> {
    let mut buf = [0u8; 32];
    let old = match rustix::fs::getxattr(dir, "user.oomd_kill", &mut buf[..]) {
        Ok(len) => std::str::from_utf8(&buf[..len.min(buf.len())])
            .ok()?
            .trim()
            .parse::<u64>()
            .ok()?,
        Err(e) if e == rustix::io::Errno::NODATA => 0,
        Err(_) => return None,
    };
    let new = old.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
    rustix::fs::setxattr(
        dir,
        "user.oomd_kill",
        new.to_string().as_bytes(),
        rustix::fs::XattrFlags::empty(),
    )
    .ok()?;
    Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn procs_parse() {
        assert_eq!(
            parse_procs("1\n22\n\n333\n", Path::new("p")).unwrap(),
            [1, 22, 333]
        );
        let e = parse_procs("1\nx\n", Path::new("p")).unwrap_err();
        assert_eq!(e.to_string(), "p:2: not a pid");
        assert!(parse_procs("0\n", Path::new("p")).is_err());
        assert!(parse_procs("-5\n", Path::new("p")).is_err());
    }

    #[test]
    fn sigkill_fallback_on_fixture_tree() {
        // A fixture "cgroup" holding a real child of ours: the fallback signals it and,
        // once the child is reaped and the fixture updated, the cgroup counts as empty.
        let t = tempfile::tempdir().unwrap();
        let dir = t.path();
        std::fs::create_dir(dir.join("sub")).unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(dir.join("cgroup.procs"), "").unwrap();
        std::fs::write(
            dir.join("sub/cgroup.procs"),
            format!("{}\n{}\n", child.id(), std::process::id()),
        )
        .unwrap();
        assert_eq!(subtree_pids(dir).unwrap().len(), 2);
        assert!(!is_empty(dir).unwrap());
        let opts = KillOptions {
            confirm_timeout: Duration::from_millis(20),
            ..KillOptions::default()
        };
        let r = kill_cgroup(dir, &opts).unwrap();
        assert_eq!(r.method, KillMethod::SigkillEach);
        assert_eq!(r.found, 2);
        // Never ourselves.
        assert_eq!(r.signalled, [i32::try_from(child.id()).unwrap()]);
        assert!(!r.emptied, "the fixture's cgroup.procs is static");
        assert_eq!(r.kill_counter, Some(1));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(9));
        std::fs::write(dir.join("sub/cgroup.procs"), "").unwrap();
        assert!(is_empty(dir).unwrap());
        std::fs::write(dir.join("cgroup.events"), "populated 0\nfrozen 0\n").unwrap();
        assert!(is_empty(dir).unwrap());
    }
}
