//! Value parsers shared by the exec, kill and resource-control directives: specifier
//! expansion, booleans, paths, modes, word lists, C escapes. Messages use systemd 248's
//! wording so that diagnostics read like systemd's own.

use std::path::PathBuf;

use keel_core::word::{ExtractFlags, extract_first_word};

use crate::model::directive::{ParseCtx, SettingError};

/// `PATH_MAX` as systemd's `path_is_valid()` checks it.
const PATH_MAX: usize = 4096;

/// Expands `%` specifiers; a failure is an ignorable warning naming the value.
pub(crate) fn expand(ctx: &ParseCtx<'_>, value: &str) -> Result<String, SettingError> {
    expand_or(ctx, value, false)
}

/// Expands `%` specifiers; with `fatal`, a failure makes the unit unloadable (248's `-ENOEXEC`).
pub(crate) fn expand_or(
    ctx: &ParseCtx<'_>,
    value: &str,
    fatal: bool,
) -> Result<String, SettingError> {
    if !value.contains('%') {
        return Ok(value.to_owned());
    }
    keel_core::specifier::expand_unit_specifiers(value, ctx.unit, ctx.specifiers).map_err(|e| {
        if fatal {
            SettingError::fatal(format!(
                "Failed to resolve unit specifiers in '{value}': {e}"
            ))
        } else {
            SettingError::invalid(format!(
                "Failed to resolve unit specifiers in '{value}', ignoring: {e}"
            ))
        }
    })
}

/// `config_parse_bool`: a boolean, "Failed to parse boolean value, ignoring: …".
pub(crate) fn boolean(value: &str) -> Result<bool, SettingError> {
    keel_core::boolean::parse_boolean(value).map_err(|_| {
        SettingError::invalid(format!("Failed to parse boolean value, ignoring: {value}"))
    })
}

/// `config_parse_bool` with `ltype = true` (e.g. `DynamicUser=`): an invalid value is fatal.
pub(crate) fn boolean_fatal(value: &str) -> Result<bool, SettingError> {
    keel_core::boolean::parse_boolean(value)
        .map_err(|_| SettingError::fatal(format!("Failed to parse boolean value: {value}")))
}

/// Stores a boolean assignment into `field`.
pub(crate) fn set_bool(field: &mut bool, value: &str) -> Result<(), SettingError> {
    *field = boolean(value)?;
    Ok(())
}

/// Which form a path must have (`PATH_CHECK_ABSOLUTE` / `PATH_CHECK_RELATIVE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PathCheck {
    /// Any path.
    Any,
    /// Must start with `/`.
    Absolute,
    /// Must not start with `/`.
    Relative,
}

/// `path_simplify_and_warn()`: checks the form, drops `.` components, duplicate and
/// trailing slashes, and refuses `..` components and over-long paths.
pub(crate) fn simplify_path(
    key: &str,
    path: &str,
    check: PathCheck,
    fatal: bool,
) -> Result<String, SettingError> {
    let ignoring = if fatal { "" } else { ", ignoring" };
    let err = |m: String| {
        if fatal {
            SettingError::fatal(m)
        } else {
            SettingError::invalid(m)
        }
    };
    let absolute = path.starts_with('/');
    match check {
        PathCheck::Absolute if !absolute => {
            return Err(err(format!(
                "{key}= path is not absolute{ignoring}: {path}"
            )));
        }
        PathCheck::Relative if absolute => {
            return Err(err(format!("{key}= path is absolute{ignoring}: {path}")));
        }
        _ => {}
    }
    let simplified = simplify(path);
    if simplified.is_empty() || simplified.len() > PATH_MAX {
        return Err(err(format!(
            "{key}= path has invalid length ({} bytes){ignoring}.",
            simplified.len()
        )));
    }
    if simplified.split('/').any(|c| c == "..") {
        return Err(err(format!(
            "{key}= path is not normalized{ignoring}: {simplified}"
        )));
    }
    Ok(simplified)
}

/// Like [`simplify_path`] for an absolute path, as a `PathBuf`.
pub(crate) fn absolute_path(key: &str, path: &str, fatal: bool) -> Result<PathBuf, SettingError> {
    simplify_path(key, path, PathCheck::Absolute, fatal).map(PathBuf::from)
}

/// `path_simplify()` with `kill_dots`: collapses `//`, drops `.` components and a
/// trailing slash (a lone `/` stays).
pub(crate) fn simplify(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    if path.starts_with('/') {
        out.push('/');
    }
    for comp in path.split('/').filter(|c| !c.is_empty() && *c != ".") {
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(comp);
    }
    if out.is_empty() && !path.is_empty() {
        // "." or "./" simplify to nothing; keep systemd's behaviour of an empty result
        // only for the empty input and map the rest to ".".
        out.push('.');
    }
    out
}

