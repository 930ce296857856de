//! Read-only LUKS1: the 592-byte binary header and passphrase unlocking of its eight
//! keyslots (PBKDF2, anti-forensic merge, master-key digest), for volumes made before LUKS2.
//!
//! Only `aes` in `xts-plain64` mode is supported (as for LUKS2 keyslot areas); other ciphers
//! are refused with [`Luks1Error::UnsupportedCipher`]. Nothing is ever written.

use zeroize::Zeroizing;

use crate::device::{ReadAt, VolumeKey};
use crate::keyslot::{AREA_SECTOR_SIZE, CipherSupport, HashAlg, af_merge, xts_apply};

/// LUKS1 magic.
pub const LUKS1_MAGIC: [u8; 6] = *b"LUKS\xba\xbe";
/// Size of the binary header.
pub const LUKS1_HEADER_SIZE: usize = 592;
/// Keyslot state "in use".
const KEY_ENABLED: u32 = 0x00AC_71F3;
/// Number of keyslots.
pub const LUKS1_KEYSLOTS: usize = 8;

/// One LUKS1 keyslot.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Luks1Keyslot {
    /// Whether the slot is in use.
    pub active: bool,
    /// PBKDF2 iterations.
    pub iterations: u32,
    /// PBKDF2 salt.
    pub salt: [u8; 32],
    /// Start of the key material, in 512-byte sectors.
    pub key_material_offset: u32,
    /// Anti-forensic stripes.
    pub stripes: u32,
}

/// A parsed LUKS1 header.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Luks1Header {
    /// Cipher name, e.g. `aes`.
    pub cipher_name: String,
    /// Cipher mode, e.g. `xts-plain64`.
    pub cipher_mode: String,
    /// Hash for PBKDF2 and the AF splitter, e.g. `sha256`.
    pub hash_spec: String,
    /// Start of the data, in 512-byte sectors.
    pub payload_offset: u32,
    /// Volume key size in bytes.
    pub key_bytes: u32,
    /// Master-key digest (PBKDF2 output, 20 bytes).
    pub mk_digest: [u8; 20],
    /// Master-key digest salt.
    pub mk_digest_salt: [u8; 32],
    /// Master-key digest iterations.
    pub mk_digest_iterations: u32,
    /// Volume UUID.
    pub uuid: String,
    /// The eight keyslots.
    pub keyslots: [Luks1Keyslot; LUKS1_KEYSLOTS],
}

/// Why a LUKS1 header could not be read or a keyslot not unlocked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Luks1Error {
    /// Reading failed.
    #[error("cannot read LUKS1 data at offset {offset}")]
    Io {
        /// Byte offset.
        offset: u64,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Fewer than 592 bytes.
    #[error("LUKS1 header truncated: {have} of {LUKS1_HEADER_SIZE} bytes")]
    Truncated {
        /// Bytes available.
        have: usize,
    },
    /// Not the LUKS magic.
    #[error("no LUKS1 magic")]
    BadMagic,
    /// Version other than 1.
    #[error("LUKS version {version} is not 1")]
    UnsupportedVersion {
        /// Version found.
        version: u16,
    },
    /// Cipher other than aes-xts-plain64 with a 32- or 64-byte key.
    #[error("unsupported LUKS1 cipher {cipher}-{mode} with {key_bytes}-byte key")]
    UnsupportedCipher {
        /// Cipher name.
        cipher: String,
        /// Cipher mode.
        mode: String,
        /// Key size.
        key_bytes: u32,
    },
    /// Unknown hash.
    #[error("unsupported LUKS1 hash {hash:?}")]
    UnsupportedHash {
        /// Hash name.
        hash: String,
    },
    /// A keyslot field is out of range.
    #[error("LUKS1 keyslot {slot}: invalid {field}")]
    InvalidKeyslot {
        /// Keyslot index.
        slot: usize,
        /// Field name.
        field: &'static str,
    },
    /// The requested keyslot is not in use.
    #[error("LUKS1 keyslot {slot} is not active")]
    InactiveKeyslot {
        /// Keyslot index.
        slot: usize,
    },
    /// No active keyslot accepts the passphrase.
    #[error("no LUKS1 keyslot accepts the passphrase")]
    WrongPassphrase,
}

fn be_u32(b: &[u8], off: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[off..off + 4]);
    u32::from_be_bytes(a)
}

fn c_str(b: &[u8]) -> String {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    String::from_utf8_lossy(&b[..end]).into_owned()
}

