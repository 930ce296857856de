//! `cargo xtask vm`: keel's tests that need a real kernel the host cannot give (batman-adv,
//! dm-crypt, a TPM, pure cgroup2 with the memory controller) run in QEMU, one boot per
//! scenario.
//!
//! - `vm build`: installs what is missing (as root), unpacks Debian's kernel, builds keel's
//!   release binaries and writes the initramfs (cached; see [`build`]).
//! - `vm run SCENARIO...`: boots each scenario of `tests/vm/` with the console shown.
//! - `vm test`: every scenario except `selftest-*`, one VM at a time, with a timing table.
//! - `vm selftest`: runs `tests/vm/selftest-fail.sh`, which fails on purpose, and checks the
//!   harness reports the failure with the guest log.
//!
//! Design choices:
//! - **Kernel**: `linux-image-amd64`'s versioned package is fetched with `apt-get download`
//!   and unpacked with `dpkg -x` under `<target>/vm/kernel/` rather than installed: no root,
//!   the host's `/boot` and bootloader stay untouched, no `update-initramfs` run, and it
//!   works where the host's `/boot` is empty.
//! - **Guest init** (`tests/vm/guest/init.sh`, busybox ash): each of its steps (mount, insmod, 9p,
//!   poweroff) is one busybox applet, so a shell script is the smallest correct init; a
//!   Rust init would need a second, static (`crt-static`) build of its own and raw
//!   `mount`/`reboot` syscalls for no gain, since boot time is spent in the kernel and module
//!   loading, not in init. keel's own PID 1 gets its scenario when it exists
//!   (the init can `exec` it).
//! - **Results**: a 9p share per scenario (`/share`: the script in, `rc` and
//!   `scenario.log` out) plus serial-console markers as a fallback; see [`run`].
//! - **Safety nets**: `panic=-1 -no-reboot` makes QEMU exit when init dies, and a
//!   per-scenario timeout kills QEMU by its own pid.

mod build;
mod cpio;
mod modules;
mod run;
mod scenario;

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use self::scenario::Scenario;
use crate::util::{target_dir, workspace_root};

fn scenario_dir(root: &Path) -> PathBuf {
    root.join("tests/vm")
}

/// Passed and failed scenarios of a run.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct VmTally {
    /// Scenarios that exited 0.
    pub(crate) passed: u64,
    /// Scenarios that failed, crashed or timed out.
    pub(crate) failed: u64,
}

fn secs(d: Option<std::time::Duration>) -> String {
    d.map_or_else(|| "-".into(), |d| format!("{:.1}s", d.as_secs_f64()))
}

/// Boots each scenario in turn and prints one timing line each and a table at the end.
fn run_all(root: &Path, scenarios: &[Scenario], echo: bool) -> Result<VmTally> {
    let image = build::build(root)?;
    let runs = target_dir().join("vm/runs");
    eprintln!(
        "xtask vm: accelerator {:?}, kernel {}",
        run::accel(),
        image.kernel.version
    );
    let mut tally = VmTally::default();
    let mut rows = Vec::new();
    let t0 = std::time::Instant::now();
    for s in scenarios {
        eprintln!("xtask vm: {} ...", s.name);
        let o = run::run(&image, s, &runs, echo)?;
        let row = format!(
            "{:<22} {:<16} {:>15} {:>13} {:>10}",
            s.name,
            o.verdict(),
            secs(o.boot_to_scenario),
            o.guest_uptime_at_start
                .filter(|u| u.is_finite())
                .map_or_else(|| "-".into(), |u| format!("{u:.1}s")),
            secs(Some(o.whole_run)),
        );
        eprintln!("xtask vm: {row}");
        rows.push(row);
        if o.passed() {
            tally.passed += 1;
        } else {
            tally.failed += 1;
        }
    }
    println!(
        "{:<22} {:<16} {:>15} {:>13} {:>10}",
        "vm scenario", "result", "boot->scenario", "guest uptime", "whole run"
    );
    for r in rows {
        println!("{r}");
    }
    println!(
        "vm: {} passed, {} failed in {:.1}s",
        tally.passed,
        tally.failed,
        t0.elapsed().as_secs_f64()
    );
    Ok(tally)
}

/// `vm test`: every scenario of `tests/vm/` except the harness self-tests.
///
/// # Errors
/// The image cannot be built or a VM cannot be started.
pub(crate) fn test_suite() -> Result<VmTally> {
    let root = workspace_root();
    let scenarios = scenario::suite(&scenario_dir(&root))?;
    if scenarios.is_empty() {
        bail!("no scenarios in {}", scenario_dir(&root).display());
    }
    run_all(&root, &scenarios, false)
}

/// `vm selftest`: a scenario that fails on purpose must come back as a failure with its
/// exit status and with the guest's output in the printed log.
///
/// # Errors
/// The image cannot be built or a VM cannot be started.
pub(crate) fn selftest() -> Result<bool> {
    const SENTINEL: &str = "keel-vm-selftest: failing on purpose";
    let root = workspace_root();
    let image = build::build(&root)?;
    let s = Scenario::load(&scenario_dir(&root), "selftest-fail")?;
    println!("xtask vm selftest: the guest log below belongs to a scenario that fails on purpose");
    let o = run::run(&image, &s, &target_dir().join("vm/runs"), false)?;
    let log = std::fs::read_to_string(&o.serial_log)
        .with_context(|| format!("reading {}", o.serial_log.display()))?;
    let ok = !o.passed() && o.rc == Some(3) && log.contains(SENTINEL);
    println!(
        "xtask vm selftest: {} (scenario {}, boot->scenario {}, whole run {})",
        if ok {
            "ok"
        } else {
            "FAILED: the harness did not report the failure"
        },
        o.verdict(),
        secs(o.boot_to_scenario),
        secs(Some(o.whole_run))
    );
    Ok(ok)
}

fn usage() -> Result<bool> {
    eprintln!(
        "usage: cargo xtask vm <build | run SCENARIO... | test | selftest>\n  \
         scenarios are tests/vm/<name>.sh; KEEL_VM_ACCEL=kvm|tcg overrides the KVM probe"
    );
    Ok(false)
}

/// `cargo xtask vm ...`.
///
/// # Errors
/// See [`build::build`] and [`run::run`].
pub(crate) fn command(args: &[String]) -> Result<bool> {
    let root = workspace_root();
    let Some((sub, rest)) = args.split_first() else {
        return usage();
    };
    match sub.as_str() {
        "build" => build::build(&root).map(|_| true),
        "run" if !rest.is_empty() => {
            let dir = scenario_dir(&root);
            let scenarios = rest
                .iter()
                .map(|n| Scenario::load(&dir, n))
                .collect::<Result<Vec<_>>>()?;
            let t = run_all(&root, &scenarios, true)?;
            Ok(t.failed == 0)
        }
        "test" => test_suite().map(|t| t.failed == 0),
        "selftest" => selftest(),
        _ => usage(),
    }
}
