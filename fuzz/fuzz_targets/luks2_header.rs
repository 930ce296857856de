//! LUKS2 header parsing on arbitrary bytes (both copies, JSON metadata): never panics, and
//! the metadata of a header that parses serializes again.
#![no_main]

use keel_crypt::device::read_headers;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let set = read_headers(data);
    if let Some((_, best)) = set.best() {
        let _ = best.metadata.to_json();
    }
});
