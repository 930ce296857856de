//! The Debian 12 unit corpus (see `testkit::corpus`): every unit loads without errors, and
//! what keel understood agrees with what Debian's systemd 252 itself prints for the same
//! files (`systemd --test --system --unit=… --no-pager`, run unprivileged), except for the
//! documented differences between 248 and 252 listed below.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use keel_core::specifier::{HostFacts, SpecifierContext};
use keel_core::unit_name::UnitName;
use keel_unit::diag::Severity;
use keel_unit::dump::dump;
use keel_unit::load::{LoadedUnit, UnitLoader};
use keel_unit::lookup::{LookupPaths, Scope, UnitLookup};
use keel_unit::manager_conf::ManagerConfig;
use keel_unit::model::LoadState;

/// Keys systemd 252 knows that 248 did not (so keel, like 248, warns about them), with the
/// version that added them.
pub(crate) const POST_248_KEYS: &[(&str, &str)] = &[
    ("BPFProgram", "249"),
    ("SocketBindAllow", "249"),
    ("SocketBindDeny", "249"),
    ("ConditionFirmware", "249"),
    ("ConditionOSRelease", "249"),
    ("AssertOSRelease", "249"),
    ("OnSuccess", "249"),
    ("OnSuccessJobMode", "249"),
    ("PropagatesStopTo", "249"),
    ("StopPropagatedFrom", "249"),
    ("Upholds", "249"),
    ("ExecSearchPath", "250"),
    ("ExitType", "250"),
    ("LoadCredentialEncrypted", "250"),
    ("SetCredentialEncrypted", "250"),
    ("RestrictFileSystems", "250"),
    ("RestrictNetworkInterfaces", "250"),
    ("RuntimeRandomizedExtraSec", "250"),
    ("TTYColumns", "250"),
    ("TTYRows", "250"),
    ("ConditionCPUFeature", "250"),
    ("AssertCPUFeature", "250"),
    ("ConditionCPUPressure", "250"),
    ("AssertCPUPressure", "250"),
    ("ConditionIOPressure", "250"),
    ("AssertIOPressure", "250"),
    ("ConditionMemoryPressure", "250"),
    ("AssertMemoryPressure", "250"),
    ("ExtensionDirectories", "251"),
    ("ConditionCredential", "252"),
    ("AssertCredential", "252"),
    ("StartupAllowedCPUs", "252"),
    ("StartupAllowedMemoryNodes", "252"),
    ("Writable", "251"),
    ("ExtraOptions", "250"),
    ("TriggerLimitIntervalSec", "250"),
    ("TriggerLimitBurst", "250"),
];

/// Why a keel warning that systemd 252 does not give is right for 248; `None` if it is not
/// explained.
fn explain_keel_only(message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("Unknown key name '") {
        let key = rest.split('\'').next().unwrap_or_default();
        if let Some((_, v)) = POST_248_KEYS.iter().find(|(k, _)| *k == key) {
            return Some(format!("{key}= was added in systemd {v}"));
        }
    }
    if message == "Credential source \"\" not valid, ignoring." {
        return Some("LoadCredential=ID without a source path was added in systemd 250".into());
    }
    None
}

/// Dump labels whose value legitimately differs between 248 and 252, with the reason
/// (none so far: every line keel prints agrees).
const DUMP_DIFFERENCES: &[(&str, &str)] = &[];

fn explain_dump_difference(label: &str) -> Option<&'static str> {
    DUMP_DIFFERENCES
        .iter()
        .find(|(l, _)| *l == label)
        .map(|(_, why)| *why)
}

fn corpus_search_path(root: &Path, extra: &Path) -> Vec<PathBuf> {
    let mut v = vec![extra.to_path_buf()];
    v.extend(testkit::corpus::unit_dirs(root));
    v
}