impl Luks1Header {
    /// Parses the binary header at the start of `raw`.
    ///
    /// # Errors
    /// [`Luks1Error`]: truncation, wrong magic or version; never panics.
    pub fn parse(raw: &[u8]) -> Result<Self, Luks1Error> {
        if raw.len() < LUKS1_HEADER_SIZE {
            return Err(Luks1Error::Truncated { have: raw.len() });
        }
        if raw[..6] != LUKS1_MAGIC {
            return Err(Luks1Error::BadMagic);
        }
        let version = u16::from_be_bytes([raw[6], raw[7]]);
        if version != 1 {
            return Err(Luks1Error::UnsupportedVersion { version });
        }
        let mut h = Self {
            cipher_name: c_str(&raw[8..40]),
            cipher_mode: c_str(&raw[40..72]),
            hash_spec: c_str(&raw[72..104]),
            payload_offset: be_u32(raw, 104),
            key_bytes: be_u32(raw, 108),
            mk_digest_iterations: be_u32(raw, 164),
            uuid: c_str(&raw[168..208]),
            ..Self::default()
        };
        h.mk_digest.copy_from_slice(&raw[112..132]);
        h.mk_digest_salt.copy_from_slice(&raw[132..164]);
        for (i, ks) in h.keyslots.iter_mut().enumerate() {
            let o = 208 + i * 48;
            ks.active = be_u32(raw, o) == KEY_ENABLED;
            ks.iterations = be_u32(raw, o + 4);
            ks.salt.copy_from_slice(&raw[o + 8..o + 40]);
            ks.key_material_offset = be_u32(raw, o + 40);
            ks.stripes = be_u32(raw, o + 44);
        }
        Ok(h)
    }

    /// Reads and parses the header of `src`.
    ///
    /// # Errors
    /// As [`Luks1Header::parse`], plus I/O errors.
    pub fn read<R: ReadAt + ?Sized>(src: &R) -> Result<Self, Luks1Error> {
        let mut raw = [0u8; LUKS1_HEADER_SIZE];
        let n = src
            .read_at_most(&mut raw, 0)
            .map_err(|source| Luks1Error::Io { offset: 0, source })?;
        Self::parse(&raw[..n])
    }

    fn cipher(&self) -> Result<CipherSupport, Luks1Error> {
        let unsupported = || Luks1Error::UnsupportedCipher {
            cipher: self.cipher_name.clone(),
            mode: self.cipher_mode.clone(),
            key_bytes: self.key_bytes,
        };
        if self.cipher_name != "aes" {
            return Err(unsupported());
        }
        let key = usize::try_from(self.key_bytes).map_err(|_| unsupported())?;
        CipherSupport::new(&format!("aes-{}", self.cipher_mode), key).ok_or_else(unsupported)
    }

    /// Unlocks keyslot `slot`, or with `None` every active one in order, reading key
    /// material from `src`; returns the volume key.
    ///
    /// # Errors
    /// [`Luks1Error::WrongPassphrase`] when no tried slot accepts `passphrase`; the other
    /// variants for unsupported ciphers or hashes, inactive or malformed slots, I/O.
    pub fn unlock<R: ReadAt + ?Sized>(
        &self,
        src: &R,
        slot: Option<usize>,
        passphrase: &[u8],
    ) -> Result<VolumeKey, Luks1Error> {
        let cipher = self.cipher()?;
        let hash =
            HashAlg::from_name(&self.hash_spec).ok_or_else(|| Luks1Error::UnsupportedHash {
                hash: self.hash_spec.clone(),
            })?;
        let slots: Vec<usize> = match slot {
            Some(s) => {
                let ks = self.keyslots.get(s).ok_or(Luks1Error::InvalidKeyslot {
                    slot: s,
                    field: "index",
                })?;
                if !ks.active {
                    return Err(Luks1Error::InactiveKeyslot { slot: s });
                }
                vec![s]
            }
            None => (0..LUKS1_KEYSLOTS)
                .filter(|&i| self.keyslots[i].active)
                .collect(),
        };
        for s in slots {
            if let Some(vk) = self.try_slot(src, s, cipher, hash, passphrase)? {
                return Ok(vk);
            }
        }
        Err(Luks1Error::WrongPassphrase)
    }

