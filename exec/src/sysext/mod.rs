//! System extension images: systemd 248's `systemd-sysext` and `ExtensionImages=` (spec §1).
//!
//! An extension image is a directory tree, a raw file system image (squashfs, erofs, ext4,
//! btrfs) or a GPT disk image with one root or `/usr` partition, carrying
//! `/usr/lib/extension-release.d/extension-release.NAME`. Merging lays the compatible
//! extensions over `/usr` and `/opt` as a read-only overlayfs, extensions in descending
//! version order above the host's own tree, with a metadata layer on top holding
//! `.systemd-sysext/extensions` (the names) and `.systemd-sysext/dev` (the overlay's own
//! device number, the marker by which `unmerge` and `status` recognise a merge; the same
//! marker systemd writes, so either tool undoes the other's merge).
//!
//! ```no_run
//! // no_run: merging mounts over /usr and needs CAP_SYS_ADMIN.
//! use keel_exec::sysext::{self, Options};
//!
//! let mut opts = Options::default();
//! opts.root = "/srv/os-tree".into();
//! let report = sysext::merge(&opts)?;
//! println!("using {:?}, ignored {:?}", report.used, report.ignored);
//! for s in sysext::status(&opts)? {
//!     println!("{}: {:?}", s.hierarchy.display(), s.extensions);
//! }
//! sysext::unmerge(&opts)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Design
//!
//! - [`discover`]: the five search directories of spec §1.3 below `--root`, first name
//!   wins, directories / `*.raw` files / block devices, names in version order.
//! - [`image::attach`]: directories as they are; files and block devices through a
//!   read-only autoclear loop device (`LOOP_CONFIGURE`, the only `unsafe` code, in
//!   `sys.rs`), the file system found by its superblock magic, a GPT image's partition
//!   chosen by its Discoverable Partitions type GUID for the host architecture (offset and
//!   size limit on the loop device). dm-verity (side-car files, verity partitions, a
//!   verity superblock) and LUKS are refused with an error that says so.
//! - Compatibility: keel-core's `ExtensionRelease::is_compatible_with` (248's rules plus
//!   `ID=_any` and `ARCHITECTURE=`); an image shipping `/usr/lib/os-release` aborts the
//!   merge as in 248; `force` skips both.
//! - [`merge`] / [`refresh`]: the images are mounted and the overlays built in a helper
//!   thread that unshared its own mount namespace and made it private, so the work is
//!   never visible outside and stops existing with the thread. Each finished overlay is
//!   cloned with `open_tree(OPEN_TREE_CLONE)` into a detached mount, which the calling
//!   thread attaches with `move_mount(2)` in its own namespace. That works whether `/` is
//!   shared or private; systemd 248 instead builds in a forked child and relies on the
//!   propagation of a shared `/`, silently doing nothing on a private one.
//!   `refresh` mounts the new overlay *beneath* the old one (`MOVE_MOUNT_BENEATH`, Linux
//!   6.5) and then detaches the old one, so no path lookup ever sees an unmerged tree; on
//!   older kernels it unmounts and then mounts, and [`SwapMethod`] says which happened.
//! - [`unmerge`] / [`status`]: spec §1.7's "is this our mount point" test (mount root,
//!   marker device equals the mount's device), stacked merges unmounted in a loop.
//! - `ExtensionImages=`: [`unit::prepare_unit_extensions`] builds the overlays in the
//!   parent before the fork in the same private helper namespace (first listed lowest, no
//!   metadata layer, spec §1.9) and hands detached mounts to the child, which only has to
//!   `move_mount` them into the service's new mount namespace.
//!
//! Deliberately missing versus 248: dm-verity, LUKS unlocking, MBR images, btrfs
//! subvolume detection (subvolumes are plain directories here) and the
//! `user.verity.roothash` xattr.

mod discover;
mod error;
pub mod format;
pub mod image;
mod merge;
mod sys;
pub mod unit;

use std::path::PathBuf;

pub use discover::{Image, ImageKind, SEARCH_DIRS, discover, version_cmp};
pub use error::{AttachError, DiscoverError, HierarchiesError, MergeError, UnmergeError};
pub use merge::{
    HierarchyStatus, IgnoreReason, MARKER_DIR, MergeReport, MergedHierarchy, SwapMethod,
    is_our_mount_point, lowerdir_option, merge, overlay_detached, refresh, status, unmerge,
};
pub use sys::{LoopDevice, attach_loop};

/// The hierarchies merged by default.
pub const DEFAULT_HIERARCHIES: [&str; 2] = ["/usr", "/opt"];

/// What `merge`, `refresh`, `unmerge` and `status` operate on. Plain data.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `--root=`: the OS tree whose hierarchies and search directories are used (`/`).
    pub root: PathBuf,
    /// `--force`: merge every image, skipping the compatibility and os-release checks.
    pub force: bool,
    /// The hierarchies (`/usr`, `/opt`; `SYSTEMD_SYSEXT_HIERARCHIES`).
    pub hierarchies: Vec<PathBuf>,
    /// Where the helper namespace mounts its workspace (`/run/keel/sysext`; only the empty
    /// directory is ever visible outside).
    pub workspace: PathBuf,
    /// The host architecture, systemd's name (`x86-64`), for `ARCHITECTURE=` and GPT.
    pub architecture: String,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            root: PathBuf::from("/"),
            force: false,
            hierarchies: DEFAULT_HIERARCHIES.iter().map(PathBuf::from).collect(),
            workspace: PathBuf::from("/run/keel/sysext"),
            architecture: keel_core::specifier::native_architecture().to_owned(),
        }
    }
}

/// Parses `SYSTEMD_SYSEXT_HIERARCHIES` (colon-separated absolute, normalized paths, not
/// `/`).
///
/// # Errors
///
/// [`HierarchiesError`] for an empty list or a bad entry.
pub fn parse_hierarchies(value: &str) -> Result<Vec<PathBuf>, HierarchiesError> {
    let mut out = Vec::new();
    for e in value.split(':').filter(|e| !e.is_empty()) {
        let normalized = e.starts_with('/')
            && e != "/"
            && !e.ends_with('/')
            && !e.contains("//")
            && !e.split('/').any(|c| c == "." || c == "..");
        if !normalized {
            return Err(HierarchiesError::Invalid {
                entry: e.to_owned(),
            });
        }
        out.push(PathBuf::from(e));
    }
    if out.is_empty() {
        return Err(HierarchiesError::Empty);
    }
    Ok(out)
}

/// Whether the calling thread has `CAP_SYS_ADMIN` in its effective set.
pub fn has_cap_sys_admin() -> bool {
    const CAP_SYS_ADMIN: u32 = 21;
    std::fs::read_to_string("/proc/thread-self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        })
        .is_some_and(|caps| caps & (1 << CAP_SYS_ADMIN) != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hierarchies_env() {
        assert_eq!(
            parse_hierarchies("/usr:/opt").unwrap(),
            [PathBuf::from("/usr"), PathBuf::from("/opt")]
        );
        assert_eq!(parse_hierarchies(""), Err(HierarchiesError::Empty));
        for bad in ["usr", "/", "/usr/", "/a//b", "/a/../b"] {
            assert!(matches!(
                parse_hierarchies(bad),
                Err(HierarchiesError::Invalid { .. })
            ));
        }
        let o = Options::default();
        assert_eq!(o.hierarchies.len(), 2);
        assert!(!o.architecture.is_empty());
    }
}
