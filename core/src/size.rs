//! Byte sizes and proportions, as systemd 248's `parse_size` and the percent, permille and
//! permyriad parsers (`src/basic/parse-util.c`).

use std::fmt;

/// Why a size or proportion could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseSizeError {
    /// Not a size or proportion (`EINVAL`).
    #[error("invalid value {0:?}")]
    Invalid(String),
    /// Negative, or too large (`ERANGE`).
    #[error("value {0:?} is out of range")]
    OutOfRange(String),
}

const IEC: [(&str, u64); 8] = [
    ("E", 1 << 60),
    ("P", 1 << 50),
    ("T", 1 << 40),
    ("G", 1 << 30),
    ("M", 1 << 20),
    ("K", 1 << 10),
    ("B", 1),
    ("", 1),
];

const SI: [(&str, u64); 8] = [
    ("E", 1_000_000_000_000_000_000),
    ("P", 1_000_000_000_000_000),
    ("T", 1_000_000_000_000),
    ("G", 1_000_000_000),
    ("M", 1_000_000),
    ("K", 1_000),
    ("B", 1),
    ("", 1),
];

fn skip_ws(s: &str) -> &str {
    s.trim_start_matches([' ', '\t', '\n', '\r'])
}

fn leading_digits(s: &str) -> usize {
    s.len() - s.trim_start_matches(|c: char| c.is_ascii_digit()).len()
}

/// Parses a byte size: a sum of `NUMBER[.FRACTION][SUFFIX]` terms with suffixes `K M G T P E`
/// (and `B` or none for bytes) in decreasing order, each a power of `base` (1024 or 1000;
/// any other base is treated as 1024).
///
/// ```
/// use keel_core::size::parse_size;
/// assert_eq!(parse_size("1.5G", 1024), Ok(1_610_612_736));
/// assert_eq!(parse_size("1G 512M", 1024), Ok(1_610_612_736));
/// assert_eq!(parse_size("10K", 1000), Ok(10_000));
/// assert!(parse_size("512M 1G", 1024).is_err());
/// ```
pub fn parse_size(t: &str, base: u64) -> Result<u64, ParseSizeError> {
    let invalid = || ParseSizeError::Invalid(t.to_owned());
    let range = || ParseSizeError::OutOfRange(t.to_owned());
    let table: &[(&str, u64)] = if base == 1000 { &SI } else { &IEC };
    let mut p = t;
    let mut total: u64 = 0;
    let mut start = 0;
    loop {
        p = skip_ws(p);
        if let Some(neg) = p.strip_prefix('-') {
            // strtoull would accept it; systemd refuses with ERANGE.
            let n = leading_digits(neg);
            return Err(if n == 0 { invalid() } else { range() });
        }
        let num = p.strip_prefix('+').unwrap_or(p);
        let n = leading_digits(num);
        if n == 0 {
            return Err(invalid());
        }
        let whole: u64 = num[..n].parse().map_err(|_| range())?;
        let mut e = &num[n..];
        let mut frac = 0f64;
        if let Some(f) = e.strip_prefix('.') {
            e = f;
            let m = leading_digits(e);
            if m > 0 {
                let digits: f64 = e[..m].parse().map_err(|_| range())?;
                frac = digits / 10f64.powi(i32::try_from(m).map_err(|_| range())?);
                e = &e[m..];
            }
        }
        e = skip_ws(e);
        let Some((i, (suffix, factor))) = table
            .iter()
            .enumerate()
            .skip(start)
            .find(|(_, (s, _))| e.starts_with(s))
        else {
            return Err(invalid());
        };
        let extra = u64::from(frac > 0.0);
        if whole
            .checked_add(extra)
            .is_none_or(|w| w > u64::MAX / factor)
        {
            return Err(range());
        }
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss
        )]
        let frac_bytes = (frac * (*factor as f64)) as u64;
        let tmp = whole * factor + frac_bytes;
        total = total.checked_add(tmp).ok_or_else(range)?;
        p = &e[suffix.len()..];
        start = i + 1;
        if p.is_empty() {
            return Ok(total);
        }
    }
}

/// systemd's `safe_atoi`: optional whitespace and sign, then a number in base 10, or base 16
/// with `0x`, or base 8 with a leading `0` (strtol base 0).
fn safe_atoi(s: &str) -> Option<i64> {
    let s = skip_ws(s);
    let (neg, s) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, digits) = if let Some(h) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        (16, h)
    } else if s.len() > 1 && s.starts_with('0') {
        (8, &s[1..])
    } else {
        (10, s)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = i64::from_str_radix(digits, radix).ok()?;
    let v = if neg { -v } else { v };
    i32::try_from(v).ok().map(i64::from)
}

fn whole(p: &str, symbol: &str) -> Option<Result<u32, ()>> {
    let n = p.strip_suffix(symbol)?;
    Some(match safe_atoi(n) {
        Some(v) if v >= 0 => u32::try_from(v).map_err(|_| ()),
        _ => Err(()),
    })
}

