//! System extension images (spec §1): `keel_exec::sysext`, the `keel-sysext` binary,
//! `ExtensionImages=` through keel-exec, and interoperability with Debian's
//! `systemd-sysext` (252).
//!
//! Every privileged test runs on a fresh thread that unshares its own mount namespace and
//! makes `/` private in it first, so the host's mounts never change; the merges go into a
//! `--root` tree in a temporary directory (its own `usr/`, `opt/`, `etc/os-release`).
//!
//! systemd-sysext 252 differs from 248 (spec §1.10) and from keel in ways these tests work
//! around or pin down:
//! - 252 builds the merge in a forked child with its own mount namespace and relies on the
//!   propagation of a *shared* `/` (and on `/run` being a mount point, which it remounts
//!   `MS_SLAVE`); on a private `/` it prints "Merged…", exits 0 and nothing is visible.
//!   The interop tests therefore make `/` shared inside their private namespace and mount
//!   a tmpfs on `/run`. keel attaches its overlay in the caller's namespace and works on a
//!   private `/` too (the keel-only tests run with a private `/`).
//! - 252 `status` ignores `--root` for reading the marker (it opens `/usr/.systemd-sysext/…`
//!   of the host), so `status` is compared only on keel's side.
//! - 252 accepts `ID=_any` and checks `ARCHITECTURE=` (v252); 248 had neither. keel follows
//!   252 there, so both tools agree on those images.
//! - 252 logs incompatible images only at debug level; keel names each one with the reason.
//! - 252 (like 248) exits 0 even when its merge child failed; keel exits 1.
//! - Both write the same marker (`.systemd-sysext/extensions`, `.systemd-sysext/dev`), so
//!   either tool's `unmerge` undoes the other's merge.

#![allow(clippy::tests_outside_test_module)] // integration tests: the whole binary is tests
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keel_exec::keel_unit::load::parse_unit_text;
use keel_exec::keel_unit::model::exec_command::ExecFlags;
use keel_exec::nix::errno::Errno;
use keel_exec::nix::mount::{MsFlags, mount};
use keel_exec::nix::sched::{CloneFlags, unshare};
use keel_exec::sysext::{
    self, AttachError, IgnoreReason, ImageKind, MergeError, Options, SwapMethod,
};
use keel_exec::{ExecContext, ExitStatus, OutputTarget, SpawnError, SpawnOptions, StepKind};

const SQUASHFS: &str = "/usr/bin/mksquashfs";
const EROFS: &str = "/usr/bin/mkfs.erofs";
const SYSTEMD_SYSEXT: &str = "/usr/bin/systemd-sysext";

/// Runs `f` on a fresh thread in a private mount namespace; with `shared_root`, `/` is then
/// made shared again inside it (a new peer group of this namespace only) and a tmpfs covers
/// `/run`, as systemd-sysext needs.
fn in_private_mount_ns<T: Send + 'static>(
    shared_root: bool,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    testkit::on_fresh_thread(move || {
        unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS).expect("unshare");
        mount(
            None::<&str>,
            "/",
            None::<&str>,
            MsFlags::MS_REC | MsFlags::MS_PRIVATE,
            None::<&str>,
        )
        .expect("make / private");
        if shared_root {
            mount(
                None::<&str>,
                "/",
                None::<&str>,
                MsFlags::MS_REC | MsFlags::MS_SHARED,
                None::<&str>,
            )
            .expect("make / shared");
            mount(
                Some("tmpfs"),
                "/run",
                Some("tmpfs"),
                MsFlags::empty(),
                Some("mode=0755"),
            )
            .expect("tmpfs on /run");
        }
        f()
    })
}

/// A `--root` OS tree: `etc/os-release` (Debian 12), a few host files in `usr/`.
struct Tree {
    _dir: tempfile::TempDir,
    root: PathBuf,
    /// Where extension sources are built (outside the search directories).
    build: PathBuf,
}

