//! Environment variables: names, assignments, environment files and `$VAR` substitution.
//!
//! Mirrors systemd 248's `src/basic/env-util.c` (`env_name_is_valid`,
//! `env_assignment_is_valid`, `strv_env_get`, `replace_env`, `replace_env_argv`) and
//! `src/basic/env-file.c` (`parse_env_file_internal`, `load_env_file`).
//!
//! # Environment files
//!
//! [`parse_env_file`] reads the grammar of `EnvironmentFile=`, `os-release` and friends:
//!
//! - `KEY=VALUE` assignments, one per line; whitespace around the key and before the value is
//!   ignored; a line without `=` is dropped silently;
//! - `#` or `;` as the first non-blank character of a line starts a comment; a comment that ends
//!   in a backslash continues on the next line (248; v254 changed this);
//! - `'single quotes'` are literal; `"double quotes"` honour the escapes `\"`, `\\`, `` \` `` and
//!   `\$` and keep the backslash of any other escape; backslash-newline inside quotes is removed;
//! - unquoted values lose their trailing whitespace, `\x` yields `x`, and backslash-newline
//!   continues the value on the next line;
//! - a quote opens only at the start of the value or right after a closing quote, so
//!   `a="b c"'d'e` is `b cde` and blanks between quoted pieces vanish (`a='b' 'c'` is `bc`),
//!   while a quote after an unquoted character is literal (`a=b"c"` is `b"c"`);
//! - `export KEY=VALUE` is *not* understood in 248: the key `export KEY` is invalid.
//!
//! Keys that are not valid variable names are skipped, as `EnvironmentFile=` does through
//! `strv_env_clean`; [`parse_env_file_full`] reports them with their line. When a variable is
//! assigned twice, the first position keeps the last value (`strv_env_replace`).
//!
//! # Substitution
//!
//! [`replace_env`] and [`replace_env_argv`] implement what the service manager does to
//! `Exec*=` command lines before `execve` (spec §8.4). The 248 code is called with no flags
//! there, so only `${NAME}` is replaced inside a word; a whole word `$NAME` is replaced by the
//! value split into words; `$NAME` inside a larger word and `${NAME:-default}` stay literal.
//! [`replace_env_with`] offers the braceless and `:-`/`:+` forms that other callers of
//! `replace_env` in systemd enable with flags.
//!
//! ```
//! use keel_core::env::{parse_env_file, replace_env_argv};
//!
//! let env = parse_env_file("# defaults\nOPTS=\"-v --color\"\nNAME='my daemon'\n")?;
//! assert_eq!(env[0], ("OPTS".to_string(), "-v --color".to_string()));
//!
//! let lookup = |name: &str| env.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
//! let argv: Vec<String> = ["/bin/daemon", "$OPTS", "--name=${NAME}", "x$OPTS"]
//!     .iter().map(|s| s.to_string()).collect();
//! assert_eq!(
//!     replace_env_argv(&argv, lookup),
//!     ["/bin/daemon", "-v", "--color", "--name=my daemon", "x$OPTS"]
//! );
//! # Ok::<(), keel_core::env::EnvFileError>(())
//! ```

use std::collections::HashMap;

use crate::word::{ExtractFlags, WHITESPACE, Words};

/// Whether `name` is a valid environment variable name, as systemd's `env_name_is_valid`:
/// non-empty, only ASCII letters, digits and `_`, not starting with a digit.
///
/// ```
/// use keel_core::env::env_name_is_valid;
/// assert!(env_name_is_valid("LANG_C2"));
/// assert!(!env_name_is_valid("2LANG") && !env_name_is_valid("a-b") && !env_name_is_valid(""));
/// ```
pub fn env_name_is_valid(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && !b[0].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

/// Whether `assignment` is a valid `NAME=VALUE` assignment, as systemd 248's
/// `env_assignment_is_valid`: a valid name, `=`, and any value.
///
/// Since 248 values may hold control characters, newlines included (systemd PR #18129). A
/// Rust string is always valid UTF-8, so the only value keel refuses is one containing NUL,
/// which no C environment block can carry. systemd's `ARG_MAX` size limit depends on the
/// running system and is left to the code that calls `execve`.
///
/// ```
/// use keel_core::env::env_assignment_is_valid;
/// assert!(env_assignment_is_valid("a="));
/// assert!(env_assignment_is_valid("PS1=\x1b[1m$ "));
/// assert!(!env_assignment_is_valid("a b=") && !env_assignment_is_valid("=x"));
/// ```
pub fn env_assignment_is_valid(assignment: &str) -> bool {
    let Some((name, value)) = assignment.split_once('=') else {
        return false;
    };
    env_name_is_valid(name) && !value.contains('\0')
}

/// The value of `name` in a list of `NAME=VALUE` strings, the last assignment winning, as
/// systemd's `strv_env_get`. Entries without `=` are ignored.
///
/// ```
/// use keel_core::env::env_get;
/// let env = ["A=1".to_string(), "B=2".to_string(), "A=3".to_string()];
/// assert_eq!(env_get(&env, "A"), Some("3"));
/// assert_eq!(env_get(&env, "C"), None);
/// ```
pub fn env_get<'a>(env: &'a [String], name: &str) -> Option<&'a str> {
    if name.is_empty() {
        return None;
    }
    env.iter()
        .rev()
        .find_map(|e| e.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// A failure to read an environment file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EnvFileError {
    /// The text contains a NUL byte (systemd would silently stop reading there).
    #[error("line {line}: NUL byte in environment file")]
    Nul {
        /// 1-based line of the NUL byte.
        line: usize,
    },
}

