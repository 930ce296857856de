//! `ExecStart=`-style command lines, as systemd 248's `config_parse_exec`
//! (`src/core/load-fragment.c`) reads them (spec §8.4).

use std::fmt;

use keel_core::word::{ExtractFlags, extract_first_word};
use serde::Serialize;

use super::directive::{ParseCtx, SettingError};
use super::exec::value::{expand_or, filename_is_valid};

bitflags::bitflags! {
    /// The prefixes of a command line (`-`, `:`, `+`, `!`, `!!`), as systemd's
    /// `ExecCommandFlags`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct ExecFlags: u8 {
        /// `-`: a failure (non-zero exit, signal, missing binary) counts as success.
        const IGNORE_FAILURE = 1 << 0;
        /// `+`: no sandboxing and no credential change.
        const FULLY_PRIVILEGED = 1 << 1;
        /// `!`: no change of user, group and supplementary groups.
        const NO_SETUID = 1 << 2;
        /// `!!`: like `!`, but only where the kernel lacks ambient capabilities.
        const AMBIENT_MAGIC = 1 << 3;
        /// `:`: no `$VAR` substitution.
        const NO_ENV_EXPAND = 1 << 4;
    }
}

impl Serialize for ExecFlags {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.names())
    }
}

impl ExecFlags {
    /// The flag names systemd uses in `Exec*Ex=` properties (`ignore-failure`,
    /// `privileged`, `no-setuid`, `ambient`, `no-env-expand`).
    pub fn names(self) -> Vec<&'static str> {
        [
            (ExecFlags::IGNORE_FAILURE, "ignore-failure"),
            (ExecFlags::FULLY_PRIVILEGED, "privileged"),
            (ExecFlags::NO_SETUID, "no-setuid"),
            (ExecFlags::AMBIENT_MAGIC, "ambient"),
            (ExecFlags::NO_ENV_EXPAND, "no-env-expand"),
        ]
        .into_iter()
        .filter(|(f, _)| self.contains(*f))
        .map(|(_, n)| n)
        .collect()
    }
}

/// One command of an `Exec*=` setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ExecCommand {
    /// The program: an absolute, simplified path, or a plain file name that is looked up in
    /// systemd's fixed [`DEFAULT_PATH`] when the command is executed (spec §8.4).
    pub path: String,
    /// The arguments, `argv[0]` first (the path as written unless `@` gave another).
    pub argv: Vec<String>,
    /// The prefixes.
    pub flags: ExecFlags,
}

/// The search path for plain program names: systemd's compile-time `DEFAULT_PATH` as Debian
/// builds it (split `/usr`), not `$PATH`.
pub const DEFAULT_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// systemd's `string_is_safe`: no control characters, quotes or backslashes.
fn string_is_safe(s: &str) -> bool {
    !s.chars()
        .any(|c| c.is_ascii_control() || matches!(c, '"' | '\'' | '\\'))
}

impl ExecCommand {
    /// Whether the program is a plain name still to be looked up in [`DEFAULT_PATH`].
    pub fn needs_lookup(&self) -> bool {
        !self.path.starts_with('/')
    }

    /// The command line as systemd prints it in dumps and `systemctl show`: the prefixes,
    /// then `path` when `argv[0]` differs from it (`@`), then the arguments, each quoted
    /// and escaped when needed.
    pub fn to_systemd_string(&self) -> String {
        let mut out = String::new();
        for (flag, p) in [
            (ExecFlags::IGNORE_FAILURE, "-"),
            (ExecFlags::NO_ENV_EXPAND, ":"),
            (ExecFlags::FULLY_PRIVILEGED, "+"),
            (ExecFlags::NO_SETUID, "!"),
            (ExecFlags::AMBIENT_MAGIC, "!!"),
        ] {
            if self.flags.contains(flag) {
                out.push_str(p);
            }
        }
        let mut words: Vec<&str> = Vec::with_capacity(self.argv.len() + 1);
        if self.argv.first().map(String::as_str) != Some(self.path.as_str()) {
            out.push('@');
            words.push(&self.path);
        }
        words.extend(self.argv.iter().map(String::as_str));
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            out.push_str(&quote_word(w));
        }
        out
    }
}

impl fmt::Display for ExecCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_systemd_string())
    }
}

/// Quotes a word so that `config_parse_exec` reads it back unchanged.
fn quote_word(w: &str) -> String {
    let plain = !w.is_empty()
        && w != ";"
        && w.chars().all(|c| {
            c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | ';' | '$' | '%')
                || !c.is_ascii()
        });
    if plain {
        return w.to_owned();
    }
    let mut out = String::with_capacity(w.len() + 2);
    out.push('"');
    for c in w.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            '%' => out.push_str("%%"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn is_ws(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | b'\r')
}