/// `config_parse_unit_path_printf`: specifiers, then an absolute simplified path; empty resets.
pub(crate) fn unit_path(
    ctx: &ParseCtx<'_>,
    value: &str,
    fatal: bool,
) -> Result<Option<PathBuf>, SettingError> {
    if value.is_empty() {
        return Ok(None);
    }
    let expanded = expand_or(ctx, value, fatal)?;
    absolute_path(ctx.key, &expanded, fatal).map(Some)
}

/// `config_parse_unit_string_printf`: specifiers expanded; empty resets.
pub(crate) fn unit_string(ctx: &ParseCtx<'_>, value: &str) -> Result<Option<String>, SettingError> {
    if value.is_empty() {
        return Ok(None);
    }
    expand(ctx, value).map(Some)
}

/// `parse_mode()`: an octal file mode up to `07777`.
pub(crate) fn mode(value: &str) -> Result<u32, SettingError> {
    let err = || SettingError::invalid(format!("Failed to parse mode value, ignoring: {value}"));
    let digits = value.trim_start_matches([' ', '\t', '\n', '\r']);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return Err(err());
    }
    let m = u32::from_str_radix(digits, 8).map_err(|_| err())?;
    if m > 0o7777 {
        return Err(err());
    }
    Ok(m)
}

/// `safe_atou`-style unsigned parse (no sign, no whitespace suffix).
pub(crate) fn unsigned<T: std::str::FromStr>(value: &str) -> Option<T> {
    let v = value.trim_start_matches([' ', '\t', '\n', '\r']);
    if v.starts_with('-') || v.starts_with('+') {
        return None;
    }
    v.parse().ok()
}

/// `safe_atoi`-style signed parse.
pub(crate) fn signed(value: &str) -> Option<i64> {
    let v = value.trim_start_matches([' ', '\t', '\n', '\r']);
    v.strip_prefix('+').unwrap_or(v).parse().ok()
}

/// Iterates the words of `value` as `extract_first_word(…, WHITESPACE, flags)` yields them.
/// Stops at the end; an extraction error is returned once and ends the iteration.
pub(crate) struct Words<'a> {
    rest: &'a str,
    flags: ExtractFlags,
    separators: &'a str,
    done: bool,
}

impl<'a> Words<'a> {
    /// Whitespace-separated words of `value`.
    pub(crate) fn new(value: &'a str, flags: ExtractFlags) -> Self {
        Self::with_separators(value, keel_core::word::WHITESPACE, flags)
    }

    /// Words of `value` separated by any of `separators`.
    pub(crate) fn with_separators(
        value: &'a str,
        separators: &'a str,
        flags: ExtractFlags,
    ) -> Self {
        Self {
            rest: value,
            flags,
            separators,
            done: false,
        }
    }

    /// What is left after the words taken so far.
    pub(crate) fn rest(&self) -> &'a str {
        self.rest
    }
}

impl Iterator for Words<'_> {
    type Item = Result<String, ()>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match extract_first_word(&mut self.rest, self.separators, self.flags) {
            Ok(Some(w)) => Some(Ok(w)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(_) => {
                self.done = true;
                Some(Err(()))
            }
        }
    }
}

/// Extracts one word from `input` (advancing it) and tells whether the separator that
/// ended it was `sep` (the C code's `p[-1] == ':'` test).
pub(crate) fn extract_with_separator(
    input: &mut &str,
    separators: &str,
    flags: ExtractFlags,
    sep: char,
) -> Result<Option<(String, bool)>, ()> {
    let before = *input;
    let word = extract_first_word(input, separators, flags).map_err(|_| ())?;
    let consumed = &before[..before.len() - input.len()];
    Ok(word.map(|w| (w, consumed.ends_with(sep))))
}

/// C-style unescaping into bytes (`cunescape()` with or without `UNESCAPE_ACCEPT_NUL`):
/// `\a \b \f \n \r \t \v \\ \" \' \s \xHH \NNN \uXXXX \UXXXXXXXX`.
pub(crate) fn cunescape_bytes(input: &str, accept_nul: bool) -> Result<Vec<u8>, String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = bytes.get(i + 1) else {
            return Err("trailing backslash".into());
        };
        i += 2;
        let simple = match e {
            b'a' => Some(7),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' => Some(b'\\'),
            b'"' => Some(b'"'),
            b'\'' => Some(b'\''),
            b's' => Some(b' '),
            _ => None,
        };
        if let Some(c) = simple {
            out.push(c);
            continue;
        }
        let (radix, len) = match e {
            b'x' => (16, 2),
            b'u' => (16, 4),
            b'U' => (16, 8),
            b'0'..=b'7' => {
                i -= 1;
                (8, 3)
            }
            _ => return Err(format!("invalid escape '\\{}'", e as char)),
        };
        let digits = input.get(i..i + len).ok_or("short escape")?;
        let v = u32::from_str_radix(digits, radix).map_err(|_| "invalid escape digits")?;
        i += len;
        if v == 0 && !accept_nul {
            return Err("NUL byte not allowed".into());
        }
        match e {
            b'x' => out.push(u8::try_from(v).map_err(|_| "bad \\x escape")?),
            b'u' | b'U' => {
                let c = char::from_u32(v).ok_or("invalid unicode escape")?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => out.push(u8::try_from(v).map_err(|_| "octal escape out of range")?),
        }
    }
    Ok(out)
}