/// An assignment of an environment file whose key is not a valid variable name, skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct InvalidAssignment {
    /// 1-based line where the key starts.
    pub line: usize,
    /// The key as written, surrounding whitespace removed.
    pub key: String,
    /// The value after unquoting.
    pub value: String,
}

/// The full result of [`parse_env_file_full`].
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct EnvFile {
    /// Valid assignments in file order, each variable once with its last value.
    pub assignments: Vec<(String, String)>,
    /// Assignments skipped because their key is not a valid name, in file order.
    pub invalid: Vec<InvalidAssignment>,
}

/// One `KEY=VALUE` of an env-file before any validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawEntry {
    /// 1-based line where the key starts.
    pub(crate) line: usize,
    pub(crate) key: String,
    pub(crate) value: String,
}

/// Parses an environment file (`EnvironmentFile=` semantics): valid assignments in file
/// order, each variable once (first position, last value); invalid keys are skipped (see
/// [`parse_env_file_full`] for the list).
///
/// # Errors
///
/// [`EnvFileError::Nul`] if the text contains a NUL byte.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, EnvFileError> {
    parse_env_file_full(text).map(|f| f.assignments)
}

/// Like [`parse_env_file`], and also returns the assignments skipped for an invalid key,
/// with their line, so that callers can warn as systemd does ("Ignoring invalid environment
/// assignment").
///
/// ```
/// use keel_core::env::parse_env_file_full;
/// let f = parse_env_file_full("A=1\nexport B=2\nA=3\n")?;
/// assert_eq!(f.assignments, [("A".to_string(), "3".to_string())]);
/// assert_eq!((f.invalid[0].line, f.invalid[0].key.as_str()), (2, "export B"));
/// # Ok::<(), keel_core::env::EnvFileError>(())
/// ```
///
/// # Errors
///
/// [`EnvFileError::Nul`] if the text contains a NUL byte.
pub fn parse_env_file_full(text: &str) -> Result<EnvFile, EnvFileError> {
    let mut out = EnvFile::default();
    let mut valid = Vec::new();
    for e in parse_env_entries(text)? {
        if env_name_is_valid(&e.key) && !e.value.contains('\0') {
            valid.push(e);
        } else {
            out.invalid.push(InvalidAssignment {
                line: e.line,
                key: e.key,
                value: e.value,
            });
        }
    }
    out.assignments = dedup_entries(valid);
    Ok(out)
}

