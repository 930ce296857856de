//! Pressure stall information: the `/proc/pressure/{cpu,memory,io}` and cgroup
//! `*.pressure` file format.
//!
//! Each file has a `some` line and (except `cpu` on kernels before 5.13) a `full` line:
//!
//! ```text
//! some avg10=0.20 avg60=0.34 avg300=1.22 total=812796517
//! full avg10=0.00 avg60=0.00 avg300=0.00 total=0
//! ```
//!
//! The averages are percentages with two decimals; they are kept exactly as hundredths
//! of a percent, which is a [`Permyriad`]. `total` is the stall time in microseconds.
//! Like systemd's `read_resource_pressure`, each of the four fields must appear exactly
//! once per line; unknown fields are ignored so newer kernels keep working.
//!
//! # References
//! - <https://docs.kernel.org/accounting/psi.html>

use std::path::{Path, PathBuf};

use keel_core::size::Permyriad;
use serde::Serialize;

/// Which line of a pressure file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PressureKind {
    /// Some task stalled (`some`).
    Some,
    /// All non-idle tasks stalled at once (`full`).
    Full,
}

impl PressureKind {
    /// The keyword as the kernel writes it.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Some => "some",
            Self::Full => "full",
        }
    }
}

/// One line of a pressure file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PressureLine {
    /// Share of time stalled over the last 10 s.
    pub avg10: Permyriad,
    /// Share of time stalled over the last 60 s.
    pub avg60: Permyriad,
    /// Share of time stalled over the last 300 s.
    pub avg300: Permyriad,
    /// Total stall time in microseconds.
    pub total_usec: u64,
}

/// A whole pressure file.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Pressure {
    /// The `some` line.
    pub some: PressureLine,
    /// The `full` line; `None` where the kernel does not write one (`cpu` before 5.13).
    pub full: Option<PressureLine>,
}

impl Pressure {
    /// The line of the given kind, if present.
    pub fn line(&self, kind: PressureKind) -> Option<&PressureLine> {
        match kind {
            PressureKind::Some => Some(&self.some),
            PressureKind::Full => self.full.as_ref(),
        }
    }
}

/// A pressure file could not be read or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadPressureError {
    /// The file could not be read.
    #[error("cannot read pressure file {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A line is malformed.
    #[error("{}:{line}: {what}", path.display())]
    Malformed {
        /// The file (empty when parsing text that has no file).
        path: PathBuf,
        /// 1-based line.
        line: u32,
        /// What is wrong with it.
        what: &'static str,
    },
    /// The `some` line is missing.
    #[error("{}: no \"some\" line", path.display())]
    MissingSome {
        /// The file.
        path: PathBuf,
    },
}

/// Parses a percentage with up to two decimals (`12.34`) into hundredths of a percent.
fn parse_avg(v: &str) -> Option<Permyriad> {
    let (int, frac) = v.split_once('.').unwrap_or((v, ""));
    if int.is_empty() || frac.len() > 2 || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let int: u32 = int.parse().ok()?;
    let mut hundredths: u32 = 0;
    for (i, d) in frac.bytes().enumerate() {
        let digit = u32::from(d - b'0');
        hundredths += if i == 0 { digit * 10 } else { digit };
    }
    Permyriad::new(int.checked_mul(100)?.checked_add(hundredths)?)
}

fn parse_line(fields: &str) -> Result<PressureLine, &'static str> {
    let mut avg = [None; 3];
    let mut total = None;
    for field in fields.split_ascii_whitespace() {
        let Some((key, value)) = field.split_once('=') else {
            return Err("field without '='");
        };
        let slot = match key {
            "avg10" => &mut avg[0],
            "avg60" => &mut avg[1],
            "avg300" => &mut avg[2],
            "total" => {
                if total.is_some() {
                    return Err("duplicate total=");
                }
                total = Some(value.parse::<u64>().map_err(|_| "invalid total=")?);
                continue;
            }
            _ => continue, // newer kernels may add fields
        };
        if slot.is_some() {
            return Err("duplicate average field");
        }
        *slot = Some(parse_avg(value).ok_or("invalid average (want 0.00-100.00)")?);
    }
    match (avg, total) {
        ([Some(avg10), Some(avg60), Some(avg300)], Some(total_usec)) => Ok(PressureLine {
            avg10,
            avg60,
            avg300,
            total_usec,
        }),
        _ => Err("missing avg10=, avg60=, avg300= or total="),
    }
}

/// Parses the text of a pressure file. `path` only names the file in errors.
///
/// ```
/// let p = keel_oom::psi::parse(
///     "some avg10=1.50 avg60=0.00 avg300=0.00 total=42\n",
///     std::path::Path::new("cpu.pressure"),
/// )?;
/// assert_eq!(p.some.avg10.get(), 150);
/// assert!(p.full.is_none());
/// # Ok::<(), keel_oom::psi::ReadPressureError>(())
/// ```
///
/// # Errors
/// [`ReadPressureError::Malformed`] naming the line, or [`ReadPressureError::MissingSome`].
pub fn parse(text: &str, path: &Path) -> Result<Pressure, ReadPressureError> {
    let mut some = None;
    let mut full = None;
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let malformed = |what| ReadPressureError::Malformed {
            path: path.to_path_buf(),
            line,
            what,
        };
        let raw = raw.trim();
        if raw.is_empty() {
            continue;
        }
        let (kind, rest) = raw.split_once(' ').unwrap_or((raw, ""));
        let slot = match kind {
            "some" => &mut some,
            "full" => &mut full,
            _ => return Err(malformed("line does not start with \"some\" or \"full\"")),
        };
        if slot.is_some() {
            return Err(malformed("duplicate line"));
        }
        *slot = Some(parse_line(rest).map_err(malformed)?);
    }
    let some = some.ok_or_else(|| ReadPressureError::MissingSome {
        path: path.to_path_buf(),
    })?;
    Ok(Pressure { some, full })
}

