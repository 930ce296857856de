//! Word splitting, unquoting and C escapes, as systemd 248's `extract_first_word`
//! (`src/basic/extract-word.c`) and `cunescape`/`cescape` (`src/basic/escape.c`).
//!
//! Strings are UTF-8 in keel. Escapes such as `\xff` produce raw bytes, exactly as in C; the
//! bytes of a word are collected first and the word is checked to be valid UTF-8 when it ends.
//! A word that is not valid UTF-8 is an error ([`ExtractWordError::InvalidUtf8`]) where systemd
//! would carry the bytes on.
//!
//! Separators are matched byte by byte and must be ASCII (non-ASCII characters in the separator
//! set are ignored), so every cut falls on a character boundary.

use std::fmt;

bitflags::bitflags! {
    /// How [`extract_first_word`] treats quotes, escapes and separators
    /// (systemd's `ExtractFlags`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct ExtractFlags: u32 {
        /// Tolerate an unterminated quote or a trailing backslash at the end of the input.
        const RELAX = 1 << 0;
        /// Decode C escapes (`\n`, `\x41`, `\u00e4`, ...).
        const CUNESCAPE = 1 << 1;
        /// Keep unknown escapes (and a trailing backslash) verbatim instead of failing.
        const UNESCAPE_RELAX = 1 << 2;
        /// The name systemd 248 used for [`ExtractFlags::UNESCAPE_RELAX`].
        const CUNESCAPE_RELAX = 1 << 2;
        /// `\` followed by a separator (or `\`) yields that character.
        const UNESCAPE_SEPARATORS = 1 << 3;
        /// Remove `'` and `"` quotes; separators inside quotes do not split.
        const UNQUOTE = 1 << 4;
        /// Every separator ends a word, so runs of separators yield empty words.
        const DONT_COALESCE_SEPARATORS = 1 << 5;
        /// Keep backslashes and the character after them as they are.
        const RETAIN_ESCAPE = 1 << 6;
        /// Leave the separator that ended a word at the start of the rest.
        const RETAIN_SEPARATORS = 1 << 7;
        /// Honour quotes like [`ExtractFlags::UNQUOTE`] but keep them in the word.
        const KEEP_QUOTE = 1 << 8;
    }
}

/// The separators most settings use: space, tab, newline, carriage return.
pub const WHITESPACE: &str = " \t\n\r";

/// Why a word could not be extracted or unescaped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtractWordError {
    /// A `'` or `"` quote is not closed.
    #[error("unterminated quote")]
    UnterminatedQuote,
    /// The input ends in a lone backslash.
    #[error("trailing backslash")]
    TrailingBackslash,
    /// A backslash escape that is not valid (`\q`, `\x0`, `\000`, ...).
    #[error("invalid escape sequence \\{0}")]
    InvalidEscape(String),
    /// The decoded word is not valid UTF-8 (e.g. from `\xff`).
    #[error("word is not valid UTF-8 after unescaping")]
    InvalidUtf8,
}

/// A decoded C escape: a raw byte (`\xHH`, `\NNN`) or a character.
enum Unescaped {
    Byte(u8),
    Char(char),
}

fn hex(b: u8) -> Option<u32> {
    (b as char).to_digit(16)
}

/// Decodes the escape whose text (after the backslash) starts `s`; returns the value and the
/// number of bytes consumed. NUL is never accepted (systemd's `accept_nul = false`).
fn cunescape_one(s: &[u8]) -> Option<(Unescaped, usize)> {
    let simple = |c: char| Some((Unescaped::Char(c), 1));
    match *s.first()? {
        b'a' => simple('\x07'),
        b'b' => simple('\x08'),
        b'f' => simple('\x0c'),
        b'n' => simple('\n'),
        b'r' => simple('\r'),
        b't' => simple('\t'),
        b'v' => simple('\x0b'),
        b'\\' => simple('\\'),
        b'"' => simple('"'),
        b'\'' => simple('\''),
        b's' => simple(' '),
        b'x' => {
            let v = hex(*s.get(1)?)? << 4 | hex(*s.get(2)?)?;
            (v != 0).then_some((Unescaped::Byte(u8::try_from(v).ok()?), 3))
        }
        c @ (b'u' | b'U') => {
            let n = if c == b'u' { 4 } else { 8 };
            let mut v: u32 = 0;
            for i in 1..=n {
                v = v << 4 | hex(*s.get(i)?)?;
            }
            if v == 0 {
                return None;
            }
            Some((Unescaped::Char(char::from_u32(v)?), n + 1))
        }
        b'0'..=b'7' => {
            let oct = |i: usize| -> Option<u32> {
                let b = *s.get(i)?;
                (b'0'..=b'7').contains(&b).then(|| u32::from(b - b'0'))
            };
            let v = oct(0)? << 6 | oct(1)? << 3 | oct(2)?;
            (v != 0 && v <= 255).then_some((Unescaped::Byte(u8::try_from(v).ok()?), 3))
        }
        _ => None,
    }
}

