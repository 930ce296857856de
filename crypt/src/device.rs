//! Reading a LUKS2 device or image file and unlocking its keyslots.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::error::{
    HeaderCopyError, ReadHeaderError, TokenUnlockVolumeError, UnlockError, WriteHeaderError,
};
use crate::header::{
    BINARY_HEADER_SIZE, HeaderCopy, HeaderCopyData, SECONDARY_OFFSETS, emit_copy, parse_copy,
    peek_hdr_size,
};
use crate::keyslot::{
    AREA_SECTOR_SIZE, CipherSupport, HashAlg, af_merge, base64_decode, xts_apply,
};
use crate::metadata::{Keyslot, Metadata};
use crate::token::{TokenUnlockError, TokenUnlocker, TypedToken};

/// A volume key, wiped from memory on drop.
#[derive(Clone, PartialEq, Eq)]
pub struct VolumeKey(Zeroizing<Vec<u8>>);

impl VolumeKey {
    /// Wraps raw key bytes.
    #[must_use]
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        Self(Zeroizing::new(bytes))
    }

    /// The key bytes.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for VolumeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "VolumeKey({} bytes)", self.0.len())
    }
}

/// Result of reading both header copies.
#[derive(Debug)]
#[non_exhaustive]
pub struct HeaderSet {
    /// The primary copy, or why it was rejected.
    pub primary: Result<HeaderCopyData, HeaderCopyError>,
    /// The secondary copy, or why it was rejected.
    pub secondary: Result<HeaderCopyData, HeaderCopyError>,
}

impl HeaderSet {
    /// The valid copy with the highest seqid (the primary on a tie).
    #[must_use]
    pub fn best(&self) -> Option<(HeaderCopy, &HeaderCopyData)> {
        match (&self.primary, &self.secondary) {
            (Ok(p), Ok(s)) if s.binary.seqid > p.binary.seqid => Some((HeaderCopy::Secondary, s)),
            (Ok(p), _) => Some((HeaderCopy::Primary, p)),
            (Err(_), Ok(s)) => Some((HeaderCopy::Secondary, s)),
            (Err(_), Err(_)) => None,
        }
    }
}

/// Random-access byte source; implemented for [`File`] and byte slices.
pub trait ReadAt {
    /// Reads as many bytes as available at `offset` into `buf`, returning the count
    /// (short only at end of data).
    ///
    /// # Errors
    /// I/O errors from the underlying source.
    fn read_at_most(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize>;
}

impl ReadAt for File {
    fn read_at_most(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let mut done = 0;
        while done < buf.len() {
            let Some(off) = offset.checked_add(done as u64) else {
                break;
            };
            match self.read_at(&mut buf[done..], off) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(done)
    }
}

impl ReadAt for [u8] {
    fn read_at_most(&self, buf: &mut [u8], offset: u64) -> std::io::Result<usize> {
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(self.len());
        let n = buf.len().min(self.len() - start);
        buf[..n].copy_from_slice(&self[start..start + n]);
        Ok(n)
    }
}

fn read_copy<R: ReadAt + ?Sized>(
    src: &R,
    copy: HeaderCopy,
    offset: u64,
) -> Result<HeaderCopyData, HeaderCopyError> {
    let io = |source| HeaderCopyError::Io {
        copy,
        offset,
        source,
    };
    let mut bin = vec![0u8; BINARY_HEADER_SIZE];
    let n = src.read_at_most(&mut bin, offset).map_err(io)?;
    bin.truncate(n);
    let size = peek_hdr_size(&bin, copy, offset)?;
    let len = usize::try_from(size).map_err(|_| HeaderCopyError::BadHeaderSize { copy, size })?;
    let mut raw = vec![0u8; len];
    let n = src.read_at_most(&mut raw, offset).map_err(io)?;
    raw.truncate(n);
    parse_copy(&raw, copy, offset)
}

/// Reads and verifies both header copies from `src`.
///
/// The secondary copy is looked for at the primary's `hdr_size`; when the primary is unusable
/// every allowed offset is probed, as cryptsetup does.
pub fn read_headers<R: ReadAt + ?Sized>(src: &R) -> HeaderSet {
    let primary = read_copy(src, HeaderCopy::Primary, 0);
    let secondary = match &primary {
        Ok(p) => read_copy(src, HeaderCopy::Secondary, p.binary.hdr_size),
        Err(_) => {
            let mut first_err = None;
            let mut found = None;
            for off in SECONDARY_OFFSETS {
                match read_copy(src, HeaderCopy::Secondary, off) {
                    Ok(c) => {
                        found = Some(c);
                        break;
                    }
                    Err(e) => {
                        if first_err.is_none()
                            || !matches!(
                                e,
                                HeaderCopyError::BadMagic { .. }
                                    | HeaderCopyError::Truncated { .. }
                            )
                        {
                            first_err = Some(e);
                        }
                    }
                }
            }
            match (found, first_err) {
                (Some(c), _) => Ok(c),
                (None, Some(e)) => Err(e),
                (None, None) => Err(HeaderCopyError::BadMagic {
                    copy: HeaderCopy::Secondary,
                    offset: SECONDARY_OFFSETS[0],
                }),
            }
        }
    };
    HeaderSet { primary, secondary }
}

/// An opened LUKS2 device or image file with a verified header.
#[derive(Debug)]
pub struct Luks2Device {
    file: File,
    path: PathBuf,
    headers: HeaderSet,
    active: HeaderCopy,
    current: HeaderCopyData,
    writable: bool,
}

impl Luks2Device {
    /// Opens `path` read-only and reads both header copies.
    ///
    /// # Errors
    /// [`ReadHeaderError::Open`] if the file cannot be opened, [`ReadHeaderError::NoValidCopy`]
    /// if neither copy verifies.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, ReadHeaderError> {
        Self::open_with(path.as_ref(), false)
    }