/// Keeps each key once, at its first position, with its last value (`strv_env_replace`).
pub(crate) fn dedup_entries(entries: Vec<RawEntry>) -> Vec<(String, String)> {
    let mut index: HashMap<String, usize> = HashMap::with_capacity(entries.len());
    let mut out: Vec<(String, String)> = Vec::with_capacity(entries.len());
    for e in entries {
        if let Some(&i) = index.get(&e.key) {
            out[i].1 = e.value;
        } else {
            index.insert(e.key.clone(), out.len());
            out.push((e.key, e.value));
        }
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    PreKey,
    Key,
    PreValue,
    Value,
    ValueEscape,
    SingleQuote,
    DoubleQuote,
    DoubleQuoteEscape,
    Comment,
    CommentEscape,
}

fn is_newline(c: u8) -> bool {
    c == b'\n' || c == b'\r'
}

fn is_whitespace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Bytes to a string. Every byte sequence built by the lexer is valid UTF-8 (only ASCII bytes
/// are added or dropped), so the lossy branch never runs.
fn bytes_to_string(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// The state machine of systemd's `parse_env_file_internal`: every assignment in order, no
/// validation, no de-duplication.
pub(crate) fn parse_env_entries(text: &str) -> Result<Vec<RawEntry>, EnvFileError> {
    let mut entries = Vec::new();
    let mut key: Vec<u8> = Vec::new();
    let mut value: Vec<u8> = Vec::new();
    // Length of the key/value without its trailing whitespace run, when it ends in one.
    let mut key_ws: Option<usize> = None;
    let mut value_ws: Option<usize> = None;
    let mut state = State::PreKey;
    let mut line = 1usize;
    let mut key_line = 1usize;

    let mut push = |key: &mut Vec<u8>,
                    value: &mut Vec<u8>,
                    key_ws: Option<usize>,
                    value_ws: Option<usize>,
                    key_line: usize| {
        if let Some(n) = key_ws {
            key.truncate(n);
        }
        if let Some(n) = value_ws {
            value.truncate(n);
        }
        entries.push(RawEntry {
            line: key_line,
            key: bytes_to_string(std::mem::take(key)),
            value: bytes_to_string(std::mem::take(value)),
        });
    };

    for &c in text.as_bytes() {
        if c == 0 {
            return Err(EnvFileError::Nul { line });
        }
        match state {
            State::PreKey => {
                if c == b'#' || c == b';' {
                    state = State::Comment;
                } else if !is_whitespace(c) {
                    state = State::Key;
                    key_ws = None;
                    key_line = line;
                    key.push(c);
                }
            }
            State::Key => {
                if is_newline(c) {
                    state = State::PreKey;
                    key.clear();
                } else if c == b'=' {
                    state = State::PreValue;
                    value_ws = None;
                } else {
                    if !is_whitespace(c) {
                        key_ws = None;
                    } else if key_ws.is_none() {
                        key_ws = Some(key.len());
                    }
                    key.push(c);
                }
            }
            State::PreValue => {
                if is_newline(c) {
                    state = State::PreKey;
                    push(&mut key, &mut value, key_ws, None, key_line);
                } else if c == b'\'' {
                    state = State::SingleQuote;
                } else if c == b'"' {
                    state = State::DoubleQuote;
                } else if c == b'\\' {
                    state = State::ValueEscape;
                } else if !is_whitespace(c) {
                    state = State::Value;
                    value.push(c);
                }
            }
            State::Value => {
                if is_newline(c) {
                    state = State::PreKey;
                    push(&mut key, &mut value, key_ws, value_ws, key_line);
                } else if c == b'\\' {
                    state = State::ValueEscape;
                    value_ws = None;
                } else {
                    if !is_whitespace(c) {
                        value_ws = None;
                    } else if value_ws.is_none() {
                        value_ws = Some(value.len());
                    }
                    value.push(c);
                }
            }
            State::ValueEscape => {
                state = State::Value;
                if !is_newline(c) {
                    value.push(c);
                }
            }
            State::SingleQuote => {
                if c == b'\'' {
                    state = State::PreValue;
                } else {
                    value.push(c);
                }
            }
            State::DoubleQuote => {
                if c == b'"' {
                    state = State::PreValue;
                } else if c == b'\\' {
                    state = State::DoubleQuoteEscape;
                } else {
                    value.push(c);
                }
            }
            State::DoubleQuoteEscape => {
                state = State::DoubleQuote;
                if matches!(c, b'"' | b'\\' | b'`' | b'$') {
                    value.push(c);
                } else if c != b'\n' {
                    value.push(b'\\');
                    value.push(c);
                }
            }
            State::Comment => {
                if c == b'\\' {
                    state = State::CommentEscape;
                } else if is_newline(c) {
                    state = State::PreKey;
                }
            }
            State::CommentEscape => state = State::Comment,
        }
        if c == b'\n' {
            line += 1;
        }
    }

    match state {
        State::Value => push(&mut key, &mut value, key_ws, value_ws, key_line),
        State::PreValue
        | State::ValueEscape
        | State::SingleQuote
        | State::DoubleQuote
        | State::DoubleQuoteEscape => push(&mut key, &mut value, key_ws, None, key_line),
        State::PreKey | State::Key | State::Comment | State::CommentEscape => {}
    }
    Ok(entries)
}

bitflags::bitflags! {
    /// Optional syntax for [`replace_env_with`] (systemd's `ReplaceEnvFlags`, minus
    /// `REPLACE_ENV_USE_ENVIRONMENT`: the lookup function decides where values come from).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct ReplaceEnvFlags: u32 {
        /// Also replace `$NAME` (name characters: ASCII letters, digits, `_`).
        const ALLOW_BRACELESS = 1 << 0;
        /// Also replace `${NAME:-default}` and `${NAME:+alternate}`.
        const ALLOW_EXTENDED = 1 << 1;
    }
}

/// How deeply `${A:-${B:-...}}` defaults may nest before the inner text is kept literally
/// (systemd recurses without limit).
const MAX_NESTING: usize = 64;

fn is_name_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_'
}

/// Replaces `${NAME}` in `format` by the value `lookup` gives (unknown names by nothing) and
/// `$$` by `$`, as systemd 248's `replace_env(format, env, 0)`, used on every word of an
/// `Exec*=` command line. `$NAME`, an unterminated `${NAME` and `${NAME:-x}` stay literal.
///
/// ```
/// use keel_core::env::replace_env;
/// let lookup = |n: &str| (n == "BAR").then_some("waldo");
/// assert_eq!(replace_env("BAR=$BAR=${BAR}", lookup), "BAR=$BAR=waldo");
/// assert_eq!(replace_env("cost: $$5 ${NOPE}", lookup), "cost: $5 ");
/// ```
pub fn replace_env<'a>(format: &str, lookup: impl Fn(&str) -> Option<&'a str>) -> String {
    replace_env_with(format, lookup, ReplaceEnvFlags::empty())
}

