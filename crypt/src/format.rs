//! Creating a new LUKS2 header (what `cryptsetup luksFormat --type luks2` does).

use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::Path;

use zeroize::Zeroizing;

use crate::device::{Luks2Device, VolumeKey};
use crate::enroll::NewKdf;
use crate::error::FormatError;
use crate::header::{BinaryHeader, HeaderCopy, emit_copy};
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
/// Both header copies are written with seqid 1, the keyslots area is zeroed, everything is
/// synced, and the result is reopened and verified. Destroys the previous content's header.
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
    if opts.key_size != 32 && opts.key_size != 64 {
        return Err(FormatError::UnsupportedKeySize {
            key_size: opts.key_size,
        });
    }
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

    let vk = VolumeKey::from_bytes(random(opts.key_size)?.to_vec());
    let digest_salt = random(32)?;
    let mut digest = [0u8; 32];
    HashAlg::Sha256.pbkdf2(
        vk.as_bytes(),
        &digest_salt,
        opts.digest_iterations.max(1000),
        &mut digest,
    );

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
            keyslots: Vec::new(),
            segments: vec!["0".into()],
            hash: Some("sha256".into()),
            iterations: Some(opts.digest_iterations.max(1000)),
            salt: Some(base64_encode(&digest_salt)),
            digest: Some(base64_encode(&digest)),
            ..Digest::default()
        },
    );
    let meta = Metadata {
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
    let zeros = vec![0u8; 1 << 20];
    let mut off = 2 * DEFAULT_HDR_SIZE;
    while off < DEFAULT_DATA_OFFSET {
        let n = usize::try_from((DEFAULT_DATA_OFFSET - off).min(zeros.len() as u64))
            .unwrap_or(zeros.len());
        file.write_all_at(&zeros[..n], off).map_err(werr(off))?;
        off += n as u64;
    }
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
        file.write_all_at(&raw, offset).map_err(werr(offset))?;
    }
    file.sync_all().map_err(werr(0))?;
    drop(file);

    let mut dev = Luks2Device::open_rw(path).map_err(|source| FormatError::Reopen { source })?;
    dev.add_keyslot_with_volume_key(&vk, passphrase, opts.kdf)
        .map_err(|source| FormatError::Keyslot { source })?;
    Ok((dev, vk))
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
        assert_eq!(dev.header().binary.seqid, 2);
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
