//! Error types, one enum per operation family.

use std::io;
use std::path::PathBuf;

use crate::header::HeaderCopy;

/// Why one copy of the LUKS2 binary header (plus its JSON area) was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderCopyError {
    /// The device or buffer ends before the header does.
    #[error("{copy} header truncated: need {need} bytes at offset {offset}, have {have}")]
    Truncated {
        /// Which copy.
        copy: HeaderCopy,
        /// Byte offset of the copy.
        offset: u64,
        /// Bytes needed.
        need: u64,
        /// Bytes available.
        have: u64,
    },
    /// The magic bytes are not those of the expected copy.
    #[error("{copy} header at offset {offset} has wrong magic")]
    BadMagic {
        /// Which copy.
        copy: HeaderCopy,
        /// Byte offset of the copy.
        offset: u64,
    },
    /// The version field is not 2.
    #[error("{copy} header has unsupported version {version}")]
    UnsupportedVersion {
        /// Which copy.
        copy: HeaderCopy,
        /// Version found.
        version: u16,
    },
    /// `hdr_size` is not one of the sizes LUKS2 allows (16 KiB .. 4 MiB, power of two).
    #[error("{copy} header has invalid hdr_size {size}")]
    BadHeaderSize {
        /// Which copy.
        copy: HeaderCopy,
        /// Size found.
        size: u64,
    },
    /// `hdr_offset` does not match where the copy was found.
    #[error("{copy} header claims offset {claimed} but was read at {actual}")]
    OffsetMismatch {
        /// Which copy.
        copy: HeaderCopy,
        /// Offset stored in the header.
        claimed: u64,
        /// Offset it was read from.
        actual: u64,
    },
    /// The checksum algorithm is not supported.
    #[error("{copy} header uses unsupported checksum algorithm {algorithm:?}")]
    UnsupportedChecksum {
        /// Which copy.
        copy: HeaderCopy,
        /// Algorithm name found.
        algorithm: String,
    },
    /// The stored checksum does not match the computed one.
    #[error("{copy} header checksum mismatch")]
    ChecksumMismatch {
        /// Which copy.
        copy: HeaderCopy,
    },
    /// The JSON area is not valid UTF-8 JSON text terminated by NUL.
    #[error("{copy} header JSON area is malformed")]
    Json {
        /// Which copy.
        copy: HeaderCopy,
        /// Parser error.
        #[source]
        source: serde_json::Error,
    },
    /// The JSON metadata is inconsistent (sizes, overlapping or overflowing areas).
    #[error("{copy} header metadata is invalid")]
    Invalid {
        /// Which copy.
        copy: HeaderCopy,
        /// What is wrong.
        #[source]
        source: crate::metadata::ValidateMetadataError,
    },
    /// The copy verifies but holds other content than was just written.
    #[error("{copy} header holds other content than was written")]
    Mismatch {
        /// Which copy.
        copy: HeaderCopy,
    },
    /// Reading the copy failed.
    #[error("cannot read {copy} header at offset {offset}")]
    Io {
        /// Which copy.
        copy: HeaderCopy,
        /// Byte offset of the copy.
        offset: u64,
        /// I/O error.
        #[source]
        source: io::Error,
    },
}

/// Why no usable LUKS2 header could be read from a device or image.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadHeaderError {
    /// The device could not be opened.
    #[error("cannot open {path}")]
    Open {
        /// Path of the device or image.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: io::Error,
    },
    /// Neither header copy is valid; the primary copy's error is the source.
    #[error("no valid LUKS2 header (secondary: {secondary})")]
    NoValidCopy {
        /// Why the primary copy was rejected.
        #[source]
        primary: Box<HeaderCopyError>,
        /// Why the secondary copy was rejected (or was not found).
        secondary: Box<HeaderCopyError>,
    },
}

