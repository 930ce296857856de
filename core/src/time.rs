//! Time spans in microseconds, as systemd 248's `parse_sec`, `parse_time`, `parse_nsec` and
//! `format_timespan` (`src/basic/time-util.c`).

use std::fmt;

/// Microseconds per second.
pub const USEC_PER_SEC: u64 = 1_000_000;
/// Microseconds per millisecond.
pub const USEC_PER_MSEC: u64 = 1_000;
/// Microseconds per minute.
pub const USEC_PER_MINUTE: u64 = 60 * USEC_PER_SEC;
/// Microseconds per hour.
pub const USEC_PER_HOUR: u64 = 60 * USEC_PER_MINUTE;
/// Microseconds per day.
pub const USEC_PER_DAY: u64 = 24 * USEC_PER_HOUR;
/// Microseconds per week.
pub const USEC_PER_WEEK: u64 = 7 * USEC_PER_DAY;
/// Microseconds per month (30.44 days, as systemd).
pub const USEC_PER_MONTH: u64 = 2_629_800 * USEC_PER_SEC;
/// Microseconds per year (365.25 days, as systemd).
pub const USEC_PER_YEAR: u64 = 31_557_600 * USEC_PER_SEC;

/// A time span in microseconds; `u64::MAX` is infinity (systemd's `usec_t`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Usec(pub u64);

impl Usec {
    /// No time at all.
    pub const ZERO: Usec = Usec(0);
    /// Infinity (`USEC_INFINITY`).
    pub const INFINITY: Usec = Usec(u64::MAX);

    /// `secs` seconds (saturating at infinity).
    pub const fn from_secs(secs: u64) -> Usec {
        Usec(secs.saturating_mul(USEC_PER_SEC))
    }

    /// `ms` milliseconds (saturating at infinity).
    pub const fn from_millis(ms: u64) -> Usec {
        Usec(ms.saturating_mul(USEC_PER_MSEC))
    }

    /// The raw microseconds.
    pub const fn as_raw(self) -> u64 {
        self.0
    }

    /// Whether this is infinity.
    pub const fn is_infinity(self) -> bool {
        self.0 == u64::MAX
    }

    /// As a [`std::time::Duration`], or `None` for infinity.
    pub fn to_duration(self) -> Option<std::time::Duration> {
        (!self.is_infinity()).then(|| std::time::Duration::from_micros(self.0))
    }
}

/// Formats with [`format_timespan`] at 1 µs accuracy (`1min 30s`, `1.500000s`, `infinity`).
impl fmt::Display for Usec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format_timespan(*self, Usec(1)))
    }
}

/// Why a time span could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseTimeError {
    /// Not a time span (`EINVAL`).
    #[error("invalid time span {0:?}")]
    Invalid(String),
    /// Negative, or too large to represent (`ERANGE`).
    #[error("time span {0:?} is out of range")]
    OutOfRange(String),
}

/// The unit words `parse_time` accepts, in systemd's matching order (first prefix match wins,
/// so `ms` is tried before `m` and `months` before `m`).
const USEC_UNITS: &[(&str, u64)] = &[
    ("seconds", USEC_PER_SEC),
    ("second", USEC_PER_SEC),
    ("sec", USEC_PER_SEC),
    ("s", USEC_PER_SEC),
    ("minutes", USEC_PER_MINUTE),
    ("minute", USEC_PER_MINUTE),
    ("min", USEC_PER_MINUTE),
    ("months", USEC_PER_MONTH),
    ("month", USEC_PER_MONTH),
    ("M", USEC_PER_MONTH),
    ("msec", USEC_PER_MSEC),
    ("ms", USEC_PER_MSEC),
    ("m", USEC_PER_MINUTE),
    ("hours", USEC_PER_HOUR),
    ("hour", USEC_PER_HOUR),
    ("hr", USEC_PER_HOUR),
    ("h", USEC_PER_HOUR),
    ("days", USEC_PER_DAY),
    ("day", USEC_PER_DAY),
    ("d", USEC_PER_DAY),
    ("weeks", USEC_PER_WEEK),
    ("week", USEC_PER_WEEK),
    ("w", USEC_PER_WEEK),
    ("years", USEC_PER_YEAR),
    ("year", USEC_PER_YEAR),
    ("y", USEC_PER_YEAR),
    ("usec", 1),
    ("us", 1),
    ("µs", 1),
];

