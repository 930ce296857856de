//! Debian packages the test tiers need, installed with apt-get when running as root.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Packages the test suite uses as real peers or as test corpora.
///
/// - `systemd`: `systemd --test` and `systemd-analyze` for the differential tests.
/// - `util-linux`: `setpriv` to run `systemd --test` as an unprivileged user.
/// - `apt`, `dpkg`: `apt-get download` + `dpkg -x` to fetch the Debian unit corpus.
/// - `bubblewrap`: the peer of `cargo xtask compare spawn`.
pub(crate) const TEST_PACKAGES: &[&str] = &[
    "systemd",
    "util-linux",
    "apt",
    "dpkg",
    "passwd",
    "bubblewrap",
    "cryptsetup-bin",
    "squashfs-tools",
    "erofs-utils",
];

fn is_installed(pkg: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", pkg])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.trim_ascii() == b"0")
        .unwrap_or(false)
}

/// Installs the missing packages of `wanted` when root; otherwise reports them.
pub(crate) fn ensure(wanted: &[&str]) -> Result<()> {
    let missing: Vec<&str> = wanted
        .iter()
        .copied()
        .filter(|p| !is_installed(p))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() {
        eprintln!(
            "xtask: not root, so not installing {}; tests that need them will fail",
            missing.join(" ")
        );
        return Ok(());
    }
    eprintln!("xtask: installing {}", missing.join(" "));
    let update = Command::new("apt-get")
        .args(["update", "-qq"])
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get update")?;
    if !update.success() {
        bail!("apt-get update failed: {update}");
    }
    let install = Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(&missing)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .context("running apt-get install")?;
    if !install.success() {
        bail!("apt-get install {} failed: {install}", missing.join(" "));
    }
    Ok(())
}

/// Makes sure apt's package lists exist (needed by `apt-get download` in the corpus tests).
pub(crate) fn ensure_package_lists() -> Result<()> {
    let lists = std::path::Path::new("/var/lib/apt/lists");
    let has_lists = std::fs::read_dir(lists)
        .map(|d| {
            d.flatten()
                .any(|e| e.file_name().to_string_lossy().contains("_Packages"))
        })
        .unwrap_or(false);
    if has_lists || !is_root() {
        return Ok(());
    }
    let st = Command::new("apt-get")
        .args(["update", "-qq"])
        .status()
        .context("running apt-get update")?;
    if !st.success() {
        bail!("apt-get update failed: {st}");
    }
    Ok(())
}
