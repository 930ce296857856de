//! The process-granular mode (beyond systemd 248): instead of killing the whole chosen
//! cgroup, kill its worst process.
//!
//! "Worst" follows the kernel OOM killer's badness: resident plus swapped memory, shifted
//! by `oom_score_adj` in thousandths of total memory; processes with `oom_score_adj` of
//! -1000 are never chosen. Ties go to the lower pid. The choice comes back as a
//! [`ProcessChoice`] record for the explanation.
//!
//! # References
//! - proc(5): `/proc/PID/status` (`VmRSS`, `VmSwap`), `/proc/PID/oom_score_adj`

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde::Serialize;

use crate::kill::{KillError, subtree_pids};

/// What the mode knows about one process.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProcessInfo {
    /// The pid.
    pub pid: i32,
    /// `Name:` from `status`.
    pub name: String,
    /// `VmRSS` in bytes.
    pub rss: u64,
    /// `VmSwap` in bytes.
    pub swap: u64,
    /// `oom_score_adj`, -1000..=1000.
    pub oom_score_adj: i32,
}

/// A process as scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProcessScore {
    /// The process.
    pub process: ProcessInfo,
    /// Its badness; `None` when exempt (`oom_score_adj` -1000).
    pub score: Option<i128>,
}

/// The process chosen in a cgroup, with every process's score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ProcessChoice {
    /// The cgroup directory.
    pub cgroup: PathBuf,
    /// The processes, worst first, exempt ones last.
    pub ranked: Vec<ProcessScore>,
    /// The pid chosen (the first non-exempt), if any.
    pub chosen: Option<i32>,
}

/// A process could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadProcessError {
    /// A `/proc` file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{}:{line}: {what}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        what: &'static str,
    },
}

/// Parses `/proc/PID/status` text into `info` (`Name`, `VmRSS`, `VmSwap`; kernel threads
/// have no `Vm*` lines and read as 0).
///
/// # Errors
/// [`ReadProcessError::Malformed`] for a `Vm*` value that is not `N kB`.
pub fn parse_status(
    text: &str,
    path: &Path,
    info: &mut ProcessInfo,
) -> Result<(), ReadProcessError> {
    for (i, line) in text.lines().enumerate() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "Name" => {
                value.trim().clone_into(&mut info.name);
                continue;
            }
            "VmRSS" => &mut info.rss,
            "VmSwap" => &mut info.swap,
            _ => continue,
        };
        *slot = value
            .trim()
            .strip_suffix("kB")
            .and_then(|n| n.trim().parse::<u64>().ok())
            .and_then(|n| n.checked_mul(1024))
            .ok_or(ReadProcessError::Malformed {
                path: path.to_path_buf(),
                line: u32::try_from(i + 1).unwrap_or(u32::MAX),
                what: "want \"N kB\"",
            })?;
    }
    Ok(())
}

/// Reads process `pid` below `proc` (normally `/proc`); `None` when it has exited.
///
/// # Errors
/// [`ReadProcessError`] other than a vanished process.
pub fn read_process(proc: &Path, pid: i32) -> Result<Option<ProcessInfo>, ReadProcessError> {
    let dir = proc.join(pid.to_string());
    let read = |name: &str| {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(Some((t, path))),
            Err(e)
                if e.kind() == ErrorKind::NotFound
                    || e.raw_os_error() == Some(Errno::ESRCH as i32) =>
            {
                Ok(None)
            }
            Err(source) => Err(ReadProcessError::Io { path, source }),
        }
    };
    let mut info = ProcessInfo {
        pid,
        ..ProcessInfo::default()
    };
    let Some((status, path)) = read("status")? else {
        return Ok(None);
    };
    parse_status(&status, &path, &mut info)?;
    let Some((adj, path)) = read("oom_score_adj")? else {
        return Ok(None);
    };
    info.oom_score_adj = adj
        .trim()
        .parse()
        .map_err(|_| ReadProcessError::Malformed {
            path,
            line: 1,
            what: "not a number",
        })?;
    Ok(Some(info))
}

/// Scores and orders processes, worst first (pure). `mem_total` scales `oom_score_adj`.
pub fn rank_processes(procs: Vec<ProcessInfo>, mem_total: u64) -> Vec<ProcessScore> {
    let mut out: Vec<ProcessScore> = procs
        .into_iter()
        .map(|p| {
            let score = (p.oom_score_adj > -1000).then(|| {
                i128::from(p.rss)
                    + i128::from(p.swap)
                    + i128::from(p.oom_score_adj) * i128::from(mem_total) / 1000
            });
            ProcessScore { process: p, score }
        })
        .collect();
    out.sort_by(|a, b| {
        b.score
            .is_some()
            .cmp(&a.score.is_some())
            .then(b.score.cmp(&a.score))
            .then(a.process.pid.cmp(&b.process.pid))
    });
    out
}

