//! cgroup v2 reads for the OOM policy: where the v2 hierarchy is mounted, the memory
//! files of one cgroup, the candidate walk, and `/proc/meminfo`.
//!
//! Everything takes an explicit root directory (the v2 mount, or a tempdir holding a
//! fixture tree) and cgroup paths as systemd writes them (`/system.slice/foo.service`,
//! `/` for the root). Files the kernel does not offer (the memory controller is not
//! enabled, as on hybrid hosts whose memory controller is on v1) read as `None`.
//!
//! # References
//! - <https://docs.kernel.org/admin-guide/cgroup-v2.html>
//! - proc(5) for `mountinfo` and `meminfo`

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::psi::{self, Pressure, ReadPressureError};

/// How the v2 hierarchy is mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Only cgroup2 is mounted (normally at `/sys/fs/cgroup`).
    Unified,
    /// v1 hierarchies are mounted too; v2 sits beside them (`/sys/fs/cgroup/unified`).
    Hybrid,
}

/// The v2 mount found in `mountinfo`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct V2Mount {
    /// The mount point.
    pub path: PathBuf,
    /// Unified or hybrid.
    pub layout: Layout,
}

/// Undoes mountinfo's octal escapes (`\040` for a space).
fn unescape_mountinfo(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            let oct = &b[i + 1..i + 4];
            if oct.iter().all(|c| (b'0'..=b'7').contains(c)) {
                let v = oct
                    .iter()
                    .fold(0u32, |acc, c| acc * 8 + u32::from(c - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Finds the cgroup2 mount in the text of `/proc/self/mountinfo`. Pure; malformed lines
/// are skipped. When several cgroup2 mounts exist the first wins.
pub fn find_v2_mount(mountinfo: &str) -> Option<V2Mount> {
    let mut v2 = None;
    let mut has_v1 = false;
    for line in mountinfo.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        let (Some(mount_point), Some(fstype)) = (fields.get(4), fields.get(dash + 1)) else {
            continue;
        };
        match *fstype {
            "cgroup2" if v2.is_none() => v2 = Some(PathBuf::from(unescape_mountinfo(mount_point))),
            "cgroup" => has_v1 = true,
            _ => {}
        }
    }
    v2.map(|path| V2Mount {
        path,
        layout: if has_v1 {
            Layout::Hybrid
        } else {
            Layout::Unified
        },
    })
}

/// Reads `<proc>/self/mountinfo` and finds the v2 mount.
///
/// # Errors
/// [`ReadCgroupError::Io`] when the file cannot be read.
pub fn read_v2_mount(proc: &Path) -> Result<Option<V2Mount>, ReadCgroupError> {
    let path = proc.join("self/mountinfo");
    let text = std::fs::read_to_string(&path).map_err(|source| ReadCgroupError::Io {
        path: path.clone(),
        source,
    })?;
    Ok(find_v2_mount(&text))
}

/// `ManagedOOMPreference=`, as PID 1 stores it in the `user.oomd_avoid` /
/// `user.oomd_omit` xattrs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[doc(alias = "ManagedOOMPreference=")]
pub enum Preference {
    /// No preference.
    #[default]
    None,
    /// Killed only after every `none` candidate.
    Avoid,
    /// Never killed.
    Omit,
}

/// How to read cgroups.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReadOptions {
    /// Preference xattrs count only on directories owned by this uid (systemd: 0, so that
    /// delegated subtrees cannot exempt themselves).
    pub trusted_owner: u32,
}

/// What the policy knows about one cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct CgroupContext {
    /// The cgroup path (`/system.slice/foo.service`).
    pub path: String,
    /// `memory.current` in bytes.
    pub memory_current: Option<u64>,
    /// `memory.min` in bytes (`max` is `u64::MAX`).
    pub memory_min: Option<u64>,
    /// `memory.low` in bytes (`max` is `u64::MAX`).
    pub memory_low: Option<u64>,
    /// `memory.swap.current` in bytes.
    pub swap_current: Option<u64>,
    /// `memory.stat`, every key.
    pub memory_stat: BTreeMap<String, u64>,
    /// `memory.oom.group` is 1.
    pub oom_group: bool,
    /// `memory.pressure`, when present.
    pub pressure: Option<Pressure>,
    /// The preference from the xattrs (already restricted to trusted owners).
    pub preference: Preference,
}

impl CgroupContext {
    /// `pgscan` from `memory.stat` (0 when absent).
    pub fn pgscan(&self) -> u64 {
        self.memory_stat.get("pgscan").copied().unwrap_or(0)
    }

    /// `full avg10` of `memory.pressure` (0 when absent).
    pub fn full_avg10(&self) -> keel_core::size::Permyriad {
        self.pressure
            .and_then(|p| p.full)
            .map(|l| l.avg10)
            .unwrap_or_default()
    }
}

/// A cgroup (or `/proc` file) could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadCgroupError {
    /// A file or directory could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line of a file is malformed.
    #[error("{}:{line}: {what}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        what: &'static str,
    },
    /// The cgroup path is not absolute or climbs out of the root.
    #[error("invalid cgroup path {path:?}")]
    InvalidPath {
        /// The path given.
        path: String,
    },
    /// `memory.pressure` is malformed.
    #[error(transparent)]
    Pressure(#[from] ReadPressureError),
}