    /// Opens `path` read-write (for [`Luks2Device::write_metadata`]) and reads both copies.
    ///
    /// # Errors
    /// As [`Luks2Device::open`].
    pub fn open_rw(path: impl AsRef<Path>) -> Result<Self, ReadHeaderError> {
        Self::open_with(path.as_ref(), true)
    }

    fn open_with(path: &Path, writable: bool) -> Result<Self, ReadHeaderError> {
        let path = path.to_path_buf();
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(writable)
            .open(&path)
            .map_err(|source| ReadHeaderError::Open {
                path: path.clone(),
                source,
            })?;
        let headers = read_headers(&file);
        let (active, current) = match headers.best() {
            Some((c, data)) => (c, data.clone()),
            None => {
                let HeaderSet { primary, secondary } = headers;
                return Err(ReadHeaderError::NoValidCopy {
                    primary: Box::new(primary.err().unwrap_or(HeaderCopyError::ChecksumMismatch {
                        copy: HeaderCopy::Primary,
                    })),
                    secondary: Box::new(secondary.err().unwrap_or(
                        HeaderCopyError::ChecksumMismatch {
                            copy: HeaderCopy::Secondary,
                        },
                    )),
                });
            }
        };
        Ok(Self {
            file,
            path,
            headers,
            active,
            current,
            writable,
        })
    }

    /// The path it was opened from.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Both copies as read.
    #[must_use]
    pub fn headers(&self) -> &HeaderSet {
        &self.headers
    }

    /// Whether it was opened with [`Luks2Device::open_rw`].
    #[must_use]
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The file and the header set, for the generic writers.
    pub(crate) fn io_parts(&mut self) -> (&File, &mut HeaderSet) {
        (&self.file, &mut self.headers)
    }

    /// Re-selects the copy in use after `headers` changed.
    pub(crate) fn refresh(&mut self) {
        if let Some((c, data)) = self.headers.best() {
            self.active = c;
            self.current = data.clone();
        }
    }