/// Chooses the worst process in the cgroup subtree at `dir` (never the calling process).
///
/// # Errors
/// [`KillError`] when the cgroup cannot be listed; unreadable processes are skipped.
pub fn choose_process(dir: &Path, proc: &Path, mem_total: u64) -> Result<ProcessChoice, KillError> {
    let own = i32::try_from(std::process::id()).unwrap_or(0);
    let procs = subtree_pids(dir)?
        .into_iter()
        .filter(|&pid| pid != own)
        .filter_map(|pid| read_process(proc, pid).ok().flatten())
        .collect();
    let ranked = rank_processes(procs, mem_total);
    let chosen = ranked
        .first()
        .filter(|s| s.score.is_some())
        .map(|s| s.process.pid);
    Ok(ProcessChoice {
        cgroup: dir.to_path_buf(),
        ranked,
        chosen,
    })
}

/// Chooses the worst process of the cgroup at `dir` and sends it `SIGKILL`.
///
/// # Errors
/// [`KillError`] when the cgroup cannot be listed or `kill(2)` fails with other than
/// `ESRCH`.
pub fn kill_worst_process(
    dir: &Path,
    proc: &Path,
    mem_total: u64,
) -> Result<ProcessChoice, KillError> {
    let choice = choose_process(dir, proc, mem_total)?;
    if let Some(pid) = choice.chosen {
        match kill(Pid::from_raw(pid), Signal::SIGKILL) {
            Ok(()) | Err(Errno::ESRCH) => {}
            Err(errno) => return Err(KillError::Signal { pid, errno }),
        }
    }
    Ok(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: i32, rss: u64, swap: u64, adj: i32) -> ProcessInfo {
        ProcessInfo {
            pid,
            name: format!("p{pid}"),
            rss,
            swap,
            oom_score_adj: adj,
        }
    }

    #[test]
    fn ranking() {
        let r = rank_processes(
            vec![
                p(10, 100, 0, 0),
                p(11, 50, 60, 0),
                p(12, 5000, 0, -1000),
                p(13, 10, 0, 500),
                p(9, 100, 0, 0),
            ],
            1000,
        );
        let order: Vec<(i32, Option<i128>)> = r.iter().map(|s| (s.process.pid, s.score)).collect();
        // 13: 10 + 500*1000/1000 = 510; 11: 110; 9 and 10 tie at 100 (lower pid first);
        // 12 is exempt.
        assert_eq!(
            order,
            [
                (13, Some(510)),
                (11, Some(110)),
                (9, Some(100)),
                (10, Some(100)),
                (12, None)
            ]
        );
    }

    #[test]
    fn status_parse() {
        let mut i = ProcessInfo::default();
        parse_status(
            "Name:\tmemhog\nVmPeak:\t 1 kB\nVmRSS:\t    2048 kB\nVmSwap:\t       4 kB\n",
            Path::new("s"),
            &mut i,
        )
        .unwrap();
        assert_eq!(
            (i.name.as_str(), i.rss, i.swap),
            ("memhog", 2048 * 1024, 4096)
        );
        let e = parse_status("Name: x\nVmRSS: lots\n", Path::new("s"), &mut i).unwrap_err();
        assert_eq!(e.to_string(), "s:2: want \"N kB\"");
    }

    #[test]
    fn reads_real_processes_and_chooses_in_fixture_cgroup() {
        let me = i32::try_from(std::process::id()).unwrap();
        let info = read_process(Path::new("/proc"), me).unwrap().unwrap();
        assert!(info.rss > 0);
        assert!(
            read_process(Path::new("/proc"), i32::MAX)
                .unwrap()
                .is_none()
        );

        // A fixture cgroup listing a sleeping child: it is chosen and killed.
        let t = tempfile::tempdir().unwrap();
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        std::fs::write(t.path().join("cgroup.procs"), format!("{}\n", child.id())).unwrap();
        let choice = kill_worst_process(t.path(), Path::new("/proc"), 1 << 30).unwrap();
        assert_eq!(choice.chosen, i32::try_from(child.id()).ok());
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(child.wait().unwrap().signal(), Some(9));
    }
}