impl ReadCgroupError {
    /// True when the cgroup (or file) vanished: callers skip such cgroups.
    pub fn is_not_found(&self) -> bool {
        match self {
            Self::Io { source, .. } => source.kind() == ErrorKind::NotFound,
            Self::Pressure(ReadPressureError::Io { source, .. }) => {
                source.kind() == ErrorKind::NotFound
            }
            _ => false,
        }
    }
}

/// The directory of cgroup `cg` below `root`.
///
/// # Errors
/// [`ReadCgroupError::InvalidPath`] for relative paths or `..` components.
pub fn cgroup_dir(root: &Path, cg: &str) -> Result<PathBuf, ReadCgroupError> {
    let invalid = || ReadCgroupError::InvalidPath {
        path: cg.to_owned(),
    };
    let rel = cg.strip_prefix('/').ok_or_else(invalid)?;
    if rel.split('/').any(|c| c == ".." || c == ".") {
        return Err(invalid());
    }
    Ok(if rel.is_empty() {
        root.to_path_buf()
    } else {
        root.join(rel)
    })
}

fn to_line(i: usize) -> u32 {
    u32::try_from(i + 1).unwrap_or(u32::MAX)
}

/// Reads a file, `None` when it does not exist.
fn read_optional(path: &Path) -> Result<Option<String>, ReadCgroupError> {
    match std::fs::read_to_string(path) {
        Ok(s) => Ok(Some(s)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ReadCgroupError::Io {
            path: path.to_path_buf(),
            source,
        }),
    }
}

/// Parses a single-value memory file: a number or `max`.
fn parse_u64_or_max(text: &str, path: &Path) -> Result<u64, ReadCgroupError> {
    let v = text.trim();
    if v == "max" {
        return Ok(u64::MAX);
    }
    v.parse().map_err(|_| ReadCgroupError::Malformed {
        path: path.to_path_buf(),
        line: 1,
        what: "not a number or \"max\"",
    })
}

fn read_u64(dir: &Path, name: &str) -> Result<Option<u64>, ReadCgroupError> {
    let path = dir.join(name);
    read_optional(&path)?
        .map(|t| parse_u64_or_max(&t, &path))
        .transpose()
}

/// Parses `memory.stat` (`key value` per line). `path` names the file in errors.
///
/// # Errors
/// [`ReadCgroupError::Malformed`] naming the line.
pub fn parse_memory_stat(
    text: &str,
    path: &Path,
) -> Result<BTreeMap<String, u64>, ReadCgroupError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let malformed = |what| ReadCgroupError::Malformed {
            path: path.to_path_buf(),
            line: to_line(i),
            what,
        };
        let mut it = line.split_ascii_whitespace();
        let (Some(k), Some(v), None) = (it.next(), it.next(), it.next()) else {
            return Err(malformed("want \"key value\""));
        };
        let v = v.parse().map_err(|_| malformed("value is not a number"))?;
        out.insert(k.to_owned(), v);
    }
    Ok(out)
}