/// The system unit names of the corpus (templates as `NAME@example`).
fn corpus_unit_names(lookup: &UnitLookup) -> Vec<UnitName> {
    lookup
        .names()
        .map(|n| {
            if n.is_template() {
                n.with_instance("example").unwrap_or_else(|e| panic!("{e}"))
            } else {
                n.clone()
            }
        })
        .collect()
}

fn load_all(search: &[PathBuf]) -> (UnitLoader, Vec<LoadedUnit>) {
    load_some(search, None)
}

/// Loads every unit of the search path, or only those whose file is in `only`.
fn load_some(search: &[PathBuf], only: Option<&Path>) -> (UnitLoader, Vec<LoadedUnit>) {
    let joined = search
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let paths = LookupPaths::from_unit_path(Scope::System, Path::new("/"), &joined);
    let lookup = UnitLookup::scan(&paths).unwrap_or_else(|e| panic!("scan: {e}"));
    let loader = UnitLoader::new(
        lookup,
        SpecifierContext::system(HostFacts::probe(Path::new("/"))),
    );
    let units = corpus_unit_names(loader.lookup())
        .iter()
        .filter(|n| {
            only.is_none_or(|dir| {
                let file = n
                    .template()
                    .filter(|_| n.is_instance())
                    .unwrap_or_else(|| (*n).clone());
                dir.join(file.as_str()).symlink_metadata().is_ok()
            })
        })
        .map(|n| loader.load(n).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect();
    (loader, units)
}

#[test]
fn every_corpus_unit_and_conf_loads_without_errors() {
    let root = testkit::corpus::debian_corpus();
    let empty = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (_, units) = load_all(&corpus_search_path(root, empty.path()));
    assert!(
        units.len() > 250,
        "only {} units in the corpus",
        units.len()
    );
    let mut problems = String::new();
    let mut warnings = 0usize;
    for u in &units {
        if !matches!(u.unit.load_state, LoadState::Loaded | LoadState::Masked) {
            let _ = writeln!(problems, "{}: {}", u.unit.name, u.unit.load_state.as_str());
        }
        for d in &u.diagnostics {
            // Warnings are checked against systemd's own in `corpus_agrees_with_systemd_252`.
            if d.severity == Severity::Error {
                let _ = writeln!(problems, "{d}");
            } else {
                warnings += 1;
            }
        }
    }
    // The manager's own configuration files and the drop-ins of the other daemons.
    for scope in [Scope::System, Scope::User] {
        let conf = ManagerConfig::load(root, scope);
        assert!(
            !conf.files.is_empty(),
            "no {scope:?} manager configuration in the corpus"
        );
        for d in &conf.diagnostics {
            let _ = writeln!(problems, "{d}");
        }
    }
    let mut confs = 0;
    for dir in ["etc/systemd", "usr/lib/systemd", "lib/systemd"] {
        for entry in walk(&root.join(dir)) {
            // systemd's own configuration files: `etc/systemd/NAME.conf` and the drop-ins in
            // `NAME.conf.d/` directories (not e.g. `resolv.conf`, which is no INI file).
            let parent = entry.parent().unwrap_or(Path::new("/"));
            let is_conf = entry.extension().is_some_and(|e| e == "conf")
                && (parent == root.join("etc/systemd")
                    || parent.extension().is_some_and(|e| e == "d")
                        && parent.to_string_lossy().ends_with(".conf.d"));
            if is_conf {
                let text = std::fs::read(&entry).unwrap_or_else(|e| panic!("{e}"));
                match keel_unit::lex::lex(&text, Some(&entry)) {
                    Ok(l) => {
                        for d in l.diagnostics {
                            let _ = writeln!(problems, "{d}");
                        }
                    }
                    Err(e) => {
                        let _ = writeln!(problems, "{e}");
                    }
                }
                confs += 1;
            }
        }
    }
    assert!(confs >= 10, "only {confs} conf files");
    eprintln!(
        "{} units, {confs} conf files, {warnings} warnings",
        units.len()
    );
    assert!(problems.is_empty(), "errors in the corpus:\n{problems}");
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// `-> Unit NAME:` blocks of a `systemd --test` dump: name → its lines, without the
/// dependency lines (`Requires: x (origin-…)`), which come from implicit dependencies keel
/// does not compute in the loader.
fn parse_dump(text: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut cur: Option<String> = None;
    for line in text.lines() {
        let t = line.trim_start_matches('\t');
        if let Some(name) = t.strip_prefix("-> Unit ").and_then(|n| n.strip_suffix(':')) {
            cur = Some(name.to_owned());
            out.entry(name.to_owned()).or_default();
            continue;
        }
        if t.starts_with("-> Job") || t.starts_with("-> By jobs") {
            cur = None;
        }
        let Some(c) = &cur else { continue };
        if t.contains("(origin-") || t.contains("(destination-") {
            continue;
        }
        if let Some(v) = out.get_mut(c) {
            v.push(t.to_owned());
        }
    }
    out
}

/// `(file, line)` → message of every `FILE:LINE: message` line.
fn parse_warnings(text: &str) -> BTreeMap<(String, u32), String> {
    let mut out = BTreeMap::new();
    for line in text.lines() {
        let mut it = line.splitn(3, ':');
        let (Some(f), Some(l), Some(m)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if !f.starts_with('/') {
            continue;
        }
        if let Ok(l) = l.parse::<u32>() {
            out.insert((f.to_owned(), l), m.trim().to_owned());
        }
    }
    out
}

/// Runs Debian's systemd 252 in test mode as `nobody` on `search`, loading `units`.
fn systemd_test(search: &[PathBuf], dir: &Path, units: &[UnitName]) -> (String, String) {
    testkit::require_tool("/lib/systemd/systemd", "systemd");
    testkit::require_tool("/usr/bin/setpriv", "util-linux");
    let mut target = String::from("[Unit]\nDescription=every unit of the test\n");
    for u in units {
        let _ = writeln!(target, "Wants={u}");
    }
    std::fs::write(dir.join("keel-all.target"), target).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    let joined = search
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let out = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg("/lib/systemd/systemd")
        .args(["--test", "--system", "--unit=keel-all.target", "--no-pager"])
        .env("SYSTEMD_UNIT_PATH", joined)
        .env("SYSTEMD_LOG_COLOR", "0")
        .current_dir("/")
        .output()
        .unwrap_or_else(|e| panic!("systemd --test: {e}"));
    assert!(
        out.status.success(),
        "systemd --test failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Compares keel's understanding of `units` with systemd 252's; returns the report of
/// unexplained differences (empty when they agree) and a summary.
fn compare(search: &[PathBuf], dir: &Path, only: Option<&Path>) -> (String, String) {
    let (_, loaded) = load_some(search, only);
    let names: Vec<UnitName> = loaded.iter().map(|u| u.unit.name.clone()).collect();
    let (stdout, stderr) = systemd_test(search, dir, &names);
    let theirs = parse_dump(&stdout);
    let their_warnings = parse_warnings(&stderr);
    let mut report = String::new();
    let mut compared_lines = 0;
    let mut compared_units = 0;
    let mut explained: BTreeMap<String, usize> = BTreeMap::new();
    let mut our_warnings: BTreeSet<(String, u32)> = BTreeSet::new();
    let mut dumped: BTreeSet<UnitName> = BTreeSet::new();
    for u in &loaded {
        for d in &u.diagnostics {
            let Some(p) = &d.path else { continue };
            // systemd 252 logs notices (e.g. the `/var/run/` → `/run/` rewrite of PIDFile=)
            // only at debug level; warnings and errors are compared.
            if d.line == 0 || d.severity == Severity::Notice {
                continue;
            }
            let key = (p.display().to_string(), d.line);
            our_warnings.insert(key.clone());
            if their_warnings.contains_key(&key) {
                continue;
            }
            match explain_keel_only(&d.message) {
                Some(why) => *explained.entry(why).or_default() += 1,
                None => {
                    let _ = writeln!(report, "keel only: {d}");
                }
            }
        }
        // systemd dumps a unit under its primary name (aliases resolve to it).
        let primary = u.unit.names.first().unwrap_or(&u.unit.name);
        if !dumped.insert(primary.clone()) {
            continue;
        }
        let Some(their_lines) = theirs.get(primary.as_str()) else {
            let _ = writeln!(report, "{primary}: not in systemd's dump");
            continue;
        };
        compared_units += 1;
        let ours = dump(&u.unit);
        let mut by_label: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
        for l in their_lines {
            let (label, value) = l.split_once(": ").unwrap_or((l.as_str(), ""));
            by_label.entry(label).or_default().push(value);
        }
        for l in ours.lines().skip(1) {
            let t = l.trim_start_matches('\t');
            if t.starts_with("-> ") {
                continue;
            }
            let (label, value) = t.split_once(": ").unwrap_or((t, ""));
            compared_lines += 1;
            let theirs_v = by_label.get(label).cloned().unwrap_or_default();
            if theirs_v.contains(&value) {
                continue;
            }
            if let Some(why) = explain_dump_difference(label) {
                *explained.entry(why.to_owned()).or_default() += 1;
                continue;
            }
            let _ = writeln!(
                report,
                "{}: {label}: keel {value:?}, systemd 252 {theirs_v:?}",
                u.unit.name
            );
        }
    }
    for ((f, l), m) in &their_warnings {
        if !our_warnings.contains(&(f.clone(), *l)) {
            let _ = writeln!(report, "systemd only: {f}:{l}: {m}");
        }
    }
    let summary = format!(
        "{compared_units} units, {compared_lines} dump lines compared with systemd 252; \
         differences explained by 248 vs 252: {explained:#?}"
    );
    (report, summary)
}

#[test]
fn corpus_agrees_with_systemd_252() {
    let root = testkit::corpus::debian_corpus();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let (report, summary) = compare(&corpus_search_path(root, dir.path()), dir.path(), None);
    eprintln!("{summary}");
    assert!(
        report.is_empty(),
        "keel and systemd 252 disagree:\n{report}"
    );
}

/// Our own tricky units (`tests/unit/tricky/`: quoting, continuations with comments, every
/// `Exec*=` prefix, resets, drop-ins by name, template, dash prefix and type, aliases, masks,
/// every unit type), on top of the corpus so their dependencies resolve.
#[test]
fn tricky_units_agree_with_systemd_252() {
    let root = testkit::corpus::debian_corpus();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let tricky = Path::new(env!("CARGO_MANIFEST_DIR")).join("unit/tricky");
    // The tree must be readable by `nobody`, who runs systemd in test mode.
    let copy = dir.path().join("tricky");
    copy_tree(&tricky, &copy);
    let mut search = vec![dir.path().to_path_buf(), copy.clone()];
    search.extend(testkit::corpus::unit_dirs(root));
    let (report, summary) = compare(&search, dir.path(), Some(&copy));
    eprintln!("tricky: {summary}");
    assert!(
        report.is_empty(),
        "keel and systemd 252 disagree on our units:\n{report}"
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(to, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{e}"));
    for e in std::fs::read_dir(from)
        .unwrap_or_else(|e| panic!("{e}"))
        .flatten()
    {
        let src = e.path();
        let dst = to.join(e.file_name());
        let ft = e.file_type().unwrap_or_else(|e| panic!("{e}"));
        if ft.is_symlink() {
            let target = std::fs::read_link(&src).unwrap_or_else(|e| panic!("{e}"));
            std::os::unix::fs::symlink(target, &dst).unwrap_or_else(|e| panic!("{e}"));
        } else if ft.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("{e}"));
            std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o644))
                .unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
