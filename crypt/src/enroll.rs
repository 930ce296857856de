//! Adding a passphrase keyslot to an existing LUKS2 volume.

use std::os::unix::fs::FileExt;

use zeroize::Zeroizing;

use crate::device::{Luks2Device, VolumeKey, derive_area_key, verify_digest};
use crate::error::{AddKeyslotError, RemoveKeyslotError};
use crate::keyslot::{
    AREA_SECTOR_SIZE, CipherSupport, HashAlg, af_split, base64_encode, xts_apply,
};
use crate::metadata::{Af, Area, Kdf, Keyslot};

/// Stripes of the anti-forensic splitter, as cryptsetup uses.
pub const AF_STRIPES: u32 = 4000;
/// Keyslot area alignment.
const AREA_ALIGN: u64 = 4096;
/// Area key size for aes-xts-plain64 with AES-256.
const AREA_KEY_SIZE: usize = 64;

/// KDF parameters for a new keyslot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum NewKdf {
    /// PBKDF2 with `hash` and `iterations`.
    Pbkdf2 {
        /// Hash.
        hash: HashAlg,
        /// Iterations.
        iterations: u32,
    },
    /// Argon2id.
    Argon2id {
        /// Time cost (iterations).
        time: u32,
        /// Memory cost in KiB.
        memory_kib: u32,
        /// Parallelism.
        cpus: u32,
    },
}

impl NewKdf {
    /// systemd's minimal KDF for high-entropy secrets (recovery keys, token keys):
    /// pbkdf2, sha512, 1000 iterations.
    pub const MINIMAL: Self = Self::Pbkdf2 {
        hash: HashAlg::Sha512,
        iterations: 1000,
    };
}

/// Finds the lowest 4 KiB-aligned free range of `size` bytes in the keyslots area.
fn allocate_area(used: &mut [(u64, u64)], start: u64, end: u64, size: u64) -> Option<u64> {
    used.sort_unstable();
    let mut cur = start;
    for &(off, len) in used.iter() {
        if cur.checked_add(size)? <= off {
            break;
        }
        cur = cur.max(off.checked_add(len)?.checked_next_multiple_of(AREA_ALIGN)?);
    }
    (cur.checked_add(size)? <= end).then_some(cur)
}

impl Luks2Device {
    /// Adds a `luks2` keyslot for `new_passphrase`, unlocking the volume key with `passphrase`.
    ///
    /// The area (aes-xts-plain64, 512-bit key, 4000 sha256 stripes) goes into the lowest free
    /// aligned range of the keyslots area and is written and synced before the metadata names
    /// it, so a crash leaves at worst an unused area. Returns the new keyslot id.
    ///
    /// # Errors
    /// [`AddKeyslotError`]: read-only handle, wrong passphrase, no free slot or area space,
    /// randomness, KDF or I/O failures, or the metadata write.
    pub fn add_keyslot(
        &mut self,
        passphrase: &[u8],
        new_passphrase: &[u8],
        kdf: NewKdf,
    ) -> Result<u32, AddKeyslotError> {
        if !self.is_writable() {
            return Err(AddKeyslotError::ReadOnly {
                path: self.path().to_path_buf(),
            });
        }
        let vk = self
            .unlock(None, passphrase)
            .map_err(|source| AddKeyslotError::Unlock { source })?;
        self.add_keyslot_with_volume_key(&vk, new_passphrase, kdf)
    }