impl Tree {
    fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        let build = dir.path().join("build");
        for d in [
            "etc",
            "usr/bin",
            "usr/share/host",
            "var/lib/extensions",
            "run",
        ] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        fs::create_dir_all(&build).unwrap();
        fs::write(root.join("etc/os-release"), "ID=debian\nVERSION_ID=12\n").unwrap();
        fs::write(root.join("usr/bin/host-tool"), "host").unwrap();
        fs::write(root.join("usr/share/host/file"), "host").unwrap();
        Tree {
            _dir: dir,
            root,
            build,
        }
    }

    fn opts(&self) -> Options {
        let mut o = Options::default();
        o.root = self.root.clone();
        o
    }

    fn ext_dir(&self) -> PathBuf {
        self.root.join("var/lib/extensions")
    }

    /// Builds an extension tree `build/NAME` with `release` and `files` (each holding NAME).
    fn source(&self, name: &str, release: &str, files: &[&str]) -> PathBuf {
        let t = self.build.join(name);
        let rel = t.join("usr/lib/extension-release.d");
        fs::create_dir_all(&rel).unwrap();
        fs::write(rel.join(format!("extension-release.{name}")), release).unwrap();
        for f in files {
            let p = t.join(f);
            fs::create_dir_all(p.parent().unwrap()).unwrap();
            fs::write(p, name).unwrap();
        }
        t
    }

    /// A directory extension in `/var/lib/extensions`.
    fn add_dir(&self, name: &str, release: &str, files: &[&str]) {
        let src = self.source(name, release, files);
        let st = Command::new("cp")
            .arg("-a")
            .arg(&src)
            .arg(self.ext_dir().join(name))
            .status()
            .unwrap();
        assert!(st.success());
    }

    /// A squashfs extension `NAME.raw`.
    fn add_squashfs(&self, name: &str, release: &str, files: &[&str]) {
        testkit::require_tool(SQUASHFS, "squashfs-tools");
        let src = self.source(name, release, files);
        let out = self.ext_dir().join(format!("{name}.raw"));
        let o = Command::new(SQUASHFS)
            .arg(&src)
            .arg(&out)
            .args(["-all-root", "-noappend", "-quiet"])
            .stdout(Stdio::null())
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    /// An erofs extension `NAME.raw`.
    fn add_erofs(&self, name: &str, release: &str, files: &[&str]) {
        testkit::require_tool(EROFS, "erofs-utils");
        let src = self.source(name, release, files);
        let out = self.ext_dir().join(format!("{name}.raw"));
        let o = Command::new(EROFS)
            .args(["--quiet", "--all-root"])
            .arg(&out)
            .arg(&src)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }

    fn remove(&self, entry: &str) {
        let p = self.ext_dir().join(entry);
        if p.is_dir() {
            fs::remove_dir_all(p).unwrap();
        } else {
            fs::remove_file(p).unwrap();
        }
    }

    /// Every path below `usr/` and `opt/` (directories end in `/`), sorted.
    fn files(&self) -> BTreeSet<String> {
        fn walk(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
            let Ok(rd) = fs::read_dir(dir) else { return };
            for e in rd {
                let e = e.unwrap();
                let p = e.path();
                let rel = p.strip_prefix(base).unwrap().display().to_string();
                if e.file_type().unwrap().is_dir() {
                    out.insert(format!("{rel}/"));
                    walk(base, &p, out);
                } else {
                    out.insert(rel);
                }
            }
        }
        let mut out = BTreeSet::new();
        for h in ["usr", "opt"] {
            walk(&self.root, &self.root.join(h), &mut out);
        }
        out
    }

    fn has(&self, rel: &str) -> bool {
        self.root.join(rel).exists()
    }
}

const DEBIAN12: &str = "ID=debian\nVERSION_ID=12\n";

/// The file system type, source and layers (top first) of the mount on `target`, from
/// mountinfo: `lowerdir=a:b` (legacy `mount(2)`) or `lowerdir+=a,lowerdir+=b` (Linux 6.8
/// `fsconfig`).
fn overlay_at(target: &Path) -> Option<(String, String, Vec<String>)> {
    let mi = fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
    let t = target.display().to_string();
    let line = mi
        .lines()
        .rfind(|l| l.split(' ').nth(4) == Some(t.as_str()))?;
    let mut f = line.split(" - ").nth(1)?.split(' ');
    let (fstype, source, opts) = (f.next()?, f.next()?, f.next()?);
    let mut layers = Vec::new();
    for o in opts.split(',') {
        if let Some(v) = o.strip_prefix("lowerdir=") {
            layers.extend(v.split(':').map(str::to_owned));
        } else if let Some(v) = o.strip_prefix("lowerdir+=") {
            layers.push(v.to_owned());
        }
    }
    Some((fstype.to_owned(), source.to_owned(), layers))
}