/// Why a keyslot could not be unlocked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum UnlockError {
    /// The requested keyslot does not exist.
    #[error("keyslot {slot} does not exist")]
    NoSuchKeyslot {
        /// Keyslot id.
        slot: u32,
    },
    /// No keyslot accepted the passphrase (or the requested one rejected it).
    #[error("no keyslot accepts the passphrase")]
    WrongPassphrase,
    /// The keyslot type is not `luks2`.
    #[error("keyslot {slot} has unsupported type {kind:?}")]
    UnsupportedKeyslotType {
        /// Keyslot id.
        slot: String,
        /// Type found.
        kind: String,
    },
    /// The key derivation function is not supported or its parameters are invalid.
    #[error("keyslot {slot} has unsupported kdf {kind:?}")]
    UnsupportedKdf {
        /// Keyslot id.
        slot: String,
        /// KDF type found.
        kind: String,
    },
    /// The argon2 parameters were rejected.
    #[error("keyslot {slot}: argon2 failed (time {time}, memory {memory} KiB, cpus {cpus})")]
    Argon2 {
        /// Keyslot id.
        slot: String,
        /// Iterations.
        time: u32,
        /// Memory cost in KiB.
        memory: u32,
        /// Parallelism.
        cpus: u32,
        /// What Argon2 refused.
        #[source]
        source: crate::argon::ArgonError,
    },
    /// A hash name is not supported.
    #[error("{object} {id}: unsupported hash {hash:?}")]
    UnsupportedHash {
        /// Kind of object (`keyslot`, `digest`).
        object: &'static str,
        /// Object id.
        id: String,
        /// Hash name found.
        hash: String,
    },
    /// The keyslot area cipher or key size is not supported.
    #[error(
        "keyslot {slot}: unsupported encryption {cipher:?} with {key_size}-byte key (only aes-xts-plain64 with 32 or 64 bytes)"
    )]
    UnsupportedCipher {
        /// Keyslot id.
        slot: String,
        /// Cipher spec found.
        cipher: String,
        /// Key size in bytes.
        key_size: u64,
    },
    /// A field is missing or inconsistent.
    #[error("{object} {id}: invalid field {field}")]
    InvalidField {
        /// Kind of object (`keyslot`, `digest`).
        object: &'static str,
        /// Object id.
        id: String,
        /// Field name.
        field: &'static str,
    },
    /// No digest covers the keyslot.
    #[error("keyslot {slot} has no digest")]
    NoDigest {
        /// Keyslot id.
        slot: String,
    },
    /// Reading the keyslot area failed.
    #[error("keyslot {slot}: cannot read area at offset {offset}")]
    Io {
        /// Keyslot id.
        slot: String,
        /// Byte offset of the area.
        offset: u64,
        /// I/O error.
        #[source]
        source: io::Error,
    },
}

/// Why new metadata could not be written to a device.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteHeaderError {
    /// The device was opened read-only.
    #[error("{path} was opened read-only")]
    ReadOnly {
        /// Path of the device or image.
        path: PathBuf,
    },
    /// There is no valid header copy to start from.
    #[error("no valid header copy to update")]
    NoValidHeader,
    /// The metadata could not be serialized.
    #[error("cannot serialize metadata")]
    Serialize {
        /// Serializer error.
        #[source]
        source: serde_json::Error,
    },
    /// The metadata is inconsistent (e.g. a token names a missing keyslot).
    #[error("invalid metadata: {what} {id} refers to missing keyslot {keyslot}")]
    DanglingKeyslot {
        /// Kind of object (`token`, `digest`).
        what: &'static str,
        /// Object id.
        id: String,
        /// Keyslot id referred to.
        keyslot: String,
    },
    /// The header carries mandatory requirements (e.g. online reencryption) keel does not know.
    #[error("header has mandatory requirements {requirements:?}, refusing to write")]
    UnmetRequirements {
        /// The `config.requirements.mandatory` entries.
        requirements: Vec<String>,
    },
    /// The JSON text does not fit the JSON area.
    #[error("metadata JSON is {len} bytes, the area holds at most {max}")]
    TooLarge {
        /// Serialized length.
        len: usize,
        /// Largest allowed length.
        max: usize,
    },
    /// Writing or syncing a copy failed.
    #[error("cannot write {copy} header at offset {offset}")]
    Write {
        /// Which copy.
        copy: HeaderCopy,
        /// Byte offset of the copy.
        offset: u64,
        /// I/O error.
        #[source]
        source: io::Error,
    },
    /// Reading back a freshly written copy failed verification.
    #[error("{copy} header does not verify after writing")]
    Verify {
        /// Which copy.
        copy: HeaderCopy,
        /// Why it was rejected.
        #[source]
        source: Box<HeaderCopyError>,
    },
    /// A freshly written copy reads back with different content.
    #[error("{copy} header reads back with different content")]
    Mismatch {
        /// Which copy.
        copy: HeaderCopy,
    },
}

