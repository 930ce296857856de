//! Finding unit files: search paths, fragments, aliases, masks, drop-ins and `.wants/`.
//!
//! This is systemd 248's `path-lookup.c` + `unit-file.c` + `dropin.c`, over an explicit root
//! directory so that tests and tools can point it at an image or a temporary tree:
//!
//! - [`LookupPaths`] holds the search path (system or user manager, or
//!   `$SYSTEMD_UNIT_PATH`); every entry is a path *inside* [`LookupPaths::root`].
//! - [`UnitLookup::scan`] reads every search directory once and builds the name map: which
//!   file is the fragment of which name (first directory wins), which names are aliases
//!   (symlinks with another unit name), which are masked (symlinks to `/dev/null`).
//! - [`UnitLookup::resolve`] gives everything the loader needs for one unit: the fragment
//!   (an instance falls back to its template), all names, the drop-in files in the order
//!   systemd applies them, and the `.wants/`/`.requires/` dependencies.
//!
//! Symlinks are resolved inside the root: an absolute link target is taken relative to the
//! root, and `..` never leaves it.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Component, Path, PathBuf};

use keel_core::unit_name::{UnitName, UnitType};

use crate::diag::Diagnostic;

/// Which manager's search path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Scope {
    /// The system manager (PID 1).
    #[default]
    System,
    /// A per-user manager.
    User,
}

/// The unit search path of one manager, inside a root directory.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LookupPaths {
    /// The root directory every search path entry is taken under (`/` for the host).
    pub root: PathBuf,
    /// Search directories, highest priority first, as absolute paths inside `root`.
    pub search_path: Vec<PathBuf>,
    /// System or user.
    pub scope: Scope,
}

/// The system manager's search path of systemd 248 as Debian 12 builds it (split `/lib`
/// and `/usr/lib`, as `systemd-analyze unit-paths` prints on Debian 12).
pub const SYSTEM_UNIT_PATH: &[&str] = &[
    "/etc/systemd/system.control",
    "/run/systemd/system.control",
    "/run/systemd/transient",
    "/run/systemd/generator.early",
    "/etc/systemd/system",
    "/etc/systemd/system.attached",
    "/run/systemd/system",
    "/run/systemd/system.attached",
    "/run/systemd/generator",
    "/usr/local/lib/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
];

fn env_dir(name: &str) -> Option<PathBuf> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
}

/// The user manager's search path, from `$HOME` and the `$XDG_*` variables.
fn user_unit_path() -> Vec<PathBuf> {
    let home = env_dir("HOME").unwrap_or_else(|| PathBuf::from("/root"));
    let config = env_dir("XDG_CONFIG_HOME").unwrap_or_else(|| home.join(".config"));
    let data = env_dir("XDG_DATA_HOME").unwrap_or_else(|| home.join(".local/share"));
    let runtime = env_dir("XDG_RUNTIME_DIR");
    let config_dirs: Vec<PathBuf> = std::env::var("XDG_CONFIG_DIRS")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.split(':').map(PathBuf::from).collect())
        .unwrap_or_else(|| vec![PathBuf::from("/etc/xdg")]);
    let data_dirs: Vec<PathBuf> = std::env::var("XDG_DATA_DIRS")
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.split(':').map(PathBuf::from).collect())
        .unwrap_or_else(|| {
            vec![
                PathBuf::from("/usr/local/share"),
                PathBuf::from("/usr/share"),
            ]
        });

    let mut v = vec![config.join("systemd/user.control")];
    if let Some(r) = &runtime {
        v.push(r.join("systemd/user.control"));
        v.push(r.join("systemd/transient"));
        v.push(r.join("systemd/generator.early"));
    }
    v.push(config.join("systemd/user"));
    v.extend(config_dirs.iter().map(|d| d.join("systemd/user")));
    v.push(PathBuf::from("/etc/systemd/user"));
    if let Some(r) = &runtime {
        v.push(r.join("systemd/user"));
    }
    v.push(PathBuf::from("/run/systemd/user"));
    if let Some(r) = &runtime {
        v.push(r.join("systemd/generator"));
    }
    v.push(data.join("systemd/user"));
    v.extend(data_dirs.iter().map(|d| d.join("systemd/user")));
    v.push(PathBuf::from("/usr/local/lib/systemd/user"));
    v.push(PathBuf::from("/usr/lib/systemd/user"));
    if let Some(r) = &runtime {
        v.push(r.join("systemd/generator.late"));
    }
    v
}

