//! The Debian unit corpus: unit files, drop-ins and configuration files of Debian 12's
//! `systemd`, `udev` and other common packages with units, fetched with `apt-get download` and
//! unpacked with `dpkg -x` into a cache directory (never committed).
//!
//! The cache is `$KEEL_CORPUS_DIR` or `/var/tmp/keel-debian-corpus`; it is built once (into
//! a temporary directory renamed into place) and reused.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The packages whose files make up the corpus.
pub const PACKAGES: &[&str] = &[
    "systemd",
    "udev",
    "systemd-timesyncd",
    "systemd-resolved",
    "openssh-server",
    "cron",
    "rsyslog",
    "dbus",
    "e2fsprogs",
    "lvm2",
    "mdadm",
    "util-linux",
    "apt",
    "man-db",
    "logrotate",
    "nginx-common",
    "apache2",
    "polkitd",
    "udisks2",
    "accountsservice",
    "smartmontools",
    "rpcbind",
    "chrony",
    "bluez",
    "wpasupplicant",
    "network-manager",
    "ifupdown",
    "exim4-base",
    "unattended-upgrades",
    "qemu-guest-agent",
    "open-iscsi",
    "multipath-tools",
    "apparmor",
    "cups-daemon",
    "postgresql-common",
];

fn run(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

fn build(dest: &Path) {
    let parent = dest.parent().unwrap_or(Path::new("/var/tmp"));
    std::fs::create_dir_all(parent).expect("corpus cache parent");
    let tmp = parent.join(format!(
        ".{}.tmp-{}",
        dest.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("corpus"),
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let debs = tmp.join("debs");
    let root = tmp.join("root");
    std::fs::create_dir_all(&debs).expect("corpus debs dir");
    std::fs::create_dir_all(&root).expect("corpus root dir");
    run(Command::new("apt-get")
        .arg("download")
        .args(PACKAGES)
        .current_dir(&debs));
    let mut names: Vec<PathBuf> = std::fs::read_dir(&debs)
        .expect("read debs")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "deb"))
        .collect();
    names.sort();
    assert_eq!(names.len(), PACKAGES.len(), "downloaded {names:?}");
    for deb in &names {
        run(Command::new("dpkg").arg("-x").arg(deb).arg(&root));
    }
    std::fs::remove_dir_all(&debs).expect("remove debs");
    match std::fs::rename(&tmp, dest) {
        Ok(()) => {}
        // Another process built it first.
        Err(_) if dest.join("root").is_dir() => {
            let _ = std::fs::remove_dir_all(&tmp);
        }
        Err(e) => panic!("cannot move corpus into {}: {e}", dest.display()),
    }
}

/// The unpacked corpus root (it contains `lib/systemd/system`, `etc/systemd`, ...);
/// fetched on first use.
///
/// # Panics
/// When the packages cannot be downloaded or unpacked (the test then fails with the
/// reason; the README's test command installs `apt` and `dpkg` and refreshes package lists).
pub fn debian_corpus() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dest = std::env::var_os("KEEL_CORPUS_DIR").map_or_else(
            || PathBuf::from("/var/tmp/keel-debian-corpus"),
            PathBuf::from,
        );
        if !dest.join("root").is_dir() {
            build(&dest);
        }
        dest.join("root")
    })
}

/// Every regular file and symlink under the corpus's unit directories
/// (`lib/systemd/system`, `usr/lib/systemd/system`, `etc/systemd/system`), recursively.
pub fn unit_dirs(root: &Path) -> Vec<PathBuf> {
    [
        "etc/systemd/system",
        "lib/systemd/system",
        "usr/lib/systemd/system",
    ]
    .iter()
    .map(|d| root.join(d))
    .filter(|d| d.is_dir())
    .collect()
}