/// Reads a boolean xattr: `None` when absent or unsupported.
fn read_bool_xattr(dir: &Path, name: &str) -> Result<bool, ReadCgroupError> {
    let mut buf = [0u8; 64];
    match rustix::fs::getxattr(dir, name, &mut buf[..]) {
        Ok(n) => {
            let v = std::str::from_utf8(&buf[..n.min(buf.len())]).unwrap_or("");
            Ok(keel_core::boolean::parse_boolean(v.trim_end_matches('\0').trim()).unwrap_or(false))
        }
        Err(e)
            if e == rustix::io::Errno::NODATA
                || e == rustix::io::Errno::NOTSUP
                || e == rustix::io::Errno::RANGE =>
        {
            Ok(false)
        }
        Err(e) => Err(ReadCgroupError::Io {
            path: dir.join(format!("[xattr {name}]")),
            source: e.into(),
        }),
    }
}

/// Reads the preference xattrs of a cgroup directory owned by `trusted_owner`; omit wins
/// over avoid.
fn read_preference(dir: &Path, trusted_owner: u32) -> Result<Preference, ReadCgroupError> {
    let meta = std::fs::metadata(dir).map_err(|source| ReadCgroupError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if meta.uid() != trusted_owner {
        return Ok(Preference::None);
    }
    if read_bool_xattr(dir, "user.oomd_omit")? {
        Ok(Preference::Omit)
    } else if read_bool_xattr(dir, "user.oomd_avoid")? {
        Ok(Preference::Avoid)
    } else {
        Ok(Preference::None)
    }
}

/// Sets `ManagedOOMPreference=` on a cgroup directory as PID 1 does when it realizes a
/// unit: `user.oomd_avoid` or `user.oomd_omit` set to `"1"` and the other removed (both
/// removed for [`Preference::None`]).
///
/// # Errors
/// [`ReadCgroupError::Io`] naming the xattr when setting or removing fails (a missing
/// xattr is not an error).
#[doc(alias = "cgroup_oomd_xattr_apply")]
pub fn write_preference(dir: &Path, preference: Preference) -> Result<(), ReadCgroupError> {
    let io = |name: &str, e: rustix::io::Errno| ReadCgroupError::Io {
        path: dir.join(format!("[xattr {name}]")),
        source: e.into(),
    };
    let (set, clear): (&[&str], &[&str]) = match preference {
        Preference::None => (&[], &["user.oomd_avoid", "user.oomd_omit"]),
        Preference::Avoid => (&["user.oomd_avoid"], &["user.oomd_omit"]),
        Preference::Omit => (&["user.oomd_omit"], &["user.oomd_avoid"]),
    };
    for name in set {
        rustix::fs::setxattr(dir, *name, b"1", rustix::fs::XattrFlags::empty())
            .map_err(|e| io(name, e))?;
    }
    for name in clear {
        match rustix::fs::removexattr(dir, *name) {
            Ok(()) => {}
            Err(e) if e == rustix::io::Errno::NODATA => {}
            Err(e) => return Err(io(name, e)),
        }
    }
    Ok(())
}

/// Reads what the policy needs about cgroup `cg` below `root`.
///
/// # Errors
/// [`ReadCgroupError`]; [`ReadCgroupError::is_not_found`] tells a vanished cgroup.
pub fn read_context(
    root: &Path,
    cg: &str,
    opts: &ReadOptions,
) -> Result<CgroupContext, ReadCgroupError> {
    let dir = cgroup_dir(root, cg)?;
    let preference = read_preference(&dir, opts.trusted_owner)?;
    let stat_path = dir.join("memory.stat");
    let memory_stat = match read_optional(&stat_path)? {
        Some(t) => parse_memory_stat(&t, &stat_path)?,
        None => BTreeMap::new(),
    };
    let pressure_path = dir.join("memory.pressure");
    let pressure = read_optional(&pressure_path)?
        .map(|t| psi::parse(&t, &pressure_path))
        .transpose()?;
    Ok(CgroupContext {
        path: cg.to_owned(),
        memory_current: read_u64(&dir, "memory.current")?,
        memory_min: read_u64(&dir, "memory.min")?,
        memory_low: read_u64(&dir, "memory.low")?,
        swap_current: read_u64(&dir, "memory.swap.current")?,
        memory_stat,
        oom_group: read_u64(&dir, "memory.oom.group")? == Some(1),
        pressure,
        preference,
    })
}

/// Hybrid hosts keep the memory controller on v1, so the v2 cgroup has no `memory.stat`
/// and no `memory.current`. When `ctx` lacks both and the same path exists below the v1
/// memory hierarchy `v1_root` (`/sys/fs/cgroup/memory`), fills in `memory.current` from
/// `memory.usage_in_bytes` and `pgscan` from `total_pgpgout` (v1 has no `pgscan`; pages
/// charged out of the cgroup, which grows with reclaim, stands in for it). Returns
/// whether anything was filled in.
///
/// # Errors
/// [`ReadCgroupError`] for unreadable or malformed v1 files.
pub fn fill_from_v1_memory(
    ctx: &mut CgroupContext,
    v1_root: &Path,
) -> Result<bool, ReadCgroupError> {
    if !ctx.memory_stat.is_empty() || ctx.memory_current.is_some() {
        return Ok(false);
    }
    let dir = cgroup_dir(v1_root, &ctx.path)?;
    let stat_path = dir.join("memory.stat");
    let Some(text) = read_optional(&stat_path)? else {
        return Ok(false);
    };
    let stat = parse_memory_stat(&text, &stat_path)?;
    if let Some(&v) = stat.get("total_pgpgout") {
        ctx.memory_stat.insert("pgscan".to_owned(), v);
    }
    ctx.memory_current = read_u64(&dir, "memory.usage_in_bytes")?;
    Ok(true)
}

/// The child cgroups of `cg`, as cgroup paths, sorted.
///
/// # Errors
/// [`ReadCgroupError::Io`] when the directory cannot be listed.
pub fn children(root: &Path, cg: &str) -> Result<Vec<String>, ReadCgroupError> {
    let dir = cgroup_dir(root, cg)?;
    let io = |source| ReadCgroupError::Io {
        path: dir.clone(),
        source,
    };
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        if !entry.file_type().map_err(io)?.is_dir() {
            continue;
        }
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        out.push(if cg == "/" {
            format!("/{name}")
        } else {
            format!("{cg}/{name}")
        });
    }
    out.sort();
    Ok(out)
}