    /// Adds a `luks2` keyslot for `new_passphrase` storing `vk`, which must verify against a
    /// digest of segment 0 (as [`Luks2Device::add_keyslot`], for callers that already hold the
    /// volume key, e.g. right after formatting or a token unlock).
    ///
    /// # Errors
    /// As [`Luks2Device::add_keyslot`]; [`AddKeyslotError::NoDigest`] when `vk` is not this
    /// volume's key.
    pub fn add_keyslot_with_volume_key(
        &mut self,
        vk: &VolumeKey,
        new_passphrase: &[u8],
        kdf: NewKdf,
    ) -> Result<u32, AddKeyslotError> {
        if !self.is_writable() {
            return Err(AddKeyslotError::ReadOnly {
                path: self.path().to_path_buf(),
            });
        }
        let mut meta = self.metadata().clone();
        let digest_id = meta
            .digests
            .iter()
            .find(|(id, d)| {
                d.segments.iter().any(|s| s == "0")
                    && verify_digest(id, d, vk.as_bytes()).unwrap_or(false)
            })
            .map(|(id, _)| id.clone())
            .ok_or(AddKeyslotError::NoDigest)?;
        let slot = (0..32u32)
            .find(|i| !meta.keyslots.contains_key(&i.to_string()))
            .ok_or(AddKeyslotError::NoFreeSlot)?;
        let id = slot.to_string();

        let key_size = vk.as_bytes().len();
        let stripes = AF_STRIPES as usize;
        let material_len = key_size * stripes;
        let area_size = (material_len as u64).next_multiple_of(AREA_ALIGN);
        let start = self.header().binary.hdr_size.saturating_mul(2);
        let end = start.saturating_add(meta.config.keyslots_size);
        let mut used: Vec<(u64, u64)> = meta
            .keyslots
            .values()
            .filter_map(|k| k.area.as_ref().map(|a| (a.offset, a.size)))
            .collect();
        let offset = allocate_area(&mut used, start, end, area_size)
            .ok_or(AddKeyslotError::NoSpace { need: area_size })?;

        let random = |len: usize| -> Result<Zeroizing<Vec<u8>>, AddKeyslotError> {
            let mut buf = Zeroizing::new(vec![0u8; len]);
            getrandom::fill(&mut buf).map_err(|source| AddKeyslotError::Random { source })?;
            Ok(buf)
        };
        let salt = random(32)?;
        let mut kdf_obj = Kdf {
            salt: Some(base64_encode(&salt)),
            ..Kdf::default()
        };
        match kdf {
            NewKdf::Pbkdf2 { hash, iterations } => {
                kdf_obj.kind = "pbkdf2".into();
                kdf_obj.hash = Some(hash.name().into());
                kdf_obj.iterations = Some(iterations);
            }
            NewKdf::Argon2id {
                time,
                memory_kib,
                cpus,
            } => {
                kdf_obj.kind = "argon2id".into();
                kdf_obj.time = Some(time);
                kdf_obj.memory = Some(memory_kib);
                kdf_obj.cpus = Some(cpus);
            }
        }
        let area_key = derive_area_key(&kdf_obj, &id, new_passphrase, AREA_KEY_SIZE)
            .map_err(|source| AddKeyslotError::Kdf { source })?;
        let stripes_random = random(material_len - key_size)?;
        let mut material = af_split(vk.as_bytes(), &stripes_random, stripes, HashAlg::Sha256)
            .ok_or(AddKeyslotError::NoSpace { need: area_size })?;
        material.resize(material_len.next_multiple_of(AREA_SECTOR_SIZE), 0);
        if !xts_apply(CipherSupport::Xts256, &area_key, &mut material, true) {
            return Err(AddKeyslotError::NoSpace { need: area_size });
        }
        let file = self.file();
        let werr = |source| AddKeyslotError::Write { offset, source };
        file.write_all_at(&material, offset).map_err(werr)?;
        file.sync_data().map_err(werr)?;

        let af = Af {
            kind: "luks1".into(),
            stripes: AF_STRIPES,
            hash: "sha256".into(),
            ..Af::default()
        };
        let area = Area {
            kind: "raw".into(),
            offset,
            size: area_size,
            encryption: Some("aes-xts-plain64".into()),
            key_size: Some(AREA_KEY_SIZE as u64),
            ..Area::default()
        };
        let ks = Keyslot {
            kind: "luks2".into(),
            key_size: key_size as u64,
            af: Some(af),
            area: Some(area),
            kdf: Some(kdf_obj),
            ..Keyslot::default()
        };
        meta.keyslots.insert(id.clone(), ks);
        if let Some(d) = meta.digests.get_mut(&digest_id) {
            d.keyslots.push(id);
        }
        self.write_metadata(&meta)
            .map_err(|source| AddKeyslotError::Metadata { source })?;
        Ok(slot)
    }
}

