//! The INI lexer on arbitrary bytes: never panics, positions stay inside the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(l) = keel_unit::lex::lex(data, None) {
        let lines = u32::try_from(data.iter().filter(|&&b| b == b'\n').count() + 1).unwrap_or(u32::MAX);
        for item in &l.items {
            let line = match item {
                keel_unit::lex::Item::Section(s) => s.line,
                keel_unit::lex::Item::Assignment(a) => a.line,
            };
            assert!(line >= 1 && line <= lines, "line {line} of {lines}");
        }
    }
});
