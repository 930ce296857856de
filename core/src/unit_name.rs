//! Unit names, as systemd 248's `src/basic/unit-name.c`: validation, the template/instance
//! split, `systemd-escape` escaping (`--path`, `--unescape`, `--mangle`) and the mapping
//! between paths and `.mount`/`.device` names.

use std::fmt;
use std::str::FromStr;

/// The longest unit name is one byte shorter than this (systemd's `UNIT_NAME_MAX`).
pub const UNIT_NAME_MAX: usize = 256;

/// The characters allowed in a unit name's prefix and instance (besides `@`).
const VALID_CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ:-_.\\";

/// `VALID_CHARS` as a lookup table.
const VALID_TABLE: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < VALID_CHARS.len() {
        t[VALID_CHARS[i] as usize] = true;
        i += 1;
    }
    t
};

fn valid_char(c: u8) -> bool {
    VALID_TABLE[usize::from(c)]
}

/// The types of unit systemd knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum UnitType {
    /// `.service`
    Service,
    /// `.mount`
    Mount,
    /// `.swap`
    Swap,
    /// `.socket`
    Socket,
    /// `.target`
    Target,
    /// `.device`
    Device,
    /// `.automount`
    Automount,
    /// `.timer`
    Timer,
    /// `.path`
    Path,
    /// `.slice`
    Slice,
    /// `.scope`
    Scope,
}

impl UnitType {
    /// Every unit type, in systemd's `UnitType` order.
    pub const ALL: [UnitType; 11] = [
        UnitType::Service,
        UnitType::Mount,
        UnitType::Swap,
        UnitType::Socket,
        UnitType::Target,
        UnitType::Device,
        UnitType::Automount,
        UnitType::Timer,
        UnitType::Path,
        UnitType::Slice,
        UnitType::Scope,
    ];

    /// The suffix without the dot (`"service"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            UnitType::Service => "service",
            UnitType::Mount => "mount",
            UnitType::Swap => "swap",
            UnitType::Socket => "socket",
            UnitType::Target => "target",
            UnitType::Device => "device",
            UnitType::Automount => "automount",
            UnitType::Timer => "timer",
            UnitType::Path => "path",
            UnitType::Slice => "slice",
            UnitType::Scope => "scope",
        }
    }

    /// The type whose suffix is `s` (without the dot).
    pub fn from_suffix(s: &str) -> Option<UnitType> {
        UnitType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

impl fmt::Display for UnitType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for UnitType {
    type Err = UnitNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnitType::from_suffix(s).ok_or_else(|| UnitNameError::UnknownType(s.to_owned()))
    }
}

/// Why a unit name (or an escaped string) is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnitNameError {
    /// Not a valid unit name; the text says why.
    #[error("invalid unit name {name:?}: {reason}")]
    Invalid {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Not a unit type suffix.
    #[error("unknown unit type {0:?}")]
    UnknownType(String),
    /// Not a valid escaped string (bad `\x` escape, or an unescaped path that is not
    /// normalized).
    #[error("invalid escaped string {0:?}")]
    InvalidEscape(String),
    /// A path that cannot be turned into a unit name (`..`, `.` components).
    #[error("path {0:?} is not normalized")]
    PathNotNormalized(String),
    /// Instance operations on a name that is neither a template nor an instance.
    #[error("unit name {0:?} is not a template or instance")]
    NotTemplate(String),
}

/// What a valid name is: plain (`foo.service`), template (`foo@.service`) or instance
/// (`foo@bar.service`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Plain,
    Template,
    Instance,
}

/// Checks a unit name; returns its shape, type, and the byte offsets of `@` and the last `.`.
fn check(n: &str) -> Result<(Shape, UnitType, Option<usize>, usize), &'static str> {
    if n.is_empty() {
        return Err("empty");
    }
    if n.len() >= UNIT_NAME_MAX {
        return Err("too long (at most 255 bytes)");
    }
    let dot = match n.rfind('.') {
        Some(0) | None => return Err("no type suffix"),
        Some(d) => d,
    };
    let ty = UnitType::from_suffix(&n[dot + 1..]).ok_or("unknown type suffix")?;
    let b = n.as_bytes();
    let mut at = None;
    for (i, &c) in b[..dot].iter().enumerate() {
        if c == b'@' {
            at.get_or_insert(i);
        } else if !valid_char(c) {
            return Err("invalid character");
        }
    }
    let shape = match at {
        Some(0) => return Err("empty prefix"),
        None => Shape::Plain,
        Some(a) if a + 1 == dot => Shape::Template,
        Some(_) => Shape::Instance,
    };
    Ok((shape, ty, at, dot))
}