    fn try_slot<R: ReadAt + ?Sized>(
        &self,
        src: &R,
        slot: usize,
        cipher: CipherSupport,
        hash: HashAlg,
        passphrase: &[u8],
    ) -> Result<Option<VolumeKey>, Luks1Error> {
        let ks = &self.keyslots[slot];
        let invalid = |field| Luks1Error::InvalidKeyslot { slot, field };
        let key_len = usize::try_from(self.key_bytes).map_err(|_| invalid("key_bytes"))?;
        let stripes = usize::try_from(ks.stripes)
            .ok()
            .filter(|&s| (1..=4000 * 4).contains(&s))
            .ok_or_else(|| invalid("stripes"))?;
        if ks.iterations == 0 {
            return Err(invalid("iterations"));
        }
        let material_len = key_len * stripes;
        let read_len = material_len.next_multiple_of(AREA_SECTOR_SIZE);
        let offset = u64::from(ks.key_material_offset) * AREA_SECTOR_SIZE as u64;
        let mut material = Zeroizing::new(vec![0u8; read_len]);
        let n = src
            .read_at_most(&mut material, offset)
            .map_err(|source| Luks1Error::Io { offset, source })?;
        if n < read_len {
            return Err(Luks1Error::Io {
                offset,
                source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
            });
        }
        let mut area_key = Zeroizing::new(vec![0u8; key_len]);
        hash.pbkdf2(passphrase, &ks.salt, ks.iterations, &mut area_key);
        if !xts_apply(cipher, &area_key, &mut material, false) {
            return Err(invalid("key material"));
        }
        let key = af_merge(&material, key_len, stripes, hash).ok_or_else(|| invalid("stripes"))?;
        let mut digest = Zeroizing::new([0u8; 20]);
        hash.pbkdf2(
            &key,
            &self.mk_digest_salt,
            self.mk_digest_iterations.max(1),
            digest.as_mut_slice(),
        );
        let diff = digest
            .iter()
            .zip(&self.mk_digest)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        Ok((diff == 0).then(|| VolumeKey::from_bytes(key.to_vec())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut raw = vec![0u8; LUKS1_HEADER_SIZE];
        raw[..6].copy_from_slice(&LUKS1_MAGIC);
        raw[7] = 1;
        raw[8..11].copy_from_slice(b"aes");
        raw[40..51].copy_from_slice(b"xts-plain64");
        raw[72..78].copy_from_slice(b"sha256");
        raw[104..108].copy_from_slice(&4096u32.to_be_bytes());
        raw[108..112].copy_from_slice(&64u32.to_be_bytes());
        raw[208..212].copy_from_slice(&KEY_ENABLED.to_be_bytes());
        raw[212..216].copy_from_slice(&1000u32.to_be_bytes());
        raw[248..252].copy_from_slice(&8u32.to_be_bytes());
        raw[252..256].copy_from_slice(&4000u32.to_be_bytes());
        raw
    }

    #[test]
    fn parses_and_refuses_cleanly() {
        let raw = sample();
        let h = Luks1Header::parse(&raw).unwrap();
        assert_eq!((h.cipher_name.as_str(), h.key_bytes), ("aes", 64));
        assert!(h.keyslots[0].active && !h.keyslots[1].active);
        assert_eq!(h.keyslots[0].stripes, 4000);
        assert!(matches!(
            Luks1Header::parse(&raw[..100]),
            Err(Luks1Error::Truncated { have: 100 })
        ));
        let mut v2 = raw.clone();
        v2[7] = 2;
        assert!(matches!(
            Luks1Header::parse(&v2),
            Err(Luks1Error::UnsupportedVersion { version: 2 })
        ));
        // The key material lies beyond this tiny image: an I/O error, not a panic.
        assert!(matches!(
            h.unlock(raw.as_slice(), None, b"x"),
            Err(Luks1Error::Io { .. })
        ));
        assert!(matches!(
            h.unlock(raw.as_slice(), Some(1), b"x"),
            Err(Luks1Error::InactiveKeyslot { slot: 1 })
        ));
        let mut cbc = raw;
        cbc[40..51].copy_from_slice(b"cbc-essiv:s");
        let h = Luks1Header::parse(&cbc).unwrap();
        assert!(matches!(
            h.unlock(cbc.as_slice(), None, b"x"),
            Err(Luks1Error::UnsupportedCipher { .. })
        ));
    }

    #[test]
    fn mutations_never_panic() {
        let raw = sample();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for i in 0..2000usize {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let mut m = raw.clone();
            m[i % LUKS1_HEADER_SIZE] = state.to_le_bytes()[1];
            m[(i * 7) % LUKS1_HEADER_SIZE] = state.to_le_bytes()[2];
            if let Ok(h) = Luks1Header::parse(&m) {
                let _ = h.unlock(m.as_slice(), Some(i % 9), b"pw");
            }
        }
    }
}
