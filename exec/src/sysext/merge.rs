//! `merge`, `refresh`, `unmerge` and `status` of the host-wide hierarchies (spec §1.6,
//! §1.7), and the overlay building blocks `ExtensionImages=` shares.

use std::fs;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use keel_core::os_release::{ExtensionRelease, IncompatibleError, OsRelease, OsReleaseError};
use nix::errno::Errno;
use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, unshare};
use rustix::mount::{MoveMountFlags, move_mount};

use super::discover::{Image, discover, version_cmp};
use super::error::{MergeError, UnmergeError};
use super::image::{Source, attach};
use super::{Options, has_cap_sys_admin};

/// The marker directory in a merged hierarchy.
pub const MARKER_DIR: &str = ".systemd-sysext";

/// Why an image was left out of a merge.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IgnoreReason {
    /// The image has no `extension-release.NAME` file.
    #[error("extension {name} carries no extension-release data")]
    NoExtensionRelease {
        /// The image name.
        name: String,
    },
    /// The extension does not fit the host.
    #[error(transparent)]
    Incompatible(IncompatibleError),
}

/// How a hierarchy's new overlay was put in place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum SwapMethod {
    /// The hierarchy was not merged: the overlay was simply attached.
    #[default]
    Attached,
    /// Atomically: the new overlay was mounted beneath the old one
    /// (`move_mount(MOVE_MOUNT_BENEATH)`, Linux 6.5) and the old one then detached, so every
    /// path lookup saw a merged tree.
    Beneath,
    /// Not atomically: the old overlay was unmounted, then the new one attached (kernels
    /// without `MOVE_MOUNT_BENEATH`).
    UnmountThenMount,
}

/// One hierarchy that got a new overlay.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct MergedHierarchy {
    /// The hierarchy, as named (`/usr`).
    pub hierarchy: PathBuf,
    /// How the overlay was put in place.
    pub method: SwapMethod,
}

/// What a `merge` or `refresh` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct MergeReport {
    /// The extensions merged, in ascending version order.
    pub used: Vec<String>,
    /// The images left out, and why.
    pub ignored: Vec<IgnoreReason>,
    /// The hierarchies that got an overlay.
    pub merged: Vec<MergedHierarchy>,
    /// Hierarchies unmerged because nothing is left to merge (`refresh` only).
    pub unmerged: Vec<PathBuf>,
}

/// The state of one hierarchy (`status`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HierarchyStatus {
    /// The hierarchy, as named (`/usr`).
    pub hierarchy: PathBuf,
    /// The merged extensions, `None` when the hierarchy is not one of our merges.
    pub extensions: Option<Vec<String>>,
    /// When it was merged, µs since the epoch.
    pub since_usec: Option<u64>,
}

impl serde::Serialize for HierarchyStatus {
    /// systemd's JSON row: `{"hierarchy":"/usr","extensions":["a","b"],"since":123}`, or
    /// `"extensions":"none","since":null` for a hierarchy that is not merged.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("hierarchy", &self.hierarchy)?;
        match &self.extensions {
            Some(l) => m.serialize_entry("extensions", l)?,
            None => m.serialize_entry("extensions", "none")?,
        }
        m.serialize_entry("since", &self.since_usec)?;
        m.end()
    }
}

/// `hierarchy` below `root`.
pub(crate) fn under_root(root: &Path, hierarchy: &Path) -> PathBuf {
    root.join(hierarchy.strip_prefix("/").unwrap_or(hierarchy))
}

/// Whether `p` is a mount point whose `.systemd-sysext/dev` names its own device: one of
/// our merges (or systemd's; spec §1.7).
///
/// # Errors
///
/// I/O errors other than "not found".
pub fn is_our_mount_point(p: &Path) -> io::Result<bool> {
    use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
    let st = match statx(CWD, p, AtFlags::SYMLINK_NOFOLLOW, StatxFlags::BASIC_STATS) {
        Ok(st) => st,
        Err(rustix::io::Errno::NOENT) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    let mount_root = StatxAttributes::MOUNT_ROOT;
    if !st.stx_attributes_mask.contains(mount_root) || !st.stx_attributes.contains(mount_root) {
        return Ok(false);
    }
    let text = match fs::read_to_string(p.join(MARKER_DIR).join("dev")) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    };
    let line = text.lines().next().unwrap_or("");
    let Some((maj, min)) = line.split_once(':') else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad device number",
        ));
    };
    let (Ok(maj), Ok(min)) = (maj.trim().parse::<u32>(), min.trim().parse::<u32>()) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "bad device number",
        ));
    };
    Ok(st.stx_dev_major == maj && st.stx_dev_minor == min)
}