/// A valid unit name (`foo.service`, `getty@.service`, `getty@tty1.service`).
///
/// ```
/// use keel_core::unit_name::{UnitName, UnitType};
/// let n = UnitName::new("getty@tty1.service")?;
/// assert_eq!(n.prefix(), "getty");
/// assert_eq!(n.instance(), Some("tty1"));
/// assert_eq!(n.unit_type(), UnitType::Service);
/// assert!(UnitName::new("foo").is_err());
/// # Ok::<(), keel_core::unit_name::UnitNameError>(())
/// ```
#[derive(Clone)]
pub struct UnitName(String, Parts);

/// The validated structure of a name, computed once.
#[derive(Debug, Clone, Copy)]
struct Parts {
    shape: Shape,
    ty: UnitType,
    at: Option<usize>,
    dot: usize,
}

impl PartialEq for UnitName {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Eq for UnitName {}

impl PartialOrd for UnitName {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for UnitName {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

impl std::hash::Hash for UnitName {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl serde::Serialize for UnitName {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl UnitName {
    /// Validates `name` as systemd's `unit_name_is_valid(name, UNIT_NAME_ANY)`.
    pub fn new(name: &str) -> Result<UnitName, UnitNameError> {
        Self::from_string(name.to_owned())
    }

    fn from_string(name: String) -> Result<UnitName, UnitNameError> {
        match check(&name) {
            Ok((shape, ty, at, dot)) => Ok(UnitName(name, Parts { shape, ty, at, dot })),
            Err(reason) => Err(UnitNameError::Invalid { name, reason }),
        }
    }

    fn parts(&self) -> (Shape, UnitType, Option<usize>, usize) {
        let p = self.1;
        (p.shape, p.ty, p.at, p.dot)
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The text before `@`, or before the type suffix (`%p`).
    pub fn prefix(&self) -> &str {
        let (_, _, at, dot) = self.parts();
        &self.0[..at.unwrap_or(dot)]
    }

    /// The instance of an instance name (`%i`); `None` for plain names and templates.
    pub fn instance(&self) -> Option<&str> {
        match self.parts() {
            (Shape::Instance, _, Some(at), dot) => Some(&self.0[at + 1..dot]),
            _ => None,
        }
    }

    /// The name without its type suffix (`%N`).
    pub fn without_suffix(&self) -> &str {
        &self.0[..self.parts().3]
    }

    /// Whether this is a template (`foo@.service`).
    pub fn is_template(&self) -> bool {
        self.parts().0 == Shape::Template
    }

    /// Whether this is an instance (`foo@bar.service`).
    pub fn is_instance(&self) -> bool {
        self.parts().0 == Shape::Instance
    }

    /// The unit type.
    pub fn unit_type(&self) -> UnitType {
        self.parts().1
    }

    /// The template of a template or instance name (`foo@bar.service` → `foo@.service`).
    pub fn template(&self) -> Option<UnitName> {
        match self.parts() {
            (Shape::Plain, ..) => None,
            (Shape::Template, ..) => Some(self.clone()),
            (Shape::Instance, ty, _, _) => {
                UnitName::from_string(format!("{}@.{}", self.prefix(), ty)).ok()
            }
        }
    }

    /// This template (or instance) with the instance `instance`.
    pub fn with_instance(&self, instance: &str) -> Result<UnitName, UnitNameError> {
        if self.parts().0 == Shape::Plain {
            return Err(UnitNameError::NotTemplate(self.0.clone()));
        }
        UnitName::new(&format!(
            "{}@{}.{}",
            self.prefix(),
            instance,
            self.unit_type()
        ))
    }

    /// A name of another type with the same prefix and instance (`foo.socket` →
    /// `foo.service`).
    pub fn with_type(&self, ty: UnitType) -> UnitName {
        let name = format!("{}.{}", self.without_suffix(), ty);
        let mut p = self.1;
        p.ty = ty;
        UnitName(name, p)
    }
}

impl fmt::Debug for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.0, f)
    }
}

impl fmt::Display for UnitName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for UnitName {
    type Err = UnitNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UnitName::new(s)
    }
}

impl AsRef<str> for UnitName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for UnitName {
    fn borrow(&self) -> &str {
        &self.0
    }
}

fn push_escaped(out: &mut String, c: u8) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push_str("\\x");
    out.push(char::from(HEX[usize::from(c >> 4)]));
    out.push(char::from(HEX[usize::from(c & 15)]));
}

/// Escapes a string for use in a unit name, as `systemd-escape` does: `/` becomes `-`; `-`,
/// `\` and every byte outside `[a-zA-Z0-9:_.]` become `\xHH`; a leading `.` becomes `\x2e`.
///
/// ```
/// use keel_core::unit_name::escape;
/// assert_eq!(escape("foo-bar/baz"), r"foo\x2dbar-baz");
/// assert_eq!(escape(".dot ä"), r"\x2edot\x20\xc3\xa4");
/// ```
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    let mut b = s.as_bytes();
    if let Some((b'.', rest)) = b.split_first() {
        push_escaped(&mut out, b'.');
        b = rest;
    }
    for &c in b {
        if c == b'/' {
            out.push('-');
        } else if c == b'-' || c == b'\\' || !valid_char(c) {
            push_escaped(&mut out, c);
        } else {
            out.push(char::from(c));
        }
    }
    out
}

