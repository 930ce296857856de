//! Creating a new LUKS2 header (what `cryptsetup luksFormat --type luks2` does).

use std::collections::BTreeMap;
use std::path::Path;

use zeroize::Zeroizing;

use crate::device::{Luks2Device, ReadAt, VolumeKey, WriteAt, read_headers};
use crate::enroll::{NewKdf, build_keyslot};
use crate::error::{FormatError, HeaderCopyError, ReadHeaderError};
use crate::header::{BINARY_HEADER_SIZE, BinaryHeader, HeaderCopy, SECONDARY_OFFSETS, emit_copy};
use crate::keyslot::{HashAlg, base64_encode};
use crate::metadata::{Config, Digest, Metadata, Segment};

/// Header copy size used by cryptsetup's defaults.
pub const DEFAULT_HDR_SIZE: u64 = 0x4000;
/// Keyslots area size used by cryptsetup's defaults.
pub const DEFAULT_KEYSLOTS_SIZE: u64 = 16_744_448;
/// Data segment offset (16 MiB) used by cryptsetup's defaults.
pub const DEFAULT_DATA_OFFSET: u64 = 2 * DEFAULT_HDR_SIZE + DEFAULT_KEYSLOTS_SIZE;

/// Options for [`fn@format`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FormatOptions {
    /// Header label.
    pub label: String,
    /// KDF of the first keyslot.
    pub kdf: NewKdf,
    /// Volume key size in bytes: 32 or 64 (aes-xts-plain64 with AES-128 or AES-256).
    pub key_size: usize,
    /// PBKDF2-sha256 iterations of the volume key digest. The volume key has full entropy,
    /// so this cost protects nothing; cryptsetup's minimum is 1000.
    pub digest_iterations: u32,
}

impl Default for FormatOptions {
    fn default() -> Self {
        Self {
            label: String::new(),
            kdf: NewKdf::Argon2id {
                time: 4,
                memory_kib: 1_048_576,
                cpus: 4,
            },
            key_size: 64,
            digest_iterations: 1000,
        }
    }
}

fn random(len: usize) -> Result<Zeroizing<Vec<u8>>, FormatError> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut buf).map_err(|source| FormatError::Random { source })?;
    Ok(buf)
}

/// A random (version 4) UUID in text form.
fn random_uuid() -> Result<String, FormatError> {
    let mut b = random(16)?;
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// Formats the existing file or device at `path` as LUKS2 with one passphrase keyslot
/// (segment 0: aes-xts-plain64, 512-byte sectors, data from 16 MiB; a fresh random volume key).
///
/// See [`format_to`] for the write order; afterwards the device is reopened and verified.
/// Destroys the previous content's header.
///
/// # Errors
/// [`FormatError`]: open/size/randomness/I/O failures, an unsupported key size, or the
/// first keyslot failing.
pub fn format(
    path: impl AsRef<Path>,
    passphrase: &[u8],
    opts: &FormatOptions,
) -> Result<(Luks2Device, VolumeKey), FormatError> {
    let path = path.as_ref();
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|source| FormatError::Open {
            path: path.to_path_buf(),
            source,
        })?;
    let size = file
        .metadata()
        .map_err(|source| FormatError::Open {
            path: path.to_path_buf(),
            source,
        })?
        .len();
    // Block devices report 0 here; their size is checked by the writes themselves.
    if size != 0 && size < DEFAULT_DATA_OFFSET {
        return Err(FormatError::TooSmall {
            size,
            need: DEFAULT_DATA_OFFSET,
        });
    }
    let vk = format_to(&file, passphrase, opts)?;
    drop(file);
    let dev = Luks2Device::open_rw(path).map_err(|source| FormatError::Reopen { source })?;
    dev.unlock(Some(0), passphrase)
        .map_err(|source| FormatError::Verify { source })?;
    Ok((dev, vk))
}

