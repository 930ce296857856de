//! Extension image probing on arbitrary bytes: file system and GPT signatures, the GPT
//! header at 512- and 4096-byte sectors and the partition choice never panic, and a
//! partition that is chosen has an end that does not overflow.
//!
//! Mutated bytes rarely keep GPT's CRC32s valid, so each input is also tried once more with
//! the header checksum (at 512-byte sectors) and the entry array checksum recomputed,
//! reaching the partition selection through a header that parses.
#![no_main]

use keel_exec::sysext::format::{
    crc32, detect, detect_filesystem, parse_gpt_header, select_partition,
};
use libfuzzer_sys::fuzz_target;

fn probe(data: &[u8], fix_entries: bool) {
    for sector in [512u64, 4096] {
        let Ok(mut header) = parse_gpt_header(data, sector) else {
            continue;
        };
        let Some((off, len)) = header.entries_span() else {
            continue;
        };
        let Some(entries) = usize::try_from(off)
            .ok()
            .and_then(|o| data.get(o..o.checked_add(len)?))
        else {
            continue;
        };
        if fix_entries {
            header.entries_crc = crc32(entries);
        }
        for arch in ["x86-64", "arm64", "nonexistent"] {
            if let Ok(p) = select_partition(&header, entries, arch) {
                assert!(p.offset.checked_add(p.size).is_some(), "{p:?}");
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = detect(data);
    let _ = detect_filesystem(data);
    probe(data, false);
    // The header at LBA 1 with its CRC32 recomputed over the size it states.
    if data.len() >= 512 + 92 {
        let mut fixed = data.to_vec();
        let size = u32::from_le_bytes([fixed[524], fixed[525], fixed[526], fixed[527]]);
        if let Ok(size @ 92..=512) = usize::try_from(size) {
            if fixed.len() >= 512 + size {
                fixed[528..532].fill(0);
                let crc = crc32(&fixed[512..512 + size]);
                fixed[528..532].copy_from_slice(&crc.to_le_bytes());
                probe(&fixed, true);
            }
        }
    }
});
