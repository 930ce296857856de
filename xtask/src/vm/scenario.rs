//! VM scenarios: one bash script per file in `tests/vm/`, with its VM needs in header lines.
//!
//! A scenario is `tests/vm/<name>.sh`, run by bash as root in the guest (cwd `/tmp`,
//! results share at `/share`), and passes when it exits 0. Lines of the form
//!
//! ```text
//! # vm: tpm disk=64M timeout=90 mem=1024M
//! ```
//!
//! anywhere in the file ask for a swtpm TPM 2.0 (`/dev/tpm0`, `/dev/tpmrm0`), a blank raw
//! virtio disk (`/dev/vda`), a timeout in seconds (default [`DEFAULT_TIMEOUT_SECS`]) and
//! guest memory. Rust test programs join a scenario as binaries in the initramfs (see
//! `build::KEEL_BINARIES`) that the script runs. Files named `selftest-*` test the harness
//! itself and are never part of `vm test`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// Timeout of a scenario that sets none: a boot takes 5–11 s under TCG.
pub(crate) const DEFAULT_TIMEOUT_SECS: u64 = 60;

/// Guest memory of a scenario that sets none.
pub(crate) const DEFAULT_MEM_MIB: u64 = 1024;

/// What a scenario asks of its VM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct VmNeeds {
    /// Attach a swtpm TPM 2.0 through `tpm-tis`.
    pub(crate) tpm: bool,
    /// Size of a blank raw virtio disk in MiB.
    pub(crate) disk_mib: Option<u64>,
    /// Time from QEMU start to exit before the VM is killed.
    pub(crate) timeout: Duration,
    /// Guest memory in MiB.
    pub(crate) mem_mib: u64,
}

impl Default for VmNeeds {
    fn default() -> Self {
        VmNeeds {
            tpm: false,
            disk_mib: None,
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            mem_mib: DEFAULT_MEM_MIB,
        }
    }
}

/// Largest disk or memory size a scenario may ask for (64 GiB).
const MAX_MIB: u64 = 64 * 1024;

/// A size such as `64M`, `1G` or `512` (MiB), at most [`MAX_MIB`].
fn parse_mib(v: &str) -> Option<u64> {
    let (num, mult) = match v.as_bytes().last()? {
        b'M' | b'm' => (&v[..v.len() - 1], 1),
        b'G' | b'g' => (&v[..v.len() - 1], 1024),
        _ => (v, 1),
    };
    num.parse::<u64>()
        .ok()?
        .checked_mul(mult)
        .filter(|&n| n > 0 && n <= MAX_MIB)
}

impl VmNeeds {
    /// Reads the `# vm:` lines of a scenario script.
    ///
    /// # Errors
    /// An unknown word or a bad value, with the line number.
    pub(crate) fn parse(script: &str) -> Result<Self> {
        let mut needs = VmNeeds::default();
        for (n, line) in script.lines().enumerate() {
            let Some(rest) = line.trim_start().strip_prefix("# vm:") else {
                continue;
            };
            for word in rest.split_whitespace() {
                let (key, value) = word.split_once('=').unwrap_or((word, ""));
                let bad = || format!("line {}: bad vm option {word:?}", n + 1);
                match key {
                    "tpm" if value.is_empty() => needs.tpm = true,
                    "disk" => needs.disk_mib = Some(parse_mib(value).with_context(bad)?),
                    "mem" => needs.mem_mib = parse_mib(value).with_context(bad)?,
                    "timeout" => {
                        let secs = value.parse::<u64>().ok().filter(|&s| s > 0);
                        needs.timeout = Duration::from_secs(secs.with_context(bad)?);
                    }
                    _ => bail!(
                        "line {}: unknown vm option {word:?} (known: tpm disk=SIZE mem=SIZE timeout=SECS)",
                        n + 1
                    ),
                }
            }
        }
        Ok(needs)
    }
}

/// One scenario file.
#[derive(Debug, Clone)]
pub(crate) struct Scenario {
    /// File name without `.sh`.
    pub(crate) name: String,
    /// The script.
    pub(crate) path: PathBuf,
    /// Its VM needs.
    pub(crate) needs: VmNeeds,
}

impl Scenario {
    /// Loads `dir/<name>.sh`.
    ///
    /// # Errors
    /// The file cannot be read or its `# vm:` lines are wrong.
    pub(crate) fn load(dir: &Path, name: &str) -> Result<Self> {
        let name = name.strip_suffix(".sh").unwrap_or(name);
        let path = dir.join(format!("{name}.sh"));
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading scenario {}", path.display()))?;
        let needs = VmNeeds::parse(&text).with_context(|| format!("{}", path.display()))?;
        Ok(Scenario {
            name: name.to_owned(),
            path,
            needs,
        })
    }
}

/// Whether a scenario belongs to `vm test` (harness self-tests do not).
pub(crate) fn in_suite(name: &str) -> bool {
    !name.starts_with("selftest-")
}

/// The scenarios of `vm test`: every `*.sh` of `dir` except `selftest-*`, by name.
///
/// # Errors
/// The directory or a scenario cannot be read.
pub(crate) fn suite(dir: &Path) -> Result<Vec<Scenario>> {
    let mut names = Vec::new();
    for e in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let e = e.with_context(|| format!("reading {}", dir.display()))?;
        let file = e.file_name();
        let Some(name) = file.to_str().and_then(|f| f.strip_suffix(".sh")) else {
            continue;
        };
        if in_suite(name) && e.file_type().is_ok_and(|t| t.is_file()) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    names.iter().map(|n| Scenario::load(dir, n)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_without_vm_lines() {
        let n = VmNeeds::parse("#!/bin/bash\necho hi\n").unwrap();
        assert_eq!(n, VmNeeds::default());
        assert_eq!(n.timeout, Duration::from_secs(60));
    }

    #[test]
    fn vm_lines_set_needs() {
        let n =
            VmNeeds::parse("#!/bin/bash\n# vm: tpm disk=64M\n  # vm: timeout=90 mem=2G\n").unwrap();
        assert!(n.tpm);
        assert_eq!(n.disk_mib, Some(64));
        assert_eq!(n.timeout, Duration::from_secs(90));
        assert_eq!(n.mem_mib, 2048);
    }

    #[test]
    fn bad_vm_lines_fail_with_line_number() {
        for bad in [
            "# vm: disk=",
            "# vm: disk=0",
            "# vm: timeout=x",
            "# vm: gpu",
            "# vm: tpm=1",
            "# vm: mem=9999999999999999G",
        ] {
            let err = VmNeeds::parse(&format!("#!/bin/bash\n{bad}\n")).unwrap_err();
            assert!(err.to_string().contains("line 2"), "{bad}: {err}");
        }
    }

    #[test]
    fn selftests_are_not_in_the_suite() {
        assert!(in_suite("kernel-features"));
        assert!(!in_suite("selftest-fail"));
    }

    #[test]
    fn suite_lists_scripts_by_name() {
        let dir = std::env::temp_dir().join(format!("keel-vm-scen-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("b.sh"), "# vm: tpm\n").unwrap();
        std::fs::write(dir.join("a.sh"), "").unwrap();
        std::fs::write(dir.join("selftest-fail.sh"), "exit 1\n").unwrap();
        std::fs::write(dir.join("notes.txt"), "").unwrap();
        let s = suite(&dir).unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
        let names: Vec<&str> = s.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        assert!(s[1].needs.tpm);
    }
}
