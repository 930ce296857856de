//! Errors of the sysext operations, one enum per operation family.

use std::io;
use std::path::PathBuf;

use keel_core::os_release::OsReleaseError;
use nix::errno::Errno;

use super::format::GptError;

/// Listing the extension images failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DiscoverError {
    /// A search directory exists but cannot be read.
    #[error("cannot read extension directory {}", .path.display())]
    ReadDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
}

/// Making an image file or block device mountable failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AttachError {
    /// The image cannot be opened or read.
    #[error("cannot read image {}", .path.display())]
    Read {
        /// The image.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// No known file system or partition table.
    #[error(
        "image {} holds no squashfs, erofs, ext4 or btrfs file system and no GPT partition table",
        .path.display()
    )]
    UnknownFormat {
        /// The image.
        path: PathBuf,
    },
    /// The image is dm-verity protected (side-car files or verity partitions).
    #[error("image {} uses dm-verity ({what}), which keel does not set up yet", .path.display())]
    Verity {
        /// The image.
        path: PathBuf,
        /// What gave it away (`.roothash file`, `root-verity partition`, ...).
        what: String,
    },
    /// The image is LUKS-encrypted.
    #[error("image {} is LUKS-encrypted, which keel does not unlock", .path.display())]
    Encrypted {
        /// The image.
        path: PathBuf,
    },
    /// The GPT partition table cannot be used.
    #[error("cannot pick a partition of GPT image {}", .path.display())]
    Gpt {
        /// The image.
        path: PathBuf,
        /// Why.
        #[source]
        source: GptError,
    },
    /// The partition inside the GPT image holds no known file system.
    #[error("the {role} partition of {} holds no known file system", .path.display())]
    UnknownPartitionFormat {
        /// The image.
        path: PathBuf,
        /// `root`, `usr` or `linux-data`.
        role: &'static str,
    },
    /// Attaching a loop device failed.
    #[error("cannot attach image {} to a loop device ({step})", .path.display())]
    Loop {
        /// The image.
        path: PathBuf,
        /// The step that failed.
        step: &'static str,
        /// The errno.
        #[source]
        source: Errno,
    },
}

/// `merge` or `refresh` failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MergeError {
    /// The caller lacks `CAP_SYS_ADMIN`.
    #[error("need to be privileged (CAP_SYS_ADMIN)")]
    NotPrivileged,
    /// `merge` on a hierarchy that is already one of our merges.
    #[error("hierarchy {} is already merged", .hierarchy.display())]
    AlreadyMerged {
        /// The hierarchy (below the root).
        hierarchy: PathBuf,
    },
    /// The host's os-release cannot be read.
    #[error("cannot read the os-release of the OS tree {}", .root.display())]
    HostRelease {
        /// The root.
        root: PathBuf,
        /// The cause.
        #[source]
        source: OsReleaseError,
    },
    /// The host's os-release has no `ID=`.
    #[error("os-release of the OS tree {} has no ID=", .root.display())]
    HostId {
        /// The root.
        root: PathBuf,
    },
    /// Listing the images failed.
    #[error("cannot list extension images")]
    Discover(#[from] DiscoverError),
    /// An image cannot be attached.
    #[error("cannot attach extension {name}")]
    Attach {
        /// The image name.
        name: String,
        /// The cause.
        #[source]
        source: AttachError,
    },
    /// An extension's release file exists but cannot be read.
    #[error("cannot read the extension-release file of extension {name}")]
    ExtensionRelease {
        /// The image name.
        name: String,
        /// The cause.
        #[source]
        source: OsReleaseError,
    },
    /// An extension ships `/usr/lib/os-release` (this aborts the whole merge, as in 248).
    #[error(
        "extension {name} contains /usr/lib/os-release, which is not allowed (it may carry /etc/os-release)"
    )]
    ShipsOsRelease {
        /// The image name.
        name: String,
    },
    /// A mount operation failed.
    #[error("cannot {what} {}", .path.display())]
    Mount {
        /// What was done (`mount overlay on`, `bind-mount`, `unshare the mount namespace for`).
        what: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The errno.
        #[source]
        source: Errno,
    },
    /// A file operation in the workspace or below the root failed.
    #[error("cannot {what} {}", .path.display())]
    Io {
        /// What was done.
        what: &'static str,
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// The helper thread that builds the overlays died.
    #[error("the merge helper thread panicked")]
    Helper,
    /// Unmerging the previous state failed.
    #[error("cannot unmerge the previous state")]
    Unmerge(#[from] UnmergeError),
}

/// `unmerge` failed, or `status` could not inspect a hierarchy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnmergeError {
    /// The caller lacks `CAP_SYS_ADMIN`.
    #[error("need to be privileged (CAP_SYS_ADMIN)")]
    NotPrivileged,
    /// A hierarchy could not be inspected.
    #[error("cannot inspect hierarchy {}", .path.display())]
    Inspect {
        /// The hierarchy.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// Unmounting failed.
    #[error("cannot unmount {}", .path.display())]
    Unmount {
        /// The hierarchy.
        path: PathBuf,
        /// The errno.
        #[source]
        source: Errno,
    },
}

/// `SYSTEMD_SYSEXT_HIERARCHIES` is not a usable list.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HierarchiesError {
    /// The list is empty.
    #[error("the list of hierarchies is empty")]
    Empty,
    /// An entry is not absolute, not normalized, or `/`.
    #[error("hierarchy {entry:?} must be an absolute, normalized path other than /")]
    Invalid {
        /// The entry.
        entry: String,
    },
}
