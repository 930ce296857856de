//! `ExtensionImages=` for one service (spec §1.9): the overlays over `/usr` and `/opt` of
//! the service's own mount namespace, first listed image lowest, the service's tree at the
//! bottom, no metadata layer.
//!
//! [`prepare_unit_extensions`] runs in the parent before the fork: it attaches the images,
//! mounts them and builds the overlays in a private helper mount namespace (as
//! [`merge`](super::merge) does) and returns them as detached mounts. The child attaches
//! each with one `move_mount(2)` right after entering its new mount namespace, so the
//! allocation-free child never parses images or options.

use std::fs;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use keel_core::os_release::{ExtensionRelease, IncompatibleError, OsRelease, OsReleaseError};
use keel_unit::model::exec::{ExtensionImage, PartitionDesignator};
use nix::errno::Errno;
use nix::mount::{MsFlags, mount};
use nix::sched::{CloneFlags, unshare};

use super::discover::ImageKind;
use super::error::AttachError;
use super::format::PartitionRole;
use super::image::{Source, attach};
use super::merge::{overlay_detached, under_root};

/// Preparing the `ExtensionImages=` of a service failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExtensionImagesError {
    /// The image is missing (and has no `-` prefix).
    #[error("extension image {} does not exist", .path.display())]
    Missing {
        /// The image.
        path: PathBuf,
    },
    /// A directory was given: 248 supports only image files and block devices here.
    #[error("extension image {} is a directory; ExtensionImages= takes image files only", .path.display())]
    Directory {
        /// The path.
        path: PathBuf,
    },
    /// The image cannot be attached.
    #[error("cannot attach extension image {}", .path.display())]
    Attach {
        /// The image.
        path: PathBuf,
        /// The cause.
        #[source]
        source: AttachError,
    },
    /// The image does not fit the service's OS tree (systemd: `ESTALE`).
    #[error("extension image {} does not fit the service's OS tree", .path.display())]
    Incompatible {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: IncompatibleError,
    },
    /// The image's release file cannot be read.
    #[error("cannot read the extension-release file of {}", .path.display())]
    Release {
        /// The image.
        path: PathBuf,
        /// The cause.
        #[source]
        source: OsReleaseError,
    },
    /// A mount operation failed.
    #[error("cannot {what} {}", .path.display())]
    Mount {
        /// What was done.
        what: &'static str,
        /// Where.
        path: PathBuf,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// The helper thread died.
    #[error("the extension helper thread panicked")]
    Helper,
}

impl ExtensionImagesError {
    /// The errno systemd 248 fails the namespace setup with for this error (`ESTALE` for
    /// an incompatible image, `ENOENT` for a missing one, ...).
    pub fn errno(&self) -> Errno {
        match self {
            Self::Missing { .. } => Errno::ENOENT,
            Self::Directory { .. } => Errno::EISDIR,
            Self::Attach { source, .. } => match source {
                AttachError::Loop { source, .. } => *source,
                AttachError::Read { source, .. } => {
                    source.raw_os_error().map_or(Errno::EIO, Errno::from_raw)
                }
                _ => Errno::EPROTONOSUPPORT,
            },
            Self::Incompatible { .. } => Errno::ESTALE,
            Self::Release { .. } => Errno::EIO,
            Self::Mount { source, .. } => *source,
            Self::Helper => Errno::EIO,
        }
    }
}

/// One overlay ready for the child: attach `tree` on `target`.
#[derive(Debug)]
#[non_exhaustive]
pub struct UnitOverlay {
    /// The hierarchy below the service's root (`/usr`, `/srv/root/usr`).
    pub target: PathBuf,
    /// The detached overlay mount.
    pub tree: OwnedFd,
}

/// The image name for the extension-release file: the file name with the suffixes
/// `.xz .gz .bz2 .raw .qcow2 .img .bin` stripped repeatedly (`raw_strip_suffixes`).
pub fn image_name_from_path(path: &Path) -> String {
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    loop {
        let before = name.len();
        for s in [".xz", ".gz", ".bz2", ".raw", ".qcow2", ".img", ".bin"] {
            if let Some(n) = name.strip_suffix(s) {
                name.truncate(n.len());
            }
        }
        if name.len() == before {
            return name;
        }
    }
}

