//! systemd-networkd 248's configuration files: `.netdev` (virtual links to create) and
//! `.network` (how to configure links that match), parsed with keel-unit's lexer into
//! typed values, with diagnostics by file and line.
//!
//! Loading follows networkd: files are collected from the search directories
//! (`/etc/systemd/network`, `/run/systemd/network`, `/usr/local/lib/systemd/network`,
//! `/usr/lib/systemd/network`, highest priority first); a file name found in an earlier
//! directory hides the same name in later ones (an empty file or a symlink to
//! `/dev/null` masks it); the survivors are read in lexical order of their file names;
//! drop-ins `NAME.d/*.conf` from every search directory are applied after the file, in
//! lexical order of their names (same-name drop-ins override by directory priority).
//! A bad file or value gives a diagnostic and never stops the others.
//!
//! Deliberate differences from 248 are listed in `DESIGN.md` (notably
//! `OriginatorIntervalSec=`'s 1 ms default is not reproduced).

pub mod netdev;
pub mod network;

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

pub use keel_unit::diag::{Diagnostic, Severity};
use keel_unit::lex::{self, Item};

pub use self::netdev::{
    BatadvSettings, BondSettings, BridgeSettings, MacvlanSettings, NetDev, NetDevKind,
    VethSettings, VlanSettings, VxlanSettings,
};
pub use self::network::{
    AddressConfig, LinkFacts, LinkSettings, MatchSettings, Network, RouteConfig,
};

/// networkd's search directories, highest priority first, relative to the root.
pub const SEARCH_DIRS: [&str; 4] = [
    "etc/systemd/network",
    "run/systemd/network",
    "usr/local/lib/systemd/network",
    "usr/lib/systemd/network",
];

/// Everything loaded from the configuration directories.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct NetworkdConfig {
    /// `.netdev` files that loaded, in lexical order of file names.
    pub netdevs: Vec<NetDev>,
    /// `.network` files that loaded, in lexical order of file names.
    pub networks: Vec<Network>,
    /// Everything said about the files, in load order.
    pub diagnostics: Vec<Diagnostic>,
}

impl NetworkdConfig {
    /// The netdev called `name`.
    pub fn netdev(&self, name: &str) -> Option<&NetDev> {
        self.netdevs.iter().find(|n| n.name == name)
    }

    /// The first `.network` (in lexical order) whose `[Match]` matches a link, as
    /// networkd picks it.
    pub fn network_for(&self, link: &LinkFacts) -> Option<&Network> {
        self.networks.iter().find(|n| n.matches(link))
    }
}

/// Loads the search directories below `root` (`/` for the running system; `--root`).
///
/// # Ambient authority
/// Reads the file system below `root`.
pub fn load(root: &Path) -> NetworkdConfig {
    let dirs: Vec<PathBuf> = SEARCH_DIRS.iter().map(|d| root.join(d)).collect();
    load_dirs(&dirs)
}

/// Loads `dirs` (highest priority first), e.g. a daemon's `--config-dir`.
///
/// # Ambient authority
/// Reads the given directories.
pub fn load_dirs(dirs: &[PathBuf]) -> NetworkdConfig {
    let mut out = NetworkdConfig::default();
    for (path, dropins) in collect(dirs, ".netdev") {
        if let Some(text) = read(&path, &mut out.diagnostics) {
            let dropins = read_dropins(&dropins, &mut out.diagnostics);
            if let Some(nd) = netdev::parse(&text, &path, &dropins, &mut out.diagnostics) {
                if out.netdevs.iter().any(|o| o.name == nd.name) {
                    out.diagnostics.push(Diagnostic::error(
                        Some(&path),
                        0,
                        format!(
                            "a netdev named {} is already loaded, ignoring file",
                            nd.name
                        ),
                    ));
                } else {
                    out.netdevs.push(nd);
                }
            }
        }
    }
    for (path, dropins) in collect(dirs, ".network") {
        if let Some(text) = read(&path, &mut out.diagnostics) {
            let dropins = read_dropins(&dropins, &mut out.diagnostics);
            if let Some(n) = network::parse(&text, &path, &dropins, &mut out.diagnostics) {
                out.networks.push(n);
            }
        }
    }
    resolve_references(&mut out);
    out
}