fn loop_backing_files() -> Vec<String> {
    let mut out = Vec::new();
    let Ok(rd) = fs::read_dir("/sys/block") else {
        return out;
    };
    for e in rd.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("loop") {
            if let Ok(b) = fs::read_to_string(e.path().join("loop/backing_file")) {
                out.push(b.trim().to_owned());
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------
// Unprivileged: images keel refuses before any loop device is touched.

#[test]
fn dm_verity_sidecar_is_refused_clearly() {
    let t = tempfile::tempdir().unwrap();
    let img = t.path().join("app.raw");
    fs::write(&img, b"hsqs").unwrap();
    fs::write(t.path().join("app.roothash"), "00").unwrap();
    let e = sysext::image::attach(&img, ImageKind::Raw, "x86-64").unwrap_err();
    assert!(matches!(e, AttachError::Verity { .. }), "{e:?}");
    assert!(e.to_string().contains("dm-verity"), "{e}");
}

#[test]
fn luks_unknown_and_bad_gpt_images_are_refused() {
    let t = tempfile::tempdir().unwrap();
    let luks = t.path().join("l.raw");
    fs::write(&luks, b"LUKS\xba\xbe\0\x02").unwrap();
    assert!(matches!(
        sysext::image::attach(&luks, ImageKind::Raw, "x86-64"),
        Err(AttachError::Encrypted { .. })
    ));
    let junk = t.path().join("j.raw");
    fs::write(&junk, vec![7u8; 70_000]).unwrap();
    assert!(matches!(
        sysext::image::attach(&junk, ImageKind::Raw, "x86-64"),
        Err(AttachError::UnknownFormat { .. })
    ));
    // A GPT disk with only an ESP: no root or /usr partition.
    let esp = t.path().join("e.raw");
    fs::write(
        &esp,
        gpt_disk("c12a7328-f81f-11d2-ba4b-00a0c93ec93b", &[0u8; 4096]),
    )
    .unwrap();
    let e = sysext::image::attach(&esp, ImageKind::Raw, "x86-64").unwrap_err();
    assert!(matches!(e, AttachError::Gpt { .. }), "{e:?}");
}

#[test]
fn extension_images_need_a_mount_namespace_only_when_sandboxed() {
    let c = service_ctx("ExtensionImages=/a.raw -/b.raw:root:nosuid");
    assert_eq!(c.extension_images.len(), 2);
    assert!(c.extension_images[1].ignore_missing);
    let plan = keel_exec::mount::plan_mounts(&c, true).unwrap().unwrap();
    assert_eq!(plan.extension_images, c.extension_images);
    // `+` commands get no sandboxing, so no extension overlays either.
    assert!(keel_exec::mount::plan_mounts(&c, false).unwrap().is_none());
    assert!(
        keel_exec::mount::plan_mounts(&service_ctx(""), true)
            .unwrap()
            .is_none()
    );
}

/// A GPT disk image: protective MBR, header at LBA 1, entries at LBA 2, one partition of
/// type `type_guid` at 1 MiB holding `payload`, backup area not written (keel reads only
/// the primary table).
fn gpt_disk(type_guid: &str, payload: &[u8]) -> Vec<u8> {
    use sysext::format::{Guid, crc32};
    const START: usize = 2048;
    let sectors = payload.len().div_ceil(512);
    let mut img = vec![0u8; (START + sectors + 34) * 512];
    img[510] = 0x55;
    img[511] = 0xAA;
    let mut entries = vec![0u8; 128 * 128];
    entries[0..16].copy_from_slice(&Guid::parse(type_guid).unwrap().0);
    entries[16] = 1;
    entries[32..40].copy_from_slice(&(START as u64).to_le_bytes());
    entries[40..48].copy_from_slice(&((START + sectors - 1) as u64).to_le_bytes());
    let h = &mut img[512..512 + 92];
    h[0..8].copy_from_slice(b"EFI PART");
    h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
    h[12..16].copy_from_slice(&92u32.to_le_bytes());
    h[24..32].copy_from_slice(&1u64.to_le_bytes());
    h[40..48].copy_from_slice(&34u64.to_le_bytes());
    h[72..80].copy_from_slice(&2u64.to_le_bytes());
    h[80..84].copy_from_slice(&128u32.to_le_bytes());
    h[84..88].copy_from_slice(&128u32.to_le_bytes());
    h[88..92].copy_from_slice(&crc32(&entries).to_le_bytes());
    let c = crc32(h);
    h[16..20].copy_from_slice(&c.to_le_bytes());
    img[1024..1024 + entries.len()].copy_from_slice(&entries);
    img[START * 512..START * 512 + payload.len()].copy_from_slice(payload);
    img
}

// ---------------------------------------------------------------------------------------
// Privileged: keel on its own, with `/` private.

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, loop devices, overlayfs)"]
fn merge_directory_squashfs_erofs_then_unmerge_restores() {
    testkit::require_root();
    in_private_mount_ns(false, || {
        let t = Tree::new();
        let before = t.files();
        t.add_dir("dirext", DEBIAN12, &["usr/bin/dir-tool"]);
        t.add_squashfs("sqext", DEBIAN12, &["usr/bin/sq-tool", "usr/share/sq/data"]);
        t.add_erofs("erext", DEBIAN12, &["usr/bin/er-tool", "opt/er/data"]);
        let opts = t.opts();
        let r = sysext::merge(&opts).unwrap();
        assert_eq!(r.used, ["dirext", "erext", "sqext"]);
        assert!(r.ignored.is_empty());
        let hier: Vec<_> = r.merged.iter().map(|m| m.hierarchy.clone()).collect();
        assert_eq!(hier, [PathBuf::from("/usr"), PathBuf::from("/opt")]);
        assert!(r.merged.iter().all(|m| m.method == SwapMethod::Attached));
        for f in [
            "usr/bin/dir-tool",
            "usr/bin/sq-tool",
            "usr/share/sq/data",
            "usr/bin/er-tool",
            "opt/er/data",
            "usr/bin/host-tool",
            "usr/share/host/file",
        ] {
            assert!(t.has(f), "{f} not visible after merge");
        }
        assert_eq!(
            fs::read_to_string(t.root.join("usr/.systemd-sysext/extensions")).unwrap(),
            "dirext\nerext\nsqext\n"
        );
        // Layer order: metadata, extensions in descending version order, the host last.
        let (fstype, source, layers) = overlay_at(&t.root.join("usr")).unwrap();
        assert_eq!((fstype.as_str(), source.as_str()), ("overlay", "sysext"));
        let usr = t.root.join("usr").display().to_string();
        assert_eq!(
            layers,
            [
                "/run/keel/sysext/meta/usr",
                "/run/keel/sysext/extensions/sqext/usr",
                "/run/keel/sysext/extensions/erext/usr",
                "/run/keel/sysext/extensions/dirext/usr",
                usr.as_str(),
            ]
        );
        // Read-only, and the workspace is invisible here.
        assert_eq!(
            fs::write(t.root.join("usr/bin/new"), "x")
                .unwrap_err()
                .raw_os_error(),
            Some(libc_erofs())
        );
        assert!(overlay_at(Path::new("/run/keel/sysext")).is_none());
        let st = sysext::status(&opts).unwrap();
        assert_eq!(st.len(), 2);
        assert!(st.iter().all(|s| s.extensions.as_deref()
            == Some(&["dirext".to_owned(), "erext".to_owned(), "sqext".to_owned()][..])));
        let json = serde_json::to_value(&st).unwrap();
        assert_eq!(json[1]["hierarchy"], "/usr");
        assert!(json[1]["since"].as_u64().unwrap() > 0);
        // A second merge is refused: "already merged".
        assert!(matches!(
            sysext::merge(&opts),
            Err(MergeError::AlreadyMerged { .. })
        ));
        let backing = loop_backing_files();
        assert!(
            backing.iter().any(|b| b.ends_with("sqext.raw")),
            "{backing:?}"
        );
        let un = sysext::unmerge(&opts).unwrap();
        assert_eq!(un, [PathBuf::from("/usr"), PathBuf::from("/opt")]);
        let mut after = t.files();
        after.retain(|f| f != "opt/");
        assert_eq!(after, before, "unmerge must restore the original tree");
        assert!(
            sysext::status(&opts)
                .unwrap()
                .iter()
                .all(|s| s.extensions.is_none())
        );
        // Autoclear: once the overlays are gone the loop devices are released.
        std::thread::sleep(std::time::Duration::from_millis(200));
        let backing = loop_backing_files();
        assert!(
            !backing
                .iter()
                .any(|b| b.contains(&t.root.display().to_string())),
            "{backing:?}"
        );
    });
}

fn libc_erofs() -> i32 {
    Errno::EROFS as i32
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, overlayfs)"]
fn incompatible_images_are_refused_with_the_reason_and_force_merges_them() {
    testkit::require_root();
    in_private_mount_ns(false, || {
        let t = Tree::new();
        t.add_dir("good", DEBIAN12, &["usr/bin/good"]);
        t.add_dir("fedora", "ID=fedora\nVERSION_ID=39\n", &["usr/bin/fedora"]);
        t.add_dir("old", "ID=debian\nVERSION_ID=11\n", &["usr/bin/old"]);
        t.add_dir(
            "arm",
            "ID=debian\nVERSION_ID=12\nARCHITECTURE=arm64\n",
            &["usr/bin/arm"],
        );
        t.add_dir("any", "ID=_any\n", &["usr/bin/any"]);
        t.add_dir("norelease", DEBIAN12, &["usr/bin/norelease"]);
        fs::remove_dir_all(t.ext_dir().join("norelease/usr/lib")).unwrap();
        let opts = t.opts();
        let r = sysext::merge(&opts).unwrap();
        assert_eq!(r.used, ["any", "good"]);
        let reasons: Vec<String> = r.ignored.iter().map(ToString::to_string).collect();
        assert_eq!(reasons.len(), 4, "{reasons:?}");
        assert!(
            reasons.contains(&"extension fedora is for ID=fedora, host has ID=debian".to_owned()),
            "{reasons:?}"
        );
        assert!(
            reasons.contains(&"extension old has VERSION_ID=11, host has VERSION_ID=12".to_owned()),
            "{reasons:?}"
        );
        assert!(
            reasons.iter().any(|r| r.contains("ARCHITECTURE=arm64")),
            "{reasons:?}"
        );
        assert!(r.ignored.contains(&IgnoreReason::NoExtensionRelease {
            name: "norelease".into()
        }));
        assert!(t.has("usr/bin/good") && !t.has("usr/bin/fedora"));
        sysext::unmerge(&opts).unwrap();

        let mut forced = t.opts();
        forced.force = true;
        let r = sysext::merge(&forced).unwrap();
        assert_eq!(r.used, ["any", "arm", "fedora", "good", "norelease", "old"]);
        assert!(t.has("usr/bin/fedora") && t.has("usr/bin/old") && t.has("usr/bin/arm"));
        sysext::unmerge(&forced).unwrap();

        // An image that ships its own os-release blocks the whole merge (248), unless forced.
        t.add_dir("osrel", DEBIAN12, &["usr/lib/os-release"]);
        let e = sysext::merge(&opts).unwrap_err();
        assert!(
            matches!(e, MergeError::ShipsOsRelease { ref name } if name == "osrel"),
            "{e:?}"
        );
        assert!(!t.has("usr/.systemd-sysext"));
        sysext::merge(&forced).unwrap();
        sysext::unmerge(&forced).unwrap();

        // Only incompatible images: nothing merged, nothing changed.
        t.remove("osrel");
        for n in ["good", "any", "arm", "norelease"] {
            t.remove(n);
        }
        let r = sysext::merge(&opts).unwrap();
        assert!(r.used.is_empty() && r.merged.is_empty());
        assert_eq!(r.ignored.len(), 2);
        assert!(!t.has("usr/.systemd-sysext"));
    });
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, loop devices, overlayfs)"]
fn refresh_picks_up_added_and_removed_images_atomically() {
    testkit::require_root();
    in_private_mount_ns(false, || {
        let t = Tree::new();
        t.add_dir("one", DEBIAN12, &["usr/bin/one"]);
        let opts = t.opts();
        sysext::merge(&opts).unwrap();
        assert!(t.has("usr/bin/one"));
        // A process keeps a directory of the old merge open across the refresh.
        let held = fs::File::open(t.root.join("usr/bin")).unwrap();
        t.add_squashfs("two", DEBIAN12, &["usr/bin/two"]);
        // A reader in this namespace looks the merged file up again and again while the
        // overlay is swapped: it must never miss it.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let probe = t.root.join("usr/bin/one");
        let reader = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let (mut seen, mut missed) = (0u64, 0u64);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    if probe.exists() {
                        seen += 1;
                    } else {
                        missed += 1;
                    }
                }
                (seen, missed)
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(20));
        let r = sysext::refresh(&opts).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let (seen, missed) = reader.join().unwrap();
        assert!(seen > 0);
        assert_eq!(missed, 0, "a lookup saw the unmerged tree during refresh");
        assert_eq!(r.used, ["one", "two"]);
        let usr = r
            .merged
            .iter()
            .find(|m| m.hierarchy == Path::new("/usr"))
            .unwrap();
        assert_eq!(
            usr.method,
            SwapMethod::Beneath,
            "kernel 6.5+ swaps atomically"
        );
        assert!(t.has("usr/bin/one") && t.has("usr/bin/two"));
        // Exactly one merge is mounted on usr (the old one was detached, not stacked).
        let mi = fs::read_to_string("/proc/thread-self/mountinfo").unwrap();
        let usr_path = t.root.join("usr").display().to_string();
        let n = mi
            .lines()
            .filter(|l| l.split(' ').nth(4) == Some(usr_path.as_str()))
            .count();
        assert_eq!(n, 1, "{mi}");
        drop(held);

        t.remove("one");
        let r = sysext::refresh(&opts).unwrap();
        assert_eq!(r.used, ["two"]);
        assert!(!t.has("usr/bin/one") && t.has("usr/bin/two"));
        assert_eq!(
            fs::read_to_string(t.root.join("usr/.systemd-sysext/extensions")).unwrap(),
            "two\n"
        );

        t.remove("two.raw");
        let r = sysext::refresh(&opts).unwrap();
        assert!(r.used.is_empty());
        assert_eq!(r.unmerged, [PathBuf::from("/usr")]);
        assert!(!t.has("usr/bin/two") && !t.has("usr/.systemd-sysext"));
        assert!(t.has("usr/bin/host-tool"));
    });
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, loop devices, overlayfs)"]
fn gpt_image_with_a_root_partition_merges() {
    testkit::require_root();
    in_private_mount_ns(false, || {
        testkit::require_tool(SQUASHFS, "squashfs-tools");
        let t = Tree::new();
        // A squashfs file system placed in the x86-64 root partition of a GPT disk; the
        // image name is "gptext", so its release file says so.
        let src = t.source("gptext", DEBIAN12, &["usr/bin/gpt-tool"]);
        let sq = t.build.join("gptext.sqfs");
        let st = Command::new(SQUASHFS)
            .arg(&src)
            .arg(&sq)
            .args(["-all-root", "-noappend", "-quiet"])
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let disk = gpt_disk(
            "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
            &fs::read(&sq).unwrap(),
        );
        fs::write(t.ext_dir().join("gptext.raw"), disk).unwrap();
        let opts = t.opts();
        let r = sysext::merge(&opts).unwrap();
        assert_eq!(r.used, ["gptext"]);
        assert_eq!(
            fs::read_to_string(t.root.join("usr/bin/gpt-tool")).unwrap(),
            "gptext"
        );
        sysext::unmerge(&opts).unwrap();
        assert!(!t.has("usr/bin/gpt-tool"));
    });
}

