//! `oomd.conf` and its drop-ins (`oomd.conf.d/*.conf`), section `[OOM]`.
//!
//! Files are lexed with keel-unit's lexer; values use keel-core's permyriad and time
//! parsers. Bad values and unknown keys are warnings (`file:line: …`) and leave the
//! previous value in place, as systemd's `config_parse()` does; an unreadable or
//! unlexable file is an error.
//!
//! # References
//! - oomd.conf(5)

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use keel_core::size::{Permyriad, parse_permyriad};
use keel_core::time::{Usec, parse_sec};
use keel_unit::diag::Diagnostic;
use keel_unit::lex::{Item, LexError, lex};

use crate::policy::{
    DEFAULT_MEMORY_PRESSURE_DURATION, DEFAULT_MEMORY_PRESSURE_LIMIT, DEFAULT_SWAP_USED_LIMIT,
};

/// The `[OOM]` settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OomdConfig {
    /// `SwapUsedLimit=`.
    #[doc(alias = "SwapUsedLimit=")]
    pub swap_used_limit: Permyriad,
    /// `DefaultMemoryPressureLimit=`.
    #[doc(alias = "DefaultMemoryPressureLimit=")]
    pub default_memory_pressure_limit: Permyriad,
    /// `DefaultMemoryPressureDurationSec=` (0 is turned into the 30 s default).
    #[doc(alias = "DefaultMemoryPressureDurationSec=")]
    pub default_memory_pressure_duration: Usec,
}

impl Default for OomdConfig {
    fn default() -> Self {
        Self {
            swap_used_limit: DEFAULT_SWAP_USED_LIMIT,
            default_memory_pressure_limit: DEFAULT_MEMORY_PRESSURE_LIMIT,
            default_memory_pressure_duration: DEFAULT_MEMORY_PRESSURE_DURATION,
        }
    }
}

/// A configuration file could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadConfigError {
    /// The file or drop-in directory could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The lexer refused the file.
    #[error("cannot parse oomd configuration")]
    Lex(#[source] LexError),
}