    /// Unlocks the volume through its tokens: every token (in id order) whose type one of
    /// `unlockers` handles is parsed, the unlocker produces the passphrase, and the token's
    /// keyslot is tried with it. Returns the token id and the volume key.
    ///
    /// # Errors
    /// [`TokenUnlockVolumeError::NoToken`] when no unlocker handled any token, otherwise the
    /// first failure (a malformed token, an unlocker error, a wrong passphrase).
    pub fn unlock_with_tokens(
        &self,
        unlockers: &mut [&mut dyn TokenUnlocker],
    ) -> Result<(u32, VolumeKey), TokenUnlockVolumeError> {
        let mut ids: Vec<(u32, &crate::metadata::Token)> = self
            .metadata()
            .tokens
            .iter()
            .filter_map(|(id, t)| Some((id.parse().ok()?, t)))
            .collect();
        ids.sort_by_key(|(id, _)| *id);
        let mut first_err = None;
        for (id, raw) in ids {
            for u in unlockers.iter_mut() {
                if !u.handles(&raw.kind) {
                    continue;
                }
                let typed = match TypedToken::from_token(raw) {
                    Ok(t) => t,
                    Err(source) => {
                        first_err.get_or_insert(TokenUnlockVolumeError::Parse {
                            token: id.to_string(),
                            source,
                        });
                        continue;
                    }
                };
                let Some(slot) = typed.keyslot() else {
                    continue;
                };
                let failed = |source: Box<dyn std::error::Error + Send + Sync>| {
                    TokenUnlockVolumeError::Failed {
                        token: id,
                        slot,
                        source,
                    }
                };
                match u.passphrase(id, &typed) {
                    Ok(pass) => match self.unlock(Some(slot), &pass) {
                        Ok(vk) => return Ok((id, vk)),
                        Err(e) => {
                            first_err.get_or_insert(failed(Box::new(e)));
                        }
                    },
                    Err(TokenUnlockError::NotApplicable { .. }) => {}
                    Err(e) => {
                        first_err.get_or_insert(failed(Box::new(e)));
                    }
                }
            }
        }
        Err(first_err.unwrap_or(TokenUnlockVolumeError::NoToken))
    }

    /// Which copy is in use.
    #[must_use]
    pub fn active_copy(&self) -> HeaderCopy {
        self.active
    }

    /// The header copy in use.
    #[must_use]
    pub fn header(&self) -> &HeaderCopyData {
        &self.current
    }

    /// The metadata of the copy in use.
    #[must_use]
    pub fn metadata(&self) -> &Metadata {
        &self.header().metadata
    }

    /// Unlocks keyslot `slot`, or when `None` tries the `luks2` keyslots in cryptsetup's order
    /// (priority `prefer` first, `ignore` skipped, then ascending id).
    ///
    /// # Errors
    /// [`UnlockError::WrongPassphrase`] when no tried keyslot accepts the passphrase; the
    /// other variants when a requested keyslot cannot be processed.
    pub fn unlock(&self, slot: Option<u32>, passphrase: &[u8]) -> Result<VolumeKey, UnlockError> {
        unlock_metadata(&self.file, self.metadata(), slot, passphrase)
    }

    /// Replaces the JSON metadata in both header copies with `meta`, seqid + 1.
    ///
    /// An invalid copy is rewritten first, otherwise the primary: at every moment one copy
    /// verifies (the untouched one until the first write is synced). Each copy is written,
    /// `fsync`ed and read back before the next. The binary fields (label, uuid, salts) are kept.
    /// Only metadata-only changes (tokens, flags) are safe this way; keyslot areas are untouched.
    ///
    /// # Errors
    /// [`WriteHeaderError`] for read-only opens, dangling references, a JSON text that does
    /// not fit, I/O failures or a copy that does not read back identically.
    pub fn write_metadata(&mut self, meta: &Metadata) -> Result<(), WriteHeaderError> {
        if !self.writable {
            return Err(WriteHeaderError::ReadOnly {
                path: self.path.clone(),
            });
        }
        let res = write_metadata_to(&self.file, &mut self.headers, meta);
        self.refresh();
        res
    }
}

/// Positional writes plus a durability barrier; implemented for [`File`]. A test seam for
/// fault injection (a writer that fails after N bytes).
pub trait WriteAt {
    /// Writes all of `buf` at `offset`.
    ///
    /// # Errors
    /// I/O errors; a failed call may have written a prefix of `buf`.
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()>;

    /// Makes completed writes durable (`fdatasync` for files).
    ///
    /// # Errors
    /// I/O errors.
    fn sync(&self) -> std::io::Result<()>;
}

impl WriteAt for File {
    fn write_all_at(&self, buf: &[u8], offset: u64) -> std::io::Result<()> {
        FileExt::write_all_at(self, buf, offset)
    }

