//! The INI lexer shared by every systemd-style file: unit files, drop-ins, `system.conf`,
//! and later `.network`, `.netdev` and `oomd.conf`.
//!
//! It turns bytes into [`Item`]s (section headers and `Key=value` assignments with their
//! line and column) exactly as systemd 248's `config_parse()` reads lines:
//!
//! - a UTF-8 byte order mark at the start is skipped;
//! - lines whose first non-blank character is `#` or `;` are comments, skipped entirely,
//!   **even in the middle of a continuation** (the continuation resumes on the next line);
//! - a line ending in an unescaped `\` continues on the next line: the backslash becomes a
//!   space and the next line is appended as it is (its leading blanks kept);
//! - the logical line is trimmed of `" \t\n\r"`; empty lines are skipped;
//! - a line that is not valid UTF-8 is ignored with a warning;
//! - `[Section]` must end in `]`, otherwise the whole file is refused
//!   ([`LexError::InvalidSectionHeader`]);
//! - `Key=value` splits at the first `=`, both sides trimmed; a line without `=` or with an
//!   empty key is ignored with a warning;
//! - a physical or logical line longer than 1 MiB refuses the whole file
//!   ([`LexError::LineTooLong`]).
//!
//! What a section or key *means* is up to the caller: the lexer knows no section names, so
//! it also returns assignments that come before any section header.

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use crate::diag::Diagnostic;

/// systemd's `LONG_LINE_MAX`: 1 MiB.
pub const LINE_MAX: usize = 1024 * 1024;

/// A `[Section]` header.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Section<'a> {
    /// The text between the brackets, untrimmed, as systemd takes it.
    pub name: Cow<'a, str>,
    /// 1-based line of the header.
    pub line: u32,
}

/// A `Key=value` line (after joining continuations).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Assignment<'a> {
    /// The key, trimmed.
    pub key: Cow<'a, str>,
    /// The value, trimmed; borrowed unless continuation lines were joined.
    pub value: Cow<'a, str>,
    /// 1-based line where the logical line starts.
    pub line: u32,
    /// 1-based column of the key on that line.
    pub key_column: u32,
    /// 1-based column of the value on that line (for joined lines: of its first part).
    pub value_column: u32,
}

/// One meaningful line of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Item<'a> {
    /// A section header.
    Section(Section<'a>),
    /// An assignment.
    Assignment(Assignment<'a>),
}

/// What the lexer found in a file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Lexed<'a> {
    /// Sections and assignments, in file order.
    pub items: Vec<Item<'a>>,
    /// Warnings about ignored lines.
    pub diagnostics: Vec<Diagnostic>,
}

/// The file cannot be used at all (systemd refuses the whole file too).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LexError {
    /// A line starts with `[` but does not end with `]` (systemd: `EBADMSG`).
    #[error("{}line {line}: invalid section header", fmt_path(.path.as_deref()))]
    InvalidSectionHeader {
        /// The file.
        path: Option<PathBuf>,
        /// 1-based line.
        line: u32,
    },
    /// A line (or continued line) is longer than 1 MiB (systemd: `ENOBUFS`).
    #[error("{}line {line}: line too long", fmt_path(.path.as_deref()))]
    LineTooLong {
        /// The file.
        path: Option<PathBuf>,
        /// 1-based line.
        line: u32,
    },
}

impl LexError {
    /// The line the error is about.
    pub fn line(&self) -> u32 {
        match self {
            Self::InvalidSectionHeader { line, .. } | Self::LineTooLong { line, .. } => *line,
        }
    }
}

fn fmt_path(path: Option<&Path>) -> String {
    path.map(|p| format!("{}: ", p.display()))
        .unwrap_or_default()
}

const WS: &[u8] = b" \t\n\r";

fn trim_ws(s: &[u8]) -> (&[u8], usize) {
    let start = s.iter().position(|b| !WS.contains(b)).unwrap_or(s.len());
    let end = s
        .iter()
        .rposition(|b| !WS.contains(b))
        .map_or(start, |e| e + 1);
    (&s[start..end.max(start)], start)
}

