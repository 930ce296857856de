//! Keyslot cryptography: KDFs, the keyslot area cipher, the anti-forensic splitter, digests.
//!
//! All functions here are pure (no I/O); [`crate::Luks2Device`] feeds them the area bytes.

use aes::cipher::KeyInit;
use aes::{Aes128, Aes256};
use sha1::Sha1;
use sha2::{Sha224, Sha256, Sha384, Sha512};
use xts_mode::{Xts128, get_tweak_default};
use zeroize::{Zeroize, Zeroizing};

/// Sector size used by the keyslot area cipher.
pub const AREA_SECTOR_SIZE: usize = 512;

/// Hash algorithms usable by pbkdf2, the AF splitter and digests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashAlg {
    /// SHA-1.
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlg {
    /// Looks up a hash by its LUKS2 name (`sha256`, ...).
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha1" => Some(Self::Sha1),
            "sha224" => Some(Self::Sha224),
            "sha256" => Some(Self::Sha256),
            "sha384" => Some(Self::Sha384),
            "sha512" => Some(Self::Sha512),
            _ => None,
        }
    }

    /// The LUKS2 name (`sha256`, ...).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha224 => "sha224",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Digest length in bytes.
    #[must_use]
    pub const fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha224 => 28,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// PBKDF2-HMAC with this hash, filling `out`.
    pub fn pbkdf2(self, password: &[u8], salt: &[u8], rounds: u32, out: &mut [u8]) {
        match self {
            Self::Sha1 => pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, rounds, out),
            Self::Sha224 => pbkdf2::pbkdf2_hmac::<Sha224>(password, salt, rounds, out),
            Self::Sha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, rounds, out),
            Self::Sha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, salt, rounds, out),
            Self::Sha512 => pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, rounds, out),
        }
    }

    /// Hashes the concatenation of `parts` into `out` (truncating to `out.len()`).
    fn hash_into(self, parts: &[&[u8]], out: &mut [u8]) {
        fn run<D: hmac::digest::Digest>(parts: &[&[u8]], out: &mut [u8]) {
            let mut h = D::new();
            for p in parts {
                h.update(p);
            }
            let mut d = h.finalize();
            let n = out.len().min(d.len());
            out[..n].copy_from_slice(&d[..n]);
            d.as_mut_slice().zeroize();
        }
        match self {
            Self::Sha1 => run::<Sha1>(parts, out),
            Self::Sha224 => run::<Sha224>(parts, out),
            Self::Sha256 => run::<Sha256>(parts, out),
            Self::Sha384 => run::<Sha384>(parts, out),
            Self::Sha512 => run::<Sha512>(parts, out),
        }
    }
}

/// The anti-forensic diffusion step: each hash-sized block `j` becomes `H(be32(j) || block)`.
fn diffuse(hash: HashAlg, buf: &mut [u8]) {
    let ds = hash.output_len();
    for (j, block) in buf.chunks_mut(ds).enumerate() {
        let iv = u32::try_from(j).unwrap_or(u32::MAX).to_be_bytes();
        let input = Zeroizing::new(block.to_vec());
        hash.hash_into(&[&iv, &input], block);
    }
}

/// Merges `stripes` anti-forensic stripes of `key_size` bytes into the key.
///
/// Returns `None` when `material` is shorter than `key_size * stripes` or `stripes` is 0.
#[must_use]
pub fn af_merge(
    material: &[u8],
    key_size: usize,
    stripes: usize,
    hash: HashAlg,
) -> Option<Zeroizing<Vec<u8>>> {
    let total = key_size.checked_mul(stripes)?;
    if stripes == 0 || material.len() < total {
        return None;
    }
    let mut d = Zeroizing::new(vec![0u8; key_size]);
    let mut stripes_iter = material[..total].chunks_exact(key_size);
    for _ in 0..stripes - 1 {
        let s = stripes_iter.next()?;
        d.iter_mut().zip(s).for_each(|(a, b)| *a ^= b);
        diffuse(hash, &mut d);
    }
    let last = stripes_iter.next()?;
    d.iter_mut().zip(last).for_each(|(a, b)| *a ^= b);
    Some(d)
}

/// Splits `key` into `stripes` stripes using `random` as the first `stripes - 1` stripes
/// (the inverse of [`af_merge`]). `random` must hold `key.len() * (stripes - 1)` bytes.
#[must_use]
pub fn af_split(
    key: &[u8],
    random: &[u8],
    stripes: usize,
    hash: HashAlg,
) -> Option<Zeroizing<Vec<u8>>> {
    let ks = key.len();
    let total = ks.checked_mul(stripes)?;
    if stripes == 0 || random.len() != total - ks {
        return None;
    }
    let mut out = Zeroizing::new(Vec::with_capacity(total));
    let mut d = Zeroizing::new(vec![0u8; ks]);
    for s in random.chunks_exact(ks) {
        out.extend_from_slice(s);
        d.iter_mut().zip(s).for_each(|(a, b)| *a ^= b);
        diffuse(hash, &mut d);
    }
    d.iter_mut().zip(key).for_each(|(a, b)| *a ^= b);
    out.extend_from_slice(&d);
    Some(out)
}