const NSEC_PER_USEC: u64 = 1_000;

/// The unit words `parse_nsec` accepts (the `USEC_UNITS` scaled to ns, plus `nsec`, `ns`).
const NSEC_UNITS: &[(&str, u64)] = &[
    ("seconds", USEC_PER_SEC * NSEC_PER_USEC),
    ("second", USEC_PER_SEC * NSEC_PER_USEC),
    ("sec", USEC_PER_SEC * NSEC_PER_USEC),
    ("s", USEC_PER_SEC * NSEC_PER_USEC),
    ("minutes", USEC_PER_MINUTE * NSEC_PER_USEC),
    ("minute", USEC_PER_MINUTE * NSEC_PER_USEC),
    ("min", USEC_PER_MINUTE * NSEC_PER_USEC),
    ("months", USEC_PER_MONTH * NSEC_PER_USEC),
    ("month", USEC_PER_MONTH * NSEC_PER_USEC),
    ("M", USEC_PER_MONTH * NSEC_PER_USEC),
    ("msec", USEC_PER_MSEC * NSEC_PER_USEC),
    ("ms", USEC_PER_MSEC * NSEC_PER_USEC),
    ("m", USEC_PER_MINUTE * NSEC_PER_USEC),
    ("hours", USEC_PER_HOUR * NSEC_PER_USEC),
    ("hour", USEC_PER_HOUR * NSEC_PER_USEC),
    ("hr", USEC_PER_HOUR * NSEC_PER_USEC),
    ("h", USEC_PER_HOUR * NSEC_PER_USEC),
    ("days", USEC_PER_DAY * NSEC_PER_USEC),
    ("day", USEC_PER_DAY * NSEC_PER_USEC),
    ("d", USEC_PER_DAY * NSEC_PER_USEC),
    ("weeks", USEC_PER_WEEK * NSEC_PER_USEC),
    ("week", USEC_PER_WEEK * NSEC_PER_USEC),
    ("w", USEC_PER_WEEK * NSEC_PER_USEC),
    ("years", USEC_PER_YEAR * NSEC_PER_USEC),
    ("year", USEC_PER_YEAR * NSEC_PER_USEC),
    ("y", USEC_PER_YEAR * NSEC_PER_USEC),
    ("usec", NSEC_PER_USEC),
    ("us", NSEC_PER_USEC),
    ("µs", NSEC_PER_USEC),
    ("nsec", 1),
    ("ns", 1),
];

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r'])
}