/// Reverses [`escape`] (`systemd-escape --unescape`): `\xHH` decoded and `-` turned into `/`.
///
/// ```
/// assert_eq!(keel_core::unit_name::unescape(r"foo\x2dbar-baz").as_deref(), Ok("foo-bar/baz"));
/// ```
pub fn unescape(s: &str) -> Result<String, UnitNameError> {
    let bad = || UnitNameError::InvalidEscape(s.to_owned());
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'-' => out.push(b'/'),
            b'\\' => {
                if b.get(i + 1) != Some(&b'x') {
                    return Err(bad());
                }
                let h = |j: usize| b.get(j).and_then(|c| char::from(*c).to_digit(16));
                let (Some(a), Some(c)) = (h(i + 2), h(i + 3)) else {
                    return Err(bad());
                };
                out.push(u8::try_from(a << 4 | c).map_err(|_| bad())?);
                i += 3;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

/// Whether `p` is a path systemd calls normalized: valid, no `.` or `..` components, no `//`.
fn path_is_normalized(p: &str) -> bool {
    if p.is_empty() || p.len() >= 4096 || p.contains("//") {
        return false;
    }
    p.split('/')
        .all(|c| c != "." && c != ".." && c.len() <= 255)
}

/// Collapses repeated slashes and drops a trailing one (systemd's `path_simplify(p, false)`:
/// `.` components are kept).
///
/// ```
/// assert_eq!(keel_core::unit_name::simplify_slashes("//a//./b/"), "/a/./b");
/// ```
pub fn simplify_slashes(p: &str) -> String {
    let mut out = String::with_capacity(p.len());
    for c in p.chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

/// Escapes a path for use in a unit name, as `systemd-escape --path` does: the path is
/// simplified, `/` alone becomes `-`, otherwise leading and trailing slashes are dropped and
/// the rest is [`escape`]d. Paths with `.` or `..` components are refused.
///
/// ```
/// use keel_core::unit_name::escape_path;
/// assert_eq!(escape_path("/dev/disk/by-label/x").as_deref(), Ok(r"dev-disk-by\x2dlabel-x"));
/// assert_eq!(escape_path("/").as_deref(), Ok("-"));
/// assert!(escape_path("/a/../b").is_err());
/// ```
pub fn escape_path(path: &str) -> Result<String, UnitNameError> {
    let p = simplify_slashes(path);
    if p.is_empty() || p == "/" {
        return Ok("-".into());
    }
    if !path_is_normalized(&p) {
        return Err(UnitNameError::PathNotNormalized(path.to_owned()));
    }
    Ok(escape(p.trim_matches('/')))
}

/// Reverses [`escape_path`] (`systemd-escape --unescape --path`): `-` is `/`, otherwise the
/// unescaped string gets a leading `/` and must be a normalized path without leading or
/// trailing slash of its own.
///
/// ```
/// use keel_core::unit_name::unescape_path;
/// assert_eq!(unescape_path(r"dev-disk-by\x2dlabel-x").as_deref(), Ok("/dev/disk/by-label/x"));
/// assert_eq!(unescape_path("-").as_deref(), Ok("/"));
/// ```
pub fn unescape_path(s: &str) -> Result<String, UnitNameError> {
    if s.is_empty() {
        return Err(UnitNameError::InvalidEscape(String::new()));
    }
    if s == "-" {
        return Ok("/".into());
    }
    let w = unescape(s)?;
    if w.starts_with('/') || w.ends_with('/') {
        return Err(UnitNameError::InvalidEscape(s.to_owned()));
    }
    let p = format!("/{w}");
    if !path_is_normalized(&p) {
        return Err(UnitNameError::InvalidEscape(s.to_owned()));
    }
    Ok(p)
}

/// The unit name of type `ty` for `path` (`/home/x` → `home-x.mount`), as systemd's
/// `unit_name_from_path`.
pub fn from_path(path: &str, ty: UnitType) -> Result<UnitName, UnitNameError> {
    UnitName::from_string(format!("{}.{}", escape_path(path)?, ty))
}

/// The path a unit name stands for (`home-x.mount` → `/home/x`), as systemd's
/// `unit_name_to_path`.
pub fn to_path(name: &UnitName) -> Result<String, UnitNameError> {
    unescape_path(name.prefix())
}

/// Makes a unit name out of arbitrary user input, as `systemd-escape --mangle` and
/// `systemctl` do: valid names are kept, `/dev/…` and `/sys/…` paths become `.device` units,
/// other absolute paths `.mount` units, and anything else is escaped (`/` → `-`, invalid bytes
/// → `\xHH`, `@` kept) with `.` + `ty` appended when there is no known type suffix.
///
/// ```
/// use keel_core::unit_name::{mangle, UnitType};
/// assert_eq!(mangle("foo", UnitType::Service)?.as_str(), "foo.service");
/// assert_eq!(mangle("/dev/sda", UnitType::Service)?.as_str(), "dev-sda.device");
/// assert_eq!(mangle("/home", UnitType::Service)?.as_str(), "home.mount");
/// assert_eq!(mangle("ü", UnitType::Service)?.as_str(), r"\xc3\xbc.service");
/// # Ok::<(), keel_core::unit_name::UnitNameError>(())
/// ```
pub fn mangle(name: &str, ty: UnitType) -> Result<UnitName, UnitNameError> {
    if name.is_empty() {
        return Err(UnitNameError::Invalid {
            name: String::new(),
            reason: "empty",
        });
    }
    if let Ok(n) = UnitName::new(name) {
        return Ok(n);
    }
    if name.starts_with("/dev/") || name.starts_with("/sys/") {
        if let Ok(n) = from_path(name, UnitType::Device) {
            return Ok(n);
        }
    }
    if name.starts_with('/') {
        if let Ok(n) = from_path(name, UnitType::Mount) {
            return Ok(n);
        }
    }
    let mut s = String::with_capacity(name.len() * 4 + 10);
    for &c in name.as_bytes() {
        if c == b'/' {
            s.push('-');
        } else if c != b'@' && !valid_char(c) {
            push_escaped(&mut s, c);
        } else {
            s.push(char::from(c));
        }
    }
    let has_type = s
        .rfind('.')
        .is_some_and(|d| UnitType::from_suffix(&s[d + 1..]).is_some());
    if !has_type {
        s.push('.');
        s.push_str(ty.as_str());
    }
    UnitName::new(&s)
}

#[cfg(test)]
mod tests;