impl LookupPaths {
    /// The default search path of `scope` under `root`.
    ///
    /// # Ambient authority
    /// For [`Scope::User`] the path depends on `$HOME` and the `$XDG_*` variables of this
    /// process, as the user manager's does.
    pub fn new(scope: Scope, root: &Path) -> Self {
        let search_path = match scope {
            Scope::System => SYSTEM_UNIT_PATH.iter().map(PathBuf::from).collect(),
            Scope::User => user_unit_path(),
        };
        Self {
            root: root.to_path_buf(),
            search_path,
            scope,
        }
    }

    /// A search path given like `$SYSTEMD_UNIT_PATH`: colon-separated directories; a
    /// trailing (or empty) component appends the default search path.
    pub fn from_unit_path(scope: Scope, root: &Path, unit_path: &str) -> Self {
        let mut search_path: Vec<PathBuf> = unit_path
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from)
            .collect();
        if unit_path.is_empty() || unit_path.ends_with(':') {
            for p in Self::new(scope, root).search_path {
                if !search_path.contains(&p) {
                    search_path.push(p);
                }
            }
        }
        Self {
            root: root.to_path_buf(),
            search_path,
            scope,
        }
    }

    /// Where a search-path entry really is on this machine (`root` + entry).
    pub fn host_path(&self, p: &Path) -> PathBuf {
        join_root(&self.root, p)
    }
}

/// `root` + `p`, with `p`'s `..` components resolved lexically and never leaving `root`.
fn join_root(root: &Path, p: &Path) -> PathBuf {
    let mut rel = PathBuf::new();
    for c in p.components() {
        match c {
            Component::Normal(n) => rel.push(n),
            Component::ParentDir => {
                rel.pop();
            }
            _ => {}
        }
    }
    root.join(rel)
}

/// The files that make up one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UnitFiles {
    /// The unit's primary name (an alias resolves to the name of its target).
    pub name: UnitName,
    /// The main unit file (host path), if there is one.
    pub fragment: Option<PathBuf>,
    /// Masked: a symlink to `/dev/null` or an empty file.
    pub masked: bool,
    /// The primary name first, then every alias.
    pub names: Vec<UnitName>,
    /// Drop-in `*.conf` files (host paths) in the order they are applied.
    pub dropins: Vec<PathBuf>,
    /// Units named by `.wants/` directories.
    pub wants: Vec<UnitName>,
    /// Units named by `.requires/` directories.
    pub requires: Vec<UnitName>,
    /// The fragment is the template's (`foo@.service` for `foo@bar.service`).
    pub from_template: bool,
    /// Warnings found on the way (invalid aliases, bad `.wants/` entries).
    pub diagnostics: Vec<Diagnostic>,
}