/// Applies the text of one file to `cfg`, appending warnings to `diags`.
///
/// # Errors
/// [`LoadConfigError::Lex`] when the lexer refuses the file.
pub fn apply_text(
    cfg: &mut OomdConfig,
    text: &[u8],
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Result<(), LoadConfigError> {
    let lexed = lex(text, Some(path)).map_err(LoadConfigError::Lex)?;
    diags.extend(lexed.diagnostics);
    let mut section: Option<String> = None;
    for item in lexed.items {
        let a = match item {
            Item::Section(s) => {
                if s.name != "OOM" {
                    diags.push(Diagnostic::warning(
                        Some(path),
                        s.line,
                        format!("unknown section '{}', ignoring", s.name),
                    ));
                }
                section = Some(s.name.into_owned());
                continue;
            }
            Item::Assignment(a) => a,
        };
        let warn =
            |msg: String| Diagnostic::warning(Some(path), a.line, msg).at_column(a.value_column);
        match section.as_deref() {
            Some("OOM") => {}
            None => {
                diags.push(warn(format!(
                    "assignment outside of section, ignoring: {}",
                    a.key
                )));
                continue;
            }
            Some(_) => continue, // already warned about the section
        }
        let value = a.value.as_ref();
        match a.key.as_ref() {
            "SwapUsedLimit" | "DefaultMemoryPressureLimit" => {
                let slot = if a.key == "SwapUsedLimit" {
                    &mut cfg.swap_used_limit
                } else {
                    &mut cfg.default_memory_pressure_limit
                };
                if value.is_empty() {
                    *slot = if a.key == "SwapUsedLimit" {
                        DEFAULT_SWAP_USED_LIMIT
                    } else {
                        DEFAULT_MEMORY_PRESSURE_LIMIT
                    };
                    continue;
                }
                match parse_permyriad(value).ok().and_then(Permyriad::new) {
                    Some(p) => *slot = p,
                    None => {
                        diags.push(warn(format!("failed to parse {}={value}, ignoring", a.key)))
                    }
                }
            }
            "DefaultMemoryPressureDurationSec" => {
                if value.is_empty() {
                    cfg.default_memory_pressure_duration = DEFAULT_MEMORY_PRESSURE_DURATION;
                    continue;
                }
                match parse_sec(value) {
                    Ok(u) => {
                        cfg.default_memory_pressure_duration = if u == Usec::ZERO {
                            DEFAULT_MEMORY_PRESSURE_DURATION
                        } else {
                            u
                        };
                    }
                    Err(e) => diags.push(warn(format!(
                        "failed to parse {}={value}, ignoring: {e}",
                        a.key
                    ))),
                }
            }
            other => diags.push(warn(format!(
                "unknown key '{other}' in section [OOM], ignoring"
            ))),
        }
    }
    Ok(())
}

/// The standard locations below `root` (normally `/`): the main file
/// `etc/systemd/oomd.conf` and the drop-in directories, highest priority first.
pub fn standard_paths(root: &Path) -> (PathBuf, Vec<PathBuf>) {
    let dirs = [
        "etc/systemd",
        "run/systemd",
        "usr/local/lib/systemd",
        "usr/lib/systemd",
    ]
    .iter()
    .map(|d| root.join(d).join("oomd.conf.d"))
    .collect();
    (root.join("etc/systemd/oomd.conf"), dirs)
}

/// Loads `main` (if it exists) and then the `*.conf` drop-ins of `dropin_dirs` (highest
/// priority first: a name in an earlier directory masks the same name later), applied in
/// order of file name. Returns the settings and the warnings.
///
/// # Errors
/// [`LoadConfigError`] for unreadable files or directories (missing ones are fine) and
/// files the lexer refuses.
pub fn load(
    main: &Path,
    dropin_dirs: &[PathBuf],
) -> Result<(OomdConfig, Vec<Diagnostic>), LoadConfigError> {
    let mut cfg = OomdConfig::default();
    let mut diags = Vec::new();
    let read = |p: &Path| match std::fs::read(p) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(source) => Err(LoadConfigError::Io {
            path: p.to_path_buf(),
            source,
        }),
    };
    if let Some(text) = read(main)? {
        apply_text(&mut cfg, &text, main, &mut diags)?;
    }
    let mut dropins: BTreeMap<OsString, PathBuf> = BTreeMap::new();
    for dir in dropin_dirs {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) if e.kind() == ErrorKind::NotFound => continue,
            Err(source) => {
                return Err(LoadConfigError::Io {
                    path: dir.clone(),
                    source,
                });
            }
        };
        for entry in entries {
            let entry = entry.map_err(|source| LoadConfigError::Io {
                path: dir.clone(),
                source,
            })?;
            let name = entry.file_name();
            if Path::new(&name).extension().is_some_and(|e| e == "conf") {
                dropins.entry(name).or_insert_with(|| entry.path());
            }
        }
    }
    for path in dropins.values() {
        if let Some(text) = read(path)? {
            apply_text(&mut cfg, &text, path, &mut diags)?;
        }
    }
    Ok((cfg, diags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str) -> (OomdConfig, Vec<Diagnostic>) {
        let mut cfg = OomdConfig::default();
        let mut d = Vec::new();
        apply_text(&mut cfg, text.as_bytes(), Path::new("oomd.conf"), &mut d).unwrap();
        (cfg, d)
    }

    #[test]
    fn defaults_and_values() {
        let (c, d) = apply("");
        assert_eq!(c, OomdConfig::default());
        assert_eq!(c.swap_used_limit.get(), 9000);
        assert_eq!(c.default_memory_pressure_limit.get(), 6000);
        assert_eq!(c.default_memory_pressure_duration, Usec::from_secs(30));
        assert!(d.is_empty());

        let (c, d) = apply(
            "[OOM]\nSwapUsedLimit=80%\nDefaultMemoryPressureLimit=12.34%\n\
             DefaultMemoryPressureDurationSec=5s\n",
        );
        assert_eq!(c.swap_used_limit.get(), 8000);
        assert_eq!(c.default_memory_pressure_limit.get(), 1234);
        assert_eq!(c.default_memory_pressure_duration, Usec::from_secs(5));
        assert!(d.is_empty(), "{d:?}");

        let (c, _) = apply(
            "[OOM]\nSwapUsedLimit=500‰\nDefaultMemoryPressureLimit=15‱\nDefaultMemoryPressureDurationSec=0\n",
        );
        assert_eq!(c.swap_used_limit.get(), 5000);
        assert_eq!(c.default_memory_pressure_limit.get(), 15);
        assert_eq!(c.default_memory_pressure_duration, Usec::from_secs(30));
    }

    #[test]
    fn warnings_name_file_and_line() {
        let (c, d) = apply(
            "Stray=1\n[OOM]\nSwapUsedLimit=101%\nDefaultMemoryPressureLimit=x\n\
             DefaultMemoryPressureDurationSec=forever\nBogus=1\n[Other]\nA=b\n",
        );
        assert_eq!(c, OomdConfig::default());
        let lines: Vec<u32> = d.iter().map(|d| d.line).collect();
        assert_eq!(lines, [1, 3, 4, 5, 6, 7]);
        assert!(
            d.iter()
                .all(|d| d.path.as_deref() == Some(Path::new("oomd.conf")))
        );
        assert!(
            d[1].message.contains("SwapUsedLimit=101%"),
            "{}",
            d[1].message
        );
        let mut cfg = OomdConfig::default();
        let e = apply_text(&mut cfg, b"[OOM\n", Path::new("x"), &mut Vec::new()).unwrap_err();
        assert!(matches!(e, LoadConfigError::Lex(_)));
        // Empty resets to the default.
        let (c, _) = apply("[OOM]\nSwapUsedLimit=10%\nSwapUsedLimit=\n");
        assert_eq!(c.swap_used_limit, DEFAULT_SWAP_USED_LIMIT);
    }

    #[test]
    fn dropins_in_order_and_masking() {
        let t = tempfile::tempdir().unwrap();
        let (main, dirs) = standard_paths(t.path());
        let (c, d) = load(&main, &dirs).unwrap();
        assert_eq!(c, OomdConfig::default());
        assert!(d.is_empty());
        std::fs::create_dir_all(&dirs[0]).unwrap();
        std::fs::create_dir_all(&dirs[3]).unwrap();
        std::fs::write(
            &main,
            "[OOM]\nSwapUsedLimit=50%\nDefaultMemoryPressureLimit=10%\n",
        )
        .unwrap();
        // usr/lib's 10-a.conf is masked by etc's 10-a.conf; 20-b.conf applies last.
        std::fs::write(dirs[3].join("10-a.conf"), "[OOM]\nSwapUsedLimit=1%\n").unwrap();
        std::fs::write(dirs[0].join("10-a.conf"), "[OOM]\nSwapUsedLimit=70%\n").unwrap();
        std::fs::write(
            dirs[3].join("20-b.conf"),
            "[OOM]\nDefaultMemoryPressureLimit=20%\n",
        )
        .unwrap();
        std::fs::write(dirs[0].join("ignored.txt"), "[OOM]\nSwapUsedLimit=2%\n").unwrap();
        let (c, d) = load(&main, &dirs).unwrap();
        assert_eq!(c.swap_used_limit.get(), 7000);
        assert_eq!(c.default_memory_pressure_limit.get(), 2000);
        assert!(d.is_empty(), "{d:?}");
    }
}
