//! Adding and removing passphrase keyslots, and the KDF policy for new ones.

use zeroize::Zeroizing;

use crate::device::{
    HeaderSet, Luks2Device, ReadAt, VolumeKey, WriteAt, derive_area_key, verify_digest,
    write_metadata_to,
};
use crate::error::UnlockError;
use crate::error::{AddKeyslotError, RemoveKeyslotError, WriteHeaderError};
use crate::keyslot::{
    AREA_SECTOR_SIZE, CipherSupport, HashAlg, af_split, base64_encode, xts_apply,
};
use crate::metadata::{Af, Area, Kdf, Keyslot, Token};
use crate::token::TypedToken;

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

/// How a new password keyslot's argon2id cost is chosen: cryptsetup's LUKS2 defaults
/// (`--iter-time 2000`, `--pbkdf-memory` at most 1 GiB and at most half the physical RAM,
/// `--pbkdf-parallel` at most 4 and at most the CPUs online, at least 4 iterations), found by
/// timing one argon2id pass on this machine like cryptsetup's benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordKdfPolicy {
    /// Wanted unlock time.
    pub target: std::time::Duration,
    /// Memory ceiling in KiB.
    pub max_memory_kib: u32,
    /// Lane ceiling.
    pub max_parallel: u32,
    /// Iteration floor.
    pub min_time: u32,
}

impl Default for PasswordKdfPolicy {
    fn default() -> Self {
        Self {
            target: std::time::Duration::from_millis(2000),
            max_memory_kib: 1_048_576,
            max_parallel: 4,
            min_time: 4,
        }
    }
}

/// Smallest memory cost the benchmark goes down to (cryptsetup's floor is lower, but less
/// than this makes no sense for a password).
const MIN_BENCH_MEMORY_KIB: u32 = 32 * 1024;

/// Physical memory in KiB from `/proc/meminfo` (`None` when unreadable).
fn physical_memory_kib() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

impl PasswordKdfPolicy {
    /// Memory and lanes after applying the RAM and CPU ceilings.
    #[must_use]
    pub fn limits(&self) -> (u32, u32) {
        let half_ram = physical_memory_kib().map_or(u64::from(self.max_memory_kib), |k| k / 2);
        let memory = u64::from(self.max_memory_kib)
            .min(half_ram)
            .max(u64::from(MIN_BENCH_MEMORY_KIB));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let lanes = u32::try_from(cpus)
            .unwrap_or(u32::MAX)
            .min(self.max_parallel)
            .max(1);
        (u32::try_from(memory).unwrap_or(u32::MAX), lanes)
    }

    /// Times one argon2id pass at the ceiling memory and derives the cost: iterations fill
    /// the target time; when even `min_time` passes take too long, memory shrinks instead.
    ///
    /// # Errors
    /// [`UnlockError::Argon2`] if the argon2 library rejects the parameters.
    pub fn benchmark(&self) -> Result<NewKdf, UnlockError> {
        let (memory, lanes) = self.limits();
        let salt = [0u8; 32];
        let mut out = Zeroizing::new([0u8; 64]);
        let argon_err = |source| UnlockError::Argon2 {
            slot: "benchmark".into(),
            time: 1,
            memory,
            cpus: lanes,
            source,
        };
        let start = std::time::Instant::now();
        crate::argon::hash(
            crate::argon::Variant::Argon2id,
            1,
            memory,
            lanes,
            b"benchmark",
            &salt,
            out.as_mut_slice(),
        )
        .map_err(argon_err)?;
        let pass = start.elapsed().as_secs_f64().max(1e-4);
        let target = self.target.as_secs_f64();
        let min_time = self.min_time.max(1);
        let passes = target / pass;
        let kdf = if passes >= f64::from(min_time) {
            NewKdf::Argon2id {
                time: f64_to_u32(passes.floor()).max(min_time),
                memory_kib: memory,
                cpus: lanes,
            }
        } else {
            let scaled = f64::from(memory) * passes / f64::from(min_time);
            NewKdf::Argon2id {
                time: min_time,
                memory_kib: f64_to_u32(scaled).max(MIN_BENCH_MEMORY_KIB).min(memory),
                cpus: lanes,
            }
        };
        Ok(kdf)
    }
}