/// `N[.D...]SYMBOL` with at most `places` decimals, scaled by 10^places.
fn with_places(p: &str, symbol: &str, places: u32) -> Option<Result<u32, ()>> {
    let n = p.strip_suffix(symbol)?;
    let scale = 10u32.pow(places);
    let (int, q) = match n.split_once('.') {
        Some((int, dec)) => {
            let len = u32::try_from(dec.len()).unwrap_or(u32::MAX);
            if dec.is_empty() || len > places || !dec.bytes().all(|b| b.is_ascii_digit()) {
                return Some(Err(()));
            }
            let d: u32 = match dec.parse() {
                Ok(d) => d,
                Err(_) => return Some(Err(())),
            };
            (int, d * 10u32.pow(places - len))
        }
        None => (n, 0),
    };
    Some(match safe_atoi(int) {
        Some(v) if v >= 0 => u32::try_from(v)
            .ok()
            .and_then(|v| v.checked_mul(scale))
            .and_then(|v| v.checked_add(q))
            .filter(|v| i32::try_from(*v).is_ok())
            .ok_or(()),
        _ => Err(()),
    })
}

fn finish(p: &str, r: Option<Result<u32, ()>>, max: Option<u32>) -> Result<u32, ParseSizeError> {
    match r {
        Some(Ok(v)) if max.is_none_or(|m| v <= m) => Ok(v),
        Some(Ok(_)) => Err(ParseSizeError::OutOfRange(p.to_owned())),
        _ => Err(ParseSizeError::Invalid(p.to_owned())),
    }
}

/// `N%` with no upper bound (systemd's `parse_percent_unbounded`).
pub fn parse_percent_unbounded(p: &str) -> Result<u32, ParseSizeError> {
    finish(p, whole(p, "%"), None)
}

/// `N%` with N in 0..=100 (systemd's `parse_percent`).
///
/// ```
/// assert_eq!(keel_core::size::parse_percent("42%"), Ok(42));
/// assert!(keel_core::size::parse_percent("101%").is_err());
/// ```
pub fn parse_percent(p: &str) -> Result<u32, ParseSizeError> {
    finish(p, whole(p, "%"), Some(100))
}

/// Permille: `N‰`, or `N%` / `N.D%` (one decimal), with no upper bound.
pub fn parse_permille_unbounded(p: &str) -> Result<u32, ParseSizeError> {
    let r = whole(p, "‰").or_else(|| with_places(p, "%", 1));
    finish(p, r, None)
}

/// Permille in 0..=1000 (systemd's `parse_permille`): `N‰`, `N%` or `N.D%`.
///
/// ```
/// assert_eq!(keel_core::size::parse_permille("12.5%"), Ok(125));
/// ```
pub fn parse_permille(p: &str) -> Result<u32, ParseSizeError> {
    let r = whole(p, "‰").or_else(|| with_places(p, "%", 1));
    finish(p, r, Some(1000))
}

/// Permyriad with no upper bound: `N‱`, `N‰` / `N.D‰`, or `N%` / `N.D%` / `N.DD%`.
pub fn parse_permyriad_unbounded(p: &str) -> Result<u32, ParseSizeError> {
    let r = whole(p, "‱")
        .or_else(|| with_places(p, "‰", 1))
        .or_else(|| with_places(p, "%", 2));
    finish(p, r, None)
}

/// Permyriad in 0..=10000 (systemd's `parse_permyriad`), as used by
/// `ManagedOOMMemoryPressureLimit=`.
///
/// ```
/// assert_eq!(keel_core::size::parse_permyriad("12.34%"), Ok(1234));
/// assert_eq!(keel_core::size::parse_permyriad("50‰"), Ok(500));
/// ```
pub fn parse_permyriad(p: &str) -> Result<u32, ParseSizeError> {
    let v = parse_permyriad_unbounded(p)?;
    if v > 10_000 {
        return Err(ParseSizeError::OutOfRange(p.to_owned()));
    }
    Ok(v)
}

/// A proportion in 1/10000 units, 0..=10000.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
#[serde(transparent)]
pub struct Permyriad(u32);

impl Permyriad {
    /// The whole (100%).
    pub const MAX: Permyriad = Permyriad(10_000);

    /// `v` permyriad, or `None` above 10000.
    pub const fn new(v: u32) -> Option<Permyriad> {
        if v <= 10_000 {
            Some(Permyriad(v))
        } else {
            None
        }
    }

    /// The raw permyriad value.
    pub const fn get(self) -> u32 {
        self.0
    }

    /// Scales `value` by this proportion (rounding down), as systemd applies limits.
    pub fn scale(self, value: u64) -> u64 {
        let r = u128::from(value) * u128::from(self.0) / 10_000;
        u64::try_from(r).unwrap_or(u64::MAX)
    }
}