/// The kill candidates below monitored cgroup `cg` (systemd 248's rule): descending from
/// `cg`, a cgroup is a candidate when it has no children or when its `memory.oom.group`
/// is 1 (its subtree is then not searched). Cgroups that vanish during the walk are
/// skipped.
///
/// # Errors
/// [`ReadCgroupError`] other than a vanished cgroup.
pub fn candidates(
    root: &Path,
    cg: &str,
    opts: &ReadOptions,
) -> Result<Vec<CgroupContext>, ReadCgroupError> {
    let mut out = Vec::new();
    let mut stack = vec![cg.to_owned()];
    while let Some(path) = stack.pop() {
        let ctx = match read_context(root, &path, opts) {
            Ok(c) => c,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if ctx.oom_group {
            out.push(ctx);
            continue;
        }
        let kids = match children(root, &path) {
            Ok(k) => k,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if kids.is_empty() {
            out.push(ctx);
        } else {
            stack.extend(kids.into_iter().rev());
        }
    }
    Ok(out)
}

/// Memory and swap totals from `/proc/meminfo`, in bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SystemMemory {
    /// `MemTotal`.
    pub mem_total: u64,
    /// `MemAvailable`.
    pub mem_available: u64,
    /// `SwapTotal`.
    pub swap_total: u64,
    /// `SwapFree`.
    pub swap_free: u64,
}

impl SystemMemory {
    /// Swap in use.
    pub fn swap_used(&self) -> u64 {
        self.swap_total.saturating_sub(self.swap_free)
    }
}

/// Parses the text of `/proc/meminfo`. Missing keys read as 0.
///
/// # Errors
/// [`ReadCgroupError::Malformed`] for a known key whose value is not `N kB`.
pub fn parse_meminfo(text: &str, path: &Path) -> Result<SystemMemory, ReadCgroupError> {
    let mut m = SystemMemory::default();
    for (i, line) in text.lines().enumerate() {
        let Some((key, rest)) = line.split_once(':') else {
            continue;
        };
        let slot = match key {
            "MemTotal" => &mut m.mem_total,
            "MemAvailable" => &mut m.mem_available,
            "SwapTotal" => &mut m.swap_total,
            "SwapFree" => &mut m.swap_free,
            _ => continue,
        };
        let v = rest.trim();
        let (num, mult) = match v.strip_suffix("kB") {
            Some(n) => (n.trim(), 1024),
            None => (v, 1),
        };
        *slot = num
            .parse::<u64>()
            .ok()
            .and_then(|n| n.checked_mul(mult))
            .ok_or(ReadCgroupError::Malformed {
                path: path.to_path_buf(),
                line: to_line(i),
                what: "want \"N kB\"",
            })?;
    }
    Ok(m)
}

/// Reads `<proc>/meminfo`.
///
/// # Errors
/// As [`parse_meminfo`], or [`ReadCgroupError::Io`].
pub fn read_meminfo(proc: &Path) -> Result<SystemMemory, ReadCgroupError> {
    let path = proc.join("meminfo");
    let text = std::fs::read_to_string(&path).map_err(|source| ReadCgroupError::Io {
        path: path.clone(),
        source,
    })?;
    parse_meminfo(&text, &path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
";
    const UNIFIED: &str = "\
25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
";

    #[test]
    fn finds_v2_mount() {
        assert_eq!(
            find_v2_mount(HYBRID),
            Some(V2Mount {
                path: "/sys/fs/cgroup/unified".into(),
                layout: Layout::Hybrid
            })
        );
        assert_eq!(
            find_v2_mount(UNIFIED),
            Some(V2Mount {
                path: "/sys/fs/cgroup".into(),
                layout: Layout::Unified
            })
        );
        assert_eq!(find_v2_mount("garbage\n\n1 2 3\n"), None);
        let esc = "1 1 0:1 / /mnt/a\\040b rw - cgroup2 none rw\n";
        assert_eq!(find_v2_mount(esc).unwrap().path, Path::new("/mnt/a b"));
        // The real host: some v2 mount must be there on every supported machine.
        assert!(read_v2_mount(Path::new("/proc")).unwrap().is_some());
    }

    #[test]
    fn cgroup_paths() {
        let r = Path::new("/r");
        assert_eq!(cgroup_dir(r, "/").unwrap(), Path::new("/r"));
        assert_eq!(cgroup_dir(r, "/a/b").unwrap(), Path::new("/r/a/b"));
        for bad in ["a", "/a/../b", "/./a", ""] {
            assert!(
                matches!(cgroup_dir(r, bad), Err(ReadCgroupError::InvalidPath { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn memory_stat_and_meminfo() {
        let s = parse_memory_stat("anon 10\npgscan 7\n\nfile 3\n", Path::new("m")).unwrap();
        assert_eq!(s.get("pgscan"), Some(&7));
        assert_eq!(s.len(), 3);
        let e = parse_memory_stat("anon 10\npgscan x\n", Path::new("m")).unwrap_err();
        assert_eq!(e.to_string(), "m:2: value is not a number");
        assert!(parse_memory_stat("anon\n", Path::new("m")).is_err());
        assert!(parse_memory_stat("anon 1 2\n", Path::new("m")).is_err());

        let m = parse_meminfo(
            "MemTotal:       16384 kB\nMemFree: 1 kB\nMemAvailable: 8192 kB\nSwapTotal: 1000 kB\nSwapFree: 250 kB\n",
            Path::new("meminfo"),
        )
        .unwrap();
        assert_eq!(m.mem_total, 16384 * 1024);
        assert_eq!(m.mem_available, 8192 * 1024);
        assert_eq!(m.swap_used(), 750 * 1024);
        let e = parse_meminfo("MemTotal: x kB\n", Path::new("meminfo")).unwrap_err();
        assert_eq!(e.to_string(), "meminfo:1: want \"N kB\"");
        assert!(read_meminfo(Path::new("/proc")).unwrap().mem_total > 0);
    }

    fn write(dir: &Path, name: &str, text: &str) {
        fs::write(dir.join(name), text).unwrap();
    }

    #[test]
    fn reads_fixture_tree_and_walks_candidates() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let opts = ReadOptions {
            trusted_owner: nix::unistd::geteuid().as_raw(),
        };
        for d in ["w", "w/a", "w/b", "w/b/x", "w/b/y", "w/g", "w/g/inner"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        let a = root.join("w/a");
        write(&a, "memory.current", "4096\n");
        write(&a, "memory.min", "0\n");
        write(&a, "memory.low", "max\n");
        write(&a, "memory.swap.current", "12\n");
        write(&a, "memory.stat", "anon 1\npgscan 99\n");
        write(&a, "memory.oom.group", "0\n");
        write(
            &a,
            "memory.pressure",
            "some avg10=1.00 avg60=0 avg300=0 total=5\nfull avg10=0.50 avg60=0 avg300=0 total=2\n",
        );
        rustix::fs::setxattr(&a, "user.oomd_avoid", b"1", rustix::fs::XattrFlags::empty()).unwrap();
        write(&root.join("w/g"), "memory.oom.group", "1\n");
        let by = root.join("w/b/y");
        rustix::fs::setxattr(
            &by,
            "user.oomd_avoid",
            b"1",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();
        rustix::fs::setxattr(
            &by,
            "user.oomd_omit",
            b"yes",
            rustix::fs::XattrFlags::empty(),
        )
        .unwrap();

        let ctx = read_context(root, "/w/a", &opts).unwrap();
        assert_eq!(ctx.memory_current, Some(4096));
        assert_eq!(ctx.memory_min, Some(0));
        assert_eq!(ctx.memory_low, Some(u64::MAX));
        assert_eq!(ctx.swap_current, Some(12));
        assert_eq!(ctx.pgscan(), 99);
        assert_eq!(ctx.full_avg10().get(), 50);
        assert!(!ctx.oom_group);
        assert_eq!(ctx.preference, Preference::Avoid);
        // Untrusted owner: the xattrs are ignored.
        let other = ReadOptions {
            trusted_owner: opts.trusted_owner.wrapping_add(1),
        };
        assert_eq!(
            read_context(root, "/w/a", &other).unwrap().preference,
            Preference::None
        );
        write_preference(&a, Preference::Omit).unwrap();
        assert_eq!(
            read_context(root, "/w/a", &opts).unwrap().preference,
            Preference::Omit
        );
        write_preference(&a, Preference::None).unwrap();
        assert_eq!(
            read_context(root, "/w/a", &opts).unwrap().preference,
            Preference::None
        );
        write_preference(&a, Preference::Avoid).unwrap();
        assert_eq!(
            read_context(root, "/w/a", &opts).unwrap().preference,
            Preference::Avoid
        );
        // Omit wins over avoid.
        assert_eq!(
            read_context(root, "/w/b/y", &opts).unwrap().preference,
            Preference::Omit
        );
        // Missing files are None, not errors.
        let bx = read_context(root, "/w/b/x", &opts).unwrap();
        assert_eq!(bx.memory_current, None);
        assert!(bx.pressure.is_none());

        let c: Vec<String> = candidates(root, "/w", &opts)
            .unwrap()
            .into_iter()
            .map(|c| c.path)
            .collect();
        assert_eq!(c, ["/w/a", "/w/b/x", "/w/b/y", "/w/g"]);
        assert_eq!(children(root, "/w").unwrap(), ["/w/a", "/w/b", "/w/g"]);
        // A leaf monitored cgroup is its own candidate; a vanished one yields nothing.
        assert_eq!(candidates(root, "/w/a", &opts).unwrap().len(), 1);
        assert!(candidates(root, "/gone", &opts).unwrap().is_empty());

        write(&a, "memory.current", "lots\n");
        let e = read_context(root, "/w/a", &opts).unwrap_err();
        assert!(
            e.to_string()
                .ends_with("memory.current:1: not a number or \"max\""),
            "{e}"
        );
        write(&a, "memory.current", "1\n");
        write(&a, "memory.pressure", "some nonsense\n");
        assert!(matches!(
            read_context(root, "/w/a", &opts),
            Err(ReadCgroupError::Pressure(_))
        ));
    }
}