/// The `lowerdir=` option of a read-only overlay: `layers` top first, each escaped for
/// `,`, `:` and `\` with a backslash.
pub fn lowerdir_option<P: AsRef<Path>>(layers: &[P]) -> String {
    let mut s = String::from("lowerdir=");
    for (i, l) in layers.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        for c in l.as_ref().to_string_lossy().chars() {
            if matches!(c, ',' | ':' | '\\') {
                s.push('\\');
            }
            s.push(c);
        }
    }
    s
}

/// Creates a read-only overlay over `layers` (top first) as a detached mount, ready for
/// `move_mount(2)`, with the new mount API: `fsopen("overlay")`, `fsconfig` `source`, one
/// `lowerdir+` per layer (Linux 6.8; a single `lowerdir` string would be cut at 256 bytes),
/// `ro`, `FSCONFIG_CMD_CREATE`, `fsmount(MOUNT_ATTR_RDONLY)`. On kernels without
/// `lowerdir+` (refused by `fsconfig` since 6.5, or by `FSCONFIG_CMD_CREATE` before, when
/// overlayfs still parsed its options as one legacy string) it mounts the overlay on
/// `scratch` with `mount(2)` and clones it with
/// `open_tree(OPEN_TREE_CLONE)` instead (the caller's namespace must be private). The
/// layers are looked up in the calling thread's mount namespace.
///
/// # Errors
///
/// The step that failed and its errno.
#[doc(alias = "fsopen")]
#[doc(alias = "fsmount")]
pub fn overlay_detached<P: AsRef<Path>>(
    source: &str,
    layers: &[P],
    scratch: &Path,
) -> Result<OwnedFd, (&'static str, Errno)> {
    use rustix::mount::{
        FsMountFlags, FsOpenFlags, MountAttrFlags, OpenTreeFlags, fsconfig_create,
        fsconfig_set_flag, fsconfig_set_string, fsmount, fsopen, open_tree,
    };
    let e =
        |what: &'static str| move |e: rustix::io::Errno| (what, Errno::from_raw(e.raw_os_error()));
    let fs = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC).map_err(e("fsopen overlay"))?;
    fsconfig_set_string(&fs, "source", source).map_err(e("fsconfig source"))?;
    let mut appended = true;
    for (i, l) in layers.iter().enumerate() {
        match fsconfig_set_string(&fs, "lowerdir+", l.as_ref()) {
            Ok(()) => {}
            Err(rustix::io::Errno::INVAL) if i == 0 => {
                appended = false;
                break;
            }
            Err(err) => return Err(e("fsconfig lowerdir+")(err)),
        }
    }
    if appended {
        fsconfig_set_flag(&fs, "ro").map_err(e("fsconfig ro"))?;
        match fsconfig_create(&fs) {
            Ok(()) => {
                return fsmount(
                    &fs,
                    FsMountFlags::FSMOUNT_CLOEXEC,
                    MountAttrFlags::MOUNT_ATTR_RDONLY,
                )
                .map_err(e("fsmount the overlay"));
            }
            // Before Linux 6.5 overlayfs has no fs_context parser of its own: the generic
            // one accepts any key, so an unknown `lowerdir+` only fails here, when the
            // options are parsed at superblock creation. Take the legacy route below.
            Err(rustix::io::Errno::INVAL) => {}
            Err(err) => return Err(e("create the overlay")(err)),
        }
    }
    drop(fs);
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(scratch)
        .map_err(|err| {
            (
                "create the overlay mount point",
                err.raw_os_error().map_or(Errno::EIO, Errno::from_raw),
            )
        })?;
    mount(
        Some(source),
        scratch,
        Some("overlay"),
        MsFlags::MS_RDONLY,
        Some(lowerdir_option(layers).as_str()),
    )
    .map_err(|err| ("mount the overlay", err))?;
    open_tree(
        rustix::fs::CWD,
        scratch,
        OpenTreeFlags::OPEN_TREE_CLONE | OpenTreeFlags::OPEN_TREE_CLOEXEC,
    )
    .map_err(e("clone the overlay"))
}

/// Whether `p` is a directory with at least one entry.
fn dir_has_entries(p: &Path) -> bool {
    fs::read_dir(p).is_ok_and(|mut d| d.next().is_some())
}

fn mkdir_p(p: &Path, mode: u32) -> Result<(), MergeError> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(p)
        .map_err(|source| MergeError::Io {
            what: "create directory",
            path: p.to_path_buf(),
            source,
        })
}

