//! Which cgroups keel-oomd watches, when no service manager tells it: `--watch` arguments
//! and `*.watch` files of a configuration directory.
//!
//! A `--watch` argument is `CGROUP[:KEY=VALUE]...` with the keys
//! `memory-pressure=kill|auto`, `limit=PERCENT` (`ManagedOOMMemoryPressureLimit=`),
//! `duration=TIMESPAN` (keel extension: per-cgroup `DefaultMemoryPressureDurationSec=`)
//! and `swap=kill|auto`. A bare `CGROUP` means `memory-pressure=kill`, as does giving a
//! `limit=` or `duration=`:
//!
//! ```
//! use keel_oom::watch::parse_watch_arg;
//! let w = parse_watch_arg("/workload.slice:limit=20%:duration=5s:swap=kill")?;
//! assert_eq!(w.cgroup, "/workload.slice");
//! assert_eq!(w.pressure.unwrap().limit.unwrap().get(), 2000);
//! assert!(w.swap);
//! # Ok::<(), keel_oom::watch::ParseWatchError>(())
//! ```
//!
//! A watch file (`DIR/*.watch`, read in file-name order, lexed with keel-unit's lexer) uses
//! the unit settings' names in a `[Watch]` section:
//!
//! ```ini
//! [Watch]
//! CGroup=/workload.slice
//! ManagedOOMMemoryPressure=kill
//! ManagedOOMMemoryPressureLimit=20%
//! MemoryPressureDurationSec=5s
//! ManagedOOMSwap=kill
//! ```

use std::collections::BTreeMap;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use keel_core::size::{Permyriad, parse_permyriad};
use keel_core::time::{Usec, parse_sec};
use keel_unit::diag::Diagnostic;
use keel_unit::lex::{Item, LexError, lex};
use serde::Serialize;

/// `ManagedOOMMemoryPressure=kill` with its settings.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PressureWatch {
    /// `ManagedOOMMemoryPressureLimit=`; `None` uses `DefaultMemoryPressureLimit=`.
    pub limit: Option<Permyriad>,
    /// How long pressure must stay above the limit; `None` uses
    /// `DefaultMemoryPressureDurationSec=`.
    pub duration: Option<Usec>,
}

/// One watched cgroup.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Watch {
    /// The cgroup path below the v2 mount (`/workload.slice`).
    pub cgroup: String,
    /// `ManagedOOMMemoryPressure=kill`.
    pub pressure: Option<PressureWatch>,
    /// `ManagedOOMSwap=kill`.
    pub swap: bool,
}

impl Watch {
    /// A watch of `cgroup` with nothing enabled.
    pub fn new(cgroup: impl Into<String>) -> Self {
        Self {
            cgroup: cgroup.into(),
            pressure: None,
            swap: false,
        }
    }

    /// Whether any mode is `kill`.
    pub fn is_active(&self) -> bool {
        self.pressure.is_some() || self.swap
    }
}

/// A `--watch` argument is malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseWatchError {
    /// The cgroup path is not absolute or contains `.`/`..`.
    #[error("invalid cgroup path {0:?} (want an absolute path below the cgroup2 mount)")]
    Cgroup(String),
    /// An option is not `KEY=VALUE` or its key is unknown.
    #[error("unknown watch option {0:?} (want memory-pressure=, limit=, duration= or swap=)")]
    Option(String),
    /// A value does not parse.
    #[error("invalid value {value:?} for {key}")]
    Value {
        /// The key.
        key: String,
        /// The value.
        value: String,
    },
}

fn valid_cgroup(cg: &str) -> bool {
    cg.starts_with('/') && !cg.split('/').any(|c| c == "." || c == "..")
}

fn parse_mode(v: &str) -> Option<bool> {
    match v {
        "kill" => Some(true),
        "auto" | "" => Some(false),
        _ => None,
    }
}

fn parse_limit(v: &str) -> Option<Permyriad> {
    parse_permyriad(v).ok().and_then(Permyriad::new)
}