    fn sync(&self) -> std::io::Result<()> {
        self.sync_data()
    }
}

/// Writes `meta` into both header copies of `dev` (see [`Luks2Device::write_metadata`] for
/// the ordering guarantees) and updates `headers` to what was read back.
///
/// # Errors
/// As [`Luks2Device::write_metadata`], plus [`WriteHeaderError::NoValidHeader`] when
/// `headers` holds no valid copy to start from.
pub fn write_metadata_to<D: ReadAt + WriteAt + ?Sized>(
    dev: &D,
    headers: &mut HeaderSet,
    meta: &Metadata,
) -> Result<(), WriteHeaderError> {
    let current = headers
        .best()
        .map(|(_, c)| c.clone())
        .ok_or(WriteHeaderError::NoValidHeader)?;
    for m in [&current.metadata, meta] {
        let requirements = m.mandatory_requirements();
        if !requirements.is_empty() {
            return Err(WriteHeaderError::UnmetRequirements { requirements });
        }
    }
    check_references(meta)?;
    let json =
        serde_json::to_string(meta).map_err(|source| WriteHeaderError::Serialize { source })?;
    let hdr_size = current.binary.hdr_size;
    let max = usize::try_from(hdr_size)
        .unwrap_or(0)
        .saturating_sub(BINARY_HEADER_SIZE + 1);
    if json.len() > max {
        return Err(WriteHeaderError::TooLarge {
            len: json.len(),
            max,
        });
    }
    let seqid = [&headers.primary, &headers.secondary]
        .into_iter()
        .filter_map(|c| c.as_ref().ok().map(|c| c.binary.seqid))
        .max()
        .unwrap_or(0)
        .wrapping_add(1);
    let order = if headers.secondary.is_err() && headers.primary.is_ok() {
        [HeaderCopy::Secondary, HeaderCopy::Primary]
    } else {
        [HeaderCopy::Primary, HeaderCopy::Secondary]
    };
    for copy in order {
        let (offset, old) = match copy {
            HeaderCopy::Primary => (0, &headers.primary),
            HeaderCopy::Secondary => (hdr_size, &headers.secondary),
        };
        let mut binary = match old {
            Ok(c) if c.binary.hdr_size == hdr_size => c.binary.clone(),
            _ => current.binary.clone(),
        };
        binary.seqid = seqid;
        binary.hdr_offset = offset;
        let raw = emit_copy(&binary, &json, copy).ok_or(WriteHeaderError::TooLarge {
            len: json.len(),
            max,
        })?;
        let werr = |source| WriteHeaderError::Write {
            copy,
            offset,
            source,
        };
        dev.write_all_at(&raw, offset).map_err(werr)?;
        dev.sync().map_err(werr)?;
        let back = read_copy(dev, copy, offset).map_err(|e| WriteHeaderError::Verify {
            copy,
            source: Box::new(e),
        })?;
        if back.metadata != *meta || back.binary.seqid != seqid {
            return Err(WriteHeaderError::Mismatch { copy });
        }
        match copy {
            HeaderCopy::Primary => headers.primary = Ok(back),
            HeaderCopy::Secondary => headers.secondary = Ok(back),
        }
    }
    Ok(())
}

/// Checks that tokens and digests only name existing keyslots.
fn check_references(meta: &Metadata) -> Result<(), WriteHeaderError> {
    let tokens = meta.tokens.iter().map(|(id, t)| ("token", id, &t.keyslots));
    let digests = meta
        .digests
        .iter()
        .map(|(id, d)| ("digest", id, &d.keyslots));
    for (what, id, slots) in tokens.chain(digests) {
        if let Some(k) = slots.iter().find(|k| !meta.keyslots.contains_key(*k)) {
            return Err(WriteHeaderError::DanglingKeyslot {
                what,
                id: id.clone(),
                keyslot: k.clone(),
            });
        }
    }
    Ok(())
}

/// Unlocks a keyslot described by `meta`, reading its area from `src`.
///
/// # Errors
/// See [`Luks2Device::unlock`].
pub fn unlock_metadata<R: ReadAt + ?Sized>(
    src: &R,
    meta: &Metadata,
    slot: Option<u32>,
    passphrase: &[u8],
) -> Result<VolumeKey, UnlockError> {
    if let Some(n) = slot {
        let id = n.to_string();
        let ks = meta
            .keyslots
            .get(&id)
            .ok_or(UnlockError::NoSuchKeyslot { slot: n })?;
        return unlock_keyslot(src, meta, &id, ks, passphrase)?.ok_or(UnlockError::WrongPassphrase);
    }
    // cryptsetup's order: priority "prefer" (2) first, then "normal"; "ignore" (0) slots are
    // only used when asked for by number. Within a priority, ascending id.
    let mut ids: Vec<(bool, u64, &String)> = meta
        .keyslots
        .iter()
        .filter(|(_, ks)| {
            ks.kind == "luks2"
                && ks.extra.get("priority").and_then(serde_json::Value::as_u64) != Some(0)
        })
        .map(|(k, ks)| {
            let preferred = ks.extra.get("priority").and_then(serde_json::Value::as_u64) == Some(2);
            (!preferred, k.parse().unwrap_or(u64::MAX), k)
        })
        .collect();
    ids.sort();
    let mut first_err = None;
    let mut tried = false;
    for (_, _, id) in ids {
        let ks = &meta.keyslots[id];
        match unlock_keyslot(src, meta, id, ks, passphrase) {
            Ok(Some(k)) => return Ok(k),
            Ok(None) => tried = true,
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    // A wrong passphrase is the answer once any slot could be checked; otherwise say why none
    // could.
    match first_err {
        Some(e) if !tried => Err(e),
        _ => Err(UnlockError::WrongPassphrase),
    }
}

/// Tries one keyslot: `Ok(None)` means the passphrase is wrong for it.
fn unlock_keyslot<R: ReadAt + ?Sized>(
    src: &R,
    meta: &Metadata,
    id: &str,
    ks: &Keyslot,
    passphrase: &[u8],
) -> Result<Option<VolumeKey>, UnlockError> {
    let invalid = |field| UnlockError::InvalidField {
        object: "keyslot",
        id: id.to_owned(),
        field,
    };
    if ks.kind != "luks2" {
        return Err(UnlockError::UnsupportedKeyslotType {
            slot: id.to_owned(),
            kind: ks.kind.clone(),
        });
    }
    let area = ks.area.as_ref().ok_or_else(|| invalid("area"))?;
    let af = ks.af.as_ref().ok_or_else(|| invalid("af"))?;
    let kdf = ks.kdf.as_ref().ok_or_else(|| invalid("kdf"))?;
    let cipher_name = area
        .encryption
        .as_deref()
        .ok_or_else(|| invalid("area.encryption"))?;
    let area_key_size = area.key_size.ok_or_else(|| invalid("area.key_size"))?;
    let unsupported_cipher = || UnlockError::UnsupportedCipher {
        slot: id.to_owned(),
        cipher: cipher_name.to_owned(),
        key_size: area_key_size,
    };
    let area_key_len = usize::try_from(area_key_size).map_err(|_| unsupported_cipher())?;
    let cipher = CipherSupport::new(cipher_name, area_key_len).ok_or_else(unsupported_cipher)?;
    if af.kind != "luks1" {
        return Err(invalid("af.type"));
    }
    let af_hash = HashAlg::from_name(&af.hash).ok_or_else(|| UnlockError::UnsupportedHash {
        object: "keyslot",
        id: id.to_owned(),
        hash: af.hash.clone(),
    })?;
    let key_size = usize::try_from(ks.key_size)
        .ok()
        .filter(|&k| k > 0 && k <= 512)
        .ok_or_else(|| invalid("key_size"))?;
    let stripes = usize::try_from(af.stripes)
        .ok()
        .filter(|&s| s > 0)
        .ok_or_else(|| invalid("af.stripes"))?;
    let material_len = key_size
        .checked_mul(stripes)
        .ok_or_else(|| invalid("af.stripes"))?;
    let read_len = material_len.div_ceil(AREA_SECTOR_SIZE) * AREA_SECTOR_SIZE;
    if (read_len as u64) > area.size || area.offset.checked_add(area.size).is_none() {
        return Err(invalid("area.size"));
    }
    let digests: Vec<_> = meta.digests_for_keyslot(id).collect();
    if digests.is_empty() {
        return Err(UnlockError::NoDigest {
            slot: id.to_owned(),
        });
    }

    let area_key = derive_area_key(kdf, id, passphrase, area_key_len)?;

    let mut material = Zeroizing::new(vec![0u8; read_len]);
    let n = src
        .read_at_most(&mut material, area.offset)
        .map_err(|source| UnlockError::Io {
            slot: id.to_owned(),
            offset: area.offset,
            source,
        })?;
    if n < read_len {
        return Err(UnlockError::Io {
            slot: id.to_owned(),
            offset: area.offset,
            source: std::io::Error::from(std::io::ErrorKind::UnexpectedEof),
        });
    }
    if !xts_apply(cipher, &area_key, &mut material, false) {
        return Err(unsupported_cipher());
    }
    let key = af_merge(&material, key_size, stripes, af_hash).ok_or_else(|| invalid("af"))?;
    for (did, d) in digests {
        if verify_digest(did, d, &key)? {
            return Ok(Some(VolumeKey(key)));
        }
    }
    Ok(None)
}

/// Checks `key` against a `pbkdf2` digest object.
pub(crate) fn verify_digest(
    id: &str,
    d: &crate::metadata::Digest,
    key: &[u8],
) -> Result<bool, UnlockError> {
    let invalid = |field| UnlockError::InvalidField {
        object: "digest",
        id: id.to_owned(),
        field,
    };
    if d.kind != "pbkdf2" {
        return Err(invalid("type"));
    }
    let name = d.hash.as_deref().ok_or_else(|| invalid("hash"))?;
    let hash = HashAlg::from_name(name).ok_or_else(|| UnlockError::UnsupportedHash {
        object: "digest",
        id: id.to_owned(),
        hash: name.to_owned(),
    })?;
    let iters = d
        .iterations
        .filter(|&i| i > 0)
        .ok_or_else(|| invalid("iterations"))?;
    let salt = d
        .salt
        .as_deref()
        .and_then(base64_decode)
        .ok_or_else(|| invalid("salt"))?;
    let expected = d
        .digest
        .as_deref()
        .and_then(base64_decode)
        .filter(|v| !v.is_empty() && v.len() <= 64)
        .ok_or_else(|| invalid("digest"))?;
    let mut got = Zeroizing::new(vec![0u8; expected.len()]);
    hash.pbkdf2(key, &salt, iters, &mut got);
    // Constant-time comparison.
    let diff = got
        .iter()
        .zip(&expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    Ok(diff == 0)
}

/// Runs the keyslot's KDF over `passphrase`, producing a `len`-byte area key.
pub(crate) fn derive_area_key(
    kdf: &crate::metadata::Kdf,
    id: &str,
    passphrase: &[u8],
    len: usize,
) -> Result<Zeroizing<Vec<u8>>, UnlockError> {
    let invalid = |field| UnlockError::InvalidField {
        object: "keyslot",
        id: id.to_owned(),
        field,
    };
    let salt = kdf
        .salt
        .as_deref()
        .and_then(base64_decode)
        .ok_or_else(|| invalid("kdf.salt"))?;
    let mut area_key = Zeroizing::new(vec![0u8; len]);
    match kdf.kind.as_str() {
        "pbkdf2" => {
            let name = kdf.hash.as_deref().ok_or_else(|| invalid("kdf.hash"))?;
            let hash = HashAlg::from_name(name).ok_or_else(|| UnlockError::UnsupportedHash {
                object: "keyslot",
                id: id.to_owned(),
                hash: name.to_owned(),
            })?;
            let iters = kdf
                .iterations
                .filter(|&i| i > 0)
                .ok_or_else(|| invalid("kdf.iterations"))?;
            hash.pbkdf2(passphrase, &salt, iters, &mut area_key);
        }
        "argon2i" | "argon2id" => {
            let variant = if kdf.kind == "argon2i" {
                crate::argon::Variant::Argon2i
            } else {
                crate::argon::Variant::Argon2id
            };
            let time = kdf.time.ok_or_else(|| invalid("kdf.time"))?;
            let memory = kdf.memory.ok_or_else(|| invalid("kdf.memory"))?;
            let cpus = kdf.cpus.ok_or_else(|| invalid("kdf.cpus"))?;
            let argon_err = |source| UnlockError::Argon2 {
                slot: id.to_owned(),
                time,
                memory,
                cpus,
                source,
            };
            crate::argon::hash(
                variant,
                time,
                memory,
                cpus,
                passphrase,
                &salt,
                &mut area_key,
            )
            .map_err(argon_err)?;
        }
        other => {
            return Err(UnlockError::UnsupportedKdf {
                slot: id.to_owned(),
                kind: other.to_owned(),
            });
        }
    }
    Ok(area_key)
}
