//! LUKS2 header parsing on arbitrary bytes (both copies, JSON metadata, metadata validation):
//! never panics; the metadata of a header that parses serializes again; systemd tokens read
//! in typed form convert back to raw tokens that read as the same typed value. The same
//! bytes also go through the read-only LUKS1 header parser.
#![no_main]

use keel_crypt::device::read_headers;
use keel_crypt::luks1::Luks1Header;
use keel_crypt::token::TypedToken;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let set = read_headers(data);
    if let Some((_, best)) = set.best() {
        let _ = best.metadata.to_json();
        for t in best.metadata.tokens.values() {
            if let Ok(typed) = TypedToken::from_token(t) {
                let again = TypedToken::from_token(&typed.to_token());
                assert_eq!(again.ok().as_ref(), Some(&typed));
            }
        }
    }
    if let Ok(h) = Luks1Header::parse(data) {
        let _ = h.uuid.len();
    }
});