fn mnt_err(what: &'static str, path: &Path) -> impl FnOnce(Errno) -> MergeError + use<> {
    let path = path.to_path_buf();
    move |source| MergeError::Mount { what, path, source }
}

/// Unmounts our merges stacked on `p` (in the calling thread's mount namespace).
fn unmerge_one(p: &Path) -> Result<bool, UnmergeError> {
    let mut did = false;
    loop {
        match is_our_mount_point(p) {
            Ok(true) => {}
            Ok(false) => return Ok(did),
            Err(source) => {
                return Err(UnmergeError::Inspect {
                    path: p.to_path_buf(),
                    source,
                });
            }
        }
        umount2(p, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW).map_err(|source| {
            UnmergeError::Unmount {
                path: p.to_path_buf(),
                source,
            }
        })?;
        did = true;
    }
}

/// Unmerges every hierarchy of `opts` that is one of our (or systemd's) merges; returns
/// the hierarchies unmerged. Missing hierarchies are skipped; an error on one hierarchy
/// does not stop the others (the first error is returned).
///
/// # Errors
///
/// [`UnmergeError`].
pub fn unmerge(opts: &Options) -> Result<Vec<PathBuf>, UnmergeError> {
    if !has_cap_sys_admin() {
        return Err(UnmergeError::NotPrivileged);
    }
    let mut done = Vec::new();
    let mut first_err = None;
    for h in &opts.hierarchies {
        match unmerge_one(&under_root(&opts.root, h)) {
            Ok(true) => done.push(h.clone()),
            Ok(false) => {}
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(done),
    }
}

/// The merge state of every hierarchy of `opts` that exists.
///
/// # Errors
///
/// [`UnmergeError::Inspect`] if a hierarchy or its marker cannot be read.
pub fn status(opts: &Options) -> Result<Vec<HierarchyStatus>, UnmergeError> {
    let mut out = Vec::new();
    for h in &opts.hierarchies {
        let p = under_root(&opts.root, h);
        let inspect = |source| UnmergeError::Inspect {
            path: p.clone(),
            source,
        };
        if !p.exists() {
            continue;
        }
        if !is_our_mount_point(&p).map_err(inspect)? {
            out.push(HierarchyStatus {
                hierarchy: h.clone(),
                extensions: None,
                since_usec: None,
            });
            continue;
        }
        let list = fs::read_to_string(p.join(MARKER_DIR).join("extensions")).map_err(inspect)?;
        let md = fs::metadata(&p).map_err(inspect)?;
        let since = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .and_then(|d| u64::try_from(d.as_micros()).ok());
        out.push(HierarchyStatus {
            hierarchy: h.clone(),
            extensions: Some(
                list.lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            since_usec: since,
        });
    }
    out.sort_by(|a, b| a.hierarchy.cmp(&b.hierarchy));
    Ok(out)
}

/// Merges the compatible extensions into every hierarchy of `opts` (`systemd-sysext
/// merge`). A report with no `used` extensions means nothing was found to merge.
///
/// The overlays are built in a helper thread with its own private mount namespace (so
/// nothing of the work is ever visible outside, whatever the propagation of `/`), then
/// attached in the caller's mount namespace with `move_mount(2)`: this works whether `/`
/// is shared or private (systemd 248 relies on `/` being shared and silently does nothing
/// when it is not).
///
/// # Errors
///
/// [`MergeError::AlreadyMerged`] if a hierarchy is merged already, and any failure to read
/// the host os-release, attach an image or mount.
pub fn merge(opts: &Options) -> Result<MergeReport, MergeError> {
    if !has_cap_sys_admin() {
        return Err(MergeError::NotPrivileged);
    }
    for h in &opts.hierarchies {
        let p = under_root(&opts.root, h);
        if is_our_mount_point(&p).map_err(|source| MergeError::Io {
            what: "inspect",
            path: p.clone(),
            source,
        })? {
            return Err(MergeError::AlreadyMerged {
                hierarchy: h.clone(),
            });
        }
    }
    build_and_attach(opts)
}

/// Merges again from the images present now (`systemd-sysext refresh`): the new overlay
/// of each hierarchy replaces the old one atomically where the kernel can
/// ([`SwapMethod::Beneath`]); hierarchies no extension contributes to any more, or all of
/// them when no extension is left, are unmerged.
///
/// # Errors
///
/// As [`merge`], and [`MergeError::Unmerge`].
pub fn refresh(opts: &Options) -> Result<MergeReport, MergeError> {
    if !has_cap_sys_admin() {
        return Err(MergeError::NotPrivileged);
    }
    build_and_attach(opts)
}

/// An overlay built in the helper namespace, detached, ready to attach.
struct Built {
    hierarchy: PathBuf,
    target: PathBuf,
    tree: OwnedFd,
}

struct BuildResult {
    used: Vec<String>,
    ignored: Vec<IgnoreReason>,
    overlays: Vec<Built>,
}

fn build_and_attach(opts: &Options) -> Result<MergeReport, MergeError> {
    let host = match OsRelease::load(&opts.root) {
        Ok(h) => Some(h),
        Err(_) if opts.force => None,
        Err(source) => {
            return Err(MergeError::HostRelease {
                root: opts.root.clone(),
                source,
            });
        }
    };
    if !opts.force
        && host
            .as_ref()
            .and_then(OsRelease::id)
            .is_none_or(str::is_empty)
    {
        return Err(MergeError::HostId {
            root: opts.root.clone(),
        });
    }
    let images = discover(&opts.root)?;
    let mut sources = Vec::with_capacity(images.len());
    for img in &images {
        let src = attach(&img.path, img.kind, &opts.architecture).map_err(|source| {
            MergeError::Attach {
                name: img.name.clone(),
                source,
            }
        })?;
        sources.push(src);
    }
    let built = std::thread::scope(|s| {
        s.spawn(|| build_in_private_namespace(opts, host.as_ref(), &images, &sources))
            .join()
    })
    .map_err(|_| MergeError::Helper)??;
    drop(sources);
    let mut report = MergeReport {
        used: built.used,
        ignored: built.ignored,
        ..MergeReport::default()
    };
    let mut with_overlay = Vec::new();
    for b in built.overlays {
        report.merged.push(MergedHierarchy {
            hierarchy: b.hierarchy.clone(),
            method: attach_overlay(&b)?,
        });
        with_overlay.push(b.hierarchy);
    }
    // Hierarchies that were merged but get nothing now (or everything, with no extension).
    for h in &opts.hierarchies {
        if !with_overlay.contains(h) && unmerge_one(&under_root(&opts.root, h))? {
            report.unmerged.push(h.clone());
        }
    }
    Ok(report)
}

/// Puts a built overlay in place in the caller's mount namespace.
fn attach_overlay(b: &Built) -> Result<SwapMethod, MergeError> {
    use rustix::fs::CWD;
    mkdir_p(&b.target, 0o755)?;
    let ours = is_our_mount_point(&b.target).map_err(|source| MergeError::Io {
        what: "inspect",
        path: b.target.clone(),
        source,
    })?;
    let to_errno = |e: rustix::io::Errno| Errno::from_raw(e.raw_os_error());
    if ours {
        let beneath = move_mount(
            &b.tree,
            "",
            CWD,
            &b.target,
            MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH | MoveMountFlags::MOVE_MOUNT_BENEATH,
        );
        match beneath {
            Ok(()) => {
                umount2(&b.target, MntFlags::MNT_DETACH | MntFlags::UMOUNT_NOFOLLOW)
                    .map_err(mnt_err("unmount the previous merge on", &b.target))?;
                return Ok(SwapMethod::Beneath);
            }
            Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                unmerge_one(&b.target)?;
            }
            Err(e) => {
                return Err(mnt_err("mount the new merge beneath", &b.target)(to_errno(
                    e,
                )));
            }
        }
    }
    move_mount(
        &b.tree,
        "",
        CWD,
        &b.target,
        MoveMountFlags::MOVE_MOUNT_F_EMPTY_PATH,
    )
    .map_err(|e| mnt_err("attach the merged overlay on", &b.target)(to_errno(e)))?;
    Ok(if ours {
        SwapMethod::UnmountThenMount
    } else {
        SwapMethod::Attached
    })
}

/// Runs on a helper thread: unshares the thread's mount namespace (and file system
/// attributes, which `CLONE_NEWNS` requires of a thread), makes it private, and builds one
/// detached overlay per hierarchy there.
fn build_in_private_namespace(
    opts: &Options,
    host: Option<&OsRelease>,
    images: &[Image],
    sources: &[Source],
) -> Result<BuildResult, MergeError> {
    let ws = opts.workspace.as_path();
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS)
        .map_err(mnt_err("unshare the mount namespace for", ws))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(mnt_err("make private", Path::new("/")))?;
    mkdir_p(ws, 0o700)?;
    mount(
        Some("sysext"),
        ws,
        Some("tmpfs"),
        MsFlags::MS_NODEV | MsFlags::MS_NOSUID,
        Some("mode=0700"),
    )
    .map_err(mnt_err("mount the workspace on", ws))?;
    let mut used: Vec<(&str, PathBuf)> = Vec::new();
    let mut ignored = Vec::new();
    for (img, src) in images.iter().zip(sources) {
        let at = ws.join("extensions").join(&img.name);
        mkdir_p(&at, 0o700)?;
        src.mount_on(&at, "")
            .map_err(|(what, e)| mnt_err(what, &at)(e))?;
        if !opts.force {
            if at.join("usr/lib/os-release").exists() {
                return Err(MergeError::ShipsOsRelease {
                    name: img.name.clone(),
                });
            }
            match ExtensionRelease::load(&at, &img.name) {
                Ok(rel) => {
                    let host = host.ok_or_else(|| MergeError::HostId {
                        root: opts.root.clone(),
                    })?;
                    if let Err(e) = rel.is_compatible_with(host, &opts.architecture) {
                        ignored.push(IgnoreReason::Incompatible(e));
                        continue;
                    }
                }
                Err(OsReleaseError::NotFound { .. }) => {
                    ignored.push(IgnoreReason::NoExtensionRelease {
                        name: img.name.clone(),
                    });
                    continue;
                }
                Err(source) => {
                    return Err(MergeError::ExtensionRelease {
                        name: img.name.clone(),
                        source,
                    });
                }
            }
        }
        used.push((&img.name, at));
    }
    used.sort_by(|a, b| version_cmp(a.0, b.0));
    let names: Vec<String> = used.iter().map(|(n, _)| (*n).to_owned()).collect();
    let mut overlays = Vec::new();
    if used.is_empty() {
        return Ok(BuildResult {
            used: names,
            ignored,
            overlays,
        });
    }
    for h in &opts.hierarchies {
        let rel = h.strip_prefix("/").unwrap_or(h);
        let target = under_root(&opts.root, h);
        // Reveal the real tree under an existing merge (this namespace only).
        unmerge_one(&target)?;
        let mut layers: Vec<PathBuf> = Vec::with_capacity(used.len() + 2);
        let meta = ws.join("meta").join(rel);
        layers.push(meta.clone());
        for (_, at) in used.iter().rev() {
            let p = at.join(rel);
            if dir_has_entries(&p) {
                layers.push(p);
            }
        }
        if layers.len() == 1 {
            continue;
        }
        if dir_has_entries(&target) {
            layers.push(target.clone());
        }
        let marker = meta.join(MARKER_DIR);
        mkdir_p(&marker, 0o755)?;
        write_file(&marker.join("extensions"), names.join("\n").as_bytes())?;
        let tree = overlay_detached("sysext", &layers, &ws.join("overlay").join(rel))
            .map_err(|(what, e)| mnt_err(what, &target)(e))?;
        let st = rustix::fs::fstat(&tree).map_err(|e| {
            mnt_err("stat the new overlay for", &target)(Errno::from_raw(e.raw_os_error()))
        })?;
        write_file(
            &marker.join("dev"),
            format!(
                "{}:{}",
                rustix::fs::major(st.st_dev),
                rustix::fs::minor(st.st_dev)
            )
            .as_bytes(),
        )?;
        overlays.push(Built {
            hierarchy: h.clone(),
            target,
            tree,
        });
    }
    Ok(BuildResult {
        used: names,
        ignored,
        overlays,
    })
}