/// The `keel-sysext` binary, built once (the test binary lives in `<target>/debug/deps`).
fn keel_sysext() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "keel-sysext"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("cargo");
        assert!(st.success(), "cargo build -p keel-sysext failed");
        let exe = std::env::current_exe().unwrap();
        exe.parent().unwrap().parent().unwrap().join("keel-sysext")
    })
    .clone()
}

/// Runs a sysext tool with `--root`; returns (exit code, stdout, stderr).
fn tool(bin: &Path, root: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin)
        .arg(format!("--root={}", root.display()))
        .args(args)
        .env("SYSTEMD_LOG_LEVEL", "info")
        .env("SYSTEMD_COLORS", "0")
        .env("SYSTEMD_PAGER", "")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The names from "Using extensions 'a', 'b'." (empty when absent).
fn using_line(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .find_map(|l| l.strip_prefix("Using extensions '"))
        .map(|l| {
            l.trim_end_matches("'.")
                .split("', '")
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, overlayfs)"]
fn binary_verbs_output_and_exit_codes() {
    testkit::require_root();
    let bin = keel_sysext();
    in_private_mount_ns(false, move || {
        let t = Tree::new();
        let (rc, out, err) = tool(&bin, &t.root, &["list"]);
        assert_eq!((rc, out.as_str()), (0, ""), "{err}");
        assert!(err.contains("No OS extensions found."), "{err}");
        t.add_dir("b", DEBIAN12, &["usr/bin/b"]);
        t.add_dir("a", DEBIAN12, &["usr/bin/a"]);
        t.add_dir("x", "ID=fedora\n", &["usr/bin/x"]);
        let (rc, out, _) = tool(&bin, &t.root, &["list", "--json=short"]);
        assert_eq!(rc, 0);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let names: Vec<&str> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["a", "b", "x"]);
        assert_eq!(v[0]["type"], "directory");
        assert!(v[0]["time"].as_u64().is_some());
        let (rc, out, _) = tool(&bin, &t.root, &["--json=short"]);
        assert_eq!(rc, 0);
        assert_eq!(
            out.trim(),
            r#"[{"hierarchy":"/usr","extensions":"none","since":null}]"#
        );
        let (rc, _, err) = tool(&bin, &t.root, &["merge"]);
        assert_eq!(rc, 0, "{err}");
        assert_eq!(using_line(&err), ["a", "b"]);
        assert!(
            err.contains("extension x is for ID=fedora, host has ID=debian"),
            "{err}"
        );
        assert!(
            err.contains(&format!(
                "Merged extensions into '{}/usr'.",
                t.root.display()
            )),
            "{err}"
        );
        let (rc, out, _) = tool(&bin, &t.root, &["status"]);
        assert_eq!(rc, 0);
        assert!(
            out.starts_with("HIERARCHY EXTENSIONS SINCE\n/usr      a b        "),
            "{out}"
        );
        let (rc, _, err) = tool(&bin, &t.root, &["merge"]);
        assert_eq!(rc, 1);
        assert!(err.contains("hierarchy /usr is already merged"), "{err}");
        let (rc, _, err) = tool(&bin, &t.root, &["refresh"]);
        assert_eq!(rc, 0, "{err}");
        assert!(err.contains("replaced atomically"), "{err}");
        let (rc, _, err) = tool(&bin, &t.root, &["unmerge"]);
        assert_eq!(rc, 0);
        assert!(
            err.contains(&format!("Unmerged '{}/usr'.", t.root.display())),
            "{err}"
        );
        let (rc, _, _) = tool(&bin, &t.root, &["bogus"]);
        assert_eq!(rc, 1, "usage errors exit 1, as systemd-sysext's");
        let (rc, _, _) = tool(&bin, &t.root, &["--json=xx"]);
        assert_eq!(rc, 1);
    });
}

// ---------------------------------------------------------------------------------------
// ExtensionImages= through keel-exec.

fn service_ctx(settings: &str) -> ExecContext {
    let name = "ext.service".parse().unwrap();
    let text = format!("[Service]\n{settings}\nExecStart=/bin/true\n");
    let l = parse_unit_text(&name, text.as_bytes(), None, &Default::default());
    assert!(l.diagnostics.is_empty(), "{:?}", l.diagnostics);
    ExecContext::from_unit(&l.unit)
}

/// Runs `/bin/sh -c script` under `c`; returns the status and the output.
fn run_service(mut c: ExecContext, script: &str) -> Result<(ExitStatus, String), SpawnError> {
    use std::io::Read;
    let (r, w) = keel_exec::nix::unistd::pipe().unwrap();
    c.stdout = OutputTarget::Fd;
    c.stderr = OutputTarget::Inherit;
    let mut opts = SpawnOptions::default();
    opts.stdout = Some(w);
    let cmd =
        keel_exec::Command::new("/bin/sh", ["-c", script]).with_flags(ExecFlags::NO_ENV_EXPAND);
    let child = keel_exec::spawn(&c, &cmd, opts)?;
    let mut out = String::new();
    std::fs::File::from(r).read_to_string(&mut out).unwrap();
    Ok((child.wait().unwrap(), out))
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespaces, loop devices, overlayfs)"]
fn extension_images_are_seen_by_the_service_only() {
    testkit::require_root();
    in_private_mount_ns(false, || {
        let t = Tree::new();
        // The real host is Debian 12 (the service's root is `/`): use matching releases.
        let host = keel_core::os_release::OsRelease::load(Path::new("/")).unwrap();
        let rel = format!(
            "ID={}\nVERSION_ID={}\n",
            host.id().unwrap(),
            host.version_id().unwrap_or("")
        );
        t.add_squashfs(
            "app0",
            &rel,
            &[
                "usr/share/keel-sysext-probe/app0",
                "usr/share/keel-sysext-probe/both",
            ],
        );
        t.add_erofs(
            "app1",
            &rel,
            &[
                "usr/share/keel-sysext-probe/app1",
                "usr/share/keel-sysext-probe/both",
            ],
        );
        let d = t.ext_dir();
        let c = service_ctx(&format!(
            "ExtensionImages={}/app0.raw -{}/missing.raw\nExtensionImages={}/app1.raw:nosuid",
            d.display(),
            d.display(),
            d.display()
        ));
        assert_eq!(c.extension_images.len(), 3);
        let (st, out) = run_service(
            c,
            "cat /usr/share/keel-sysext-probe/app0 /usr/share/keel-sysext-probe/app1; echo; \
             cat /usr/share/keel-sysext-probe/both; echo; test -x /bin/sh && echo host-ok; \
             test -e /usr/.systemd-sysext || echo no-meta",
        )
        .unwrap();
        assert_eq!(st, ExitStatus::Exited(0), "{out}");
        // Last listed is the top layer: app1 wins "both".
        assert_eq!(out, "app0app1\napp1\nhost-ok\nno-meta\n");
        // With other sandboxing on top (the root mirrored for bind mounts, /usr read-only
        // again by ProtectSystem=, a private /tmp), the overlay is still there.
        let c = service_ctx(&format!(
            "ExtensionImages={}/app0.raw\nProtectSystem=strict\nPrivateTmp=yes\nBindReadOnlyPaths=/etc",
            d.display()
        ));
        let (st, out) = run_service(
            c,
            "cat /usr/share/keel-sysext-probe/app0; touch /usr/x 2>/dev/null || echo ro",
        )
        .unwrap();
        assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "app0ro\n"));
        assert!(
            !Path::new("/usr/share/keel-sysext-probe").exists(),
            "the parent must not see it"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
        let backing = loop_backing_files();
        assert!(
            !backing
                .iter()
                .any(|b| b.contains(&t.root.display().to_string())),
            "loop devices must be released when the service is gone: {backing:?}"
        );

        // An image for another OS: the namespace step fails with ESTALE (exit 226).
        t.add_squashfs(
            "alien",
            "ID=keel-test-other-os\nVERSION_ID=1\n",
            &["usr/share/alien"],
        );
        let c = service_ctx(&format!("ExtensionImages={}/alien.raw", d.display()));
        match run_service(c, "true") {
            Err(SpawnError::Step { step, source, .. }) => {
                assert_eq!((step, source), (StepKind::MountNamespace, Errno::ESTALE));
                assert_eq!(step.exit_status(), 226);
            }
            other => panic!("expected ESTALE, got {other:?}"),
        }
        // A missing image without `-`: ENOENT.
        let c = service_ctx(&format!("ExtensionImages={}/nope.raw", d.display()));
        assert!(matches!(
            run_service(c, "true"),
            Err(SpawnError::Step {
                source: Errno::ENOENT,
                ..
            })
        ));
    });
}

