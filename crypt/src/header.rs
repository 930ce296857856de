//! The LUKS2 binary header: two copies, each a 4096-byte binary part followed by the JSON area.

use std::fmt;

use sha2::{Digest as _, Sha256};

use crate::error::HeaderCopyError;
use crate::metadata::Metadata;

/// Size of the binary part of a header copy.
pub const BINARY_HEADER_SIZE: usize = 4096;
/// Magic of the primary copy.
pub const MAGIC_PRIMARY: [u8; 6] = *b"LUKS\xba\xbe";
/// Magic of the secondary copy.
pub const MAGIC_SECONDARY: [u8; 6] = *b"SKUL\xba\xbe";
/// Offsets where a secondary copy may sit (one per allowed `hdr_size`).
pub const SECONDARY_OFFSETS: [u64; 9] = [
    0x4000, 0x8000, 0x1_0000, 0x2_0000, 0x4_0000, 0x8_0000, 0x10_0000, 0x20_0000, 0x40_0000,
];

const OFF_VERSION: usize = 6;
const OFF_HDR_SIZE: usize = 8;
const OFF_SEQID: usize = 16;
const OFF_LABEL: usize = 24;
const OFF_CSUM_ALG: usize = 72;
const OFF_SALT: usize = 104;
const OFF_UUID: usize = 168;
const OFF_SUBSYSTEM: usize = 208;
const OFF_HDR_OFFSET: usize = 256;
const OFF_CSUM: usize = 448;
const LEN_LABEL: usize = 48;
const LEN_CSUM_ALG: usize = 32;
const LEN_SALT: usize = 64;
const LEN_UUID: usize = 40;
const LEN_SUBSYSTEM: usize = 48;
const LEN_CSUM: usize = 64;

/// Which of the two header copies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HeaderCopy {
    /// The copy at offset 0.
    Primary,
    /// The copy at offset `hdr_size`.
    Secondary,
}

impl HeaderCopy {
    /// The magic this copy must carry.
    #[must_use]
    pub const fn magic(self) -> [u8; 6] {
        match self {
            Self::Primary => MAGIC_PRIMARY,
            Self::Secondary => MAGIC_SECONDARY,
        }
    }
}

impl fmt::Display for HeaderCopy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Primary => "primary",
            Self::Secondary => "secondary",
        })
    }
}

/// The fields of the binary part of one header copy.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BinaryHeader {
    /// Format version (always 2 once parsed).
    pub version: u16,
    /// Size of binary header plus JSON area, in bytes.
    pub hdr_size: u64,
    /// Sequence id, incremented on every metadata update.
    pub seqid: u64,
    /// Label (NUL-trimmed).
    pub label: String,
    /// Checksum algorithm name, e.g. `sha256`.
    pub checksum_alg: String,
    /// Header salt (used for checksum uniqueness).
    pub salt: Vec<u8>,
    /// UUID text.
    pub uuid: String,
    /// Subsystem (NUL-trimmed).
    pub subsystem: String,
    /// Offset of this copy on the device.
    pub hdr_offset: u64,
    /// Stored checksum (the digest length prefix of the 64-byte field).
    pub csum: Vec<u8>,
}

/// One fully validated header copy: binary part, raw JSON text and parsed metadata.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct HeaderCopyData {
    /// Binary fields.
    pub binary: BinaryHeader,
    /// JSON text as stored (up to the first NUL).
    pub json: String,
    /// Parsed JSON metadata.
    pub metadata: Metadata,
}

fn be_u16(b: &[u8], off: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[off..off + 2]);
    u16::from_be_bytes(a)
}

fn be_u64(b: &[u8], off: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[off..off + 8]);
    u64::from_be_bytes(a)
}