/// Writes a new LUKS2 volume (as [`fn@format`]) onto `dev`, returning its volume key.
///
/// Write order, so that an interruption at any point leaves either no valid LUKS2 header or
/// one that opens with `passphrase` (never a valid header whose keyslots are gone):
/// 1. the first 4 KiB of every place a header copy may sit (offset 0 and every allowed
///    secondary offset inside the metadata area) are zeroed and synced, so an old header
///    can no longer be found;
/// 2. the keyslots area is zeroed, keyslot 0's area written, synced;
/// 3. the secondary copy, then the primary (seqid 1, metadata naming keyslot 0), synced;
/// 4. both copies are read back and compared.
///
/// # Errors
/// [`FormatError`]: an unsupported key size, randomness, KDF or write failures, or a copy
/// that does not read back.
pub fn format_to<D: ReadAt + WriteAt + ?Sized>(
    dev: &D,
    passphrase: &[u8],
    opts: &FormatOptions,
) -> Result<VolumeKey, FormatError> {
    if opts.key_size != 32 && opts.key_size != 64 {
        return Err(FormatError::UnsupportedKeySize {
            key_size: opts.key_size,
        });
    }
    let vk = VolumeKey::from_bytes(random(opts.key_size)?.to_vec());
    let digest_salt = random(32)?;
    let mut digest = [0u8; 32];
    HashAlg::Sha256.pbkdf2(
        vk.as_bytes(),
        &digest_salt,
        opts.digest_iterations.max(1000),
        &mut digest,
    );
    let slot_offset = 2 * DEFAULT_HDR_SIZE;
    let built = build_keyslot(&vk, passphrase, opts.kdf, "0", slot_offset)
        .map_err(|source| FormatError::Keyslot { source })?;

    let mut segments = BTreeMap::new();
    segments.insert(
        "0".to_owned(),
        Segment {
            kind: "crypt".into(),
            offset: DEFAULT_DATA_OFFSET,
            size: "dynamic".into(),
            iv_tweak: Some("0".into()),
            encryption: Some("aes-xts-plain64".into()),
            sector_size: Some(512),
            ..Segment::default()
        },
    );
    let mut digests = BTreeMap::new();
    digests.insert(
        "0".to_owned(),
        Digest {
            kind: "pbkdf2".into(),
            keyslots: vec!["0".into()],
            segments: vec!["0".into()],
            hash: Some("sha256".into()),
            iterations: Some(opts.digest_iterations.max(1000)),
            salt: Some(base64_encode(&digest_salt)),
            digest: Some(base64_encode(&digest)),
            ..Digest::default()
        },
    );
    let mut keyslots = BTreeMap::new();
    keyslots.insert("0".to_owned(), built.keyslot);
    let meta = Metadata {
        keyslots,
        segments,
        digests,
        config: Config {
            json_size: DEFAULT_HDR_SIZE - 4096,
            keyslots_size: DEFAULT_KEYSLOTS_SIZE,
            ..Config::default()
        },
        ..Metadata::default()
    };
    let json = serde_json::to_string(&meta).map_err(|source| FormatError::Serialize { source })?;
    let uuid = random_uuid()?;
    let werr = |offset| move |source| FormatError::Write { offset, source };

    // 1. Make any old header unfindable.
    let zeros = vec![0u8; 1 << 20];
    for off in std::iter::once(0).chain(SECONDARY_OFFSETS) {
        if off < DEFAULT_DATA_OFFSET {
            dev.write_all_at(&zeros[..BINARY_HEADER_SIZE], off)
                .map_err(werr(off))?;
        }
    }
    dev.sync().map_err(werr(0))?;
    // 2. The keyslots area: zeros, then keyslot 0.
    let mut off = slot_offset;
    while off < DEFAULT_DATA_OFFSET {
        let n = usize::try_from((DEFAULT_DATA_OFFSET - off).min(zeros.len() as u64))
            .unwrap_or(zeros.len());
        dev.write_all_at(&zeros[..n], off).map_err(werr(off))?;
        off += n as u64;
    }
    dev.write_all_at(&built.material, slot_offset)
        .map_err(werr(slot_offset))?;
    dev.sync().map_err(werr(slot_offset))?;
    // 3. Both header copies.
    for (copy, offset) in [
        (HeaderCopy::Secondary, DEFAULT_HDR_SIZE),
        (HeaderCopy::Primary, 0),
    ] {
        let binary = BinaryHeader {
            version: 2,
            hdr_size: DEFAULT_HDR_SIZE,
            seqid: 1,
            label: opts.label.clone(),
            checksum_alg: "sha256".into(),
            salt: random(64)?.to_vec(),
            uuid: uuid.clone(),
            subsystem: String::new(),
            hdr_offset: offset,
            csum: Vec::new(),
        };
        let raw = emit_copy(&binary, &json, copy).ok_or(FormatError::Serialize {
            source: serde::ser::Error::custom("metadata does not fit the JSON area"),
        })?;
        dev.write_all_at(&raw, offset).map_err(werr(offset))?;
        dev.sync().map_err(werr(offset))?;
    }
    // 4. Read back.
    let set = read_headers(dev);
    let good = |c: &Result<crate::header::HeaderCopyData, HeaderCopyError>| matches!(c, Ok(c) if c.metadata == meta && c.binary.uuid == uuid);
    if !(good(&set.primary) && good(&set.secondary)) {
        let err = |c: Result<_, HeaderCopyError>, copy| {
            Box::new(c.err().unwrap_or(HeaderCopyError::Mismatch { copy }))
        };
        return Err(FormatError::Reopen {
            source: ReadHeaderError::NoValidCopy {
                primary: err(set.primary, HeaderCopy::Primary),
                secondary: err(set.secondary, HeaderCopy::Secondary),
            },
        });
    }
    Ok(vk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_a_file_and_unlocks_it() {
        let dir = std::env::temp_dir().join(format!("keel-crypt-format-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let img = dir.join("img");
        std::fs::File::create(&img)
            .unwrap()
            .set_len(DEFAULT_DATA_OFFSET + 4096)
            .unwrap();
        let mut opts = FormatOptions {
            kdf: NewKdf::MINIMAL,
            label: "keel".into(),
            ..FormatOptions::default()
        };
        let (dev, vk) = format(&img, b"pw", &opts).unwrap();
        assert_eq!(dev.unlock(None, b"pw").unwrap(), vk);
        let dev = Luks2Device::open(&img).unwrap();
        assert_eq!(dev.header().binary.label, "keel");
        assert_eq!(dev.header().binary.seqid, 1);
        assert_eq!(dev.unlock(Some(0), b"pw").unwrap(), vk);
        let uuid = &dev.header().binary.uuid;
        assert_eq!((uuid.len(), &uuid[14..15]), (36, "4"));
        opts.key_size = 48;
        assert!(matches!(
            format(&img, b"pw", &opts),
            Err(FormatError::UnsupportedKeySize { key_size: 48 })
        ));
        std::fs::File::create(&img).unwrap().set_len(4096).unwrap();
        opts.key_size = 32;
        assert!(matches!(
            format(&img, b"pw", &opts),
            Err(FormatError::TooSmall { .. })
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