/// Drops `Bridge=`, `BatmanAdvanced=`, `VLAN=`, … that name no loaded netdev of the right
/// kind, with an error diagnostic (networkd: `network_resolve_netdev_one`).
fn resolve_references(cfg: &mut NetworkdConfig) {
    let kinds: BTreeMap<String, &'static str> = cfg
        .netdevs
        .iter()
        .map(|n| (n.name.clone(), n.kind.name()))
        .collect();
    for network in &mut cfg.networks {
        let path = network.path.clone();
        let refs = network.references.clone();
        let check = |setting: &str, name: &str, want: &str, diags: &mut Vec<Diagnostic>| {
            // The last assignment of this setting naming `name` (file and line).
            let (file, line) = refs
                .iter()
                .rev()
                .find(|(s, n, _, _)| s == setting && n == name)
                .map_or((path.as_path(), 0), |(_, _, p, l)| (p.as_path(), *l));
            match kinds.get(name) {
                Some(k) if *k == want => true,
                Some(k) => {
                    diags.push(Diagnostic::error(
                        Some(file),
                        line,
                        format!(
                            "{setting}={name} names a netdev of kind {k}, not {want}, ignoring"
                        ),
                    ));
                    false
                }
                None => {
                    diags.push(Diagnostic::error(
                        Some(file),
                        line,
                        format!("{setting}={name} names no loaded .netdev, ignoring"),
                    ));
                    false
                }
            }
        };
        let diags = &mut cfg.diagnostics;
        for (setting, slot, want) in [
            ("Bridge", &mut network.bridge, "bridge"),
            ("Bond", &mut network.bond, "bond"),
            ("BatmanAdvanced", &mut network.batman_advanced, "batadv"),
        ] {
            if let Some(name) = slot.take() {
                if check(setting, &name, want, diags) {
                    *slot = Some(name);
                }
            }
        }
        for (setting, list, want) in [
            ("VLAN", &mut network.vlans, "vlan"),
            ("MACVLAN", &mut network.macvlans, "macvlan"),
            ("VXLAN", &mut network.vxlans, "vxlan"),
        ] {
            list.retain(|name| check(setting, name, want, diags));
        }
    }
}

fn read(path: &Path, diags: &mut Vec<Diagnostic>) -> Option<Vec<u8>> {
    match std::fs::read(path) {
        Ok(t) => Some(t),
        Err(e) => {
            diags.push(Diagnostic::error(
                Some(path),
                0,
                format!("cannot read file: {e}"),
            ));
            None
        }
    }
}

fn read_dropins(paths: &[PathBuf], diags: &mut Vec<Diagnostic>) -> Vec<(PathBuf, Vec<u8>)> {
    paths
        .iter()
        .filter_map(|p| read(p, diags).map(|t| (p.clone(), t)))
        .collect()
}

/// True for an empty file or a symlink to `/dev/null` (networkd skips and thereby masks
/// them).
fn is_masked(path: &Path) -> bool {
    if std::fs::read_link(path).is_ok_and(|t| t == Path::new("/dev/null")) {
        return true;
    }
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() == 0)
}

/// Files ending in `suffix` in `dirs` (first wins per name), in lexical order, each with
/// its drop-ins in order.
fn collect(dirs: &[PathBuf], suffix: &str) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut files: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if !name.ends_with(suffix) || name.starts_with('.') {
                continue;
            }
            let path = entry.path();
            if path.is_dir() {
                continue;
            }
            files.entry(name).or_insert(path);
        }
    }
    files
        .into_iter()
        .filter(|(_, p)| !is_masked(p))
        .map(|(name, path)| {
            let dropins = collect_dropins(dirs, &format!("{name}.d"));
            (path, dropins)
        })
        .collect()
}

fn collect_dropins(dirs: &[PathBuf], dirname: &str) -> Vec<PathBuf> {
    let mut found: BTreeMap<String, PathBuf> = BTreeMap::new();
    for dir in dirs {
        let Ok(entries) = std::fs::read_dir(dir.join(dirname)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            if name.ends_with(".conf") && !name.starts_with('.') {
                found.entry(name).or_insert_with(|| entry.path());
            }
        }
    }
    found.into_values().filter(|p| !is_masked(p)).collect()
}

/// One assignment handed to a section parser.
pub(crate) struct Entry<'a> {
    pub(crate) section: &'a str,
    /// Line of the section header: `[Address]`/`[Route]` sections are told apart by it.
    pub(crate) section_line: u32,
    pub(crate) key: &'a str,
    pub(crate) value: &'a str,
    pub(crate) path: &'a Path,
    pub(crate) line: u32,
}