/// Saturating float to `u32` conversion for cost figures.
fn f64_to_u32(v: f64) -> u32 {
    if v.is_nan() || v <= 0.0 {
        0
    } else if v >= f64::from(u32::MAX) {
        u32::MAX
    } else {
        // In range by the checks above.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let n = v as u32;
        n
    }
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

/// A new keyslot built in memory: its metadata object and the encrypted area bytes.
pub(crate) struct BuiltKeyslot {
    pub(crate) keyslot: Keyslot,
    pub(crate) material: Zeroizing<Vec<u8>>,
}

fn random_bytes(len: usize) -> Result<Zeroizing<Vec<u8>>, getrandom::Error> {
    let mut buf = Zeroizing::new(vec![0u8; len]);
    getrandom::fill(&mut buf)?;
    Ok(buf)
}

/// Size of the area a keyslot for a `key_size`-byte volume key needs.
pub(crate) fn area_size_for(key_size: usize) -> u64 {
    ((key_size * AF_STRIPES as usize) as u64).next_multiple_of(AREA_ALIGN)
}

/// Builds keyslot `id` storing `vk` under `new_passphrase` at area `offset`: random salt and
/// stripes, KDF, AF split (sha256, 4000 stripes), aes-xts-plain64 with a 512-bit area key.
pub(crate) fn build_keyslot(
    vk: &VolumeKey,
    new_passphrase: &[u8],
    kdf: NewKdf,
    id: &str,
    offset: u64,
) -> Result<BuiltKeyslot, AddKeyslotError> {
    let key_size = vk.as_bytes().len();
    let stripes = AF_STRIPES as usize;
    let material_len = key_size * stripes;
    let area_size = area_size_for(key_size);
    let random = |len| random_bytes(len).map_err(|source| AddKeyslotError::Random { source });
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
    let area_key = derive_area_key(&kdf_obj, id, new_passphrase, AREA_KEY_SIZE)
        .map_err(|source| AddKeyslotError::Kdf { source })?;
    let stripes_random = random(material_len - key_size)?;
    let mut material = af_split(vk.as_bytes(), &stripes_random, stripes, HashAlg::Sha256)
        .ok_or(AddKeyslotError::NoSpace { need: area_size })?;
    material.resize(material_len.next_multiple_of(AREA_SECTOR_SIZE), 0);
    if !xts_apply(CipherSupport::Xts256, &area_key, &mut material, true) {
        return Err(AddKeyslotError::NoSpace { need: area_size });
    }
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
    let keyslot = Keyslot {
        kind: "luks2".into(),
        key_size: key_size as u64,
        af: Some(af),
        area: Some(area),
        kdf: Some(kdf_obj),
        ..Keyslot::default()
    };
    Ok(BuiltKeyslot { keyslot, material })
}

/// Adds a keyslot for `new_passphrase` storing `vk` to the LUKS2 volume on `dev`, whose
/// current headers are `headers` (updated to what was written); optionally a token made by
/// `make_token(slot)` goes into the same metadata write, so slot and token appear together.
///
/// Order: the area is written and synced first (unused until the metadata names it), then
/// both header copies (see [`crate::write_metadata_to`]). Returns the keyslot id and the
/// token id.
///
/// # Errors
/// [`AddKeyslotError`]: `vk` matches no segment-0 digest, no free slot, token id or area
/// space, randomness, KDF or write failures.
pub fn add_keyslot_to<D: ReadAt + WriteAt + ?Sized>(
    dev: &D,
    headers: &mut HeaderSet,
    vk: &VolumeKey,
    new_passphrase: &[u8],
    kdf: NewKdf,
    make_token: Option<&dyn Fn(u32) -> Token>,
) -> Result<(u32, Option<u32>), AddKeyslotError> {
    let (_, current) = headers.best().ok_or(AddKeyslotError::Metadata {
        source: WriteHeaderError::NoValidHeader,
    })?;
    let hdr_size = current.binary.hdr_size;
    let mut meta = current.metadata.clone();
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
    let area_size = area_size_for(vk.as_bytes().len());
    let start = hdr_size.saturating_mul(2);
    let end = start.saturating_add(meta.config.keyslots_size);
    let mut used: Vec<(u64, u64)> = meta
        .keyslots
        .values()
        .filter_map(|k| k.area.as_ref().map(|a| (a.offset, a.size)))
        .collect();
    let offset = allocate_area(&mut used, start, end, area_size)
        .ok_or(AddKeyslotError::NoSpace { need: area_size })?;
    let built = build_keyslot(vk, new_passphrase, kdf, &id, offset)?;

    let werr = |source| AddKeyslotError::Write { offset, source };
    dev.write_all_at(&built.material, offset).map_err(werr)?;
    dev.sync().map_err(werr)?;

    meta.keyslots.insert(id.clone(), built.keyslot);
    if let Some(d) = meta.digests.get_mut(&digest_id) {
        d.keyslots.push(id);
    }
    let token_id = match make_token {
        Some(make) => Some(
            meta.add_token(make(slot))
                .ok_or(AddKeyslotError::NoFreeToken)?,
        ),
        None => None,
    };
    write_metadata_to(dev, headers, &meta)
        .map_err(|source| AddKeyslotError::Metadata { source })?;
    Ok((slot, token_id))
}

/// Removes keyslots `slots` and tokens `tokens` from the LUKS2 volume on `dev` in one
/// metadata write, then overwrites the slots' areas with zeros and syncs.
///
/// Tokens left naming only removed slots are dropped too, others lose the references;
/// digests lose the references. The metadata goes first so a crash never leaves a keyslot
/// pointing at a wiped area. Refuses to remove every keyslot that unlocks segment 0.
///
/// # Errors
/// [`RemoveKeyslotError`]: a slot or token that does not exist, no unlocking slot left, or
/// a write failure.
pub fn remove_keyslots_from<D: ReadAt + WriteAt + ?Sized>(
    dev: &D,
    headers: &mut HeaderSet,
    slots: &[u32],
    tokens: &[u32],
) -> Result<(), RemoveKeyslotError> {
    let (_, current) = headers.best().ok_or(RemoveKeyslotError::Metadata {
        source: WriteHeaderError::NoValidHeader,
    })?;
    let hdr_end = current.binary.hdr_size.saturating_mul(2);
    let mut meta = current.metadata.clone();
    let mut areas = Vec::new();
    let ids: Vec<String> = slots.iter().map(u32::to_string).collect();
    for (&slot, id) in slots.iter().zip(&ids) {
        let ks = meta
            .keyslots
            .remove(id)
            .ok_or(RemoveKeyslotError::NoSuchKeyslot { slot })?;
        areas.extend(ks.area);
    }
    for &t in tokens {
        meta.remove_token(t)
            .ok_or(RemoveKeyslotError::NoSuchToken { token: t })?;
    }
    let still_unlockable = meta.digests.values().any(|d| {
        d.segments.iter().any(|s| s == "0")
            && d.keyslots
                .iter()
                .any(|k| !ids.contains(k) && meta.keyslots.contains_key(k))
    });
    if !still_unlockable {
        return Err(RemoveKeyslotError::LastKeyslot {
            slot: slots.first().copied().unwrap_or_default(),
        });
    }
    for d in meta.digests.values_mut() {
        d.keyslots.retain(|k| !ids.contains(k));
    }
    meta.tokens
        .retain(|_, t| t.keyslots.is_empty() || t.keyslots.iter().any(|k| !ids.contains(k)));
    for t in meta.tokens.values_mut() {
        t.keyslots.retain(|k| !ids.contains(k));
    }
    write_metadata_to(dev, headers, &meta)
        .map_err(|source| RemoveKeyslotError::Metadata { source })?;
    let area_end = hdr_end.saturating_add(meta.config.keyslots_size);
    let zeros = vec![0u8; 64 * 1024];
    for area in areas {
        // Only wipe inside the keyslots area, whatever the metadata claimed.
        if area.offset < hdr_end || area.offset.saturating_add(area.size) > area_end {
            continue;
        }
        let werr = |source| RemoveKeyslotError::Wipe {
            offset: area.offset,
            source,
        };
        let end = area.offset + area.size;
        let mut off = area.offset;
        while off < end {
            let n = usize::try_from((end - off).min(zeros.len() as u64)).unwrap_or(zeros.len());
            dev.write_all_at(&zeros[..n], off).map_err(werr)?;
            off += n as u64;
        }
        dev.sync().map_err(werr)?;
    }
    Ok(())
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
        self.add_keyslot_inner(vk, new_passphrase, kdf, None)
            .map(|(slot, _)| slot)
    }

    /// Adds a keyslot as [`Luks2Device::add_keyslot_with_volume_key`] and, in the same
    /// metadata write, the token `make_token(slot)` (e.g. a `systemd-recovery` token bound to
    /// the new slot). Returns `(keyslot, token id)`.
    ///
    /// # Errors
    /// As [`Luks2Device::add_keyslot_with_volume_key`]; [`AddKeyslotError::NoFreeToken`]
    /// when all 32 token ids are taken.
    pub fn add_keyslot_with_token(
        &mut self,
        vk: &VolumeKey,
        new_passphrase: &[u8],
        kdf: NewKdf,
        make_token: impl Fn(u32) -> TypedToken,
    ) -> Result<(u32, u32), AddKeyslotError> {
        let make = |slot| make_token(slot).to_token();
        let (slot, token) = self.add_keyslot_inner(vk, new_passphrase, kdf, Some(&make))?;
        Ok((slot, token.unwrap_or_default()))
    }

    fn add_keyslot_inner(
        &mut self,
        vk: &VolumeKey,
        new_passphrase: &[u8],
        kdf: NewKdf,
        make_token: Option<&dyn Fn(u32) -> Token>,
    ) -> Result<(u32, Option<u32>), AddKeyslotError> {
        if !self.is_writable() {
            return Err(AddKeyslotError::ReadOnly {
                path: self.path().to_path_buf(),
            });
        }
        let (file, headers) = self.io_parts();
        let res = add_keyslot_to(file, headers, vk, new_passphrase, kdf, make_token);
        self.refresh();
        res
    }

    /// Removes keyslot `slot` (see [`Luks2Device::remove_keyslots`]).
    ///
    /// # Errors
    /// As [`Luks2Device::remove_keyslots`].
    pub fn remove_keyslot(&mut self, slot: u32) -> Result<(), RemoveKeyslotError> {
        self.remove_keyslots(&[slot], &[])
    }

    /// Removes keyslots `slots` and tokens `tokens` in one metadata write (tokens naming only
    /// removed slots go too), then zeroes the slots' areas; see [`remove_keyslots_from`].
    ///
    /// # Errors
    /// [`RemoveKeyslotError`]: read-only handle, no such slot or token, no unlocking slot
    /// left, or a write failure.
    pub fn remove_keyslots(
        &mut self,
        slots: &[u32],
        tokens: &[u32],
    ) -> Result<(), RemoveKeyslotError> {
        if !self.is_writable() {
            return Err(RemoveKeyslotError::ReadOnly {
                path: self.path().to_path_buf(),
            });
        }
        let (file, headers) = self.io_parts();
        let res = remove_keyslots_from(file, headers, slots, tokens);
        self.refresh();
        res
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