fn push_unescaped(out: &mut Vec<u8>, u: Unescaped) {
    match u {
        Unescaped::Byte(b) => out.push(b),
        Unescaped::Char(c) => {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
    }
}

fn escape_text(s: &[u8]) -> String {
    let end = s.len().min(9);
    String::from_utf8_lossy(&s[..end]).into_owned()
}

/// The C function's cursor: `None` is its `*p == NULL` ("after the last word").
type Cursor<'a> = Option<&'a str>;

fn extract(
    cursor: &mut Cursor<'_>,
    separators: &str,
    flags: ExtractFlags,
) -> Result<Option<String>, ExtractWordError> {
    let Some(input) = *cursor else {
        return Ok(None);
    };
    let bytes = input.as_bytes();
    let seps = separators.as_bytes();
    let is_sep = |c: u8| c.is_ascii() && seps.contains(&c);
    let dont_coalesce = flags.contains(ExtractFlags::DONT_COALESCE_SEPARATORS);
    let retain_seps = flags.contains(ExtractFlags::RETAIN_SEPARATORS);
    let relax = flags.contains(ExtractFlags::RELAX);
    let quoting = flags.intersects(ExtractFlags::UNQUOTE | ExtractFlags::KEEP_QUOTE);
    let unquote = flags.contains(ExtractFlags::UNQUOTE);
    let retain_escape = flags.contains(ExtractFlags::RETAIN_ESCAPE);

    // `word` is systemd's `s`: None until the first non-separator (or at once when separators
    // do not coalesce, so that an empty field is a word).
    let mut word: Option<Vec<u8>> = dont_coalesce.then(Vec::new);
    let mut i = 0;

    enum End {
        /// End of input: no further words (`finish_force_terminate`).
        Terminate,
        /// A word ended; the rest starts at the index (`finish`).
        Next(usize),
        /// A word ended at a separator that does not coalesce (`finish_force_next`).
        ForceNext(usize),
    }

    // Skip leading separators.
    let end = loop {
        match bytes.get(i) {
            None => break Some(End::Terminate),
            Some(&c) if is_sep(c) => {
                if dont_coalesce {
                    break Some(End::ForceNext(if retain_seps { i } else { i + 1 }));
                }
                i += 1;
            }
            Some(_) => {
                word.get_or_insert_with(Vec::new);
                break None;
            }
        }
    };

    // Fast path: a word without quotes or backslashes is a plain slice of the input.
    if end.is_none() {
        let special = |c: u8| {
            is_sep(c) || (c == b'\\' && !retain_escape) || ((c == b'\'' || c == b'"') && quoting)
        };
        let j = bytes[i..]
            .iter()
            .position(|&c| special(c))
            .map_or(bytes.len(), |p| i + p);
        if j == bytes.len() || is_sep(bytes[j]) {
            let word = input[i..j].to_owned();
            *cursor = if j == bytes.len() {
                None
            } else if dont_coalesce {
                Some(&input[if retain_seps { j } else { j + 1 }..])
            } else if retain_seps {
                Some(&input[j..])
            } else {
                let k = bytes[j..].iter().position(|&c| !is_sep(c)).map(|p| j + p);
                k.map(|k| &input[k..])
            };
            return Ok(Some(word));
        }
    }

    let end = match end {
        Some(e) => e,
        None => {
            let s = word.get_or_insert_with(Vec::new);
            let mut quote: u8 = 0;
            let mut backslash = false;
            loop {
                let c = bytes.get(i).copied();
                if backslash {
                    let Some(c) = c else {
                        if flags.contains(ExtractFlags::UNESCAPE_RELAX) && (quote == 0 || relax) {
                            s.push(b'\\');
                            break End::Terminate;
                        }
                        if relax {
                            break End::Terminate;
                        }
                        *cursor = Some(&input[i..]);
                        *cursor = Some(&input[i..]);
                        return Err(ExtractWordError::TrailingBackslash);
                    };
                    if flags.intersects(ExtractFlags::CUNESCAPE | ExtractFlags::UNESCAPE_SEPARATORS)
                    {
                        let decoded = if flags.contains(ExtractFlags::CUNESCAPE) {
                            cunescape_one(&bytes[i..])
                        } else {
                            None
                        };
                        if let Some((u, n)) = decoded {
                            push_unescaped(s, u);
                            i += n - 1;
                        } else if flags.contains(ExtractFlags::UNESCAPE_SEPARATORS)
                            && (is_sep(c) || c == b'\\')
                        {
                            s.push(c);
                        } else if flags.contains(ExtractFlags::UNESCAPE_RELAX) {
                            s.push(b'\\');
                            s.push(c);
                        } else {
                            *cursor = Some(&input[i..]);
                            *cursor = Some(&input[i..]);
                            return Err(ExtractWordError::InvalidEscape(escape_text(&bytes[i..])));
                        }
                    } else {
                        s.push(c);
                    }
                    backslash = false;
                    i += 1;
                } else if quote != 0 {
                    // Inside quotes.
                    loop {
                        let Some(c) = bytes.get(i).copied() else {
                            if relax {
                                break;
                            }
                            *cursor = Some(&input[i..]);
                            *cursor = Some(&input[i..]);
                            return Err(ExtractWordError::UnterminatedQuote);
                        };
                        if c == quote {
                            quote = 0;
                            if unquote {
                                i += 1;
                                break;
                            }
                        } else if c == b'\\' && !retain_escape {
                            backslash = true;
                            i += 1;
                            break;
                        }
                        s.push(c);
                        i += 1;
                        if quote == 0 {
                            break;
                        }
                    }
                    if i >= bytes.len() && quote != 0 && !backslash {
                        break End::Terminate;
                    }
                } else {
                    // Outside quotes.
                    let mut done = None;
                    loop {
                        let Some(c) = bytes.get(i).copied() else {
                            done = Some(End::Terminate);
                            break;
                        };
                        if (c == b'\'' || c == b'"') && quoting {
                            quote = c;
                            if unquote {
                                i += 1;
                                break;
                            }
                        } else if c == b'\\' && !retain_escape {
                            backslash = true;
                            i += 1;
                            break;
                        } else if is_sep(c) {
                            if dont_coalesce {
                                done = Some(End::ForceNext(if retain_seps { i } else { i + 1 }));
                                break;
                            }
                            if !retain_seps {
                                while bytes.get(i).is_some_and(|&c| is_sep(c)) {
                                    i += 1;
                                }
                                if i >= bytes.len() {
                                    done = Some(End::Terminate);
                                    break;
                                }
                            }
                            done = Some(End::Next(i));
                            break;
                        }
                        s.push(c);
                        i += 1;
                        if quote != 0 {
                            break;
                        }
                    }
                    if let Some(d) = done {
                        break d;
                    }
                }
            }
        }
    };

    match end {
        End::Terminate => *cursor = None,
        End::Next(at) | End::ForceNext(at) => *cursor = Some(&input[at..]),
    }
    match word {
        None => {
            *cursor = None;
            Ok(None)
        }
        Some(bytes) => String::from_utf8(bytes)
            .map(Some)
            .map_err(|_| ExtractWordError::InvalidUtf8),
    }
}

/// Extracts the first word of `input` and advances `input` past it (and past the separators
/// after it, unless [`ExtractFlags::RETAIN_SEPARATORS`]).
///
/// Returns `Ok(None)` when no word is left. Unlike the C function, an empty `input` always
/// means "no more words", also with [`ExtractFlags::DONT_COALESCE_SEPARATORS`]; use [`Words`]
/// where the empty field after a trailing separator matters.
///
/// ```
/// use keel_core::word::{extract_first_word, ExtractFlags, WHITESPACE};
///
/// let mut p = r#"  one "two three" f\x6fur"#;
/// let flags = ExtractFlags::UNQUOTE | ExtractFlags::CUNESCAPE;
/// assert_eq!(extract_first_word(&mut p, WHITESPACE, flags)?.as_deref(), Some("one"));
/// assert_eq!(extract_first_word(&mut p, WHITESPACE, flags)?.as_deref(), Some("two three"));
/// assert_eq!(extract_first_word(&mut p, WHITESPACE, flags)?.as_deref(), Some("four"));
/// assert_eq!(extract_first_word(&mut p, WHITESPACE, flags)?, None);
/// # Ok::<(), keel_core::word::ExtractWordError>(())
/// ```
pub fn extract_first_word(
    input: &mut &str,
    separators: &str,
    flags: ExtractFlags,
) -> Result<Option<String>, ExtractWordError> {
    if input.is_empty() {
        return Ok(None);
    }
    let mut cursor = Some(*input);
    let r = extract(&mut cursor, separators, flags);
    *input = cursor.unwrap_or(&input[input.len()..]);
    r
}

/// An iterator over the words of a string with exactly the C function's cursor semantics,
/// including the empty last field after a trailing separator with
/// [`ExtractFlags::DONT_COALESCE_SEPARATORS`] (`"a,"` splits into `"a"` and `""`).
///
/// After an error the iterator ends. [`Words::step`] gives the C function's exact behaviour,
/// which continues after an error at the offending character.
///
/// ```
/// use keel_core::word::{ExtractFlags, Words};
///
/// let fields: Result<Vec<_>, _> =
///     Words::new("a,,b,", ",", ExtractFlags::DONT_COALESCE_SEPARATORS).collect();
/// assert_eq!(fields?, ["a", "", "b", ""]);
/// # Ok::<(), keel_core::word::ExtractWordError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Words<'a> {
    cursor: Cursor<'a>,
    separators: &'a str,
    flags: ExtractFlags,
}