/// Parses one `--watch` argument.
///
/// # Errors
/// [`ParseWatchError`] naming the bad part.
pub fn parse_watch_arg(arg: &str) -> Result<Watch, ParseWatchError> {
    let mut parts = arg.split(':');
    let cg = parts.next().unwrap_or_default();
    if !valid_cgroup(cg) {
        return Err(ParseWatchError::Cgroup(cg.to_owned()));
    }
    let mut w = Watch::new(cg);
    let mut pressure_mode = None;
    let mut p = PressureWatch::default();
    for opt in parts {
        let (k, v) = opt
            .split_once('=')
            .ok_or_else(|| ParseWatchError::Option(opt.to_owned()))?;
        let bad = || ParseWatchError::Value {
            key: k.to_owned(),
            value: v.to_owned(),
        };
        match k {
            "memory-pressure" => pressure_mode = Some(parse_mode(v).ok_or_else(bad)?),
            "swap" => w.swap = parse_mode(v).ok_or_else(bad)?,
            "limit" => p.limit = Some(parse_limit(v).ok_or_else(bad)?),
            "duration" => p.duration = Some(parse_sec(v).map_err(|_| bad())?),
            _ => return Err(ParseWatchError::Option(opt.to_owned())),
        }
    }
    // A bare cgroup, or one with pressure settings, watches pressure unless told otherwise.
    let implied = !w.swap || p != PressureWatch::default();
    if pressure_mode.unwrap_or(implied) {
        w.pressure = Some(p);
    }
    Ok(w)
}

/// A watch directory could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadWatchError {
    /// The directory or a file could not be read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The lexer refused a file.
    #[error("cannot parse watch file")]
    Lex(#[source] LexError),
}