/// Decodes standard Base64 (`unbase64mem()`): whitespace is skipped, padding optional.
pub(crate) fn unbase64(input: &str) -> Result<Vec<u8>, ()> {
    fn val(c: u8) -> Option<u32> {
        match c {
            b'A'..=b'Z' => Some(u32::from(c - b'A')),
            b'a'..=b'z' => Some(u32::from(c - b'a') + 26),
            b'0'..=b'9' => Some(u32::from(c - b'0') + 52),
            b'+' => Some(62),
            b'/' => Some(63),
            _ => None,
        }
    }
    let clean: Vec<u8> = input.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let data = match clean.iter().position(|&b| b == b'=') {
        Some(p) => {
            if clean[p..].iter().any(|&b| b != b'=') || clean.len() % 4 != 0 {
                return Err(());
            }
            &clean[..p]
        }
        None => &clean[..],
    };
    if data.len() % 4 == 1 {
        return Err(());
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    for chunk in data.chunks(4) {
        let mut acc = 0u32;
        for &c in chunk {
            acc = (acc << 6) | val(c).ok_or(())?;
        }
        let bits = chunk.len() * 6;
        acc <<= 24 - bits;
        let n = bits / 8;
        for k in 0..n {
            out.push(((acc >> (16 - 8 * k)) & 0xff) as u8);
        }
    }
    Ok(out)
}

/// Decodes hex (`unhexmem()`).
pub(crate) fn unhex(input: &str) -> Result<Vec<u8>, ()> {
    if input.len() % 2 != 0 {
        return Err(());
    }
    (0..input.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(input.get(i..i + 2).ok_or(())?, 16).map_err(|_| ()))
        .collect()
}

/// `filename_is_valid()`: non-empty, not `.`/`..`, no `/`, at most 255 bytes.
pub(crate) fn filename_is_valid(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && s.len() <= 255
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn simplify_paths() {
        assert_eq!(simplify("/a//b/./c/"), "/a/b/c");
        assert_eq!(simplify("/"), "/");
        assert_eq!(simplify("//"), "/");
        assert_eq!(simplify("a/b/"), "a/b");
        assert!(simplify_path("K", "/a/../b", PathCheck::Absolute, false).is_err());
        assert!(simplify_path("K", "a", PathCheck::Absolute, false).is_err());
        assert!(simplify_path("K", "/a", PathCheck::Relative, false).is_err());
        assert_eq!(
            simplify_path("K", "a", PathCheck::Absolute, false)
                .unwrap_err()
                .to_string(),
            "K= path is not absolute, ignoring: a"
        );
        assert!(
            simplify_path("K", "a", PathCheck::Absolute, true)
                .unwrap_err()
                .is_fatal()
        );
    }

    #[test]
    fn modes() {
        assert_eq!(mode("0755").unwrap(), 0o755);
        assert_eq!(mode("777").unwrap(), 0o777);
        assert!(mode("0888").is_err());
        assert!(mode("17777").is_err());
        assert!(mode("").is_err());
    }

    #[test]
    fn escapes() {
        assert_eq!(
            cunescape_bytes(r"a\nb\x41\101\s", false).unwrap(),
            b"a\nbAA "
        );
        assert!(cunescape_bytes(r"\x00", false).is_err());
        assert_eq!(cunescape_bytes(r"\x00", true).unwrap(), b"\0");
        assert!(cunescape_bytes(r"\q", false).is_err());
        assert_eq!(cunescape_bytes(r"\u00e4", false).unwrap(), "ä".as_bytes());
    }

    #[test]
    fn base64_and_hex() {
        assert_eq!(unbase64("aGVsbG8=").unwrap(), b"hello");
        assert_eq!(unbase64("aGVsbG8").unwrap(), b"hello");
        assert_eq!(unbase64("aGVs bG8=").unwrap(), b"hello");
        assert!(unbase64("a").is_err());
        assert!(unbase64("a=bc").is_err());
        assert_eq!(unhex("00ff10").unwrap(), vec![0, 255, 16]);
        assert!(unhex("0").is_err());
    }
}