/// The shared algorithm of `parse_time` and `parse_nsec`: a sum of `NUMBER[.FRACTION] [UNIT]`
/// terms, `infinity` alone, whitespace anywhere between terms.
fn parse_span(t: &str, units: &[(&str, u64)], default_unit: u64) -> Result<u64, ParseTimeError> {
    let invalid = || ParseTimeError::Invalid(t.to_owned());
    let range = || ParseTimeError::OutOfRange(t.to_owned());
    let mut p = skip_ws(t);
    if let Some(rest) = p.strip_prefix("infinity") {
        return if skip_ws(rest).is_empty() {
            Ok(u64::MAX)
        } else {
            Err(invalid())
        };
    }
    let mut total: u64 = 0;
    let mut something = false;
    loop {
        p = skip_ws(p);
        if p.is_empty() {
            return if something { Ok(total) } else { Err(invalid()) };
        }
        if p.starts_with('-') {
            return Err(range());
        }
        // strtoll: optional '+', then digits.
        let num = p.strip_prefix('+').unwrap_or(p);
        let digits = num.len() - num.trim_start_matches(|c: char| c.is_ascii_digit()).len();
        let after_int = &num[digits..];
        let whole: u64 = if digits == 0 {
            0
        } else {
            num[..digits].parse().map_err(|_| range())?
        };
        let (fraction, after_num) = if let Some(frac) = after_int.strip_prefix('.') {
            let n = frac.len() - frac.trim_start_matches(|c: char| c.is_ascii_digit()).len();
            (Some(&frac[..n]), &frac[n..])
        } else if digits == 0 {
            return Err(invalid());
        } else {
            (None, after_int)
        };
        let unit_start = skip_ws(after_num);
        let (multiplier, rest) = units
            .iter()
            .find_map(|(w, m)| unit_start.strip_prefix(w).map(|r| (*m, r)))
            .unwrap_or((default_unit, unit_start));
        if rest.len() == after_num.len() && !rest.is_empty() {
            // No unit and no whitespace: "12.34.56", "5x".
            return Err(invalid());
        }
        p = rest;
        if whole >= u64::MAX / multiplier {
            return Err(range());
        }
        let k = whole * multiplier;
        if k >= u64::MAX - total {
            return Err(range());
        }
        total += k;
        something = true;
        if let Some(frac) = fraction {
            if frac.is_empty() {
                return Err(invalid());
            }
            let mut m = multiplier / 10;
            for d in frac.bytes() {
                let k = u64::from(d - b'0') * m;
                if k >= u64::MAX - total {
                    return Err(range());
                }
                total += k;
                m /= 10;
            }
        }
    }
}

/// Parses a time span whose bare numbers are in `default_unit` (systemd's `parse_time`).
///
/// ```
/// use keel_core::time::{parse_time, Usec, USEC_PER_MSEC};
/// assert_eq!(parse_time("5", Usec(USEC_PER_MSEC)), Ok(Usec(5_000)));
/// ```
pub fn parse_time(t: &str, default_unit: Usec) -> Result<Usec, ParseTimeError> {
    parse_span(t, USEC_UNITS, default_unit.0.max(1)).map(Usec)
}

/// Parses a time span whose bare numbers are seconds (systemd's `parse_sec`): `5min 30s`,
/// `1.5s`, `2min 200ms`, `infinity`.
///
/// ```
/// use keel_core::time::{parse_sec, Usec};
/// assert_eq!(parse_sec("2min 200ms"), Ok(Usec(120_200_000)));
/// assert_eq!(parse_sec("infinity"), Ok(Usec::INFINITY));
/// assert!(parse_sec("5 parsecs").is_err());
/// ```
pub fn parse_sec(t: &str) -> Result<Usec, ParseTimeError> {
    parse_time(t, Usec(USEC_PER_SEC))
}

/// Like [`parse_sec`], but `0` means infinity (systemd's `parse_sec_fix_0`, used for
/// timeouts where 0 disables them).
pub fn parse_sec_fix_0(t: &str) -> Result<Usec, ParseTimeError> {
    parse_sec(t).map(|u| if u == Usec::ZERO { Usec::INFINITY } else { u })
}

/// Like [`parse_sec`], but an empty (or all-whitespace) value means infinity (systemd's
/// `parse_sec_def_infinity`).
pub fn parse_sec_def_infinity(t: &str) -> Result<Usec, ParseTimeError> {
    if skip_ws(t).is_empty() {
        Ok(Usec::INFINITY)
    } else {
        parse_sec(t)
    }
}

/// Parses a time span in nanoseconds; bare numbers are nanoseconds (systemd's `parse_nsec`).
///
/// ```
/// assert_eq!(keel_core::time::parse_nsec("1.5us"), Ok(1_500));
/// ```
pub fn parse_nsec(t: &str) -> Result<u64, ParseTimeError> {
    parse_span(t, NSEC_UNITS, 1)
}