/// Scanning the search path failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A search directory exists but cannot be read.
    #[error("cannot read unit directory {}", .path.display())]
    ReadDir {
        /// The directory (host path).
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What one name maps to.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Entry {
    /// A fragment file (host path).
    Fragment(PathBuf),
    /// A symlink to `/dev/null`.
    Masked,
}

/// The name map of one search path, built once by [`UnitLookup::scan`].
#[derive(Debug, Clone)]
pub struct UnitLookup {
    paths: LookupPaths,
    /// Host paths of the search directories that exist.
    dirs: Vec<PathBuf>,
    /// name -> fragment, first directory wins.
    ids: std::collections::HashMap<
        UnitName,
        Entry,
        std::hash::BuildHasherDefault<crate::model::directive::Fnv>,
    >,
    /// target name -> alias names.
    aliases: BTreeMap<UnitName, BTreeSet<UnitName>>,
    /// alias name -> target name.
    alias_of: BTreeMap<UnitName, UnitName>,
    /// Every `X.d`, `X.wants`, `X.requires` directory found (host paths).
    /// Every `X.d`, `X.wants`, `X.requires` directory name → bit mask of the indexes (in
    /// `dirs`) of the search directories that have it.
    aux_dirs: std::collections::HashMap<
        String,
        u128,
        std::hash::BuildHasherDefault<crate::model::directive::Fnv>,
    >,
    diagnostics: Vec<Diagnostic>,
}

const DEV_NULL: &str = "/dev/null";

/// Resolves `link` (a host path inside `root`) to its final target inside `root`.
/// Returns the first hop's target file name and the final host path.
/// Follows the symlink `link` (a host path inside `root`) to its final target inside `root`.
/// Returns the first hop's target file name, the final host path and its metadata (`None`
/// for `/dev/null`). `link` is known to be a symlink (from the directory listing), so the
/// first hop needs no `lstat`.
fn chase(root: &Path, link: &Path) -> Option<(String, PathBuf, Option<fs::Metadata>)> {
    let mut cur = link.to_path_buf();
    let mut first: Option<String> = None;
    for hop in 0..32 {
        if hop > 0 {
            let meta = fs::symlink_metadata(&cur).ok()?;
            if !meta.file_type().is_symlink() {
                return Some((first.unwrap_or_default(), cur, Some(meta)));
            }
        }
        let target = fs::read_link(&cur).ok()?;
        if first.is_none() {
            first = target.file_name().map(|f| f.to_string_lossy().into_owned());
        }
        if target == Path::new(DEV_NULL) {
            return Some((first.unwrap_or_default(), PathBuf::from(DEV_NULL), None));
        }
        let inside = if target.is_absolute() {
            target
        } else {
            let parent = cur.parent()?.strip_prefix(root).ok()?.to_path_buf();
            Path::new("/").join(parent).join(target)
        };
        // normalise inside the root: `..` never leaves it
        let mut norm = PathBuf::from("/");
        for c in inside.components() {
            match c {
                Component::ParentDir => {
                    norm.pop();
                }
                Component::Normal(n) => norm.push(n),
                _ => {}
            }
        }
        if norm == Path::new(DEV_NULL) {
            return Some((first.unwrap_or_default(), PathBuf::from(DEV_NULL), None));
        }
        cur = join_root(root, &norm);
    }
    None
}

/// Why an alias symlink is refused (`unit_validate_alias_symlink_and_warn`).
fn validate_alias(alias: &UnitName, target: &str) -> Result<UnitName, String> {
    let Ok(t) = UnitName::new(target) else {
        return Err(format!(
            "{alias}: symlink target name \"{target}\" is not a valid unit name, rejecting"
        ));
    };
    if t.unit_type() != alias.unit_type() {
        return Err(format!(
            "{alias}: symlink target name type \"{t}\" does not match source, rejecting."
        ));
    }
    if alias.unit_type() == UnitType::Slice {
        return Err(format!("{alias}: cannot alias slice units, rejecting."));
    }
    let ok = (alias.is_template() && t.is_template())
        || (!alias.is_template() && !alias.is_instance() && !t.is_template() && !t.is_instance())
        || (alias.is_instance() && t.is_template());
    if !ok {
        return Err(format!(
            "{alias}: symlink target name \"{t}\" is not of the same kind (template/instance), rejecting."
        ));
    }
    Ok(t)
}

impl UnitLookup {
    /// Reads every search directory once.
    ///
    /// # Errors
    /// [`LookupError::ReadDir`] when a search directory exists but cannot be listed.
    pub fn scan(paths: &LookupPaths) -> Result<Self, LookupError> {
        let mut me = Self {
            paths: paths.clone(),
            dirs: Vec::new(),
            ids: std::collections::HashMap::default(),
            aliases: BTreeMap::new(),
            alias_of: BTreeMap::new(),
            aux_dirs: std::collections::HashMap::default(),
            diagnostics: Vec::new(),
        };
        for sp in &paths.search_path {
            let dir = paths.host_path(sp);
            let rd = match fs::read_dir(&dir) {
                Ok(rd) => rd,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => continue,
                Err(source) => return Err(LookupError::ReadDir { path: dir, source }),
            };
            if me.dirs.contains(&dir) {
                continue;
            }
            if me.dirs.len() >= 128 {
                break;
            }
            me.dirs.push(dir.clone());
            // The entry type comes with the directory listing (no stat per entry).
            let mut entries: Vec<(String, PathBuf, Option<fs::FileType>)> = rd
                .flatten()
                .filter_map(|e| {
                    let t = e.file_type().ok();
                    e.file_name().into_string().ok().map(|n| (n, e.path(), t))
                })
                .collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            for (fname, path, ftype) in entries {
                me.scan_entry(&fname, &path, ftype);
            }
        }
        Ok(me)
    }

    fn scan_entry(&mut self, fname: &str, path: &Path, ftype: Option<fs::FileType>) {
        for suffix in [".d", ".wants", ".requires"] {
            if !fname.ends_with(suffix) {
                continue;
            }
            let is_dir = match ftype {
                Some(t) if !t.is_symlink() => t.is_dir(),
                _ => path.is_dir(),
            };
            if is_dir {
                let bit = 1u128 << (self.dirs.len() - 1);
                *self.aux_dirs.entry(fname.to_owned()).or_default() |= bit;
                return;
            }
        }
        let Ok(name) = UnitName::new(fname) else {
            return;
        };
        if self.ids.contains_key(&name) {
            return;
        }
        let ftype = match ftype {
            Some(t) => t,
            None => match fs::symlink_metadata(path) {
                Ok(m) => m.file_type(),
                Err(_) => return,
            },
        };
        if !ftype.is_symlink() {
            if ftype.is_file() {
                // An empty file masks the unit; the loader sees that when it reads it.
                self.ids.insert(name, Entry::Fragment(path.to_path_buf()));
            }
            return;
        }
        let Some((first, fin, fin_meta)) = chase(&self.paths.root, path) else {
            self.diagnostics.push(Diagnostic::warning(
                Some(path),
                0,
                format!("{name}: failed to resolve symlink, ignoring."),
            ));
            return;
        };
        let Some(fin_meta) = fin_meta else {
            // A link to /dev/null masks the unit.
            self.ids.insert(name, Entry::Masked);
            return;
        };
        if !fin_meta.is_file() {
            return;
        }
        if fin_meta.len() == 0 {
            self.ids.insert(name, Entry::Masked);
            return;
        }
        if first == fname {
            // a linked unit file with the same name elsewhere
            self.ids.insert(name, Entry::Fragment(fin));
            return;
        }
        match validate_alias(&name, &first) {
            Ok(target) => {
                self.ids.insert(name.clone(), Entry::Fragment(fin));
                self.aliases
                    .entry(target.clone())
                    .or_default()
                    .insert(name.clone());
                self.alias_of.insert(name, target);
            }
            Err(m) => self.diagnostics.push(Diagnostic::warning(Some(path), 0, m)),
        }
    }

    /// The search path this map was built from.
    pub fn paths(&self) -> &LookupPaths {
        &self.paths
    }

    /// Every unit name that has a file (fragment, alias or mask) in the search path.
    pub fn names(&self) -> impl Iterator<Item = &UnitName> {
        let mut v: Vec<&UnitName> = self.ids.keys().collect();
        v.sort_unstable();
        v.into_iter()
    }

    /// Warnings from scanning (invalid alias symlinks, unresolvable links).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        &self.diagnostics
    }

    /// Everything the loader needs for `name`.
    ///
    /// A name without any file resolves with `fragment: None` (systemd: "not-found");
    /// `.d/` drop-ins still apply to such a unit, as in systemd.
    ///
    /// # Errors
    /// None today; the `Result` leaves room for I/O errors on drop-in directories.
    pub fn resolve(&self, name: &UnitName) -> Result<UnitFiles, LookupError> {
        self.resolve_inner(name, true)
    }

    /// [`UnitLookup::resolve`] without the check for an empty fragment (the loader sees that
    /// when it reads the file, saving a `stat` per unit).
    pub(crate) fn resolve_for_load(&self, name: &UnitName) -> Result<UnitFiles, LookupError> {
        self.resolve_inner(name, false)
    }

    fn resolve_inner(&self, name: &UnitName, check_empty: bool) -> Result<UnitFiles, LookupError> {
        let mut diagnostics = Vec::new();
        let mut from_template = false;
        let mut masked = false;
        let mut entry = self.ids.get(name).cloned();
        if entry.is_none() {
            if let Some(t) = name.template() {
                entry = self.ids.get(&t).cloned();
                from_template = entry.is_some();
            }
        }
        let fragment = match entry {
            Some(Entry::Fragment(p)) => {
                // An empty file masks the unit, like a symlink to /dev/null.
                if check_empty && fs::metadata(&p).is_ok_and(|m| m.len() == 0) {
                    masked = true;
                    None
                } else {
                    Some(p)
                }
            }
            Some(Entry::Masked) => {
                masked = true;
                None
            }
            None => None,
        };

        // The primary name: an alias resolves to its target (instances keep their instance).
        let mut primary = name.clone();
        if let (None, Some(inst), Some(tmpl)) =
            (self.alias_of.get(name), name.instance(), name.template())
        {
            // An instance of an aliased template is that instance of the target template
            // (`autovt@tty1.service` is `getty@tty1.service`).
            if let Some(t) = self.alias_of.get(&tmpl) {
                if let Ok(p) = t.with_instance(inst) {
                    primary = p;
                }
            }
        }
        if let Some(t) = self.alias_of.get(name) {
            primary = if t.is_template() {
                name.instance()
                    .and_then(|i| t.with_instance(i).ok())
                    .unwrap_or_else(|| t.clone())
            } else {
                t.clone()
            };
        }
        let mut names = vec![primary.clone()];
        let add_aliases = |n: &UnitName, names: &mut Vec<UnitName>| {
            if let Some(set) = self.aliases.get(n) {
                for a in set {
                    if !names.contains(a) {
                        names.push(a.clone());
                    }
                }
            }
        };
        add_aliases(&primary, &mut names);
        if let Some(t) = primary.template() {
            // aliases of the template apply to the instance with the same instance
            if let Some(set) = self.aliases.get(&t) {
                for a in set {
                    if let Some(inst) = primary.instance().and_then(|i| a.with_instance(i).ok()) {
                        if !names.contains(&inst) {
                            names.push(inst);
                        }
                    }
                }
            }
        }
        if !names.contains(name) {
            names.push(name.clone());
        }

        let candidates: Vec<Vec<String>> = names
            .iter()
            .map(|n| {
                let mut c = Vec::new();
                dir_candidates(n, &mut c);
                c
            })
            .collect();
        let dropin_dirs = self.find_dirs_in(&names, &candidates, ".d");
        let dropins = collect_confs(&dropin_dirs);
        let wants = self.collect_deps(&names, &candidates, ".wants", &primary, &mut diagnostics);
        let requires =
            self.collect_deps(&names, &candidates, ".requires", &primary, &mut diagnostics);
        Ok(UnitFiles {
            name: primary,
            fragment,
            masked,
            names,
            dropins,
            wants,
            requires,
            from_template,
            diagnostics,
        })
    }

    /// The existing `X<suffix>` directories for all names, in systemd's order: per name, per
    /// search directory: the name, its template, its dash prefixes; then the type-level dir.
    /// The existing `X{suffix}` directories for `names` (whose drop-in candidate names are
    /// `all`, see [`dir_candidates`]), in 248's order, then the type-wide one.
    fn find_dirs_in(&self, names: &[UnitName], all: &[Vec<String>], suffix: &str) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if self.aux_dirs.is_empty() {
            return out;
        }
        let mut key = String::new();
        let mut masks: Vec<(usize, u128)> = Vec::new();
        for candidates in all {
            // One lookup per candidate name: the bit mask of the directories that have it.
            masks.clear();
            for (i, c) in candidates.iter().enumerate() {
                key.clear();
                key.push_str(c);
                key.push_str(suffix);
                if let Some(&m) = self.aux_dirs.get(key.as_str()) {
                    masks.push((i, m));
                }
            }
            if masks.is_empty() {
                continue;
            }
            for idx in 0..self.dirs.len() {
                for &(i, m) in &masks {
                    if m & (1u128 << idx) != 0 {
                        let p = self.dirs[idx].join(format!("{}{suffix}", candidates[i]));
                        if !out.contains(&p) {
                            out.push(p);
                        }
                    }
                }
            }
        }
        if let Some(n) = names.first() {
            for idx in 0..self.dirs.len() {
                key.clear();
                key.push_str(n.unit_type().as_str());
                key.push_str(suffix);
                self.push_if_exists(idx, &key, &mut out);
            }
        }
        out
    }

    fn push_if_exists(&self, idx: usize, key: &str, out: &mut Vec<PathBuf>) {
        if self
            .aux_dirs
            .get(key)
            .is_some_and(|m| m & (1u128 << idx) != 0)
        {
            let p = self.dirs[idx].join(key);
            if !out.contains(&p) {
                out.push(p);
            }
        }
    }

    fn collect_deps(
        &self,
        names: &[UnitName],
        candidates: &[Vec<String>],
        suffix: &str,
        unit: &UnitName,
        diagnostics: &mut Vec<Diagnostic>,
    ) -> Vec<UnitName> {
        let mut out: Vec<UnitName> = Vec::new();
        for d in self.find_dirs_in(names, candidates, suffix) {
            let Ok(rd) = fs::read_dir(&d) else { continue };
            let mut entries: Vec<String> = rd
                .flatten()
                .filter_map(|e| e.file_name().into_string().ok())
                .collect();
            entries.sort();
            for e in entries {
                let Ok(mut dep) = UnitName::new(&e) else {
                    diagnostics.push(Diagnostic::warning(
                        Some(&d.join(&e)),
                        0,
                        format!(
                            "{suffix} dependency dropin {e} is not a valid unit name, ignoring."
                        ),
                    ));
                    continue;
                };
                if dep.is_template() {
                    match unit.instance().map(|i| dep.with_instance(i)) {
                        Some(Ok(inst)) => dep = inst,
                        _ => {
                            diagnostics.push(Diagnostic::warning(
                                Some(&d.join(&e)),
                                0,
                                format!("{unit}: {suffix} dependency {e} is a template, but unit is not an instance, ignoring."),
                            ));
                            continue;
                        }
                    }
                }
                if !out.contains(&dep) {
                    out.push(dep);
                }
            }
        }
        out
    }
}