impl Luks2Device {
    /// Removes keyslot `slot`: drops it from the metadata (and from digests; tokens bound only
    /// to it are dropped, others lose the reference), writes both header copies, then
    /// overwrites its area with zeros and syncs.
    ///
    /// The metadata goes first so a crash never leaves a keyslot pointing at a wiped area.
    /// Refuses to remove the last keyslot that unlocks segment 0.
    ///
    /// # Errors
    /// [`RemoveKeyslotError`]: read-only handle, no such slot, last slot, or a write failure.
    pub fn remove_keyslot(&mut self, slot: u32) -> Result<(), RemoveKeyslotError> {
        if !self.is_writable() {
            return Err(RemoveKeyslotError::ReadOnly {
                path: self.path().to_path_buf(),
            });
        }
        let id = slot.to_string();
        let mut meta = self.metadata().clone();
        let ks = meta
            .keyslots
            .remove(&id)
            .ok_or(RemoveKeyslotError::NoSuchKeyslot { slot })?;
        let still_unlockable = meta.digests.values().any(|d| {
            d.segments.iter().any(|s| s == "0")
                && d.keyslots
                    .iter()
                    .any(|k| *k != id && meta.keyslots.contains_key(k))
        });
        if !still_unlockable {
            return Err(RemoveKeyslotError::LastKeyslot { slot });
        }
        for d in meta.digests.values_mut() {
            d.keyslots.retain(|k| *k != id);
        }
        meta.tokens
            .retain(|_, t| !(t.keyslots.len() == 1 && t.keyslots[0] == id));
        for t in meta.tokens.values_mut() {
            t.keyslots.retain(|k| *k != id);
        }
        self.write_metadata(&meta)
            .map_err(|source| RemoveKeyslotError::Metadata { source })?;
        if let Some(area) = ks.area {
            let hdr_end = self.header().binary.hdr_size.saturating_mul(2);
            let area_end = hdr_end.saturating_add(meta.config.keyslots_size);
            // Only wipe inside the keyslots area, whatever the metadata claimed.
            if area.offset >= hdr_end && area.offset.saturating_add(area.size) <= area_end {
                let werr = |source| RemoveKeyslotError::Wipe {
                    offset: area.offset,
                    source,
                };
                let zeros = vec![0u8; 64 * 1024];
                let mut off = area.offset;
                let end = area.offset + area.size;
                while off < end {
                    let n =
                        usize::try_from((end - off).min(zeros.len() as u64)).unwrap_or(zeros.len());
                    self.file().write_all_at(&zeros[..n], off).map_err(werr)?;
                    off += n as u64;
                }
                self.file().sync_data().map_err(werr)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocation_finds_gaps_and_refuses_overflow() {
        let mut used = vec![(0x8000 + 258_048 + 4096, 4096), (0x8000, 258_048)];
        assert_eq!(
            allocate_area(&mut used, 0x8000, 0x100_0000, 4096),
            Some(0x8000 + 258_048)
        );
        assert_eq!(
            allocate_area(&mut used, 0x8000, 0x100_0000, 8192),
            Some(0x8000 + 258_048 + 8192)
        );
        assert_eq!(allocate_area(&mut used, 0x8000, 0x9000, 8192), None);
        let mut huge = vec![(u64::MAX - 10, 20)];
        assert_eq!(allocate_area(&mut huge, 0, u64::MAX, u64::MAX - 5), None);
    }
}