/// Parses the text of one watch file. Unknown keys and bad values are warnings; a file
/// without a valid `CGroup=` gives no watch (and a warning).
///
/// # Errors
/// [`LoadWatchError::Lex`] when the lexer refuses the file.
pub fn parse_watch_file(
    text: &[u8],
    path: &Path,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<Watch>, LoadWatchError> {
    let lexed = lex(text, Some(path)).map_err(LoadWatchError::Lex)?;
    diags.extend(lexed.diagnostics);
    let mut w = Watch::new("");
    let mut p = PressureWatch::default();
    let mut pressure = false;
    let mut in_watch = false;
    for item in lexed.items {
        let a = match item {
            Item::Section(s) => {
                in_watch = s.name == "Watch";
                if !in_watch {
                    diags.push(Diagnostic::warning(
                        Some(path),
                        s.line,
                        format!("unknown section '{}', ignoring", s.name),
                    ));
                }
                continue;
            }
            Item::Assignment(a) => a,
        };
        if !in_watch {
            continue;
        }
        let v = a.value.as_ref();
        let warn = |diags: &mut Vec<Diagnostic>| {
            diags.push(
                Diagnostic::warning(
                    Some(path),
                    a.line,
                    format!("failed to parse {}={v}, ignoring", a.key),
                )
                .at_column(a.value_column),
            );
        };
        match a.key.as_ref() {
            "CGroup" if valid_cgroup(v) => w.cgroup = v.to_owned(),
            "ManagedOOMMemoryPressure" => match parse_mode(v) {
                Some(m) => pressure = m,
                None => warn(diags),
            },
            "ManagedOOMSwap" => match parse_mode(v) {
                Some(m) => w.swap = m,
                None => warn(diags),
            },
            "ManagedOOMMemoryPressureLimit" => match parse_limit(v) {
                Some(l) => p.limit = (l.get() > 0).then_some(l),
                None => warn(diags),
            },
            "MemoryPressureDurationSec" => match parse_sec(v) {
                Ok(d) => p.duration = (d != Usec::ZERO).then_some(d),
                Err(_) => warn(diags),
            },
            "CGroup" => warn(diags),
            other => diags.push(Diagnostic::warning(
                Some(path),
                a.line,
                format!("unknown key '{other}' in section [Watch], ignoring"),
            )),
        }
    }
    if w.cgroup.is_empty() {
        diags.push(Diagnostic::warning(
            Some(path),
            0,
            "no valid CGroup= in [Watch], ignoring the file",
        ));
        return Ok(None);
    }
    if pressure {
        w.pressure = Some(p);
    }
    Ok(Some(w))
}

/// Loads every `*.watch` file of `dir` in file-name order. A missing directory gives no
/// watches. Later files override earlier ones for the same cgroup.
///
/// # Errors
/// [`LoadWatchError`] for unreadable files or ones the lexer refuses.
pub fn load_watch_dir(dir: &Path) -> Result<(Vec<Watch>, Vec<Diagnostic>), LoadWatchError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadWatchError::Io { path, source }
    };
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok((Vec::new(), Vec::new())),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().is_some_and(|e| e == "watch") {
            files.push(path);
        }
    }
    files.sort();
    let mut diags = Vec::new();
    let mut out: BTreeMap<String, Watch> = BTreeMap::new();
    for f in &files {
        let text = std::fs::read(f).map_err(io(f))?;
        if let Some(w) = parse_watch_file(&text, f, &mut diags)? {
            out.insert(w.cgroup.clone(), w);
        }
    }
    Ok((out.into_values().collect(), diags))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pm(v: u32) -> Option<Permyriad> {
        Permyriad::new(v)
    }

    #[test]
    fn watch_args() {
        let w = parse_watch_arg("/a").unwrap();
        assert_eq!(w.pressure, Some(PressureWatch::default()));
        assert!(!w.swap);
        let w = parse_watch_arg("/a:swap=kill").unwrap();
        assert_eq!(w.pressure, None);
        assert!(w.swap);
        let w = parse_watch_arg("/a:swap=kill:memory-pressure=kill:limit=1.5%").unwrap();
        assert_eq!(w.pressure.unwrap().limit, pm(150));
        let w = parse_watch_arg("/a/b.service:duration=2s:limit=60%").unwrap();
        let p = w.pressure.unwrap();
        assert_eq!((p.limit, p.duration), (pm(6000), Some(Usec::from_secs(2))));
        assert!(
            !parse_watch_arg("/a:memory-pressure=auto")
                .unwrap()
                .is_active()
        );
        for bad in [
            "a",
            "/a/../b",
            "/a:limit=101%",
            "/a:x=1",
            "/a:swap",
            "/a:duration=x",
        ] {
            assert!(parse_watch_arg(bad).is_err(), "{bad}");
        }
        assert_eq!(
            parse_watch_arg("/a:limit=200%").unwrap_err().to_string(),
            "invalid value \"200%\" for limit"
        );
    }

    #[test]
    fn watch_dir_files() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(
            t.path().join("10-w.watch"),
            "[Watch]\nCGroup=/w.slice\nManagedOOMMemoryPressure=kill\n\
             ManagedOOMMemoryPressureLimit=20%\nMemoryPressureDurationSec=5s\n\
             ManagedOOMSwap=kill\nBogus=1\n",
        )
        .unwrap();
        std::fs::write(
            t.path().join("20-s.watch"),
            "[Watch]\nCGroup=/s.slice\nManagedOOMSwap=maybe\n",
        )
        .unwrap();
        std::fs::write(t.path().join("30-bad.watch"), "[Watch]\nCGroup=relative\n").unwrap();
        std::fs::write(t.path().join("ignored.conf"), "[Watch]\nCGroup=/x\n").unwrap();
        let (ws, diags) = load_watch_dir(t.path()).unwrap();
        assert_eq!(ws.len(), 2, "{ws:?}");
        let s = &ws[0];
        assert_eq!(s.cgroup, "/s.slice");
        assert!(!s.is_active());
        let w = &ws[1];
        assert_eq!(
            w.pressure,
            Some(PressureWatch {
                limit: pm(2000),
                duration: Some(Usec::from_secs(5)),
            })
        );
        assert!(w.swap);
        let msgs: Vec<String> = diags.iter().map(ToString::to_string).collect();
        assert!(
            msgs[0].ends_with("10-w.watch:7: unknown key 'Bogus' in section [Watch], ignoring")
        );
        assert!(msgs[1].ends_with("20-s.watch:3: failed to parse ManagedOOMSwap=maybe, ignoring"));
        assert!(msgs[2].ends_with("30-bad.watch:2: failed to parse CGroup=relative, ignoring"));
        assert_eq!(msgs.len(), 4, "{msgs:?}");
        assert!(
            load_watch_dir(&t.path().join("missing"))
                .unwrap()
                .0
                .is_empty()
        );
    }
}