impl<'a> Words<'a> {
    /// Words of `input` separated by any of `separators`.
    pub fn new(input: &'a str, separators: &'a str, flags: ExtractFlags) -> Self {
        Self {
            cursor: Some(input),
            separators,
            flags,
        }
    }

    /// The unparsed rest, or `None` after the last word.
    pub fn rest(&self) -> Option<&'a str> {
        self.cursor
    }
}

impl Words<'_> {
    /// Extracts the next word like one call of the C function: on error, the cursor stays at
    /// the offending character (the end of the input for an unterminated quote), so a caller
    /// may go on from there.
    pub fn step(&mut self) -> Result<Option<String>, ExtractWordError> {
        extract(&mut self.cursor, self.separators, self.flags)
    }
}

impl Iterator for Words<'_> {
    type Item = Result<String, ExtractWordError>;

    fn next(&mut self) -> Option<Self::Item> {
        match extract(&mut self.cursor, self.separators, self.flags) {
            Ok(Some(w)) => Some(Ok(w)),
            Ok(None) => None,
            Err(e) => {
                self.cursor = None;
                Some(Err(e))
            }
        }
    }
}

/// All words of `input` (systemd's `strv_split_full`).
pub fn split_words(
    input: &str,
    separators: &str,
    flags: ExtractFlags,
) -> Result<Vec<String>, ExtractWordError> {
    Words::new(input, separators, flags).collect()
}

