//! LUKS2 header parsing on arbitrary bytes (both copies, JSON metadata, metadata validation):
//! never panics; the metadata of a header that parses serializes again; systemd tokens read
//! in typed form convert back to raw tokens that read as the same typed value. The same
//! bytes also go through the read-only LUKS1 header parser.
//!
//! Mutated bytes rarely keep the sha256 checksum valid, so the input is also parsed once
//! more with the primary copy's checksum recomputed (reaching the JSON parser and the
//! metadata validation through the binary header), and as bare JSON metadata.
#![no_main]

use keel_crypt::device::read_headers;
use keel_crypt::header::{HeaderCopy, compute_checksum, parse_copy};
use keel_crypt::luks1::Luks1Header;
use keel_crypt::metadata::Metadata;
use keel_crypt::token::TypedToken;
use libfuzzer_sys::fuzz_target;

/// Offset of the checksum field in a LUKS2 binary header.
const OFF_CSUM: usize = 448;

fn check_metadata(meta: &Metadata) {
    let json = meta.to_json().expect("parsed metadata serializes");
    let _: Metadata = serde_json::from_str(&json).expect("serialized metadata parses");
    for t in meta.tokens.values() {
        if let Ok(typed) = TypedToken::from_token(t) {
            let again = TypedToken::from_token(&typed.to_token());
            assert_eq!(again.ok().as_ref(), Some(&typed));
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let set = read_headers(data);
    if let Some((_, best)) = set.best() {
        check_metadata(&best.metadata);
    }
    // The primary copy again with its checksum made valid.
    if data.len() >= 0x4000 && data.len() <= 0x10000 {
        let mut fixed = data.to_vec();
        let size = u64::from_be_bytes(fixed[8..16].try_into().expect("8 bytes"));
        if let Ok(len) = usize::try_from(size) {
            if len <= fixed.len() && len > OFF_CSUM + 32 {
                let sum = compute_checksum(&fixed[..len]);
                fixed[OFF_CSUM..OFF_CSUM + 32].copy_from_slice(&sum);
                if let Ok(c) = parse_copy(&fixed, HeaderCopy::Primary, 0) {
                    check_metadata(&c.metadata);
                }
            }
        }
    }
    // Bare JSON metadata, validated against the smallest header size.
    if let Ok(meta) = serde_json::from_slice::<Metadata>(data) {
        let _ = meta.validate(0x4000);
        check_metadata(&meta);
    }
    if let Ok(h) = Luks1Header::parse(data) {
        let _ = h.uuid.len();
    }
});