/// True when `line` ends in a backslash that is not itself escaped.
fn ends_in_continuation(line: &[u8]) -> bool {
    let trailing = line.iter().rev().take_while(|&&b| b == b'\\').count();
    trailing % 2 == 1
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A logical line being assembled from continued physical lines.
struct Pending {
    buf: Vec<u8>,
    line: u32,
    /// 0-based byte offset of the first part within its physical line.
    offset: usize,
}

/// Lexes one file.
///
/// `path` is only used in diagnostics and errors.
///
/// # Errors
/// [`LexError`] when systemd would refuse the whole file: a malformed section header or a
/// line over 1 MiB.
pub fn lex<'a>(text: &'a [u8], path: Option<&Path>) -> Result<Lexed<'a>, LexError> {
    let text = text.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(text);
    // Valid UTF-8 as a whole (the usual case): lines are then sliced out of it without
    // validating each one again.
    let whole = std::str::from_utf8(text).ok();
    let mut out = Lexed::default();
    let mut pending: Option<Pending> = None;
    let mut lineno: u32 = 0;
    let mut rest = text;

    while !rest.is_empty() {
        lineno += 1;
        let (raw, next) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = next;
        if raw.len() > LINE_MAX {
            return Err(LexError::LineTooLong {
                path: path.map(Path::to_path_buf),
                line: lineno,
            });
        }
        let (trimmed_start, _) = trim_ws(raw);
        if matches!(trimmed_start.first(), Some(b'#' | b';')) {
            continue; // comments are skipped, even inside a continuation
        }
        let continues = ends_in_continuation(raw);
        let body = if continues {
            &raw[..raw.len() - 1]
        } else {
            raw
        };

        if let Some(p) = pending.as_mut() {
            p.buf.extend_from_slice(body);
            if continues {
                p.buf.push(b' ');
            }
            if p.buf.len() > LINE_MAX {
                return Err(LexError::LineTooLong {
                    path: path.map(Path::to_path_buf),
                    line: p.line,
                });
            }
            if continues {
                continue;
            }
            let done = pending.take();
            if let Some(p) = done {
                emit_owned(&mut out, p, path)?;
            }
            continue;
        }
        if continues {
            let mut buf = Vec::with_capacity(body.len() + 64);
            buf.extend_from_slice(body);
            buf.push(b' ');
            pending = Some(Pending {
                buf,
                line: lineno,
                offset: 0,
            });
            continue;
        }
        emit_borrowed(&mut out, raw, text, whole, lineno, path)?;
    }
    if let Some(p) = pending.take() {
        emit_owned(&mut out, p, path)?;
    }
    Ok(out)
}

fn emit_owned(out: &mut Lexed<'_>, p: Pending, path: Option<&Path>) -> Result<(), LexError> {
    let (t, start) = trim_ws(&p.buf);
    if t.is_empty() {
        return Ok(());
    }
    let Ok(s) = std::str::from_utf8(t) else {
        out.diagnostics.push(invalid_utf8(path, p.line));
        return Ok(());
    };
    let col = p.offset + start;
    match parse_line(s, p.line, col, path, &mut out.diagnostics)? {
        Some(Parsed::Section(name)) => out.items.push(Item::Section(Section {
            name: Cow::Owned(name.to_owned()),
            line: p.line,
        })),
        Some(Parsed::Assignment {
            key,
            value,
            key_col,
            value_col,
        }) => out.items.push(Item::Assignment(Assignment {
            key: Cow::Owned(key.to_owned()),
            value: Cow::Owned(value.to_owned()),
            line: p.line,
            key_column: to_u32(key_col + 1),
            value_column: to_u32(value_col + 1),
        })),
        None => {}
    }
    Ok(())
}

