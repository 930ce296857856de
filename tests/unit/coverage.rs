//! Directive coverage: keel knows every setting of systemd 248 (systemd 252's own list from
//! `systemd --dump-configuration-items`, minus the documented later additions, plus the
//! 248 keys 252 dropped), and `docs/directives.md` is what the tables generate.

use std::collections::BTreeSet;
use std::process::Command;

use crate::debian_corpus::POST_248_KEYS;

/// Keys 248 had that 252 no longer lists (kept by keel, with 248's warnings).
const REMOVED_AFTER_248: &[&str] = &[
    "BusPolicy",
    "Capabilities",
    "NetClass",
    "SysVStartPriority",
    "ConditionNull",
    "AssertNull",
    "IgnoreOnSnapshot",
];

/// Keys added to one section after 248 that other sections had already.
const POST_248_IN_SECTION: &[(&str, &str, &str)] = &[("Scope", "OOMPolicy", "251")];

/// The sections keel models so far.
const SECTIONS: &[&str] = &[
    "Unit",
    "Service",
    "Install",
    "Socket",
    "Mount",
    "Automount",
    "Swap",
    "Timer",
    "Path",
    "Slice",
    "Scope",
];

#[test]
fn every_248_setting_is_known() {
    testkit::require_tool("/lib/systemd/systemd", "systemd");
    let out = Command::new("/lib/systemd/systemd")
        .arg("--dump-configuration-items")
        .output()
        .unwrap_or_else(|e| panic!("systemd --dump-configuration-items: {e}"));
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let mut theirs: BTreeSet<(String, String)> = BTreeSet::new();
    let mut section = String::new();
    for line in text.lines() {
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.to_owned();
        } else if let Some((k, _)) = line.split_once('=') {
            theirs.insert((section.clone(), k.to_owned()));
        }
    }
    assert!(theirs.len() > 500, "only {} items", theirs.len());
    let ours: BTreeSet<(String, String)> = keel_unit::model::directive_names()
        .into_iter()
        .map(|(s, k, _)| (s.to_owned(), k.to_owned()))
        .collect();
    let post: BTreeSet<&str> = POST_248_KEYS.iter().map(|(k, _)| *k).collect();
    let mut missing = Vec::new();
    for (s, k) in &theirs {
        let later = post.contains(k.as_str())
            || POST_248_IN_SECTION
                .iter()
                .any(|(ps, pk, _)| ps == s && pk == k);
        if SECTIONS.contains(&s.as_str()) && !later && !ours.contains(&(s.clone(), k.clone())) {
            missing.push(format!("[{s}] {k}="));
        }
    }
    let mut extra = Vec::new();
    for (s, k) in &ours {
        if !theirs.contains(&(s.clone(), k.clone())) && !REMOVED_AFTER_248.contains(&k.as_str()) {
            extra.push(format!("[{s}] {k}="));
        }
    }
    assert!(
        missing.is_empty(),
        "248 settings keel does not know: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "settings keel knows that neither 248 nor 252 has: {extra:?}"
    );
}

#[test]
fn directives_md_is_current() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/directives.md");
    let on_disk = std::fs::read_to_string(path).unwrap_or_default();
    let generated = keel_unit::model::coverage_markdown();
    assert!(
        on_disk == generated,
        "docs/directives.md is stale: run `cargo run -p keel-analyze -- directives --markdown > docs/directives.md`"
    );
}