/// Formats a span as systemd's `format_timespan`: the largest units first (`y month w d h
/// min s ms us`), parts below `accuracy` dropped, and spans under a minute with a remainder
/// printed as a decimal (`1.500000s` at 1 µs accuracy, `1.5s` at 100 ms).
///
/// ```
/// use keel_core::time::{format_timespan, Usec, USEC_PER_SEC};
/// assert_eq!(format_timespan(Usec::from_secs(90), Usec(1)), "1min 30s");
/// assert_eq!(format_timespan(Usec::from_millis(1500), Usec(1)), "1.500000s");
/// assert_eq!(format_timespan(Usec(1_234_567), Usec(USEC_PER_SEC)), "1s");
/// assert_eq!(format_timespan(Usec::INFINITY, Usec(1)), "infinity");
/// ```
pub fn format_timespan(t: Usec, accuracy: Usec) -> String {
    const TABLE: [(&str, u64); 9] = [
        ("y", USEC_PER_YEAR),
        ("month", USEC_PER_MONTH),
        ("w", USEC_PER_WEEK),
        ("d", USEC_PER_DAY),
        ("h", USEC_PER_HOUR),
        ("min", USEC_PER_MINUTE),
        ("s", USEC_PER_SEC),
        ("ms", USEC_PER_MSEC),
        ("us", 1),
    ];
    if t.is_infinity() {
        return "infinity".into();
    }
    if t.0 == 0 {
        return "0".into();
    }
    let accuracy = accuracy.0;
    let mut t = t.0;
    let mut out = String::new();
    let mut something = false;
    for (suffix, unit) in TABLE {
        if t == 0 || (t < accuracy && something) {
            break;
        }
        if t < unit {
            continue;
        }
        let a = t / unit;
        let mut b = t % unit;
        let sep = if out.is_empty() { "" } else { " " };
        let mut done = false;
        if t < USEC_PER_MINUTE && b > 0 {
            let mut j: i32 = 0;
            let mut cc = unit;
            while cc > 1 {
                j += 1;
                cc /= 10;
            }
            let mut cc = accuracy;
            while cc > 1 {
                b /= 10;
                j -= 1;
                cc /= 10;
            }
            if j > 0 {
                let width = usize::try_from(j).unwrap_or(0);
                out.push_str(&format!("{sep}{a}.{b:0width$}{suffix}"));
                t = 0;
                done = true;
            }
        }
        if !done {
            out.push_str(&format!("{sep}{a}{suffix}"));
            t = b;
        }
        something = true;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = USEC_PER_SEC;

    #[test]
    fn parse_sec_table() {
        // From src/test/test-time-util.c (test_parse_sec).
        let ok: &[(&str, u64)] = &[
            ("5s", 5 * S),
            ("5s500ms", 5 * S + 500 * USEC_PER_MSEC),
            (" 5s 500ms  ", 5 * S + 500 * USEC_PER_MSEC),
            (" 5.5s  ", 5 * S + 500 * USEC_PER_MSEC),
            (" 5.5s 0.5ms ", 5 * S + 500 * USEC_PER_MSEC + 500),
            (" .22s ", 220 * USEC_PER_MSEC),
            (" .50y ", USEC_PER_YEAR / 2),
            ("2.5", 2500 * USEC_PER_MSEC),
            (".7", 700 * USEC_PER_MSEC),
            ("23us", 23),
            ("23µs", 23),
            ("infinity", u64::MAX),
            (" infinity ", u64::MAX),
            ("+3.1s", 3100 * USEC_PER_MSEC),
            ("3.1s.2", 3300 * USEC_PER_MSEC),
            ("3.1 .2", 3300 * USEC_PER_MSEC),
            ("3.1 sec .2 sec", 3300 * USEC_PER_MSEC),
            ("3.1 sec 1.2 sec", 4300 * USEC_PER_MSEC),
            ("5min 30s", 330 * S),
            ("1h", 3600 * S),
            ("1M", USEC_PER_MONTH),
            ("1m", 60 * S),
            ("2 weeks", 2 * USEC_PER_WEEK),
            ("1hr 2minutes", 3720 * S),
            ("12 34", 46 * S),
            ("1.23456789s", 1_234_567),
        ];
        for (input, want) in ok {
            assert_eq!(parse_sec(input), Ok(Usec(*want)), "{input:?}");
        }
        for bad in [
            " xyz ",
            "",
            " . ",
            " 5. ",
            ".s ",
            "-5s ",
            "-0.3s ",
            "-0.0s ",
            "-0.-0s ",
            "0.-0s ",
            "3.-0s ",
            " infinity .7",
            "+infinity ",
            "-infinity ",
            "3.+1s",
            "3. 1s",
            "3.s",
            "12.34.56",
            "5x",
            "0x10",
        ] {
            assert!(parse_sec(bad).is_err(), "{bad:?}");
        }
        assert!(matches!(
            parse_sec("-5s"),
            Err(ParseTimeError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_sec("99999999999999999999y"),
            Err(ParseTimeError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_sec("600000y"),
            Err(ParseTimeError::OutOfRange(_))
        ));
    }

    #[test]
    fn parse_sec_variants() {
        assert_eq!(parse_sec_fix_0("0"), Ok(Usec::INFINITY));
        assert_eq!(parse_sec_fix_0("5s"), Ok(Usec(5 * S)));
        assert_eq!(parse_sec_def_infinity(""), Ok(Usec::INFINITY));
        assert_eq!(parse_sec_def_infinity("  "), Ok(Usec::INFINITY));
        assert_eq!(parse_sec_def_infinity("0"), Ok(Usec::ZERO));
        assert!(parse_sec_def_infinity("x").is_err());
        assert_eq!(parse_time("5", Usec(USEC_PER_MINUTE)), Ok(Usec(300 * S)));
        assert_eq!(parse_time("5s", Usec(USEC_PER_MINUTE)), Ok(Usec(5 * S)));
    }

    #[test]
    fn parse_nsec_table() {
        let ok: &[(&str, u64)] = &[
            ("5s", 5_000_000_000),
            ("5s500ms", 5_500_000_000),
            (" 5s 500ms  ", 5_500_000_000),
            (" 5.5s  ", 5_500_000_000),
            (" .22s ", 220_000_000),
            ("2.5", 2),
            (".7", 0),
            ("23us", 23_000),
            ("23ns", 23),
            ("infinity", u64::MAX),
            ("3.1s.2", 3_100_000_000),
        ];
        for (input, want) in ok {
            assert_eq!(parse_nsec(input), Ok(*want), "{input:?}");
        }
        for bad in [
            " xyz ", "", " . ", " 5. ", ".s ", "-5s ", "3.+1s", "3. 1s", "3.s", "1x",
        ] {
            assert!(parse_nsec(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn format_timespan_table() {
        let one = Usec(1);
        let cases: &[(u64, u64, &str)] = &[
            (0, 1, "0"),
            (u64::MAX, 1, "infinity"),
            (1, 1, "1us"),
            (1_500_000, 1, "1.500000s"),
            (1_500_000, 100_000, "1.5s"),
            (100_000, 1, "100ms"),
            (1_250, 1, "1.250ms"),
            (90 * S, 1, "1min 30s"),
            (330 * S, 1, "5min 30s"),
            (3 * USEC_PER_MONTH, 1, "3month"),
            (5 * USEC_PER_WEEK, 1, "1month 4d 13h 30min"),
            (USEC_PER_YEAR + 1, 1, "1y 1us"),
            (USEC_PER_YEAR + 1, S, "1y"),
            (61 * S + 500_000, 1, "1min 1.500000s"),
            (2 * USEC_PER_DAY + 3 * USEC_PER_HOUR, 1, "2d 3h"),
        ];
        for (t, acc, want) in cases {
            assert_eq!(format_timespan(Usec(*t), Usec(*acc)), *want, "{t} @ {acc}");
        }
        assert_eq!(Usec::from_secs(90).to_string(), "1min 30s");
        let _ = one;
    }

    #[test]
    fn format_then_parse_round_trips() {
        // From test_format_timespan: what format_timespan prints, parse_sec reads back.
        for t in [
            1u64,
            999,
            1_000,
            1_500_000,
            59 * S,
            90 * S,
            3 * USEC_PER_HOUR + 7,
            12_345_678_901,
        ] {
            let s = format_timespan(Usec(t), Usec(1));
            assert_eq!(parse_sec(&s), Ok(Usec(t)), "{t} -> {s}");
        }
    }
}