fn emit_borrowed<'a>(
    out: &mut Lexed<'a>,
    raw: &'a [u8],
    text: &'a [u8],
    whole: Option<&'a str>,
    line: u32,
    path: Option<&Path>,
) -> Result<(), LexError> {
    let (t, start) = trim_ws(raw);
    if t.is_empty() {
        return Ok(());
    }
    // `t` is a sub-slice of `text` cut at ASCII bytes, so it is a char-boundary slice of
    // `whole` when the text is valid UTF-8.
    let off = (t.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    let from_whole = whole.and_then(|w| w.get(off..off + t.len()));
    let Some(s) = from_whole.or_else(|| std::str::from_utf8(t).ok()) else {
        out.diagnostics.push(invalid_utf8(path, line));
        return Ok(());
    };
    match parse_line(s, line, start, path, &mut out.diagnostics)? {
        Some(Parsed::Section(name)) => out.items.push(Item::Section(Section {
            name: Cow::Borrowed(name),
            line,
        })),
        Some(Parsed::Assignment {
            key,
            value,
            key_col,
            value_col,
        }) => out.items.push(Item::Assignment(Assignment {
            key: Cow::Borrowed(key),
            value: Cow::Borrowed(value),
            line,
            key_column: to_u32(key_col + 1),
            value_column: to_u32(value_col + 1),
        })),
        None => {}
    }
    Ok(())
}

fn invalid_utf8(path: Option<&Path>, line: u32) -> Diagnostic {
    Diagnostic::warning(
        path,
        line,
        "Configuration file is not valid UTF-8, ignoring line.",
    )
}

enum Parsed<'a> {
    Section(&'a str),
    Assignment {
        key: &'a str,
        value: &'a str,
        key_col: usize,
        value_col: usize,
    },
}

/// `parse_line()`: `s` is trimmed and non-empty; `col` is its 0-based start column.
fn parse_line<'a>(
    s: &'a str,
    line: u32,
    col: usize,
    path: Option<&Path>,
    diags: &mut Vec<Diagnostic>,
) -> Result<Option<Parsed<'a>>, LexError> {
    if let Some(inner) = s.strip_prefix('[') {
        let Some(name) = inner.strip_suffix(']') else {
            return Err(LexError::InvalidSectionHeader {
                path: path.map(Path::to_path_buf),
                line,
            });
        };
        return Ok(Some(Parsed::Section(name)));
    }
    let Some((k, v)) = s.split_once('=') else {
        diags.push(
            Diagnostic::warning(path, line, "Missing '=', ignoring line.")
                .at_column(to_u32(col + 1)),
        );
        return Ok(None);
    };
    let key = k.trim_end_matches([' ', '\t', '\n', '\r']);
    if key.is_empty() {
        diags.push(
            Diagnostic::warning(path, line, "Missing key name before '=', ignoring line.")
                .at_column(to_u32(col + 1)),
        );
        return Ok(None);
    }
    let value = v.trim_start_matches([' ', '\t', '\n', '\r']);
    let value_col = col + (s.len() - value.len());
    Ok(Some(Parsed::Assignment {
        key,
        value,
        key_col: col,
        value_col,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        lex(text.as_bytes(), None)
            .unwrap()
            .items
            .into_iter()
            .filter_map(|i| match i {
                Item::Assignment(a) => Some((a.key.into_owned(), a.value.into_owned())),
                Item::Section(_) => None,
            })
            .collect()
    }

    fn one(text: &str) -> String {
        let p = pairs(text);
        assert_eq!(p.len(), 1, "{p:?}");
        p[0].1.clone()
    }

    // The whole-file inputs of systemd's test-conf-parser.c (config_file[]), as
    // expected values of `setting1`.
    #[test]
    fn conf_parser_file_table() {
        assert_eq!(one("[Section]\nsetting1=1\n"), "1");
        assert_eq!(one("[Section]\nsetting1=1"), "1"); // no trailing newline
        assert_eq!(one("\n\n\n\n[Section]\n\n\nsetting1=1"), "1"); // leading newlines
        assert_eq!(pairs("[Section]\nsetting1=2\nsetting1=1\n")[1].1, "1");
        assert_eq!(one("[Section]\nsetting1=1\\\n2\\\n3\n"), "1 2 3");
        assert_eq!(one("[Section]\nsetting1=1\\\\\\\n\\\\2\n"), "1\\\\ \\\\2");
        assert_eq!(one("[Section]\nsetting1=1\\\\\\\\\n"), "1\\\\\\\\");
        // a trailing backslash on the last line
        assert_eq!(one("[Section]\nsetting1=1\\\n"), "1");
        assert_eq!(one("[Section]\nsetting1=1\\"), "1");
        // comment lines inside a continuation are skipped
        assert_eq!(
            one("[Section]\nsetting1=1\\\n#comment\n2\\\n;comment\n3\n"),
            "1 2 3"
        );
        // a comment line ending in a backslash does not continue
        assert_eq!(pairs("[Section]\n#foo\\\nsetting1=1\n").len(), 1);
        // whitespace around key and value, BOM
        assert_eq!(one("\u{feff}[Section]\n  setting1 =  1  \n"), "1");
        // X- sections are returned like any other (the caller ignores them)
        let l = lex(b"[X-Section]\nsetting1=1\n", None).unwrap();
        assert_eq!(l.items.len(), 2);
    }

    #[test]
    fn long_lines() {
        let mut ok = b"[Section]\nsetting1=".to_vec();
        ok.extend(std::iter::repeat_n(b'x', LINE_MAX - 9));
        assert!(lex(&ok, None).is_ok());
        let mut bad = b"[Section]\nsetting1=".to_vec();
        bad.extend(std::iter::repeat_n(b'x', LINE_MAX + 1));
        assert!(matches!(
            lex(&bad, None),
            Err(LexError::LineTooLong { line: 2, .. })
        ));
        // continuation adding up past the limit
        let mut cont = b"[Section]\nsetting1=".to_vec();
        for _ in 0..3 {
            cont.extend(std::iter::repeat_n(b'x', LINE_MAX / 2));
            cont.extend(b"\\\n");
        }
        cont.extend(b"end\n");
        assert!(matches!(
            lex(&cont, None),
            Err(LexError::LineTooLong { line: 2, .. })
        ));
    }

    #[test]
    fn bad_section_header_is_fatal() {
        let e = lex(
            b"[Unit]\nA=1\n[Service\nB=2\n",
            Some(Path::new("/x/a.service")),
        )
        .unwrap_err();
        assert_eq!(e.line(), 3);
        assert_eq!(
            e.to_string(),
            "/x/a.service: line 3: invalid section header"
        );
    }

    #[test]
    fn warnings_with_positions() {
        let l = lex(
            b"[Unit]\nnoequals\n=value\nA=\xff\n  Key = v\n",
            Some(Path::new("f")),
        )
        .unwrap();
        let msgs: Vec<String> = l.diagnostics.iter().map(ToString::to_string).collect();
        assert_eq!(
            msgs,
            [
                "f:2: Missing '=', ignoring line.",
                "f:3: Missing key name before '=', ignoring line.",
                "f:4: Configuration file is not valid UTF-8, ignoring line.",
            ]
        );
        let Item::Assignment(a) = &l.items[1] else {
            panic!("expected assignment")
        };
        assert_eq!(
            (&*a.key, a.line, a.key_column, a.value_column),
            ("Key", 5, 3, 9)
        );
        assert!(matches!(a.value, Cow::Borrowed("v")));
    }

    #[test]
    fn continuation_keeps_leading_blanks_and_splits_at_first_equals() {
        assert_eq!(one("[S]\nA=x\\\n   y=z\n"), "x    y=z");
        assert_eq!(pairs("[S]\nA=b=c\n")[0], ("A".into(), "b=c".into()));
        // an escaped backslash at the end does not continue
        assert_eq!(pairs("[S]\nA=x\\\\\nB=y\n").len(), 2);
        // an empty line ends a continuation
        assert_eq!(pairs("[S]\nA=x\\\n\nB=y\n")[0].1, "x");
    }

    #[test]
    fn section_names_are_untrimmed() {
        let l = lex(b"[ Unit ]\n", None).unwrap();
        assert_eq!(
            l.items,
            [Item::Section(Section {
                name: Cow::Borrowed(" Unit "),
                line: 1
            })]
        );
    }
}