/// Splits a comma-separated mount option string into mount flags and the file system's
/// own options (systemd's `mount_option_mangle`).
pub fn mangle_options(options: &str) -> (MsFlags, String) {
    let mut set = MsFlags::empty();
    let mut data = Vec::new();
    for o in options.split(',').filter(|o| !o.is_empty()) {
        match o {
            "ro" => set |= MsFlags::MS_RDONLY,
            "rw" => set &= !MsFlags::MS_RDONLY,
            "nosuid" => set |= MsFlags::MS_NOSUID,
            "suid" => set &= !MsFlags::MS_NOSUID,
            "nodev" => set |= MsFlags::MS_NODEV,
            "dev" => set &= !MsFlags::MS_NODEV,
            "noexec" => set |= MsFlags::MS_NOEXEC,
            "exec" => set &= !MsFlags::MS_NOEXEC,
            "sync" => set |= MsFlags::MS_SYNCHRONOUS,
            "async" => set &= !MsFlags::MS_SYNCHRONOUS,
            "noatime" => set |= MsFlags::MS_NOATIME,
            "atime" => set &= !MsFlags::MS_NOATIME,
            "nodiratime" => set |= MsFlags::MS_NODIRATIME,
            "relatime" => set |= MsFlags::MS_RELATIME,
            "strictatime" => set |= MsFlags::MS_STRICTATIME,
            "dirsync" => set |= MsFlags::MS_DIRSYNC,
            "defaults" => {}
            other => data.push(other),
        }
    }
    (set, data.join(","))
}

/// The options given for the partition used: `usr` for a GPT image's `/usr` partition,
/// otherwise `root` (also for a bare file system).
fn partition_options(img: &ExtensionImage, used: Option<PartitionRole>) -> &str {
    let want = match used {
        Some(PartitionRole::Usr) => PartitionDesignator::Usr,
        _ => PartitionDesignator::Root,
    };
    img.options
        .iter()
        .find(|o| o.partition == want)
        .map_or("", |o| o.options.as_str())
}

/// Builds the `ExtensionImages=` overlays of a service whose root is `root` (`/`, or
/// `RootDirectory=`) for `hierarchies` (`/usr`, `/opt`). Images with the `-` prefix that
/// do not exist are skipped. The extension-release files are checked against the root's
/// os-release only when it has `ID=` and `VERSION_ID=` or `SYSEXT_LEVEL=` (248). A
/// hierarchy that one of the images or the root lacks gets no overlay (248 ignores the
/// `ENOENT`).
///
/// # Errors
///
/// [`ExtensionImagesError`]; [`ExtensionImagesError::errno`] gives systemd's errno.
pub fn prepare_unit_extensions(
    images: &[ExtensionImage],
    root: &Path,
    hierarchies: &[PathBuf],
    architecture: &str,
) -> Result<Vec<UnitOverlay>, ExtensionImagesError> {
    let mut sources = Vec::with_capacity(images.len());
    for img in images {
        let path = img.source.as_path();
        let md = match fs::metadata(path) {
            Ok(md) => md,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && img.ignore_missing => continue,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ExtensionImagesError::Missing {
                    path: path.to_path_buf(),
                });
            }
            Err(e) => {
                return Err(ExtensionImagesError::Attach {
                    path: path.to_path_buf(),
                    source: AttachError::Read {
                        path: path.to_path_buf(),
                        source: e,
                    },
                });
            }
        };
        if md.is_dir() {
            return Err(ExtensionImagesError::Directory {
                path: path.to_path_buf(),
            });
        }
        let kind = if std::os::unix::fs::FileTypeExt::is_block_device(&md.file_type()) {
            ImageKind::Block
        } else {
            ImageKind::Raw
        };
        let src =
            attach(path, kind, architecture).map_err(|source| ExtensionImagesError::Attach {
                path: path.to_path_buf(),
                source,
            })?;
        sources.push((img, src));
    }
    if sources.is_empty() {
        return Ok(Vec::new());
    }
    let host = OsRelease::load(root).ok().filter(|h| {
        h.id().is_some_and(|s| !s.is_empty())
            && (h.version_id().is_some_and(|s| !s.is_empty())
                || h.sysext_level().is_some_and(|s| !s.is_empty()))
    });
    std::thread::scope(|s| {
        s.spawn(|| build(&sources, host.as_ref(), root, hierarchies, architecture))
            .join()
    })
    .map_err(|_| ExtensionImagesError::Helper)?
}