/// `conf_files_list`: every `*.conf` of `dirs`, sorted by file name; for equal names the
/// first directory wins.
/// The names whose `X.d/` (etc.) directories apply to `n`, most specific first, as 248's
/// `unit_file_find_dirs`: the name, its template (for an instance), then the dash prefixes
/// (`a-b-c.service` → `a-b-.service` → `a-.service`), each recursively.
fn dir_candidates(n: &UnitName, out: &mut Vec<String>) {
    let name = n.as_str();
    if !out.iter().any(|c| c == name) {
        out.push(name.to_owned());
    }
    if n.is_instance() {
        if let Some(t) = n.template() {
            dir_candidates(&t, out);
        }
    }
    let prefix = n.prefix();
    let ext = &name[name.rfind('.').unwrap_or(name.len())..];
    let head = prefix.strip_suffix('-').unwrap_or(prefix);
    if let Some(dash) = head.rfind('-') {
        let candidate = format!("{}{ext}", &head[..=dash]);
        if candidate != name {
            if let Ok(c) = UnitName::new(&candidate) {
                dir_candidates(&c, out);
            }
        }
    }
}

fn collect_confs(dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut by_name: BTreeMap<String, (PathBuf, bool)> = BTreeMap::new();
    for d in dirs {
        let Ok(rd) = fs::read_dir(d) else { continue };
        for e in rd.flatten() {
            let Ok(n) = e.file_name().into_string() else {
                continue;
            };
            if !n.ends_with(".conf") {
                continue;
            }
            // A drop-in masked by a symlink to /dev/null is skipped (but still shadows).
            let is_link = e.file_type().is_ok_and(|t| t.is_symlink());
            by_name.entry(n).or_insert((e.path(), is_link));
        }
    }
    by_name
        .into_values()
        .filter(|(p, is_link)| {
            !is_link || fs::read_link(p).map_or(true, |t| t != Path::new(DEV_NULL))
        })
        .map(|(p, _)| p)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn un(s: &str) -> UnitName {
        UnitName::new(s).unwrap()
    }

    fn tree() -> (tempfile::TempDir, LookupPaths) {
        let t = tempfile::tempdir().unwrap();
        let etc = t.path().join("etc/systemd/system");
        let lib = t.path().join("lib/systemd/system");
        fs::create_dir_all(&etc).unwrap();
        fs::create_dir_all(&lib).unwrap();
        let paths = LookupPaths::new(Scope::System, t.path());
        (t, paths)
    }

    fn write(p: &Path, s: &str) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, s).unwrap();
    }

    #[test]
    fn first_directory_wins_and_masks() {
        let (t, paths) = tree();
        let etc = t.path().join("etc/systemd/system");
        let lib = t.path().join("lib/systemd/system");
        write(&lib.join("a.service"), "[Service]\n");
        write(&etc.join("a.service"), "[Service]\nX=1\n");
        write(&lib.join("b.service"), "[Service]\n");
        symlink("/dev/null", etc.join("b.service")).unwrap();
        write(&lib.join("c.service"), "");
        let l = UnitLookup::scan(&paths).unwrap();
        assert_eq!(
            l.resolve(&un("a.service")).unwrap().fragment,
            Some(etc.join("a.service"))
        );
        let b = l.resolve(&un("b.service")).unwrap();
        assert!(b.masked && b.fragment.is_none());
        assert!(l.resolve(&un("c.service")).unwrap().masked);
        let none = l.resolve(&un("nope.service")).unwrap();
        assert!(none.fragment.is_none() && !none.masked);
    }

    #[test]
    fn aliases_and_templates() {
        let (t, paths) = tree();
        let etc = t.path().join("etc/systemd/system");
        let lib = t.path().join("lib/systemd/system");
        write(&lib.join("real.service"), "[Service]\n");
        symlink(
            "/lib/systemd/system/real.service",
            etc.join("alias.service"),
        )
        .unwrap();
        symlink("real.service", lib.join("bad.socket")).unwrap();
        write(&lib.join("getty@.service"), "[Service]\n");
        let l = UnitLookup::scan(&paths).unwrap();
        let a = l.resolve(&un("alias.service")).unwrap();
        assert_eq!(a.name, un("real.service"));
        assert_eq!(a.names, [un("real.service"), un("alias.service")]);
        assert_eq!(a.fragment, Some(lib.join("real.service")));
        let r = l.resolve(&un("real.service")).unwrap();
        assert_eq!(r.names, [un("real.service"), un("alias.service")]);
        assert_eq!(l.diagnostics().len(), 1, "{:?}", l.diagnostics());
        let g = l.resolve(&un("getty@tty1.service")).unwrap();
        assert!(g.from_template);
        assert_eq!(g.fragment, Some(lib.join("getty@.service")));
    }

    #[test]
    fn alias_validation_table() {
        // test-unit-file.c: test_unit_validate_alias_symlink_and_warn
        let ok = |a: &str, b: &str| validate_alias(&un(a), b).is_ok();
        assert!(ok("a.service", "b.service"));
        assert!(!ok("a.service", "b"));
        assert!(!ok("a.service", "b.socket"));
        assert!(!ok("a.service", "b.foobar"));
        assert!(ok("a@.service", "b@.service"));
        assert!(!ok("a@.service", "b@.socket"));
        assert!(!ok("a@XXX.service", "b@YYY.service"));
        assert!(!ok("a@XXX.service", "b@YYY.socket"));
        assert!(!ok("a@.service", "b@YYY.service"));
        assert!(ok("a@XXX.service", "a@.service"));
        assert!(ok("a@XXX.service", "b@.service"));
        assert!(!ok("a@.service", "b.service"));
        assert!(!ok("a.service", "b@.service"));
        assert!(!ok("a@.slice", "b.slice"));
        assert!(!ok("a.slice", "b.slice"));
    }

    // The scenarios of TEST-15-DROPIN (testsuite-15.sh), on a temporary tree.
    #[test]
    fn dropin_order_and_hierarchy() {
        let (t, paths) = tree();
        let etc = t.path().join("etc/systemd/system");
        let lib = t.path().join("lib/systemd/system");
        write(&lib.join("a-b-c.service"), "[Service]\n");
        write(&lib.join("service.d/10-top.conf"), "");
        write(&lib.join("a-.service.d/20-a.conf"), "");
        write(&lib.join("a-b-.service.d/30-ab.conf"), "");
        write(&lib.join("a-b-c.service.d/40-abc.conf"), "");
        write(&lib.join("a-b-c.service.d/20-a.conf"), "");
        write(&etc.join("a-b-c.service.d/50-etc.conf"), "");
        write(&etc.join("a-.service.d/40-abc.conf"), "");
        write(&etc.join("a-b-c.service.d/not-a-conf"), "");
        let l = UnitLookup::scan(&paths).unwrap();
        let f = l.resolve(&un("a-b-c.service")).unwrap();
        let rel: Vec<String> = f
            .dropins
            .iter()
            .map(|p| p.strip_prefix(t.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(
            rel,
            [
                "lib/systemd/system/service.d/10-top.conf",
                // same name in a-b-c.service.d (more specific, lib) beats a-.service.d (lib)
                "lib/systemd/system/a-b-c.service.d/20-a.conf",
                "lib/systemd/system/a-b-.service.d/30-ab.conf",
                // /etc comes first in the search path, and wins over /lib for equal names
                "etc/systemd/system/a-.service.d/40-abc.conf",
                "etc/systemd/system/a-b-c.service.d/50-etc.conf",
            ]
        );
    }

    #[test]
    fn template_dropins_and_wants() {
        let (t, paths) = tree();
        let lib = t.path().join("lib/systemd/system");
        write(&lib.join("getty@.service"), "[Service]\n");
        write(&lib.join("getty@.service.d/10-t.conf"), "");
        write(&lib.join("getty@tty2.service.d/20-i.conf"), "");
        fs::create_dir_all(lib.join("getty@.service.wants")).unwrap();
        symlink(
            "/lib/systemd/system/helper@.service",
            lib.join("getty@.service.wants/helper@.service"),
        )
        .unwrap();
        fs::create_dir_all(lib.join("multi-user.target.wants")).unwrap();
        symlink(
            "/lib/systemd/system/getty@.service",
            lib.join("multi-user.target.wants/getty@tty1.service"),
        )
        .unwrap();
        symlink("/x", lib.join("multi-user.target.wants/not a unit")).unwrap();
        let l = UnitLookup::scan(&paths).unwrap();
        let g = l.resolve(&un("getty@tty2.service")).unwrap();
        assert_eq!(g.dropins.len(), 2);
        assert!(g.dropins[0].ends_with("getty@.service.d/10-t.conf"));
        assert_eq!(g.wants, [un("helper@tty2.service")]);
        let m = l.resolve(&un("multi-user.target")).unwrap();
        assert_eq!(m.wants, [un("getty@tty1.service")]);
        assert_eq!(m.diagnostics.len(), 1);
    }

    #[test]
    fn unit_path_env() {
        let p = LookupPaths::from_unit_path(Scope::System, Path::new("/"), "/a:/b:");
        assert_eq!(
            p.search_path[..2],
            [PathBuf::from("/a"), PathBuf::from("/b")]
        );
        assert_eq!(p.search_path.len(), 2 + SYSTEM_UNIT_PATH.len());
        let p = LookupPaths::from_unit_path(Scope::System, Path::new("/"), "/a");
        assert_eq!(p.search_path, [PathBuf::from("/a")]);
    }

    #[test]
    fn symlinks_stay_inside_root() {
        let (t, paths) = tree();
        let etc = t.path().join("etc/systemd/system");
        let lib = t.path().join("lib/systemd/system");
        write(&lib.join("x.service"), "[Service]\n");
        symlink(
            "../../../../../../lib/systemd/system/x.service",
            etc.join("y.service"),
        )
        .unwrap();
        let l = UnitLookup::scan(&paths).unwrap();
        assert_eq!(
            l.resolve(&un("y.service")).unwrap().fragment,
            Some(lib.join("x.service"))
        );
    }
}
