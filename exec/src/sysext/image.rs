//! Making one image mountable: directories as they are, image files and block devices
//! through a read-only autoclear loop device over the file system (or the chosen GPT
//! partition), dm-verity and LUKS refused with a clear error.

use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::mount::{MsFlags, mount};

use super::discover::ImageKind;
use super::error::AttachError;
use super::format::{self, PartitionRole, Signature};
use super::sys::{LoopDevice, attach_loop};

/// An image ready to be mounted.
#[derive(Debug)]
#[non_exhaustive]
pub enum Source {
    /// A directory tree, bind-mounted read-only.
    Directory(PathBuf),
    /// A file system on a loop device.
    Device {
        /// The loop device (closing it lets autoclear free it once unmounted).
        device: LoopDevice,
        /// The file system type.
        fstype: format::FsType,
        /// The GPT partition used, `None` for a bare file system.
        partition: Option<PartitionRole>,
    },
}

/// Reads up to `len` bytes at `offset` (fewer at the end of the file).
fn read_prefix(file: &File, offset: u64, len: usize) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut done = 0usize;
    while done < len {
        let at = offset + u64::try_from(done).unwrap_or(u64::MAX);
        match file.read_at(&mut buf[done..], at) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    buf.truncate(done);
    Ok(buf)
}

/// The dm-verity side-car files systemd looks for next to `NAME.raw`.
const VERITY_SIDECARS: [&str; 5] = [
    ".roothash",
    ".roothash.p7s",
    ".usrhash",
    ".usrhash.p7s",
    ".verity",
];

/// Makes the image at `path` mountable. `arch` is the architecture whose GPT partition
/// types count (systemd's names, `x86-64`).
///
/// # Errors
///
/// [`AttachError`]: unreadable image, unknown format, dm-verity, LUKS, an unusable GPT
/// table or a loop device failure.
pub fn attach(path: &Path, kind: ImageKind, arch: &str) -> Result<Source, AttachError> {
    if kind == ImageKind::Directory {
        return Ok(Source::Directory(path.to_path_buf()));
    }
    let read_err = |source| AttachError::Read {
        path: path.to_path_buf(),
        source,
    };
    if let Some(base) = path.to_str().and_then(|s| s.strip_suffix(".raw")) {
        for suffix in VERITY_SIDECARS {
            let side = PathBuf::from(format!("{base}{suffix}"));
            if side.exists() {
                return Err(AttachError::Verity {
                    path: path.to_path_buf(),
                    what: format!("side-car file {}", side.display()),
                });
            }
        }
    }
    let file = File::open(path).map_err(read_err)?;
    let head = read_prefix(&file, 0, format::PROBE_LEN).map_err(read_err)?;
    let (offset, size, fstype, partition) = match format::detect(&head) {
        Some(Signature::Filesystem(fs)) => (0, 0, fs, None),
        Some(Signature::Luks) => {
            return Err(AttachError::Encrypted {
                path: path.to_path_buf(),
            });
        }
        Some(Signature::VerityHash) => {
            return Err(AttachError::Verity {
                path: path.to_path_buf(),
                what: "a verity hash superblock".to_owned(),
            });
        }
        Some(Signature::Gpt { sector_size }) => {
            let gpt_err = |source| AttachError::Gpt {
                path: path.to_path_buf(),
                source,
            };
            let header = format::parse_gpt_header(&head, sector_size).map_err(gpt_err)?;
            let (at, len) = header
                .entries_span()
                .ok_or(format::GptError::BadHeader {
                    what: "entry array size",
                })
                .map_err(gpt_err)?;
            let entries = read_prefix(&file, at, len).map_err(read_err)?;
            let part = format::select_partition(&header, &entries, arch).map_err(gpt_err)?;
            let phead = read_prefix(&file, part.offset, format::PROBE_LEN).map_err(read_err)?;
            let fs =
                format::detect_filesystem(&phead).ok_or(AttachError::UnknownPartitionFormat {
                    path: path.to_path_buf(),
                    role: match part.role {
                        PartitionRole::Root => "root",
                        PartitionRole::Usr => "usr",
                        PartitionRole::LinuxData => "linux-data",
                    },
                })?;
            (part.offset, part.size, fs, Some(part.role))
        }
        None => {
            return Err(AttachError::UnknownFormat {
                path: path.to_path_buf(),
            });
        }
    };
    let device = attach_loop(&file, offset, size).map_err(|(step, source)| AttachError::Loop {
        path: path.to_path_buf(),
        step,
        source,
    })?;
    Ok(Source::Device {
        device,
        fstype,
        partition,
    })
}

impl Source {
    /// Mounts the image read-only on `target` (an existing directory): a read-only bind
    /// mount of a directory, or the loop device's file system with `MS_RDONLY|MS_NODEV`
    /// plus `options` (comma-separated file system options, may be empty).
    ///
    /// # Errors
    ///
    /// What failed and its errno.
    pub fn mount_on(&self, target: &Path, options: &str) -> Result<(), (&'static str, Errno)> {
        match self {
            Self::Directory(dir) => {
                mount(
                    Some(dir.as_path()),
                    target,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| ("bind-mount", e))?;
                mount(
                    None::<&str>,
                    target,
                    None::<&str>,
                    MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY,
                    None::<&str>,
                )
                .map_err(|e| ("remount read-only", e))
            }
            Self::Device { device, fstype, .. } => mount(
                Some(device.path()),
                target,
                Some(fstype.kernel_name()),
                MsFlags::MS_RDONLY | MsFlags::MS_NODEV,
                (!options.is_empty()).then_some(options),
            )
            .map_err(|e| ("mount", e)),
        }
    }
}