// ---------------------------------------------------------------------------------------
// Interoperability with Debian's systemd-sysext (252).

/// The image set of the interop tests: compatible, incompatible and special cases.
fn interop_tree() -> Tree {
    let t = Tree::new();
    t.add_dir(
        "dirext",
        DEBIAN12,
        &["usr/bin/dir-tool", "usr/share/dir/data"],
    );
    t.add_squashfs("sqext", DEBIAN12, &["usr/bin/sq-tool"]);
    t.add_erofs("erext", DEBIAN12, &["usr/bin/er-tool", "opt/er/data"]);
    t.add_dir("anyext", "ID=_any\n", &["usr/bin/any-tool"]);
    t.add_dir(
        "fedora",
        "ID=fedora\nVERSION_ID=39\n",
        &["usr/bin/fedora-tool"],
    );
    t.add_dir(
        "oldext",
        "ID=debian\nVERSION_ID=11\n",
        &["usr/bin/old-tool"],
    );
    t.add_dir(
        "armext",
        "ID=debian\nVERSION_ID=12\nARCHITECTURE=arm64\n",
        &["usr/bin/arm-tool"],
    );
    t
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, loop devices, overlayfs)"]
fn interop_same_decisions_and_identical_merged_trees() {
    testkit::require_root();
    testkit::require_tool(SYSTEMD_SYSEXT, "systemd");
    let bin = keel_sysext();
    in_private_mount_ns(true, move || {
        let t = interop_tree();
        let sd = Path::new(SYSTEMD_SYSEXT);
        let original = t.files();
        for force in [false, true] {
            let extra: &[&str] = if force { &["--force"] } else { &[] };
            let args = |verb: &'static str| {
                let mut v = vec![verb];
                v.extend_from_slice(extra);
                v
            };
            let (rc, _, err) = tool(sd, &t.root, &args("merge"));
            assert_eq!(rc, 0, "systemd-sysext merge: {err}");
            let sd_used = using_line(&err);
            let sd_files = t.files();
            assert!(
                t.has("usr/.systemd-sysext/dev"),
                "systemd-sysext did not merge: {err}"
            );
            let (rc, _, err) = tool(sd, &t.root, &["unmerge"]);
            assert_eq!(rc, 0, "{err}");
            assert_eq!(t.files(), original);

            let (rc, _, err) = tool(&bin, &t.root, &args("merge"));
            assert_eq!(rc, 0, "keel-sysext merge: {err}");
            let keel_used = using_line(&err);
            let keel_files = t.files();
            let (rc, _, err) = tool(&bin, &t.root, &["unmerge"]);
            assert_eq!(rc, 0, "{err}");
            assert_eq!(t.files(), original);

            assert_eq!(keel_used, sd_used, "force={force}: same images accepted");
            assert_eq!(keel_files, sd_files, "force={force}: same merged trees");
            let want: &[&str] = if force {
                &[
                    "anyext", "armext", "dirext", "erext", "fedora", "oldext", "sqext",
                ]
            } else {
                &["anyext", "dirext", "erext", "sqext"]
            };
            assert_eq!(keel_used, want);
        }
    });
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, loop devices, overlayfs)"]
fn interop_each_tool_unmerges_the_others_merge() {
    testkit::require_root();
    testkit::require_tool(SYSTEMD_SYSEXT, "systemd");
    let bin = keel_sysext();
    in_private_mount_ns(true, move || {
        let t = interop_tree();
        let sd = Path::new(SYSTEMD_SYSEXT);
        let original = t.files();

        // systemd merges, keel sees it (status) and unmerges it.
        let (rc, _, err) = tool(sd, &t.root, &["merge"]);
        assert_eq!(rc, 0, "{err}");
        assert!(t.has("usr/bin/sq-tool"));
        let st = sysext::status(&t.opts()).unwrap();
        let usr = st
            .iter()
            .find(|s| s.hierarchy == Path::new("/usr"))
            .unwrap();
        assert_eq!(
            usr.extensions.as_deref().unwrap(),
            ["anyext", "dirext", "erext", "sqext"]
        );
        let (rc, _, err) = tool(&bin, &t.root, &["unmerge"]);
        assert_eq!(rc, 0, "{err}");
        assert!(err.contains("Unmerged"), "{err}");
        assert_eq!(t.files(), original);

        // keel merges, systemd unmerges.
        let (rc, _, err) = tool(&bin, &t.root, &["merge"]);
        assert_eq!(rc, 0, "{err}");
        assert!(t.has("usr/bin/sq-tool"));
        let (rc, _, err) = tool(sd, &t.root, &["merge"]);
        assert_eq!(rc, 1, "systemd must see keel's merge as merged: {err}");
        assert!(err.contains("already merged"), "{err}");
        let (rc, _, err) = tool(sd, &t.root, &["unmerge"]);
        assert_eq!(rc, 0, "{err}");
        assert!(err.contains("Unmerged"), "{err}");
        assert_eq!(t.files(), original);
    });
}