/// Why a keyslot could not be added.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddKeyslotError {
    /// The device was opened read-only.
    #[error("{path} was opened read-only")]
    ReadOnly {
        /// Path of the device or image.
        path: PathBuf,
    },
    /// The existing passphrase did not unlock the volume key.
    #[error("cannot unlock the volume key")]
    Unlock {
        /// Why.
        #[source]
        source: UnlockError,
    },
    /// No digest covering segment 0 verifies the volume key.
    #[error("no digest for segment 0 matches the volume key")]
    NoDigest,
    /// All 32 keyslot ids are in use.
    #[error("no free keyslot id")]
    NoFreeSlot,
    /// All 32 token ids are in use.
    #[error("no free token id")]
    NoFreeToken,
    /// The keyslots area has no free range of the needed size.
    #[error("no free range of {need} bytes in the keyslots area")]
    NoSpace {
        /// Bytes needed.
        need: u64,
    },
    /// The system random number generator failed.
    #[error("cannot get random bytes")]
    Random {
        /// Why.
        #[source]
        source: getrandom::Error,
    },
    /// The new keyslot's KDF failed.
    #[error("cannot derive the new keyslot key")]
    Kdf {
        /// Why.
        #[source]
        source: UnlockError,
    },
    /// Writing the keyslot area failed.
    #[error("cannot write keyslot area at offset {offset}")]
    Write {
        /// Byte offset.
        offset: u64,
        /// I/O error.
        #[source]
        source: io::Error,
    },
    /// Writing the metadata failed (the area is written but unused).
    #[error("cannot write metadata for the new keyslot")]
    Metadata {
        /// Why.
        #[source]
        source: WriteHeaderError,
    },
}

/// Why a keyslot could not be removed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RemoveKeyslotError {
    /// The device was opened read-only.
    #[error("{path} was opened read-only")]
    ReadOnly {
        /// Path of the device or image.
        path: PathBuf,
    },
    /// The keyslot does not exist.
    #[error("keyslot {slot} does not exist")]
    NoSuchKeyslot {
        /// Keyslot id.
        slot: u32,
    },
    /// The token does not exist.
    #[error("token {token} does not exist")]
    NoSuchToken {
        /// Token id.
        token: u32,
    },
    /// It is the last keyslot that unlocks segment 0.
    #[error("removing keyslot {slot} would leave no keyslot that unlocks the volume")]
    LastKeyslot {
        /// Keyslot id.
        slot: u32,
    },
    /// Writing the metadata failed (nothing was wiped).
    #[error("cannot write metadata without the keyslot")]
    Metadata {
        /// Why.
        #[source]
        source: WriteHeaderError,
    },
    /// Wiping the area failed (the keyslot is already gone from the metadata).
    #[error("cannot wipe keyslot area at offset {offset}")]
    Wipe {
        /// Byte offset.
        offset: u64,
        /// I/O error.
        #[source]
        source: io::Error,
    },
}

/// Why a volume could not be formatted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FormatError {
    /// The target could not be opened read-write (or its size read).
    #[error("cannot open {path} for formatting")]
    Open {
        /// Path of the device or image.
        path: PathBuf,
        /// I/O error.
        #[source]
        source: io::Error,
    },
    /// The target is smaller than the header plus keyslots area.
    #[error("device has {size} bytes, formatting needs at least {need}")]
    TooSmall {
        /// Size found.
        size: u64,
        /// Size needed.
        need: u64,
    },
    /// The volume key size is not 32 or 64 bytes.
    #[error("unsupported volume key size {key_size} bytes (32 or 64)")]
    UnsupportedKeySize {
        /// Size asked for.
        key_size: usize,
    },
    /// The system random number generator failed.
    #[error("cannot get random bytes")]
    Random {
        /// Why.
        #[source]
        source: getrandom::Error,
    },
    /// The metadata could not be serialized into the JSON area.
    #[error("cannot serialize the new metadata")]
    Serialize {
        /// Why.
        #[source]
        source: serde_json::Error,
    },
    /// A write or sync failed.
    #[error("cannot write at offset {offset}")]
    Write {
        /// Byte offset.
        offset: u64,
        /// I/O error.
        #[source]
        source: io::Error,
    },
    /// The freshly written header does not read back.
    #[error("formatted header does not verify")]
    Reopen {
        /// Why.
        #[source]
        source: ReadHeaderError,
    },
    /// The formatted volume does not unlock with the passphrase.
    #[error("formatted volume does not unlock")]
    Verify {
        /// Why.
        #[source]
        source: UnlockError,
    },
    /// Building the first keyslot failed.
    #[error("cannot build the first keyslot")]
    Keyslot {
        /// Why.
        #[source]
        source: AddKeyslotError,
    },
}

/// Why no token could unlock the volume.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenUnlockVolumeError {
    /// No token was handled by any unlocker.
    #[error("no token is handled by the given unlockers")]
    NoToken,
    /// A token could not be read in typed form.
    #[error("token {token} is malformed")]
    Parse {
        /// Token id.
        token: String,
        /// Why.
        #[source]
        source: crate::token::ParseTokenError,
    },
    /// The unlockers or the keyslots failed; the first failure is the source.
    #[error("token {token} did not unlock keyslot {slot}")]
    Failed {
        /// Token id.
        token: u32,
        /// Keyslot id.
        slot: u32,
        /// Why.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}