bitflags::bitflags! {
    /// How [`cunescape`] treats bad escapes (systemd's `UnescapeFlags`).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub struct UnescapeFlags: u32 {
        /// Keep invalid escapes and a trailing backslash verbatim.
        const RELAX = 1 << 0;
    }
}

/// Decodes every C escape of `s` (systemd's `cunescape`).
///
/// ```
/// use keel_core::word::{cunescape, UnescapeFlags};
/// assert_eq!(cunescape(r"a\tb\x41\u00e4", UnescapeFlags::empty())?, "a\tbAä");
/// assert_eq!(cunescape(r"\q", UnescapeFlags::RELAX)?, r"\q");
/// # Ok::<(), keel_core::word::ExtractWordError>(())
/// ```
pub fn cunescape(s: &str, flags: UnescapeFlags) -> Result<String, ExtractWordError> {
    let b = s.as_bytes();
    let relax = flags.contains(UnescapeFlags::RELAX);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        if i + 1 == b.len() {
            if relax {
                out.push(b'\\');
                break;
            }
            return Err(ExtractWordError::TrailingBackslash);
        }
        match cunescape_one(&b[i + 1..]) {
            Some((u, n)) => {
                push_unescaped(&mut out, u);
                i += n + 1;
            }
            None if relax => {
                out.push(b'\\');
                i += 1;
            }
            None => return Err(ExtractWordError::InvalidEscape(escape_text(&b[i + 1..]))),
        }
    }
    String::from_utf8(out).map_err(|_| ExtractWordError::InvalidUtf8)
}

/// Escapes `s` the way systemd's `cescape` does: the named C escapes for BEL, BS, FF, LF, CR,
/// TAB, VT, `\`, `"` and `'`, and three-digit octal for every other byte below space or from
/// 127 up (so non-ASCII characters become octal byte escapes).
///
/// ```
/// assert_eq!(keel_core::word::cescape("a\tb\"ä"), r#"a\tb\"\303\244"#);
/// ```
pub fn cescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for &c in s.as_bytes() {
        let named = match c {
            0x07 => Some('a'),
            0x08 => Some('b'),
            0x0c => Some('f'),
            b'\n' => Some('n'),
            b'\r' => Some('r'),
            b'\t' => Some('t'),
            0x0b => Some('v'),
            b'\\' => Some('\\'),
            b'"' => Some('"'),
            b'\'' => Some('\''),
            _ => None,
        };
        if let Some(n) = named {
            out.push('\\');
            out.push(n);
        } else if !(b' '..127).contains(&c) {
            use fmt::Write as _;
            let _ = write!(out, "\\{:03o}", c);
        } else {
            out.push(char::from(c));
        }
    }
    out
}

#[cfg(test)]
mod tests;