fn c_string(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

/// Whether `size` is an allowed LUKS2 `hdr_size` (16 KiB to 4 MiB, a power of two).
#[must_use]
pub fn valid_hdr_size(size: u64) -> bool {
    size.is_power_of_two() && (0x4000..=0x40_0000).contains(&size)
}

/// Reads `hdr_size` from the binary part of a copy, checking magic, version and range.
///
/// `bin` must hold at least the first 4096 bytes of the copy.
///
/// # Errors
/// Truncation, wrong magic, version other than 2, or an invalid size.
pub fn peek_hdr_size(bin: &[u8], copy: HeaderCopy, offset: u64) -> Result<u64, HeaderCopyError> {
    if bin.len() < BINARY_HEADER_SIZE {
        return Err(HeaderCopyError::Truncated {
            copy,
            offset,
            need: BINARY_HEADER_SIZE as u64,
            have: bin.len() as u64,
        });
    }
    if bin[..6] != copy.magic() {
        return Err(HeaderCopyError::BadMagic { copy, offset });
    }
    let version = be_u16(bin, OFF_VERSION);
    if version != 2 {
        return Err(HeaderCopyError::UnsupportedVersion { copy, version });
    }
    let size = be_u64(bin, OFF_HDR_SIZE);
    if !valid_hdr_size(size) {
        return Err(HeaderCopyError::BadHeaderSize { copy, size });
    }
    Ok(size)
}

/// Computes the header checksum: sha256 over the copy with the csum field zeroed.
///
/// `raw` is the whole copy (`hdr_size` bytes).
#[must_use]
pub fn compute_checksum(raw: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    let split = OFF_CSUM.min(raw.len());
    h.update(&raw[..split]);
    let csum_end = (OFF_CSUM + LEN_CSUM).min(raw.len());
    h.update(&[0u8; LEN_CSUM][..csum_end - split]);
    h.update(&raw[csum_end..]);
    h.finalize().into()
}

/// Parses and verifies one header copy held entirely in `raw` (exactly `hdr_size` bytes or more).
///
/// `offset` is where the copy was read from; it must match the stored `hdr_offset`.
///
/// # Errors
/// Any [`HeaderCopyError`]: this never panics on malformed input.
pub fn parse_copy(
    raw: &[u8],
    copy: HeaderCopy,
    offset: u64,
) -> Result<HeaderCopyData, HeaderCopyError> {
    let hdr_size = peek_hdr_size(raw, copy, offset)?;
    let len = usize::try_from(hdr_size).map_err(|_| HeaderCopyError::BadHeaderSize {
        copy,
        size: hdr_size,
    })?;
    if raw.len() < len {
        return Err(HeaderCopyError::Truncated {
            copy,
            offset,
            need: hdr_size,
            have: raw.len() as u64,
        });
    }
    let raw = &raw[..len];
    let hdr_offset = be_u64(raw, OFF_HDR_OFFSET);
    if hdr_offset != offset {
        return Err(HeaderCopyError::OffsetMismatch {
            copy,
            claimed: hdr_offset,
            actual: offset,
        });
    }
    let checksum_alg = c_string(&raw[OFF_CSUM_ALG..OFF_CSUM_ALG + LEN_CSUM_ALG]);
    if checksum_alg != "sha256" {
        return Err(HeaderCopyError::UnsupportedChecksum {
            copy,
            algorithm: checksum_alg,
        });
    }
    let stored = &raw[OFF_CSUM..OFF_CSUM + 32];
    if compute_checksum(raw) != stored {
        return Err(HeaderCopyError::ChecksumMismatch { copy });
    }
    let area = &raw[BINARY_HEADER_SIZE..];
    let end = area.iter().position(|&c| c == 0).unwrap_or(area.len());
    let json = std::str::from_utf8(&area[..end]).map_err(|e| HeaderCopyError::Json {
        copy,
        source: serde::de::Error::custom(e),
    })?;
    let metadata: Metadata =
        serde_json::from_str(json).map_err(|source| HeaderCopyError::Json { copy, source })?;
    metadata
        .validate(hdr_size)
        .map_err(|source| HeaderCopyError::Invalid { copy, source })?;
    Ok(HeaderCopyData {
        binary: BinaryHeader {
            version: 2,
            hdr_size,
            seqid: be_u64(raw, OFF_SEQID),
            label: c_string(&raw[OFF_LABEL..OFF_LABEL + LEN_LABEL]),
            checksum_alg,
            salt: raw[OFF_SALT..OFF_SALT + LEN_SALT].to_vec(),
            uuid: c_string(&raw[OFF_UUID..OFF_UUID + LEN_UUID]),
            subsystem: c_string(&raw[OFF_SUBSYSTEM..OFF_SUBSYSTEM + LEN_SUBSYSTEM]),
            hdr_offset,
            csum: stored.to_vec(),
        },
        json: json.to_owned(),
        metadata,
    })
}

/// Serializes one header copy (binary part, JSON area, checksum) into `hdr_size` bytes.
///
/// The magic is chosen by `copy`; `binary.hdr_offset` must already be set by the caller.
/// Returns `None` when `hdr_size` is invalid or the JSON does not fit the area
/// (one byte is kept for the terminating NUL).
#[must_use]
pub fn emit_copy(binary: &BinaryHeader, json: &str, copy: HeaderCopy) -> Option<Vec<u8>> {
    if !valid_hdr_size(binary.hdr_size) {
        return None;
    }
    let len = usize::try_from(binary.hdr_size).ok()?;
    if json.len() >= len - BINARY_HEADER_SIZE {
        return None;
    }
    let mut raw = vec![0u8; len];
    raw[..6].copy_from_slice(&copy.magic());
    raw[OFF_VERSION..OFF_VERSION + 2].copy_from_slice(&2u16.to_be_bytes());
    raw[OFF_HDR_SIZE..OFF_HDR_SIZE + 8].copy_from_slice(&binary.hdr_size.to_be_bytes());
    raw[OFF_SEQID..OFF_SEQID + 8].copy_from_slice(&binary.seqid.to_be_bytes());
    put_str(
        &mut raw[OFF_LABEL..OFF_LABEL + LEN_LABEL],
        binary.label.as_bytes(),
    );
    put_str(
        &mut raw[OFF_CSUM_ALG..OFF_CSUM_ALG + LEN_CSUM_ALG],
        b"sha256",
    );
    put_str(&mut raw[OFF_SALT..OFF_SALT + LEN_SALT], &binary.salt);
    put_str(
        &mut raw[OFF_UUID..OFF_UUID + LEN_UUID],
        binary.uuid.as_bytes(),
    );
    put_str(
        &mut raw[OFF_SUBSYSTEM..OFF_SUBSYSTEM + LEN_SUBSYSTEM],
        binary.subsystem.as_bytes(),
    );
    raw[OFF_HDR_OFFSET..OFF_HDR_OFFSET + 8].copy_from_slice(&binary.hdr_offset.to_be_bytes());
    raw[BINARY_HEADER_SIZE..BINARY_HEADER_SIZE + json.len()].copy_from_slice(json.as_bytes());
    let csum = compute_checksum(&raw);
    raw[OFF_CSUM..OFF_CSUM + 32].copy_from_slice(&csum);
    Some(raw)
}

/// Copies `src` into `dst`, truncating; the rest of `dst` stays zero.
fn put_str(dst: &mut [u8], src: &[u8]) {
    let n = src.len().min(dst.len());
    dst[..n].copy_from_slice(&src[..n]);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(copy: HeaderCopy, offset: u64) -> Vec<u8> {
        let b = BinaryHeader {
            version: 2,
            hdr_size: 0x4000,
            seqid: 7,
            label: "lbl".into(),
            checksum_alg: "sha256".into(),
            salt: vec![1; 64],
            uuid: "0b7e9d7e-2d3a-4c55-9d4c-4c3a7c0f0a11".into(),
            subsystem: String::new(),
            hdr_offset: offset,
            csum: Vec::new(),
        };
        let json = r#"{"keyslots":{},"tokens":{},"segments":{},"digests":{},"config":{"json_size":"12288","keyslots_size":"16744448"}}"#;
        emit_copy(&b, json, copy).unwrap()
    }

    #[test]
    fn emit_parse_round_trip() {
        let raw = sample(HeaderCopy::Primary, 0);
        let c = parse_copy(&raw, HeaderCopy::Primary, 0).unwrap();
        assert_eq!(c.binary.seqid, 7);
        assert_eq!(c.binary.label, "lbl");
        assert_eq!(c.metadata.config.json_size, 12288);
        let again = emit_copy(&c.binary, &c.json, HeaderCopy::Primary).unwrap();
        assert_eq!(again, raw);
    }

    #[test]
    fn rejects_bad_input_without_panicking() {
        let raw = sample(HeaderCopy::Secondary, 0x4000);
        assert!(matches!(
            parse_copy(&raw, HeaderCopy::Primary, 0x4000),
            Err(HeaderCopyError::BadMagic { .. })
        ));
        assert!(matches!(
            parse_copy(&raw, HeaderCopy::Secondary, 0),
            Err(HeaderCopyError::OffsetMismatch { .. })
        ));
        let mut bad = raw.clone();
        bad[5000] ^= 1;
        assert!(matches!(
            parse_copy(&bad, HeaderCopy::Secondary, 0x4000),
            Err(HeaderCopyError::ChecksumMismatch { .. })
        ));
        let mut bad = raw.clone();
        bad[7] = 3;
        assert!(matches!(
            parse_copy(&bad, HeaderCopy::Secondary, 0x4000),
            Err(HeaderCopyError::UnsupportedVersion { version: 3, .. })
        ));
        let mut bad = raw.clone();
        bad[OFF_HDR_SIZE..OFF_HDR_SIZE + 8].copy_from_slice(&u64::MAX.to_be_bytes());
        assert!(matches!(
            parse_copy(&bad, HeaderCopy::Secondary, 0x4000),
            Err(HeaderCopyError::BadHeaderSize { .. })
        ));
        for n in [0, 10, 4095, 4096, 0x3fff] {
            assert!(matches!(
                parse_copy(&raw[..n], HeaderCopy::Secondary, 0x4000),
                Err(HeaderCopyError::Truncated { .. })
            ));
        }
    }

    /// Deterministic mutation sweep: corrupt every binary field (fixing the checksum up so the
    /// deeper checks run) and the JSON text; nothing may panic.
    #[test]
    fn mutation_sweep_never_panics() {
        let raw = sample(HeaderCopy::Primary, 0);
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for i in 0..1200usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut m = raw.clone();
            let pos = if i % 2 == 0 {
                i % 512
            } else {
                BINARY_HEADER_SIZE + i % 160
            };
            m[pos] = state.to_le_bytes()[0];
            if i % 3 != 0 {
                let c = compute_checksum(&m);
                m[OFF_CSUM..OFF_CSUM + 32].copy_from_slice(&c);
            }
            let _ = parse_copy(&m, HeaderCopy::Primary, 0);
        }
    }
}
