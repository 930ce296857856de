//! The unit loader on arbitrary text, for each unit type: never panics; a unit that loads
//! can be dumped and serialized.
#![no_main]

use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::UnitName;
use libfuzzer_sys::fuzz_target;

const NAMES: [&str; 8] = [
    "fuzz.service",
    "fuzz@inst-a.service",
    "fuzz.socket",
    "fuzz.timer",
    "fuzz.mount",
    "fuzz.slice",
    "fuzz.target",
    "fuzz.path",
];

fuzz_target!(|data: &[u8]| {
    let Some((&first, text)) = data.split_first() else {
        return;
    };
    let Ok(name) = UnitName::new(NAMES[usize::from(first) % NAMES.len()]) else {
        return;
    };
    let spec = SpecifierContext::default();
    let loaded = keel_unit::load::parse_unit_text(&name, text, None, &spec);
    let _ = keel_unit::dump::dump(&loaded.unit);
    for d in &loaded.diagnostics {
        let _ = d.to_string();
    }
});