/// Why the area cipher could not be applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CipherSupport {
    /// aes-xts-plain64 with a 32-byte key (AES-128).
    Xts128,
    /// aes-xts-plain64 with a 64-byte key (AES-256).
    Xts256,
}

impl CipherSupport {
    /// Checks a cipher spec and key size; `None` if unsupported.
    #[must_use]
    pub fn new(cipher: &str, key_size: usize) -> Option<Self> {
        match (cipher, key_size) {
            ("aes-xts-plain64", 32) => Some(Self::Xts128),
            ("aes-xts-plain64", 64) => Some(Self::Xts256),
            _ => None,
        }
    }
}

/// Decrypts (or encrypts) `buf` in place with aes-xts-plain64, 512-byte sectors numbered from 0.
///
/// Returns `false` if the key length does not match `cipher` or `buf` is not whole sectors.
#[must_use]
pub fn xts_apply(cipher: CipherSupport, key: &[u8], buf: &mut [u8], encrypt: bool) -> bool {
    if buf.len() % AREA_SECTOR_SIZE != 0 {
        return false;
    }
    let half = key.len() / 2;
    match cipher {
        CipherSupport::Xts128 if key.len() == 32 => {
            let (Ok(a), Ok(b)) = (
                Aes128::new_from_slice(&key[..half]),
                Aes128::new_from_slice(&key[half..]),
            ) else {
                return false;
            };
            let x = Xts128::new(a, b);
            if encrypt {
                x.encrypt_area(buf, AREA_SECTOR_SIZE, 0, get_tweak_default);
            } else {
                x.decrypt_area(buf, AREA_SECTOR_SIZE, 0, get_tweak_default);
            }
            true
        }
        CipherSupport::Xts256 if key.len() == 64 => {
            let (Ok(a), Ok(b)) = (
                Aes256::new_from_slice(&key[..half]),
                Aes256::new_from_slice(&key[half..]),
            ) else {
                return false;
            };
            let x = Xts128::new(a, b);
            if encrypt {
                x.encrypt_area(buf, AREA_SECTOR_SIZE, 0, get_tweak_default);
            } else {
                x.decrypt_area(buf, AREA_SECTOR_SIZE, 0, get_tweak_default);
            }
            true
        }
        _ => false,
    }
}

/// Decodes standard base64 (with `=` padding optional, whitespace ignored).
#[must_use]
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    let mut pad = false;
    for c in text.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => {
                pad = true;
                continue;
            }
            b' ' | b'\n' | b'\r' | b'\t' => continue,
            _ => return None,
        };
        if pad {
            return None;
        }
        acc = ((acc << 6) | u32::from(v)) & 0x3fff;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_le_bytes()[0]);
        }
    }
    if bits >= 6 {
        return None;
    }
    Some(out)
}

/// Encodes standard base64 with `=` padding.
#[must_use]
pub fn base64_encode(data: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                let idx = (n >> (18 - 6 * i)) & 63;
                out.push(char::from(ALPHABET[idx as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_decode("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(base64_decode("aGVsbG8").unwrap(), b"hello");
        assert_eq!(base64_decode("").unwrap(), b"");
        assert!(base64_decode("a").is_none());
        assert!(base64_decode("a*b=").is_none());
        for n in 0..40u8 {
            let data: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(base64_decode(&base64_encode(&data)).unwrap(), data);
        }
        assert_eq!(base64_encode(b"hello"), "aGVsbG8=");
    }

    #[test]
    fn pbkdf2_rfc6070_vector() {
        let mut out = [0u8; 20];
        HashAlg::Sha1.pbkdf2(b"password", b"salt", 2, &mut out);
        assert_eq!(out[..4], [0xea, 0x6c, 0x01, 0x4d]);
    }

    #[test]
    fn af_split_merge_round_trip() {
        let key: Vec<u8> = (0..64u8).collect();
        for hash in [HashAlg::Sha1, HashAlg::Sha256, HashAlg::Sha512] {
            let random: Vec<u8> = (0..64 * 9u32)
                .map(|i| u8::try_from(i * 7 % 251).unwrap())
                .collect();
            let split = af_split(&key, &random, 10, hash).unwrap();
            assert_eq!(*af_merge(&split, 64, 10, hash).unwrap(), key);
        }
        assert!(af_merge(&[0; 10], 64, 10, HashAlg::Sha1).is_none());
        assert!(af_merge(&[0; 10], 1, 0, HashAlg::Sha1).is_none());
    }

    #[test]
    fn xts_round_trip_and_refusals() {
        let key = [3u8; 64];
        let mut buf = vec![9u8; 1024];
        let c = CipherSupport::new("aes-xts-plain64", 64).unwrap();
        assert!(xts_apply(c, &key, &mut buf, true));
        assert_ne!(buf, vec![9u8; 1024]);
        assert!(xts_apply(c, &key, &mut buf, false));
        assert_eq!(buf, vec![9u8; 1024]);
        assert!(CipherSupport::new("aes-cbc-essiv:sha256", 32).is_none());
        assert!(CipherSupport::new("aes-xts-plain64", 48).is_none());
        assert!(!xts_apply(c, &key[..32], &mut buf, false));
        assert!(!xts_apply(c, &key, &mut buf[..100], false));
    }
}
