//! What an image file holds, from its first bytes: a file system superblock (squashfs,
//! erofs, ext2/3/4, btrfs), a GPT partition table, or something keel refuses (LUKS,
//! a dm-verity hash device). Pure: callers read the bytes.
//!
//! GPT partitions are chosen as the Discoverable Partitions Specification says for the
//! native architecture: the root partition, else the `/usr` partition, else exactly one
//! generic Linux data partition. Verity partitions make the image a dm-verity image, which
//! keel refuses (dm-verity is not implemented yet).

use std::fmt;

/// How many bytes of an image (or partition) [`detect_filesystem`] looks at: up to the
/// btrfs superblock magic at 64 KiB + 64.
pub const PROBE_LEN: usize = 0x10048;

/// A file system type keel mounts from an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[non_exhaustive]
pub enum FsType {
    /// squashfs (`hsqs` at offset 0).
    Squashfs,
    /// EROFS (magic `0xE0F5E1E2` at 1024).
    Erofs,
    /// ext2/3/4 (magic `0xEF53` at 1080), mounted as `ext4`.
    Ext4,
    /// btrfs (`_BHRfS_M` at 64 KiB + 64).
    Btrfs,
}

impl FsType {
    /// The kernel's name for the file system type (`mount -t`).
    pub fn kernel_name(self) -> &'static str {
        match self {
            Self::Squashfs => "squashfs",
            Self::Erofs => "erofs",
            Self::Ext4 => "ext4",
            Self::Btrfs => "btrfs",
        }
    }
}

impl fmt::Display for FsType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kernel_name())
    }
}

/// What the first bytes of an image say it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Signature {
    /// A bare file system.
    Filesystem(FsType),
    /// A GPT disk (`EFI PART` at LBA 1), with the sector size that matched.
    Gpt {
        /// 512 or 4096.
        sector_size: u64,
    },
    /// A LUKS header (`LUKS\xba\xbe`).
    Luks,
    /// A dm-verity hash device (`verity\0\0`).
    VerityHash,
}

fn le_u16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn le_u32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn le_u64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

/// The file system whose superblock starts `head` (the first [`PROBE_LEN`] bytes of a
/// file system), if keel knows it.
pub fn detect_filesystem(head: &[u8]) -> Option<FsType> {
    if head.get(0..4) == Some(b"hsqs") {
        return Some(FsType::Squashfs);
    }
    if le_u32(head, 1024) == Some(0xE0F5_E1E2) {
        return Some(FsType::Erofs);
    }
    if le_u16(head, 1024 + 0x38) == Some(0xEF53) {
        return Some(FsType::Ext4);
    }
    if head.get(0x10040..0x10048) == Some(b"_BHRfS_M") {
        return Some(FsType::Btrfs);
    }
    None
}

/// Classifies an image from its first [`PROBE_LEN`] bytes (or fewer, for a small file).
pub fn detect(head: &[u8]) -> Option<Signature> {
    if head.get(0..6) == Some(b"LUKS\xba\xbe") {
        return Some(Signature::Luks);
    }
    if head.get(0..8) == Some(b"verity\0\0") {
        return Some(Signature::VerityHash);
    }
    for sector_size in [512u64, 4096] {
        let at = usize::try_from(sector_size).unwrap_or(512);
        if head.get(at..at + 8) == Some(b"EFI PART") {
            return Some(Signature::Gpt { sector_size });
        }
    }
    detect_filesystem(head).map(Signature::Filesystem)
}

/// A GPT partition type GUID as stored on disk (the first three fields little-endian).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Guid(pub [u8; 16]);

impl Guid {
    /// Parses the textual form `4f68bce3-e8cd-4db1-96e7-fbcaf984b709` into the on-disk
    /// byte order.
    pub fn parse(s: &str) -> Option<Guid> {
        let hex: Vec<u8> = s.bytes().filter(|c| *c != b'-').collect();
        if hex.len() != 32 || s.len() != 36 {
            return None;
        }
        let mut be = [0u8; 16];
        for (i, pair) in hex.chunks(2).enumerate() {
            let t = std::str::from_utf8(pair).ok()?;
            be[i] = u8::from_str_radix(t, 16).ok()?;
        }
        let mut d = be;
        d[0..4].reverse();
        d[4..6].reverse();
        d[6..8].reverse();
        Some(Guid(d))
    }
}

impl fmt::Debug for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Guid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        let mut be = *d;
        be[0..4].reverse();
        be[4..6].reverse();
        be[6..8].reverse();
        for (i, b) in be.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The Discoverable Partitions Specification type GUIDs keel looks for, per architecture