fn build(
    sources: &[(&ExtensionImage, Source)],
    host: Option<&OsRelease>,
    root: &Path,
    hierarchies: &[PathBuf],
    architecture: &str,
) -> Result<Vec<UnitOverlay>, ExtensionImagesError> {
    let ws = Path::new("/run/keel/unit-extensions");
    let merr = |what: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| ExtensionImagesError::Mount { what, path, source }
    };
    let mkdir = |p: &Path| {
        fs::create_dir_all(p).map_err(|e| ExtensionImagesError::Mount {
            what: "create directory",
            path: p.to_path_buf(),
            source: e.raw_os_error().map_or(Errno::EIO, Errno::from_raw),
        })
    };
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS)
        .map_err(merr("unshare the mount namespace for", ws))?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(merr("make private", Path::new("/")))?;
    mkdir(ws)?;
    mount(
        Some("tmpfs"),
        ws,
        Some("tmpfs"),
        MsFlags::MS_NODEV | MsFlags::MS_NOSUID,
        Some("mode=0700"),
    )
    .map_err(merr("mount the workspace on", ws))?;
    let mut mounted = Vec::with_capacity(sources.len());
    for (i, (img, src)) in sources.iter().enumerate() {
        let at = ws.join(i.to_string());
        mkdir(&at)?;
        match src {
            Source::Device {
                device,
                fstype,
                partition,
            } => {
                let (flags, data) = mangle_options(partition_options(img, *partition));
                mount(
                    Some(device.path()),
                    &at,
                    Some(fstype.kernel_name()),
                    flags | MsFlags::MS_RDONLY | MsFlags::MS_NODEV,
                    (!data.is_empty()).then_some(data.as_str()),
                )
                .map_err(merr("mount extension image on", &at))?;
            }
            Source::Directory(_) => {
                src.mount_on(&at, "")
                    .map_err(|(what, e)| merr(what, &at)(e))?;
            }
        }
        if let Some(host) = host {
            let name = image_name_from_path(&img.source);
            match ExtensionRelease::load(&at, &name) {
                Ok(rel) => rel
                    .is_compatible_with(host, architecture)
                    .map_err(|source| ExtensionImagesError::Incompatible {
                        path: img.source.clone(),
                        source,
                    })?,
                Err(source) => {
                    return Err(ExtensionImagesError::Release {
                        path: img.source.clone(),
                        source,
                    });
                }
            }
        }
        mounted.push(at);
    }
    let mut out = Vec::new();
    for h in hierarchies {
        let rel = h.strip_prefix("/").unwrap_or(h);
        let target = under_root(root, h);
        let mut layers: Vec<PathBuf> = mounted.iter().rev().map(|m| m.join(rel)).collect();
        layers.push(target.clone());
        if !layers.iter().all(|l| l.is_dir()) {
            continue;
        }
        let tree = overlay_detached("overlay", &layers, &ws.join("overlay").join(rel))
            .map_err(|(what, e)| merr(what, &target)(e))?;
        out.push(UnitOverlay { target, tree });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_options() {
        assert_eq!(image_name_from_path(Path::new("/x/app0.raw")), "app0");
        assert_eq!(image_name_from_path(Path::new("/x/app.raw.xz")), "app");
        assert_eq!(image_name_from_path(Path::new("/x/a.img.raw.gz")), "a");
        assert_eq!(image_name_from_path(Path::new("/x/plain")), "plain");
        let (f, d) = mangle_options("nosuid,ro,compress=lz4,noexec,exec");
        assert_eq!(f, MsFlags::MS_NOSUID | MsFlags::MS_RDONLY);
        assert_eq!(d, "compress=lz4");
        assert_eq!(mangle_options(""), (MsFlags::empty(), String::new()));
    }

    #[test]
    fn options_follow_the_partition_used() {
        let name = "x.service".parse().unwrap();
        let text =
            b"[Service]\nExtensionImages=/x.raw:root:nosuid:usr:noexec\nExecStart=/bin/true\n";
        let unit = keel_unit::load::parse_unit_text(&name, text, None, &Default::default()).unit;
        let img = crate::ExecContext::from_unit(&unit)
            .extension_images
            .remove(0);
        assert_eq!(partition_options(&img, None), "nosuid");
        assert_eq!(partition_options(&img, Some(PartitionRole::Root)), "nosuid");
        assert_eq!(partition_options(&img, Some(PartitionRole::Usr)), "noexec");
        assert_eq!(partition_options(&ExtensionImage::default(), None), "");
    }
}
