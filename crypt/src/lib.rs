//! LUKS2 on-disk format for keel: the binary header (both copies, checksums), the JSON
//! metadata model (keyslots, tokens, segments, digests, config) and passphrase unlocking of
//! `luks2` keyslots (PBKDF2 / Argon2, aes-xts-plain64, anti-forensic merge, digest check),
//! crash-safe metadata writes (tokens), adding and removing passphrase keyslots, format,
//! typed systemd tokens with a [`TokenUnlocker`] seam for TPM2/FIDO2/PKCS#11 plugins,
//! systemd's recovery-key format, and `systemd-cryptenroll`'s password / recovery-key /
//! `--wipe-slot=` logic ([`cryptenroll`], behind the `keel-cryptenroll` binary).
//!
//! This crate does not set up dm-crypt mappings and does not talk to TPM2 or FIDO2 devices;
//! it maps the on-disk format that `systemd-cryptsetup` and `systemd-cryptenroll` (systemd 248)
//! read through libcryptsetup.
//!
//! ```
//! use keel_crypt::metadata::Metadata;
//! let m: Metadata = serde_json::from_str(
//!     r#"{"keyslots":{},"tokens":{},"segments":{},"digests":{},
//!        "config":{"json_size":"12288","keyslots_size":"16744448"}}"#,
//! )?;
//! assert_eq!(m.config.json_size, 12288);
//! # Ok::<(), serde_json::Error>(())
//! ```
#![forbid(unsafe_code)]

pub mod argon;
pub mod cryptenroll;
pub mod device;
pub mod enroll;
pub mod error;
pub mod format;
pub mod header;
pub mod keyslot;
pub mod luks1;
pub mod metadata;
pub mod recovery;
pub mod token;

pub use device::{
    HeaderSet, Luks2Device, ReadAt, VolumeKey, WriteAt, read_headers, unlock_metadata,
    write_metadata_to,
};
pub use enroll::{NewKdf, PasswordKdfPolicy, add_keyslot_to, remove_keyslots_from};
pub use error::{
    AddKeyslotError, FormatError, HeaderCopyError, ReadHeaderError, RemoveKeyslotError,
    TokenUnlockVolumeError, UnlockError, WriteHeaderError,
};
pub use format::{FormatOptions, format, format_to};
pub use header::{BinaryHeader, HeaderCopy, HeaderCopyData};
pub use metadata::{Metadata, Token};
pub use recovery::{ParseRecoveryKeyError, RecoveryKey};
pub use token::{RecoveryKeyUnlocker, TokenUnlockError, TokenUnlocker, TypedToken};