/// Reads and parses one pressure file.
///
/// # Errors
/// [`ReadPressureError::Io`] when the file cannot be read, otherwise as [`parse`].
pub fn read(path: &Path) -> Result<Pressure, ReadPressureError> {
    let text = std::fs::read_to_string(path).map_err(|source| ReadPressureError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&text, path)
}

/// The resource a system-wide pressure file is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Resource {
    /// `cpu`.
    Cpu,
    /// `memory`.
    Memory,
    /// `io`.
    Io,
}

impl Resource {
    /// The file name below `/proc/pressure/` (and the prefix of the cgroup file).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::Memory => "memory",
            Self::Io => "io",
        }
    }
}

/// Reads `<proc>/pressure/<resource>`, with `proc` normally `/proc`.
///
/// # Errors
/// As [`read`].
pub fn read_system(proc: &Path, resource: Resource) -> Result<Pressure, ReadPressureError> {
    read(&proc.join("pressure").join(resource.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Result<Pressure, ReadPressureError> {
        parse(s, Path::new("f"))
    }

    #[test]
    fn parses_both_lines() {
        let x = p("some avg10=0.20 avg60=0.34 avg300=1.22 total=812796517\n\
                   full avg10=100.00 avg60=0.00 avg300=0.5 total=0\n")
        .unwrap();
        assert_eq!(x.some.avg10.get(), 20);
        assert_eq!(x.some.avg60.get(), 34);
        assert_eq!(x.some.avg300.get(), 122);
        assert_eq!(x.some.total_usec, 812_796_517);
        let full = x.full.unwrap();
        assert_eq!(full.avg10.get(), 10_000);
        assert_eq!(full.avg300.get(), 50);
        assert_eq!(x.line(PressureKind::Full), Some(&full));
    }

    #[test]
    fn cpu_without_full_and_unknown_fields() {
        let x = p("some avg10=1 avg60=2.5 avg300=3.00 total=9 future=1\n").unwrap();
        assert_eq!(x.some.avg10.get(), 100);
        assert_eq!(x.some.avg60.get(), 250);
        assert!(x.full.is_none());
        assert!(x.line(PressureKind::Full).is_none());
    }

    #[test]
    fn errors_name_file_and_line() {
        let table: &[(&str, u32)] = &[
            ("some avg10=0.00 avg60=0.00 avg300=0.00\n", 1),
            (
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1\nfull avg10=x avg60=0 avg300=0 total=1\n",
                2,
            ),
            (
                "some avg10=0.00 avg10=0.00 avg60=0.00 avg300=0.00 total=1\n",
                1,
            ),
            (
                "some avg10=0.00 avg60=0.00 avg300=0.00 total=1 total=2\n",
                1,
            ),
            ("some avg10=100.01 avg60=0.00 avg300=0.00 total=1\n", 1),
            ("some avg10=1.234 avg60=0.00 avg300=0.00 total=1\n", 1),
            ("some avg10=-1 avg60=0.00 avg300=0.00 total=1\n", 1),
            ("some avg10=0 avg60=0 avg300=0 total=-1\n", 1),
            ("some avg10 avg60=0 avg300=0 total=1\n", 1),
            ("\nhalf avg10=0 avg60=0 avg300=0 total=1\n", 2),
            (
                "some avg10=0 avg60=0 avg300=0 total=1\nsome avg10=0 avg60=0 avg300=0 total=1\n",
                2,
            ),
        ];
        for (text, line) in table {
            match p(text) {
                Err(ReadPressureError::Malformed { line: l, path, .. }) => {
                    assert_eq!(l, *line, "{text:?}");
                    assert_eq!(path, Path::new("f"));
                }
                other => panic!("{text:?}: {other:?}"),
            }
        }
        assert!(matches!(
            p("full avg10=0 avg60=0 avg300=0 total=1\n"),
            Err(ReadPressureError::MissingSome { .. })
        ));
        assert!(matches!(p(""), Err(ReadPressureError::MissingSome { .. })));
        let e = p("bogus\n").unwrap_err().to_string();
        assert!(e.starts_with("f:1: "), "{e}");
    }

    #[test]
    fn reads_real_proc_pressure() {
        // Tier 2: a real kernel read that needs no privileges.
        if !Path::new("/proc/pressure/memory").exists() {
            panic!("kernel without PSI: /proc/pressure/memory is missing");
        }
        let m = read_system(Path::new("/proc"), Resource::Memory).unwrap();
        assert!(m.full.is_some());
        read_system(Path::new("/proc"), Resource::Cpu).unwrap();
        read_system(Path::new("/proc"), Resource::Io).unwrap();
        assert!(matches!(
            read(Path::new("/nonexistent/memory.pressure")),
            Err(ReadPressureError::Io { .. })
        ));
    }
}