/// (systemd's architecture names): root, `/usr`, root-verity, usr-verity.
const ARCH_GUIDS: &[(&str, [&str; 4])] = &[
    (
        "x86-64",
        [
            "4f68bce3-e8cd-4db1-96e7-fbcaf984b709",
            "8484680c-9521-48c6-9c11-b0720656f69e",
            "2c7357ed-ebd2-46d9-aec1-23d437ec2bf5",
            "77ff5f63-e7b6-4633-acf4-1565b864c0e6",
        ],
    ),
    (
        "arm64",
        [
            "b921b045-1df0-41c3-af44-4c6f280d3fae",
            "b0e01050-ee5f-4390-949a-9101b17104e9",
            "df3300ce-d69f-4c92-978c-9bfb0f38d820",
            "6e11a4e7-fbca-4ded-b9e9-e1a512bb664e",
        ],
    ),
];

/// The generic Linux data partition type.
const LINUX_DATA_GUID: &str = "0fc63daf-8483-4772-8e79-3d69d8477de4";

/// Which partition of a GPT image was picked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum PartitionRole {
    /// The root partition of the architecture.
    Root,
    /// The `/usr` partition of the architecture (systemd 248 refuses usr-only images; keel
    /// accepts them, as later systemd versions do).
    Usr,
    /// The single generic Linux data partition.
    LinuxData,
}

/// The partition of a GPT image to mount.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GptPartition {
    /// Its role.
    pub role: PartitionRole,
    /// Byte offset in the image.
    pub offset: u64,
    /// Size in bytes.
    pub size: u64,
    /// Its type GUID.
    pub type_guid: Guid,
}

/// The GPT header fields keel needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct GptHeader {
    /// Sector size the header was found with.
    pub sector_size: u64,
    /// First LBA of the partition entry array.
    pub entries_lba: u64,
    /// Number of entries.
    pub entry_count: u32,
    /// Size of one entry (128 or more).
    pub entry_size: u32,
    /// CRC32 of the entry array.
    pub entries_crc: u32,
}

impl GptHeader {
    /// Byte offset and length of the entry array.
    pub fn entries_span(&self) -> Option<(u64, usize)> {
        let len = u64::from(self.entry_count).checked_mul(u64::from(self.entry_size))?;
        // More than 1 MiB of entries is not a sane table.
        if len > 1 << 20 {
            return None;
        }
        Some((
            self.entries_lba.checked_mul(self.sector_size)?,
            usize::try_from(len).ok()?,
        ))
    }
}

/// Why a GPT image cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GptError {
    /// The header is cut short, has a bad size or a bad checksum.
    #[error("the GPT header is damaged ({what})")]
    BadHeader {
        /// What is wrong.
        what: &'static str,
    },
    /// The entry array's checksum does not match.
    #[error("the GPT partition entries do not match their checksum")]
    BadEntries,
    /// The image has verity partitions.
    #[error("the image has a {what} partition: dm-verity images are not supported yet")]
    Verity {
        /// `root-verity` or `usr-verity`.
        what: &'static str,
    },
    /// No root, `/usr` or single Linux data partition.
    #[error("no root or /usr partition for {arch} and not exactly one Linux data partition")]
    NoPartition {
        /// The architecture looked for.
        arch: String,
    },
    /// More than one partition of the chosen role.
    #[error("more than one {role:?} partition")]
    Ambiguous {
        /// The role.
        role: PartitionRole,
    },
}

/// CRC-32 (IEEE, reflected), as GPT uses.
pub fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for b in data {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}

/// Parses the GPT header found in `head` (the image's first bytes) at `sector_size`.
///
/// # Errors
///
/// [`GptError::BadHeader`] if it is cut short, has an odd size or a wrong checksum.
pub fn parse_gpt_header(head: &[u8], sector_size: u64) -> Result<GptHeader, GptError> {
    let bad = |what| GptError::BadHeader { what };
    let at = usize::try_from(sector_size).map_err(|_| bad("sector size"))?;
    let h = head.get(at..at + 92).ok_or(bad("truncated"))?;
    if h.get(0..8) != Some(b"EFI PART") {
        return Err(bad("signature"));
    }
    let size = le_u32(h, 12).ok_or(bad("truncated"))?;
    if !(92..=512).contains(&size) {
        return Err(bad("header size"));
    }
    let full = head
        .get(at..at + usize::try_from(size).map_err(|_| bad("header size"))?)
        .ok_or(bad("truncated"))?;
    let mut copy = full.to_vec();
    let stored = le_u32(full, 16).ok_or(bad("truncated"))?;
    copy[16..20].fill(0);
    if crc32(&copy) != stored {
        return Err(bad("header checksum"));
    }
    let entry_size = le_u32(h, 84).ok_or(bad("truncated"))?;
    if entry_size < 128 {
        return Err(bad("entry size"));
    }
    Ok(GptHeader {
        sector_size,
        entries_lba: le_u64(h, 72).ok_or(bad("truncated"))?,
        entry_count: le_u32(h, 80).ok_or(bad("truncated"))?,
        entry_size,
        entries_crc: le_u32(h, 88).ok_or(bad("truncated"))?,
    })
}