/// Parses one assignment of an `Exec*=` setting into `list` (spec §8.4): an empty value
/// clears the list; `;` separates commands; a word `\;` is a literal `;` argument.
///
/// Errors follow systemd: a bad command is fatal (the unit gets `bad-setting`) unless it has
/// the `-` prefix, in which case it is ignored with a warning (reported through `ctx`).
pub fn parse_exec(
    list: &mut Vec<ExecCommand>,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        list.clear();
        return Ok(());
    }
    let flags_x = ExtractFlags::UNQUOTE | ExtractFlags::CUNESCAPE;
    let mut p = value;
    loop {
        let firstword = match extract_first_word(&mut p, " \t\n\r", flags_x) {
            Ok(Some(w)) => w,
            Ok(None) => return Ok(()),
            Err(e) => {
                // The first word's extraction errors are only logged (systemd returns 0).
                ctx.warn(format!("Invalid syntax, ignoring: {value} ({e})"));
                return Ok(());
            }
        };
        if firstword == ";" {
            continue;
        }
        let mut flags = ExecFlags::empty();
        let mut separate_argv0 = false;
        let exclusive =
            ExecFlags::FULLY_PRIVILEGED | ExecFlags::NO_SETUID | ExecFlags::AMBIENT_MAGIC;
        let mut f = firstword.as_str();
        loop {
            match f.as_bytes().first() {
                Some(b'-') if !flags.contains(ExecFlags::IGNORE_FAILURE) => {
                    flags |= ExecFlags::IGNORE_FAILURE;
                }
                Some(b'@') if !separate_argv0 => separate_argv0 = true,
                Some(b':') if !flags.contains(ExecFlags::NO_ENV_EXPAND) => {
                    flags |= ExecFlags::NO_ENV_EXPAND;
                }
                Some(b'+') if !flags.intersects(exclusive) => flags |= ExecFlags::FULLY_PRIVILEGED,
                Some(b'!') if !flags.intersects(exclusive) => flags |= ExecFlags::NO_SETUID,
                Some(b'!')
                    if !flags
                        .intersects(ExecFlags::FULLY_PRIVILEGED | ExecFlags::AMBIENT_MAGIC) =>
                {
                    flags.remove(ExecFlags::NO_SETUID);
                    flags |= ExecFlags::AMBIENT_MAGIC;
                }
                _ => break,
            }
            f = &f[1..];
        }
        let ignore = flags.contains(ExecFlags::IGNORE_FAILURE);
        let suffix = if ignore { ", ignoring" } else { "" };
        // A failure: fatal without `-`; with `-` the rest of the assignment is dropped.
        let fail = |ctx: &mut ParseCtx<'_>, msg: String| -> Result<(), SettingError> {
            if ignore {
                ctx.warn(msg);
                Ok(())
            } else {
                Err(SettingError::fatal(msg))
            }
        };
        let path = match expand_or(ctx, f, true) {
            Ok(p) => p,
            Err(e) => return fail(ctx, format!("{e}{suffix}")),
        };
        if path.is_empty() {
            return fail(
                ctx,
                format!("Empty path in command line{suffix}: '{value}'"),
            );
        }
        if !string_is_safe(&path) {
            return fail(
                ctx,
                format!("Executable name contains special characters{suffix}: {path}"),
            );
        }
        if path.ends_with('/') {
            return fail(
                ctx,
                format!("Executable path specifies a directory{suffix}: {path}"),
            );
        }
        if !path.starts_with('/') && !filename_is_valid(&path) {
            return fail(
                ctx,
                format!("Neither a valid executable name nor an absolute path{suffix}: {path}"),
            );
        }
        let mut argv: Vec<String> = Vec::new();
        if !separate_argv0 {
            argv.push(path.clone());
        }
        let path = keel_core::unit_name::simplify_slashes(&path);

        let mut semicolon = false;
        loop {
            let b = p.as_bytes();
            if b.is_empty() {
                break;
            }
            if b[0] == b';' && b.get(1).is_none_or(|c| is_ws(*c)) {
                p = p[1..].trim_start_matches([' ', '\t', '\n', '\r']);
                semicolon = true;
                break;
            }
            if b[0] == b'\\' && b.get(1) == Some(&b';') && b.get(2).is_none_or(|c| is_ws(*c)) {
                p = p[2..].trim_start_matches([' ', '\t', '\n', '\r']);
                argv.push(";".into());
                continue;
            }
            let word = match extract_first_word(&mut p, " \t\n\r", flags_x) {
                Ok(Some(w)) => w,
                Ok(None) => break,
                Err(e) => return fail(ctx, format!("Invalid syntax{suffix}: {value} ({e})")),
            };
            match expand_or(ctx, &word, true) {
                Ok(w) => argv.push(w),
                Err(e) => return fail(ctx, format!("{e}{suffix}")),
            }
        }
        if argv.is_empty() {
            return fail(
                ctx,
                format!("Empty executable name or zeroeth argument{suffix}: {value}"),
            );
        }
        list.push(ExecCommand { path, argv, flags });
        if !semicolon {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests;
