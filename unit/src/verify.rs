//! Checking unit files given by path, as `systemd-analyze verify` does.
//!
//! Each file is loaded under its own name with its directory put first in the search path,
//! so its drop-ins (`NAME.d/`) and `.wants/` directories beside it are used and the units
//! it refers to resolve against the normal search path. A directory argument stands for
//! every unit file in it. A template (`foo@.service`) cannot be loaded by itself; it is
//! verified through an instance (`foo@<instance>.service`, instance `example` unless
//! [`VerifyOptions::template_instance`] says otherwise).

use std::path::{Path, PathBuf};

use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::UnitName;

use crate::diag::Diagnostic;
use crate::load::{LoadedUnit, UnitLoader};
use crate::lookup::{LookupError, LookupPaths, Scope, UnitLookup};
use crate::model::LoadState;

/// How to verify.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// System or user manager search paths.
    pub scope: Scope,
    /// Root directory the default search paths are taken under (`/` for the host).
    pub root: PathBuf,
    /// Instance used to verify template files.
    pub template_instance: String,
    /// Values for `%` specifiers.
    pub specifiers: SpecifierContext,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            scope: Scope::System,
            root: PathBuf::from("/"),
            template_instance: "example".into(),
            specifiers: SpecifierContext::default(),
        }
    }
}

/// The outcome of verifying some files.
#[derive(Debug)]
#[non_exhaustive]
pub struct VerifyReport {
    /// Every unit loaded, in argument order.
    pub units: Vec<LoadedUnit>,
    /// Diagnostics about the arguments themselves (not unit files, unreadable directories).
    pub diagnostics: Vec<Diagnostic>,
}

impl VerifyReport {
    /// True when no unit failed to load and no diagnostic is an error.
    pub fn is_ok(&self) -> bool {
        self.diagnostics.iter().all(|d| !d.is_error())
            && self.units.iter().all(|u| {
                u.unit.load_state == LoadState::Loaded
                    && u.diagnostics.iter().all(|d| !d.is_error())
            })
    }

    /// Every diagnostic, argument-level ones first, then unit by unit.
    pub fn all_diagnostics(&self) -> impl Iterator<Item = &Diagnostic> {
        self.diagnostics
            .iter()
            .chain(self.units.iter().flat_map(|u| u.diagnostics.iter()))
    }
}

/// Verifying could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A path argument could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The argument.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// Scanning the search path failed.
    #[error("cannot scan the unit search path")]
    Lookup(#[from] LookupError),
}

/// One unit file named on the command line (or found in a directory argument).
struct Target {
    dir: PathBuf,
    name: UnitName,
}

fn collect_targets(
    paths: &[PathBuf],
    diagnostics: &mut Vec<Diagnostic>,
) -> Result<Vec<Target>, VerifyError> {
    let mut targets = Vec::new();
    for path in paths {
        let meta = std::fs::metadata(path).map_err(|source| VerifyError::Read {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            let mut names: Vec<(String, PathBuf)> = std::fs::read_dir(path)
                .map_err(|source| VerifyError::Read {
                    path: path.clone(),
                    source,
                })?
                .flatten()
                .filter(|e| e.path().is_file())
                .filter_map(|e| e.file_name().into_string().ok().map(|n| (n, e.path())))
                .collect();
            names.sort();
            for (n, _) in names {
                if let Ok(name) = UnitName::new(&n) {
                    targets.push(Target {
                        dir: path.clone(),
                        name,
                    });
                }
            }
        } else {
            let file = path
                .file_name()
                .and_then(|f| f.to_str())
                .unwrap_or_default();
            match UnitName::new(file) {
                Ok(name) => targets.push(Target {
                    dir: path
                        .parent()
                        .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
                    name,
                }),
                Err(e) => diagnostics.push(Diagnostic::error(
                    Some(path),
                    0,
                    format!("not a valid unit file name: {e}"),
                )),
            }
        }
    }
    Ok(targets)
}

/// Loads every unit file in `paths` (files or directories) and reports what systemd 248
/// would say about each.
///
/// # Errors
/// [`VerifyError`] when an argument cannot be read or the search path cannot be scanned;
/// problems *in* unit files are diagnostics in the report, not errors.
pub fn verify(paths: &[PathBuf], opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let mut diagnostics = Vec::new();
    let targets = collect_targets(paths, &mut diagnostics)?;

    // The argument directories first (absolute, deduplicated), then the defaults.
    let mut dirs: Vec<PathBuf> = Vec::new();
    for t in &targets {
        let abs = std::fs::canonicalize(&t.dir)
            .or_else(|_| std::path::absolute(&t.dir))
            .unwrap_or_else(|_| t.dir.clone());
        if !dirs.contains(&abs) {
            dirs.push(abs);
        }
    }
    let mut unit_path = dirs
        .iter()
        .map(|d| d.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(":");
    unit_path.push(':');
    let lookup_paths = LookupPaths::from_unit_path(opts.scope, &opts.root, &unit_path);
    let lookup = UnitLookup::scan(&lookup_paths)?;
    let loader = UnitLoader::new(lookup, opts.specifiers.clone());

    let mut units = Vec::new();
    for t in targets {
        let name = if t.name.is_template() {
            match t.name.with_instance(&opts.template_instance) {
                Ok(n) => n,
                Err(e) => {
                    diagnostics.push(Diagnostic::error(
                        Some(&t.dir.join(t.name.as_str())),
                        0,
                        format!("cannot instantiate template: {e}"),
                    ));
                    continue;
                }
            }
        } else {
            t.name
        };
        match loader.load(&name) {
            Ok(u) => units.push(u),
            Err(e) => diagnostics.push(Diagnostic::error(
                Some(&t.dir.join(name.as_str())),
                0,
                format!("failed to load {name}: {e}"),
            )),
        }
    }
    Ok(VerifyReport { units, diagnostics })
}
