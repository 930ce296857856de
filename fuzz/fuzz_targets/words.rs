//! `extract_first_word` under every flag combination: never panics, always terminates, and
//! the cursor only moves forward.
#![no_main]

use keel_core::word::{ExtractFlags, Words};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&f, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut flags = ExtractFlags::from_bits_truncate(u32::from(f) | (u32::from(f & 1) << 8));
    if flags.contains(ExtractFlags::UNQUOTE | ExtractFlags::KEEP_QUOTE) {
        flags.remove(ExtractFlags::KEEP_QUOTE);
    }
    let seps = if f & 0x80 != 0 { ":," } else { " \t\n\r" };
    let mut w = Words::new(text, seps, flags);
    let mut last = text.len() + 1;
    for _ in 0..=text.len() + 1 {
        let before = w.rest().map_or(0, str::len);
        match w.next() {
            None => return,
            Some(_) => {
                let after = w.rest().map_or(0, str::len);
                assert!(after <= before && before < last + 1);
                last = before;
            }
        }
    }
    panic!("no progress on {text:?}");
});