/// Picks the partition to mount from the entry array, for architecture `arch`.
///
/// # Errors
///
/// [`GptError::BadEntries`] on a checksum mismatch, [`GptError::Verity`] if verity
/// partitions exist, [`GptError::Ambiguous`] or [`GptError::NoPartition`].
pub fn select_partition(
    header: &GptHeader,
    entries: &[u8],
    arch: &str,
) -> Result<GptPartition, GptError> {
    if crc32(entries) != header.entries_crc {
        return Err(GptError::BadEntries);
    }
    let guids = ARCH_GUIDS
        .iter()
        .find(|(a, _)| *a == arch)
        .map(|(_, g)| g.map(|s| Guid::parse(s).unwrap_or(Guid([0; 16]))));
    let linux = Guid::parse(LINUX_DATA_GUID).unwrap_or(Guid([0; 16]));
    let step = usize::try_from(header.entry_size).unwrap_or(128);
    let mut found: [Vec<GptPartition>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    for e in entries.chunks_exact(step) {
        let Ok(t) = <[u8; 16]>::try_from(&e[0..16]) else {
            continue;
        };
        let t = Guid(t);
        if t.0 == [0; 16] {
            continue;
        }
        let (Some(first), Some(last)) = (le_u64(e, 32), le_u64(e, 40)) else {
            continue;
        };
        let role = match guids {
            Some(g) if t == g[2] => {
                return Err(GptError::Verity {
                    what: "root-verity",
                });
            }
            Some(g) if t == g[3] => return Err(GptError::Verity { what: "usr-verity" }),
            Some(g) if t == g[0] => PartitionRole::Root,
            Some(g) if t == g[1] => PartitionRole::Usr,
            _ if t == linux => PartitionRole::LinuxData,
            _ => continue,
        };
        let (Some(offset), Some(end)) = (
            first.checked_mul(header.sector_size),
            last.checked_add(1)
                .and_then(|l| l.checked_mul(header.sector_size)),
        ) else {
            continue;
        };
        let Some(size) = end.checked_sub(offset) else {
            continue;
        };
        let slot = match role {
            PartitionRole::Root => 0,
            PartitionRole::Usr => 1,
            PartitionRole::LinuxData => 2,
        };
        found[slot].push(GptPartition {
            role,
            offset,
            size,
            type_guid: t,
        });
    }
    for (i, list) in found.iter().enumerate() {
        match list.as_slice() {
            [] => continue,
            [one] => return Ok(*one),
            [first, ..] if i < 2 => {
                return Err(GptError::Ambiguous { role: first.role });
            }
            _ => break,
        }
    }
    Err(GptError::NoPartition {
        arch: arch.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a GPT image head: protective MBR, header at LBA 1, entries at LBA 2.
    pub(crate) fn gpt_image(parts: &[(&str, u64, u64)]) -> Vec<u8> {
        let mut img = vec![0u8; 512 * 34];
        img[510] = 0x55;
        img[511] = 0xAA;
        let mut entries = vec![0u8; 128 * 128];
        for (i, (guid, first, last)) in parts.iter().enumerate() {
            let e = &mut entries[i * 128..(i + 1) * 128];
            e[0..16].copy_from_slice(&Guid::parse(guid).unwrap().0);
            e[16] = u8::try_from(i).unwrap() + 1;
            e[32..40].copy_from_slice(&first.to_le_bytes());
            e[40..48].copy_from_slice(&last.to_le_bytes());
        }
        let h = &mut img[512..512 + 92];
        h[0..8].copy_from_slice(b"EFI PART");
        h[8..12].copy_from_slice(&0x0001_0000u32.to_le_bytes());
        h[12..16].copy_from_slice(&92u32.to_le_bytes());
        h[24..32].copy_from_slice(&1u64.to_le_bytes());
        h[40..48].copy_from_slice(&34u64.to_le_bytes());
        h[72..80].copy_from_slice(&2u64.to_le_bytes());
        h[80..84].copy_from_slice(&128u32.to_le_bytes());
        h[84..88].copy_from_slice(&128u32.to_le_bytes());
        h[88..92].copy_from_slice(&crc32(&entries).to_le_bytes());
        let c = crc32(h);
        h[16..20].copy_from_slice(&c.to_le_bytes());
        img[1024..1024 + entries.len()].copy_from_slice(&entries);
        img
    }

    #[test]
    fn superblocks() {
        let mut b = vec![0u8; PROBE_LEN];
        assert_eq!(detect(&b), None);
        b[0..4].copy_from_slice(b"hsqs");
        assert_eq!(detect(&b), Some(Signature::Filesystem(FsType::Squashfs)));
        b[0..4].fill(0);
        b[1024..1028].copy_from_slice(&0xE0F5_E1E2u32.to_le_bytes());
        assert_eq!(detect(&b), Some(Signature::Filesystem(FsType::Erofs)));
        b[1024..1028].fill(0);
        b[1080..1082].copy_from_slice(&0xEF53u16.to_le_bytes());
        assert_eq!(detect_filesystem(&b), Some(FsType::Ext4));
        b[1080..1082].fill(0);
        b[0x10040..0x10048].copy_from_slice(b"_BHRfS_M");
        assert_eq!(detect_filesystem(&b), Some(FsType::Btrfs));
        assert_eq!(detect(b"LUKS\xba\xbe\0\x02"), Some(Signature::Luks));
        assert_eq!(detect(b"verity\0\0"), Some(Signature::VerityHash));
        assert_eq!(detect(b"hs"), None);
        assert_eq!(FsType::Erofs.to_string(), "erofs");
    }

    #[test]
    fn guid_round_trip() {
        let s = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
        let g = Guid::parse(s).unwrap();
        assert_eq!(g.0[0..4], [0xe3, 0xbc, 0x68, 0x4f]);
        assert_eq!(g.to_string(), s);
        assert_eq!(Guid::parse("nope"), None);
        assert_eq!(Guid::parse("4f68bce3-e8cd-4db1-96e7-fbcaf984b7zz"), None);
    }

    #[test]
    fn crc32_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    const ROOT: &str = "4f68bce3-e8cd-4db1-96e7-fbcaf984b709";
    const USR: &str = "8484680c-9521-48c6-9c11-b0720656f69e";
    const ESP: &str = "c12a7328-f81f-11d2-ba4b-00a0c93ec93b";

    fn pick(parts: &[(&str, u64, u64)]) -> Result<GptPartition, GptError> {
        let img = gpt_image(parts);
        let Some(Signature::Gpt { sector_size }) = detect(&img) else {
            panic!("no gpt");
        };
        let h = parse_gpt_header(&img, sector_size)?;
        let (off, len) = h.entries_span().unwrap();
        let off = usize::try_from(off).unwrap();
        select_partition(&h, &img[off..off + len], "x86-64")
    }

    #[test]
    fn gpt_selection_table() {
        let r = pick(&[(ESP, 34, 99), (ROOT, 100, 199)]).unwrap();
        assert_eq!(
            (r.role, r.offset, r.size),
            (PartitionRole::Root, 100 * 512, 100 * 512)
        );
        let r = pick(&[(USR, 40, 49)]).unwrap();
        assert_eq!(r.role, PartitionRole::Usr);
        let r = pick(&[(USR, 40, 49), (ROOT, 50, 59)]).unwrap();
        assert_eq!(r.role, PartitionRole::Root);
        let r = pick(&[(LINUX_DATA_GUID, 40, 49)]).unwrap();
        assert_eq!(r.role, PartitionRole::LinuxData);
        assert!(matches!(
            pick(&[(LINUX_DATA_GUID, 40, 49), (LINUX_DATA_GUID, 50, 59)]),
            Err(GptError::NoPartition { .. })
        ));
        assert_eq!(
            pick(&[(ROOT, 40, 49), (ROOT, 50, 59)]),
            Err(GptError::Ambiguous {
                role: PartitionRole::Root
            })
        );
        assert_eq!(
            pick(&[
                (ROOT, 40, 49),
                ("2c7357ed-ebd2-46d9-aec1-23d437ec2bf5", 50, 59)
            ]),
            Err(GptError::Verity {
                what: "root-verity"
            })
        );
        assert!(matches!(
            pick(&[(ESP, 40, 49)]),
            Err(GptError::NoPartition { .. })
        ));
    }

    #[test]
    fn gpt_damage_is_an_error_not_a_panic() {
        let mut img = gpt_image(&[(ROOT, 40, 49)]);
        img[512 + 30] ^= 1;
        assert!(matches!(
            parse_gpt_header(&img, 512),
            Err(GptError::BadHeader {
                what: "header checksum"
            })
        ));
        assert!(parse_gpt_header(&img[..600], 512).is_err());
        let img = gpt_image(&[(ROOT, 40, 49)]);
        let h = parse_gpt_header(&img, 512).unwrap();
        let mut e = img[1024..1024 + 128 * 128].to_vec();
        e[0] ^= 1;
        assert_eq!(
            select_partition(&h, &e, "x86-64"),
            Err(GptError::BadEntries)
        );
    }
}