/// [`replace_env`] with optional syntax enabled by `flags` (systemd's `replace_env` with
/// `REPLACE_ENV_ALLOW_BRACELESS` / `REPLACE_ENV_ALLOW_EXTENDED`). With
/// [`ReplaceEnvFlags::ALLOW_EXTENDED`], `${NAME:-x}` gives `x` when `NAME` is unset (an empty
/// value counts as set) and `${NAME:+x}` gives `x` when it is set; `x` is expanded in turn.
///
/// ```
/// use keel_core::env::{replace_env_with, ReplaceEnvFlags};
/// let lookup = |n: &str| (n == "BAR").then_some("bar");
/// let all = ReplaceEnvFlags::ALLOW_BRACELESS | ReplaceEnvFlags::ALLOW_EXTENDED;
/// assert_eq!(replace_env_with("$BAR ${NO:-${BAR}x}", lookup, all), "bar barx");
/// ```
pub fn replace_env_with<'a>(
    format: &str,
    lookup: impl Fn(&str) -> Option<&'a str>,
    flags: ReplaceEnvFlags,
) -> String {
    replace_env_n(format, &lookup, flags, 0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RState {
    Word,
    Curly,
    Variable,
    VariableRaw,
    Test,
    DefaultValue,
    AlternateValue,
}

/// The state machine of systemd's `replace_env_n`.
fn replace_env_n<'a>(
    format: &str,
    lookup: &dyn Fn(&str) -> Option<&'a str>,
    flags: ReplaceEnvFlags,
    depth: usize,
) -> String {
    let get = |name: &str| -> Option<&'a str> { if name.is_empty() { None } else { lookup(name) } };
    let braceless = flags.contains(ReplaceEnvFlags::ALLOW_BRACELESS);
    let extended = flags.contains(ReplaceEnvFlags::ALLOW_EXTENDED);
    let b = format.as_bytes();
    let mut out = String::with_capacity(format.len());
    // Start of the text not yet copied to `out`; all cuts fall on ASCII bytes.
    let mut word = 0usize;
    let mut state = RState::Word;
    let mut nest = 0usize;
    let mut name_len = 0usize;
    let mut test_value = 0usize;
    let mut i = 0usize;
    while i < b.len() {
        let c = b[i];
        match state {
            RState::Word => {
                if c == b'$' {
                    state = RState::Curly;
                }
            }
            RState::Curly => {
                if c == b'{' {
                    out.push_str(&format[word..i - 1]);
                    word = i - 1;
                    state = RState::Variable;
                    nest += 1;
                } else if c == b'$' {
                    out.push_str(&format[word..i]);
                    word = i + 1;
                    state = RState::Word;
                } else if braceless && is_name_char(c) {
                    out.push_str(&format[word..i - 1]);
                    word = i - 1;
                    state = RState::VariableRaw;
                } else {
                    state = RState::Word;
                }
            }
            RState::Variable => {
                if c == b'}' {
                    out.push_str(get(&format[word + 2..i]).unwrap_or(""));
                    word = i + 1;
                    state = RState::Word;
                    nest = nest.saturating_sub(1);
                } else if c == b':' {
                    if extended {
                        name_len = i - word - 2;
                        state = RState::Test;
                    } else {
                        state = RState::Word;
                    }
                }
            }
            RState::Test => {
                if c == b'-' {
                    state = RState::DefaultValue;
                } else if c == b'+' {
                    state = RState::AlternateValue;
                } else {
                    state = RState::Word;
                    i += 1;
                    continue;
                }
                test_value = i + 1;
            }
            RState::DefaultValue | RState::AlternateValue => {
                if c == b'{' {
                    nest += 1;
                } else if c == b'}' {
                    nest = nest.saturating_sub(1);
                    if nest == 0 {
                        let value = get(&format[word + 2..word + 2 + name_len]);
                        let inner = &format[test_value..i];
                        let use_inner = match state {
                            RState::AlternateValue => value.is_some(),
                            _ => value.is_none(),
                        };
                        if !use_inner {
                            out.push_str(value.unwrap_or(""));
                        } else if depth < MAX_NESTING {
                            out.push_str(&replace_env_n(inner, lookup, flags, depth + 1));
                        } else {
                            out.push_str(inner);
                        }
                        word = i + 1;
                        state = RState::Word;
                    }
                }
            }
            RState::VariableRaw => {
                if !is_name_char(c) {
                    out.push_str(get(&format[word + 1..i]).unwrap_or(""));
                    word = i;
                    state = RState::Word;
                    // Look at this character again in the Word state.
                    continue;
                }
            }
        }
        i += 1;
    }
    if state == RState::VariableRaw {
        out.push_str(get(&format[word + 1..]).unwrap_or(""));
    } else {
        out.push_str(&format[word..]);
    }
    out
}

/// Applies environment substitution to a command line at exec time, as systemd 248's
/// `replace_env_argv` (spec §8.4):
///
/// - a word starting with `$` but not `${` or `$$` names a whole variable: it is replaced by
///   the variable's value split at whitespace with quotes removed
///   (`EXTRACT_RELAX|EXTRACT_UNQUOTE`), giving zero or more words; an unknown variable (and
///   a lone `$`, or `$A$B`, which names the variable `A$B`) gives no word at all;
/// - every other word goes through [`replace_env`]: `${NAME}` is replaced verbatim, `$$`
///   becomes `$`, and `$NAME` inside a larger word stays literal.
///
/// ```
/// use keel_core::env::replace_env_argv;
/// let lookup = |n: &str| (n == "FOO").then_some("BAR 'two words'");
/// let argv = ["$FOO", "-${FOO}-", "$NOPE", "$$FOO"].map(String::from);
/// assert_eq!(
///     replace_env_argv(&argv, lookup),
///     ["BAR", "two words", "-BAR 'two words'-", "$FOO"]
/// );
/// ```
pub fn replace_env_argv<'a>(
    argv: &[String],
    lookup: impl Fn(&str) -> Option<&'a str>,
) -> Vec<String> {
    let mut out = Vec::with_capacity(argv.len());
    for arg in argv {
        let b = arg.as_bytes();
        if b.first() == Some(&b'$') && !matches!(b.get(1), Some(b'{' | b'$')) {
            let name = &arg[1..];
            let value = if name.is_empty() { None } else { lookup(name) };
            if let Some(value) = value {
                let flags = ExtractFlags::RELAX | ExtractFlags::UNQUOTE;
                // Without CUNESCAPE and with RELAX no word can fail; stop at an error anyway.
                out.extend(Words::new(value, WHITESPACE, flags).map_while(Result::ok));
            }
            continue;
        }
        out.push(replace_env(arg, &lookup));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup_in<'e>(env: &'e [&'static str]) -> impl Fn(&str) -> Option<&'static str> + 'e {
        move |name: &str| {
            env.iter()
                .rev()
                .find_map(|e| e.strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
        }
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    // test-env-util.c: test_env_name_is_valid
    #[test]
    fn name_is_valid() {
        assert!(env_name_is_valid("test"));
        for bad in [
            "",
            "xxx\x07",
            "xxx\x07b",
            "\x07",
            "5_starting_with_a_number_is_wrong",
            "#¤%&?_only_numbers_letters_and_underscore_allowed",
        ] {
            assert!(!env_name_is_valid(bad), "{bad:?}");
        }
    }

    // test-env-util.c: test_env_assignment_is_valid (248: control characters allowed in values)
    #[test]
    fn assignment_is_valid() {
        for good in [
            "a=",
            "b=głąb kapuściany",
            "c=\\007\\009\\011",
            "e=printf \"\\x1b]0;<mock-chroot>\\x07<mock-chroot>\"",
            "f=\x1b]0;\x07 raw control characters",
            "g=line\nbreak",
            "h=a=b",
        ] {
            assert!(env_assignment_is_valid(good), "{good:?}");
        }
        for bad in [
            "=",
            "a b=",
            "a =",
            " b=",
            "a.b=",
            "a-b=",
            "\x07=głąb kapuściany",
            "c\\009=\x07\\009\\011",
            "głąb=printf \"\x1b]0;<mock-chroot>\x07<mock-chroot>\"",
            "noequals",
            "",
            "a=nul\0byte",
        ] {
            assert!(!env_assignment_is_valid(bad), "{bad:?}");
        }
    }

    // test-env-util.c: test_strv_env_get, test_env_strv_get_n
    #[test]
    fn get_last_wins() {
        let l: Vec<String> = ["ONE_OR_TWO=1", "THREE=3", "ONE_OR_TWO=2", "FOUR=4"]
            .map(String::from)
            .to_vec();
        assert_eq!(env_get(&l, "ONE_OR_TWO"), Some("2"));
        assert_eq!(env_get(&l, "THREE"), Some("3"));
        assert_eq!(env_get(&l, "FOUR"), Some("4"));
        assert_eq!(env_get(&l, "FOU"), None);
        assert_eq!(env_get(&l, ""), None);
        let l: Vec<String> = ["FOO=NO NO NO", "FOO=BAR BAR", "BAR=waldo", "PATH=unset"]
            .map(String::from)
            .to_vec();
        assert_eq!(env_get(&l, "FOO"), Some("BAR BAR"));
        assert_eq!(env_get(&l, "PATH"), Some("unset"));
        assert_eq!(env_get(&l[..3], "PATH"), None);
    }

    // test-env-util.c: test_replace_env(braceless)
    #[test]
    fn replace_env_table() {
        let env = ["FOO=BAR BAR", "BAR=waldo"];
        let table = [
            ("FOO=$FOO=${FOO}", "FOO=$FOO=BAR BAR", "FOO=BAR BAR=BAR BAR"),
            ("BAR=$BAR=${BAR}", "BAR=$BAR=waldo", "BAR=waldo=waldo"),
            ("BARBAR=$BARBAR=${BARBAR}", "BARBAR=$BARBAR=", "BARBAR=="),
            (
                "BAR=$BAR$BAR${BAR}${BAR}",
                "BAR=$BAR$BARwaldowaldo",
                "BAR=waldowaldowaldowaldo",
            ),
            ("${BAR}$BAR$BAR", "waldo$BAR$BAR", "waldowaldowaldo"),
        ];
        for (input, plain, braceless) in table {
            assert_eq!(replace_env(input, lookup_in(&env)), plain, "{input}");
            assert_eq!(
                replace_env_with(input, lookup_in(&env), ReplaceEnvFlags::ALLOW_BRACELESS),
                braceless,
                "{input}"
            );
        }
    }

    // test-env-util.c: test_replace_env2(extended)
    #[test]
    fn replace_env_extended_table() {
        let env = ["FOO=foo", "BAR=bar"];
        let table = [
            ("FOO=${FOO:-${BAR}}", "FOO=${FOO:-bar}", "FOO=foo"),
            ("BAR=${XXX:-${BAR}}", "BAR=${XXX:-bar}", "BAR=bar"),
            ("XXX=${XXX:+${BAR}}", "XXX=${XXX:+bar}", "XXX="),
            ("FOO=${FOO:+${BAR}}", "FOO=${FOO:+bar}", "FOO=bar"),
            ("FOO=${FOO:-${BAR}post}", "FOO=${FOO:-barpost}", "FOO=foo"),
            ("XXX=${XXX:+${BAR}post}", "XXX=${XXX:+barpost}", "XXX="),
        ];
        for (input, plain, extended) in table {
            assert_eq!(replace_env(input, lookup_in(&env)), plain, "{input}");
            assert_eq!(
                replace_env_with(input, lookup_in(&env), ReplaceEnvFlags::ALLOW_EXTENDED),
                extended,
                "{input}"
            );
        }
    }

    #[test]
    fn replace_env_edges() {
        let env = ["A=x", "EMPTY="];
        let all = ReplaceEnvFlags::all();
        for (input, expected) in [
            ("", ""),
            ("$", "$"),
            ("$$", "$"),
            ("$$$", "$$"),
            ("${}", ""),
            ("${A", "${A"),
            ("${A}${", "x${"),
            ("a${A}b", "axb"),
            ("${A:-y}", "${A:-y}"),
            ("ä${A}ö", "äxö"),
        ] {
            assert_eq!(replace_env(input, lookup_in(&env)), expected, "{input}");
        }
        for (input, expected) in [
            ("$A", "x"),
            ("$A.$A", "x.x"),
            ("$", "$"),
            ("${EMPTY:-d}", ""),
            ("${EMPTY:+a}", "a"),
            ("${A:x}", "${A:x}"),
            ("${NO:-${NO:-${A}}}", "x"),
        ] {
            assert_eq!(
                replace_env_with(input, lookup_in(&env), all),
                expected,
                "{input}"
            );
        }
        // Deep nesting neither overflows the stack nor panics.
        let deep = "${N:-".repeat(10_000) + &"}".repeat(10_000);
        let _ = replace_env_with(&deep, lookup_in(&env), all);
    }

    // test-env-util.c: test_replace_env_argv (the 248 table)
    #[test]
    fn replace_env_argv_table() {
        let env = ["FOO=BAR BAR", "BAR=waldo"];
        let line: Vec<String> = [
            "FOO$FOO",
            "FOO$FOOFOO",
            "FOO${FOO}$FOO",
            "FOO${FOO}",
            "${FOO}",
            "$FOO",
            "$FOO$FOO",
            "${FOO}${BAR}",
            "${FOO",
            "FOO$$${FOO}",
            "$$FOO${FOO}",
            "${FOO:-${BAR}}",
            "${QUUX:-${FOO}}",
            "${FOO:+${BAR}}",
            "${QUUX:+${BAR}}",
            "${FOO:+|${BAR}|}}",
            "${FOO:+|${BAR}{|}",
        ]
        .map(String::from)
        .to_vec();
        let expected = [
            "FOO$FOO",
            "FOO$FOOFOO",
            "FOOBAR BAR$FOO",
            "FOOBAR BAR",
            "BAR BAR",
            "BAR",
            "BAR",
            "BAR BARwaldo",
            "${FOO",
            "FOO$BAR BAR",
            "$FOOBAR BAR",
            "${FOO:-waldo}",
            "${QUUX:-BAR BAR}",
            "${FOO:+waldo}",
            "${QUUX:+waldo}",
            "${FOO:+|waldo|}}",
            "${FOO:+|waldo{|}",
        ];
        assert_eq!(replace_env_argv(&line, lookup_in(&env)), expected);
    }

    #[test]
    fn replace_env_argv_splitting() {
        let env = ["Q=a 'b c' \"d\"e", "EMPTY=", "SPACES=   "];
        let argv: Vec<String> = ["$Q", "$EMPTY", "$SPACES", "$", "$UNKNOWN", "x"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            replace_env_argv(&argv, lookup_in(&env)),
            ["a", "b c", "de", "x"]
        );
    }

    // test-env-file.c: test_load_env_file_1
    #[test]
    fn env_file_1() {
        let text = "a=a\nb=b\\\nc\nd=d\\\ne\\\nf\ng=g\\ \nh=h\ni=i\\";
        assert_eq!(
            parse_env_file(text),
            Ok(pairs(&[
                ("a", "a"),
                ("b", "bc"),
                ("d", "def"),
                ("g", "g "),
                ("h", "h"),
                ("i", "i"),
            ]))
        );
    }

    // test-env-file.c: test_load_env_file_2
    #[test]
    fn env_file_2() {
        assert_eq!(parse_env_file("a=a\\\n"), Ok(pairs(&[("a", "a")])));
    }

    // test-env-file.c: test_load_env_file_3 (248: a comment ending in `\` continues)
    #[test]
    fn env_file_3() {
        let text = "#SPAMD_ARGS=\"-d --socketpath=/var/lib/bulwark/spamd \\\n\
                    #--nouser-config                                     \\\n\
                    normal=line";
        assert_eq!(parse_env_file(text), Ok(vec![]));
        // v254 would give normal=line; a blank line ends the comment in every version.
        assert_eq!(
            parse_env_file("# x \\\n\nnormal=line"),
            Ok(pairs(&[("normal", "line")]))
        );
    }

    // test-env-file.c: test_load_env_file_4
    #[test]
    fn env_file_4() {
        let text = "# Generated\n\nHWMON_MODULES=\"coretemp f71882fg\"\n\n\
                    # For compatibility reasons\n\nMODULE_0=coretemp\nMODULE_1=f71882fg";
        assert_eq!(
            parse_env_file(text),
            Ok(pairs(&[
                ("HWMON_MODULES", "coretemp f71882fg"),
                ("MODULE_0", "coretemp"),
                ("MODULE_1", "f71882fg"),
            ]))
        );
    }

    // test-env-file.c: test_load_env_file_5
    #[test]
    fn env_file_5() {
        assert_eq!(parse_env_file("a=\nb="), Ok(pairs(&[("a", ""), ("b", "")])));
    }

    #[test]
    fn env_file_quoting() {
        let table: &[(&str, &[(&str, &str)])] = &[
            ("A='x \\ \"y\" $z'", &[("A", "x \\ \"y\" $z")]),
            (r#"A="a\"b\\c\`d\$e\nf""#, &[("A", "a\"b\\c`d$e\\nf")]),
            ("A=\"multi\nline\"", &[("A", "multi\nline")]),
            ("A=\"cont\\\ninued\"", &[("A", "continued")]),
            ("A='one'\"two\"three  ", &[("A", "onetwothree")]),
            ("A=  'keep  '  ", &[("A", "keep  ")]),
            ("A=\"unterminated", &[("A", "unterminated")]),
            ("A='unterminated\nB=1", &[("A", "unterminated\nB=1")]),
            (
                "  KEY  =  value  with  spaces  \n",
                &[("KEY", "value  with  spaces")],
            ),
            ("A=x\\ \\ ", &[("A", "x  ")]),
            ("A=x \\\n y", &[("A", "x  y")]),
            ("A=b#c ;d", &[("A", "b#c ;d")]),
            ("; comment\n  # comment\nA=1", &[("A", "1")]),
            ("NOEQUALS\nA=1\nALSO_NO", &[("A", "1")]),
            ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
            ("A=1\nB=2\nA=3", &[("A", "3"), ("B", "2")]),
            ("A=ä ö\n", &[("A", "ä ö")]),
            ("a=\"b c\"'d'e", &[("a", "b cde")]),
            ("a='b' 'c'", &[("a", "bc")]),
            ("a=b\"c\" 'd'", &[("a", "b\"c\" 'd'")]),
            ("A=\\", &[("A", "")]),
            ("A=\"x\\", &[("A", "x")]),
            ("A=", &[("A", "")]),
            ("", &[]),
        ];
        for (text, expected) in table {
            assert_eq!(parse_env_file(text), Ok(pairs(expected)), "{text:?}");
        }
    }

    #[test]
    fn env_file_invalid_keys_and_lines() {
        let text = "A=1\n\nexport B=2\n1X=3\n  C = 4\nD.E=5\n";
        let f = parse_env_file_full(text);
        let expected = EnvFile {
            assignments: pairs(&[("A", "1"), ("C", "4")]),
            invalid: vec![
                InvalidAssignment {
                    line: 3,
                    key: "export B".into(),
                    value: "2".into(),
                },
                InvalidAssignment {
                    line: 4,
                    key: "1X".into(),
                    value: "3".into(),
                },
                InvalidAssignment {
                    line: 6,
                    key: "D.E".into(),
                    value: "5".into(),
                },
            ],
        };
        assert_eq!(f, Ok(expected));
        let entries = parse_env_entries("A=\"x\ny\"\nB=1").unwrap_or_default();
        assert_eq!(entries.iter().map(|e| e.line).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn env_file_nul_is_an_error() {
        assert_eq!(
            parse_env_file("A=1\nB=\0"),
            Err(EnvFileError::Nul { line: 2 })
        );
        assert_eq!(
            EnvFileError::Nul { line: 2 }.to_string(),
            "line 2: NUL byte in environment file"
        );
    }

    #[test]
    fn env_file_never_panics_on_odd_input() {
        let pieces = [
            "a", "=", "\\", "'", "\"", "#", ";", "\n", " ", "\r", "ä", "`", "$",
        ];
        let mut text = String::new();
        for i in 0..4000usize {
            text.push_str(pieces[(i * 7 + i / 3) % pieces.len()]);
            let _ = parse_env_file_full(&text);
        }
    }
}