impl Entry<'_> {
    pub(crate) fn warn(&self, diags: &mut Vec<Diagnostic>, message: impl Into<String>) {
        diags.push(Diagnostic::warning(Some(self.path), self.line, message));
    }

    /// The usual "invalid value" warning.
    pub(crate) fn invalid(&self, diags: &mut Vec<Diagnostic>, what: &str) {
        self.warn(
            diags,
            format!(
                "Failed to parse {what}, ignoring assignment: {}",
                self.value
            ),
        );
    }

    /// A key 248 knows but keel does not apply (yet) gets a notice; anything else the
    /// "Unknown key name" warning systemd gives.
    pub(crate) fn unknown_key_in(&self, diags: &mut Vec<Diagnostic>, known: &[(&str, &[&str])]) {
        let is_known = known
            .iter()
            .any(|(section, keys)| *section == self.section && keys.contains(&self.key));
        if is_known {
            diags.push(Diagnostic::notice(
                Some(self.path),
                self.line,
                format!(
                    "{}= in [{}] is not supported by keel yet, ignoring.",
                    self.key, self.section
                ),
            ));
        } else {
            self.unknown_key(diags);
        }
    }

    pub(crate) fn unknown_key(&self, diags: &mut Vec<Diagnostic>) {
        if !self.key.starts_with("X-") {
            self.warn(
                diags,
                format!(
                    "Unknown key name '{}' in section '{}', ignoring.",
                    self.key, self.section
                ),
            );
        }
    }
}

/// Lexes the main file and its drop-ins and hands every assignment in a known section to
/// `f`. Returns `false` when the main file cannot be used (malformed section header).
pub(crate) fn for_each_entry(
    text: &[u8],
    path: &Path,
    dropins: &[(PathBuf, Vec<u8>)],
    sections: &[&str],
    diags: &mut Vec<Diagnostic>,
    mut f: impl FnMut(&Entry<'_>, &mut Vec<Diagnostic>),
) -> bool {
    let files = std::iter::once((path, text))
        .chain(dropins.iter().map(|(p, t)| (p.as_path(), t.as_slice())));
    for (i, (p, t)) in files.enumerate() {
        let lexed = match lex::lex(t, Some(p)) {
            Ok(l) => l,
            Err(e) => {
                diags.push(Diagnostic::error(
                    Some(p),
                    e.line(),
                    "invalid section header, ignoring file",
                ));
                if i == 0 {
                    return false;
                }
                continue;
            }
        };
        diags.extend(lexed.diagnostics);
        let mut section: Option<(&str, u32)> = None;
        let mut ignored = false;
        for item in &lexed.items {
            match item {
                Item::Section(s) => {
                    if sections.contains(&s.name.as_ref()) {
                        section = Some((s.name.as_ref(), s.line));
                        ignored = false;
                    } else {
                        section = None;
                        ignored = true;
                        if !s.name.starts_with("X-") {
                            diags.push(Diagnostic::warning(
                                Some(p),
                                s.line,
                                format!("Unknown section '{}'. Ignoring.", s.name),
                            ));
                        }
                    }
                }
                Item::Assignment(a) => match section {
                    Some((name, line)) => f(
                        &Entry {
                            section: name,
                            section_line: line,
                            key: &a.key,
                            value: &a.value,
                            path: p,
                            line: a.line,
                        },
                        diags,
                    ),
                    None if ignored => {}
                    None => diags.push(Diagnostic::warning(
                        Some(p),
                        a.line,
                        "Assignment outside of section. Ignoring.",
                    )),
                },
                #[allow(unreachable_patterns)]
                _ => {}
            }
        }
    }
    true
}

/// systemd's `ifname_valid`: 1–15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
pub fn ifname_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 16
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b > 32 && b < 127 && b != b'/' && b != b':' && b != b'%')
}

/// `MTUBytes=`: a size with base-1024 suffixes, 68 ≤ MTU ≤ `u32::MAX`.
pub(crate) fn parse_mtu(v: &str) -> Option<u32> {
    let n = keel_core::size::parse_size(v, 1024).ok()?;
    u32::try_from(n).ok().filter(|&m| m >= 68)
}

/// An IP address.
pub(crate) fn parse_ip(v: &str) -> Option<IpAddr> {
    v.parse().ok()
}

/// `yes`/`no` and friends.
pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    keel_core::boolean::parse_boolean(v).ok()
}

#[cfg(test)]
mod tests;