impl std::str::FromStr for Permyriad {
    type Err = ParseSizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_permyriad(s).map(Permyriad)
    }
}

/// As systemd prints permyriads: `12.34%`.
impl fmt::Display for Permyriad {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_size_table() {
        // From src/test/test-parse-util.c (test_parse_size).
        let ok: &[(&str, u64, u64)] = &[
            ("111", 1024, 111),
            ("111.4", 1024, 111),
            (" 112 B", 1024, 112),
            (" 112.6 B", 1024, 112),
            ("3.5 K", 1024, 3 * 1024 + 512),
            ("3. K", 1024, 3 * 1024),
            ("3.0 K", 1024, 3 * 1024),
            (" 4 M 11.5K", 1024, 4 * 1024 * 1024 + 11 * 1024 + 512),
            ("3B", 1024, 3),
            ("3.5G", 1024, 3 * 1024 * 1024 * 1024 + 512 * 1024 * 1024),
            ("3.5T", 1024, 3 * (1 << 40) + 512 * (1 << 30)),
            ("12P", 1024, 12 * (1 << 50)),
            ("12P", 1000, 12_000_000_000_000_000),
            ("3E 2P", 1024, 3 * (1 << 60) + 2 * (1 << 50)),
            ("1.5K", 1000, 1500),
            ("+3", 1024, 3),
            ("3.B", 1024, 3),
            ("12 E 1P", 1024, 12 * (1 << 60) + (1 << 50)),
        ];
        for (input, base, want) in ok {
            assert_eq!(parse_size(input, *base), Ok(*want), "{input:?} base {base}");
        }
        let bad: &[&str] = &[
            "3.4.5",
            "12P12P",
            "",
            " ",
            "xxx",
            "3K 3M",
            "-1",
            "-10B",
            "-3.5G",
            "1024 garbage",
            "16E",
        ];
        for input in bad {
            assert!(parse_size(input, 1024).is_err(), "{input:?}");
        }
        assert!(matches!(
            parse_size("-1", 1024),
            Err(ParseSizeError::OutOfRange(_))
        ));
        assert!(matches!(
            parse_size("16E", 1024),
            Err(ParseSizeError::OutOfRange(_))
        ));
    }

    #[test]
    fn percent_table() {
        assert_eq!(parse_percent("0%"), Ok(0));
        assert_eq!(parse_percent("55%"), Ok(55));
        assert_eq!(parse_percent("100%"), Ok(100));
        assert_eq!(parse_percent("0x10%"), Ok(16));
        for bad in [
            "", "%", "xx%", "-1%", "101%", "55", "55.5%", "5%%", "%55", "1.5%",
        ] {
            assert!(parse_percent(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_percent_unbounded("1000%"), Ok(1000));
        assert!(parse_percent_unbounded("-7%").is_err());
    }

    #[test]
    fn permille_table() {
        assert_eq!(parse_permille("0%"), Ok(0));
        assert_eq!(parse_permille("55%"), Ok(550));
        assert_eq!(parse_permille("55.5%"), Ok(555));
        assert_eq!(parse_permille("100%"), Ok(1000));
        assert_eq!(parse_permille("0‰"), Ok(0));
        assert_eq!(parse_permille("555‰"), Ok(555));
        assert_eq!(parse_permille("1000‰"), Ok(1000));
        for bad in [
            "", "%", "‰", "xx%", "-1%", "101%", "1001‰", "55", "55.55%", "5.%", ".5%",
        ] {
            assert!(parse_permille(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_permille_unbounded("1001‰"), Ok(1001));
        assert_eq!(parse_permille_unbounded("4000%"), Ok(40000));
    }

    #[test]
    fn permyriad_table() {
        assert_eq!(parse_permyriad("0%"), Ok(0));
        assert_eq!(parse_permyriad("55%"), Ok(5500));
        assert_eq!(parse_permyriad("55.5%"), Ok(5550));
        assert_eq!(parse_permyriad("55.55%"), Ok(5555));
        assert_eq!(parse_permyriad("100%"), Ok(10000));
        assert_eq!(parse_permyriad("555‰"), Ok(5550));
        assert_eq!(parse_permyriad("55.5‰"), Ok(555));
        assert_eq!(parse_permyriad("5555‱"), Ok(5555));
        assert_eq!(parse_permyriad("10000‱"), Ok(10000));
        for bad in [
            "", "%", "‱", "xx%", "-1%", "101%", "10001‱", "55.555%", "5.55‰", "1001‰",
        ] {
            assert!(parse_permyriad(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_permyriad_unbounded("1001‰"), Ok(10010));
        let p: Permyriad = "12.34%".parse().unwrap_or_default();
        assert_eq!(p.to_string(), "12.34%");
        assert_eq!(Permyriad::MAX.to_string(), "100.00%");
        assert_eq!(p.scale(10_000), 1234);
        assert!(Permyriad::new(10_001).is_none());
    }
}