fn write_file(p: &Path, data: &[u8]) -> Result<(), MergeError> {
    let io_err = |source| MergeError::Io {
        what: "write",
        path: p.to_path_buf(),
        source,
    };
    let mut f = fs::File::create(p).map_err(io_err)?;
    f.write_all(data).map_err(io_err)?;
    f.write_all(b"\n").map_err(io_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowerdir_escaping() {
        assert_eq!(
            lowerdir_option(&["/run/a", "/x,y:z\\w", "/usr"]),
            "lowerdir=/run/a:/x\\,y\\:z\\\\w:/usr"
        );
    }

    #[test]
    fn not_a_merge() {
        let t = tempfile::tempdir().unwrap();
        assert!(!is_our_mount_point(t.path()).unwrap());
        assert!(!is_our_mount_point(&t.path().join("missing")).unwrap());
        // A copied marker on a plain directory is "an offline copy", not a merge.
        fs::create_dir_all(t.path().join("usr/.systemd-sysext")).unwrap();
        fs::write(t.path().join("usr/.systemd-sysext/dev"), "0:1\n").unwrap();
        assert!(!is_our_mount_point(&t.path().join("usr")).unwrap());
        assert_eq!(
            under_root(Path::new("/r"), Path::new("/usr")),
            Path::new("/r/usr")
        );
    }
}
