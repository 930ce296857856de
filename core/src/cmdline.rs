//! The kernel command line: parameters, their lookup, and the few that systemd's manager and
//! fstab generator act on (`root=`, `mount.usr=`, `systemd.setenv=`, `systemd.unit=`).
//!
//! Mirrors systemd 248's `src/basic/proc-cmdline.c` (`proc_cmdline_parse_given`,
//! `proc_cmdline_get_key`, `proc_cmdline_key_streq`, `runlevel_to_target`), the command line
//! handling of `src/core/main.c` (`parse_proc_cmdline_item`) and of
//! `src/fstab-generator/fstab-generator.c` (spec §7.1).
//!
//! Words are split at whitespace with `EXTRACT_UNQUOTE|EXTRACT_RELAX|EXTRACT_RETAIN_ESCAPE`:
//! quotes group and are removed anywhere in a word, backslashes are kept as written. A word
//! `key=value` is split at its first `=`; a word without `=` is a bare flag. In keys `-` and
//! `_` are the same character.
//!
//! Parameters starting with `rd.` are meant for the initrd: systemd ignores them outside of
//! it. [`KernelCommandLine::get`] compares keys literally (so `rd.foo` is only found by asking
//! for `rd.foo`); callers that are not in the initrd simply should not ask for `rd.` keys.
//!
//! ```
//! use keel_core::cmdline::{KernelCommandLine, RootSpec};
//!
//! let cmdline = KernelCommandLine::parse(
//!     "BOOT_IMAGE=/vmlinuz root=UUID=1234 ro quiet systemd.setenv=A=1 systemd.log-level=debug",
//! )?;
//! assert_eq!(cmdline.root(), Some(RootSpec::Device("UUID=1234".into())));
//! assert_eq!(cmdline.get("quiet"), Some(None));
//! assert_eq!(cmdline.get("systemd.log_level"), Some(Some("debug")));
//! assert_eq!(cmdline.systemd_setenv(), [("A".to_string(), "1".to_string())]);
//! # Ok::<(), keel_core::cmdline::CmdlineError>(())
//! ```

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::env::env_assignment_is_valid;
use crate::unit_name::UnitName;
use crate::word::{ExtractFlags, ExtractWordError, WHITESPACE, Words};

/// The kernel command line as a list of parameters.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct KernelCommandLine {
    /// Every parameter in order: the key and, for `key=value`, the value (possibly empty).
    pub params: Vec<(String, Option<String>)>,
}

/// What `root=` asks for (systemd-fstab-generator, spec §7.1).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub enum RootSpec {
    /// `root=tmpfs`: a fresh tmpfs as the root file system (248).
    Tmpfs,
    /// `root=gpt-auto`: left to systemd-gpt-auto-generator.
    GptAuto,
    /// `root=/dev/nfs`: handled by the kernel or the initrd.
    Nfs,
    /// A device: `LABEL=`, `UUID=`, `PARTUUID=`, `PARTLABEL=` or a path, kept verbatim.
    Device(String),
}

/// A failure to read or split the kernel command line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CmdlineError {
    /// A word could not be split (not expected with the flags systemd uses).
    #[error("cannot split the kernel command line")]
    Split {
        /// The word splitting error.
        #[source]
        source: ExtractWordError,
    },
    /// The command line file could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
}

/// Runlevel words and the targets they select outside of the initrd (`rlmap`).
const RUNLEVELS: [(&str, &str); 12] = [
    ("emergency", "emergency.target"),
    ("-b", "emergency.target"),
    ("rescue", "rescue.target"),
    ("single", "rescue.target"),
    ("-s", "rescue.target"),
    ("s", "rescue.target"),
    ("S", "rescue.target"),
    ("1", "rescue.target"),
    ("2", "multi-user.target"),
    ("3", "multi-user.target"),
    ("4", "multi-user.target"),
    ("5", "graphical.target"),
];

/// Runlevel words (after `rd.`) in the initrd (`rlmap_initrd`).
const RUNLEVELS_INITRD: [(&str, &str); 2] = [
    ("emergency", "emergency.target"),
    ("rescue", "rescue.target"),
];

/// Whether two keys are equal with `-` and `_` counted as the same (`proc_cmdline_key_streq`).
///
/// ```
/// use keel_core::cmdline::key_eq;
/// assert!(key_eq("x-y_z", "x_y-z"));
/// assert!(!key_eq("x_y-z", "x-z_z"));
/// ```
pub fn key_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .all(|(x, y)| x == y || (x == b'-' && y == b'_') || (x == b'_' && y == b'-'))
}

/// Whether `key` starts with `prefix`, with `-` and `_` counted as the same
/// (`proc_cmdline_key_startswith`).
///
/// ```
/// use keel_core::cmdline::key_starts_with;
/// assert!(key_starts_with("foo-bar", "foo_"));
/// assert!(!key_starts_with("foo-bar", "foo_xx"));
/// ```
pub fn key_starts_with(key: &str, prefix: &str) -> bool {
    key.len() >= prefix.len() && key.is_char_boundary(prefix.len()) && {
        key_eq(&key[..prefix.len()], prefix)
    }
}

impl KernelCommandLine {
    /// Splits a command line into parameters. Newlines count as whitespace.
    ///
    /// # Errors
    ///
    /// [`CmdlineError::Split`] if word splitting fails, which the relaxed flags make
    /// impossible in practice.
    pub fn parse(text: &str) -> Result<KernelCommandLine, CmdlineError> {
        let flags = ExtractFlags::UNQUOTE | ExtractFlags::RELAX | ExtractFlags::RETAIN_ESCAPE;
        let mut params = Vec::new();
        for word in Words::new(text, WHITESPACE, flags) {
            let word = word.map_err(|source| CmdlineError::Split { source })?;
            params.push(match word.split_once('=') {
                Some((k, v)) => (k.to_owned(), Some(v.to_owned())),
                None => (word, None),
            });
        }
        Ok(KernelCommandLine { params })
    }

    /// Reads `root/proc/cmdline` (its first line, as systemd's `read_one_line_file`) and
    /// parses it. Inside a container systemd reads PID 1's arguments instead; that choice is
    /// the caller's.
    ///
    /// # Ambient authority
    ///
    /// Reads the file system below `root`; pass `/` for the running system.
    ///
    /// # Errors
    ///
    /// [`CmdlineError::Read`] naming the file, or [`CmdlineError::Split`].
    pub fn load(root: &Path) -> Result<KernelCommandLine, CmdlineError> {
        let path = root.join("proc/cmdline");
        let text = fs::read_to_string(&path).map_err(|source| CmdlineError::Read {
            path: path.clone(),
            source,
        })?;
        KernelCommandLine::parse(text.lines().next().unwrap_or(""))
    }

    /// Every parameter in order, as `(key, value)`.
    pub fn iter(&self) -> impl Iterator<Item = (&str, Option<&str>)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_deref()))
    }

    /// Looks `key` up (`-` and `_` equal), as `proc_cmdline_get_key` with
    /// `PROC_CMDLINE_VALUE_OPTIONAL`: `Some(Some(value))` for the last `key=value`,
    /// `Some(None)` if the key only appears as a bare flag, `None` if it is absent. A bare
    /// flag never hides an earlier value (`foo=1 foo` gives `Some(Some("1"))`).
    pub fn get(&self, key: &str) -> Option<Option<&str>> {
        if key.is_empty() {
            return None;
        }
        let mut found = None;
        for (k, v) in self.iter() {
            if key_eq(k, key) {
                match v {
                    Some(v) => found = Some(Some(v)),
                    None if found.is_none() => found = Some(None),
                    None => {}
                }
            }
        }
        found
    }

    /// The last value of `key` given with `=` (bare flags ignored, as systemd's
    /// `proc_cmdline_value_missing` does).
    fn last_value(&self, key: &str) -> Option<&str> {
        self.iter()
            .filter(|(k, _)| key_eq(k, key))
            .filter_map(|(_, v)| v)
            .last()
    }

    /// Every value of `key` joined with `,` (`strextend_with_separator`), `None` if none.
    fn joined_values(&self, key: &str) -> Option<String> {
        let mut out: Option<String> = None;
        for v in self
            .iter()
            .filter(|(k, _)| key_eq(k, key))
            .filter_map(|(_, v)| v)
        {
            let s = out.get_or_insert_with(String::new);
            if !s.is_empty() {
                s.push(',');
            }
            s.push_str(v);
        }
        out
    }

    /// `root=` (last wins), `None` if absent or empty.
    #[doc(alias = "root=")]
    pub fn root(&self) -> Option<RootSpec> {
        let v = self.last_value("root").filter(|v| !v.is_empty())?;
        Some(match v {
            "tmpfs" => RootSpec::Tmpfs,
            "gpt-auto" => RootSpec::GptAuto,
            _ if Path::new(v)
                .components()
                .eq(Path::new("/dev/nfs").components()) =>
            {
                RootSpec::Nfs
            }
            _ => RootSpec::Device(v.to_owned()),
        })
    }

    /// `rootfstype=` (last wins).
    #[doc(alias = "rootfstype=")]
    pub fn rootfstype(&self) -> Option<&str> {
        self.last_value("rootfstype")
    }

    /// Every `rootflags=`, joined with `,`.
    #[doc(alias = "rootflags=")]
    pub fn rootflags(&self) -> Option<String> {
        self.joined_values("rootflags")
    }

    /// The bare `rw` / `ro` switch: `Some(true)` for `rw`, `Some(false)` for `ro`, the last
    /// one winning.
    pub fn root_rw(&self) -> Option<bool> {
        self.iter()
            .filter_map(|(k, v)| match (k, v) {
                ("rw", None) => Some(true),
                ("ro", None) => Some(false),
                _ => None,
            })
            .last()
    }

    /// `mount.usr=` (last wins).
    #[doc(alias = "mount.usr=")]
    pub fn mount_usr(&self) -> Option<&str> {
        self.last_value("mount.usr")
    }

    /// `mount.usrfstype=` (last wins).
    #[doc(alias = "mount.usrfstype=")]
    pub fn mount_usrfstype(&self) -> Option<&str> {
        self.last_value("mount.usrfstype")
    }

    /// Every `mount.usrflags=`, joined with `,`.
    #[doc(alias = "mount.usrflags=")]
    pub fn mount_usrflags(&self) -> Option<String> {
        self.joined_values("mount.usrflags")
    }

    /// The `systemd.setenv=NAME=VALUE` assignments for the manager's default environment:
    /// invalid assignments are skipped (systemd warns), and a variable set twice keeps its
    /// first position with the last value.
    #[doc(alias = "systemd.setenv=")]
    pub fn systemd_setenv(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for v in self
            .iter()
            .filter(|(k, _)| key_eq(k, "systemd.setenv"))
            .filter_map(|(_, v)| v)
        {
            if !env_assignment_is_valid(v) {
                continue;
            }
            let Some((name, value)) = v.split_once('=') else {
                continue;
            };
            match out.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => value.clone_into(&mut slot.1),
                None => out.push((name.to_owned(), value.to_owned())),
            }
        }
        out
    }

    /// The unit the manager starts instead of `default.target`, as `parse_proc_cmdline_item`
    /// in `src/core/main.c`: `systemd.unit=` on the host, `rd.systemd.unit=` in the initrd
    /// (invalid unit names and templates are skipped), or a SysV runlevel word (`rescue`,
    /// `3`, `-b`, ...; in the initrd only `rd.emergency` and `rd.rescue`). The last one wins.
    #[doc(alias = "systemd.unit=")]
    pub fn systemd_unit(&self, in_initrd: bool) -> Option<&str> {
        let mut unit = None;
        for (key, value) in self.iter() {
            let is_rd = key.starts_with("rd.");
            if is_rd && !in_initrd {
                continue;
            }
            if key == "systemd.unit" || key == "rd.systemd.unit" {
                let Some(value) = value else { continue };
                let valid = UnitName::new(value).is_ok_and(|n| !n.is_template());
                if valid && in_initrd == is_rd {
                    unit = Some(value);
                }
            } else if value.is_none() {
                if let Some(target) = runlevel_to_target(key, in_initrd) {
                    unit = Some(target);
                }
            }
        }
        unit
    }
}

/// The target a SysV runlevel word selects (`runlevel_to_target`).
fn runlevel_to_target(word: &str, in_initrd: bool) -> Option<&'static str> {
    let (word, map): (&str, &[(&str, &'static str)]) = if in_initrd {
        (word.strip_prefix("rd.")?, &RUNLEVELS_INITRD)
    } else {
        (word, &RUNLEVELS)
    };
    map.iter().find(|(w, _)| *w == word).map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> KernelCommandLine {
        KernelCommandLine::parse(s).unwrap_or_default()
    }

    // test-proc-cmdline.c: test_proc_cmdline_override
    #[test]
    fn split_words() {
        let c = parse(
            "foo_bar=quux wuff-piep=tuet zumm some_arg_with_space='foo bar' and_one_more=\"zzz aaa\"",
        );
        let words: Vec<(&str, Option<&str>)> = c.iter().collect();
        assert_eq!(
            words,
            [
                ("foo_bar", Some("quux")),
                ("wuff-piep", Some("tuet")),
                ("zumm", None),
                ("some_arg_with_space", Some("foo bar")),
                ("and_one_more", Some("zzz aaa")),
            ]
        );
        assert_eq!(c.get("foo_bar"), Some(Some("quux")));
        assert_eq!(c.get("some_arg_with_space"), Some(Some("foo bar")));
        assert_eq!(c.get("and_one_more"), Some(Some("zzz aaa")));
    }

    // test-proc-cmdline.c: test_proc_cmdline_given
    #[test]
    fn given() {
        let c = parse("foo_bar=quux wuff-piep=\"tuet \" rd.zumm space='x y z' miepf=\"uuu\"");
        assert_eq!(c.get("foo_bar"), Some(Some("quux")));
        assert_eq!(c.get("wuff-piep"), Some(Some("tuet ")));
        assert_eq!(c.get("space"), Some(Some("x y z")));
        assert_eq!(c.get("miepf"), Some(Some("uuu")));
        assert_eq!(c.get("rd.zumm"), Some(None));
        assert_eq!(c.get("zumm"), None);
    }

    // test-proc-cmdline.c: test_proc_cmdline_get_key
    #[test]
    fn get_key_table() {
        let c = parse(
            "foo_bar=quux wuff-piep=tuet zumm-ghh spaaace='ö ü ß' ticks=\"''\"\n\nkkk=uuu\n\n\n",
        );
        let table: &[(&str, Option<Option<&str>>)] = &[
            ("", None),
            ("abc", None),
            ("foo_bar", Some(Some("quux"))),
            ("foo-bar", Some(Some("quux"))),
            ("wuff-piep", Some(Some("tuet"))),
            ("wuff_piep", Some(Some("tuet"))),
            ("zumm-ghh", Some(None)),
            ("zumm_ghh", Some(None)),
            ("zumm", None),
            ("spaaace", Some(Some("ö ü ß"))),
            ("ticks", Some(Some("''"))),
            ("kkk", Some(Some("uuu"))),
        ];
        for (key, expected) in table {
            assert_eq!(c.get(key), *expected, "{key}");
        }
    }

    // test-proc-cmdline.c: test_proc_cmdline_get_key_many
    #[test]
    fn get_key_many() {
        let c = parse(
            "foo_bar=quux wuff-piep=tuet zumm SPACE='one two' doubleticks=\" aaa aaa \"\n\nzummm='\n'\n",
        );
        assert_eq!(c.get("wuff-piep"), Some(Some("tuet")));
        assert_eq!(c.get("foo_bar"), Some(Some("quux")));
        assert_eq!(c.get("idontexist"), None);
        assert_eq!(c.get("zumm"), Some(None));
        assert_eq!(c.get("SPACE"), Some(Some("one two")));
        assert_eq!(c.get("space"), None);
        assert_eq!(c.get("doubleticks"), Some(Some(" aaa aaa ")));
        assert_eq!(c.get("zummm"), Some(Some("\n")));
    }

    // test-proc-cmdline.c: test_proc_cmdline_get_bool (the lookups; booleans are parsed by
    // the caller)
    #[test]
    fn get_bool_lookups() {
        let c = parse("foo_bar bar-waldo=1 x_y-z=0 quux=miep\nda=yes\nthe=1");
        for (key, expected) in [
            ("abc", None),
            ("foo_bar", Some(None)),
            ("foo-bar", Some(None)),
            ("bar-waldo", Some(Some("1"))),
            ("bar_waldo", Some(Some("1"))),
            ("x_y-z", Some(Some("0"))),
            ("x-y-z", Some(Some("0"))),
            ("x-y_z", Some(Some("0"))),
            ("x_y_z", Some(Some("0"))),
            ("quux", Some(Some("miep"))),
            ("da", Some(Some("yes"))),
            ("the", Some(Some("1"))),
        ] {
            assert_eq!(c.get(key), expected, "{key}");
        }
    }

    // test-proc-cmdline.c: test_proc_cmdline_key_streq
    #[test]
    fn key_streq_table() {
        for (a, b, eq) in [
            ("", "", true),
            ("a", "a", true),
            ("", "a", false),
            ("a", "", false),
            ("a", "b", false),
            ("x-y-z", "x-y-z", true),
            ("x-y-z", "x_y_z", true),
            ("x-y-z", "x-y_z", true),
            ("x-y-z", "x_y-z", true),
            ("x_y-z", "x-y_z", true),
            ("x_y-z", "x-z_z", false),
        ] {
            assert_eq!(key_eq(a, b), eq, "{a:?} {b:?}");
        }
    }

    // test-proc-cmdline.c: test_proc_cmdline_key_startswith
    #[test]
    fn key_startswith_table() {
        for (s, prefix, yes) in [
            ("", "", true),
            ("x", "", true),
            ("", "x", false),
            ("x", "x", true),
            ("x", "y", false),
            ("foo-bar", "quux", false),
            ("foo-bar", "foo", true),
            ("foo-bar", "foo-bar", true),
            ("foo-bar", "foo_bar", true),
            ("foo-bar", "foo_", true),
            ("foo-bar", "foo_xx", false),
            ("ä", "\u{00c3}", false),
        ] {
            assert_eq!(key_starts_with(s, prefix), yes, "{s:?} {prefix:?}");
        }
    }

    #[test]
    fn last_wins_and_bare_flags() {
        let c = parse("a=1 a=2 b b=3 c=4 c d= d");
        assert_eq!(c.get("a"), Some(Some("2")));
        assert_eq!(c.get("b"), Some(Some("3")));
        assert_eq!(c.get("c"), Some(Some("4")));
        assert_eq!(c.get("d"), Some(Some("")));
    }

    #[test]
    fn quoting_and_escapes() {
        let c = parse(r#"a="x y"z b=\"q c=o'k d=back\slash "e=f g" 'h"#);
        let words: Vec<(&str, Option<&str>)> = c.iter().collect();
        assert_eq!(
            words,
            [
                ("a", Some("x yz")),
                ("b", Some("\\q c=o'k d=back\\slash e=f")),
                ("g 'h", None),
            ]
        );
        assert_eq!(parse("   \n\t ").params, []);
    }

    #[test]
    fn root_specs() {
        let table: &[(&str, Option<RootSpec>)] = &[
            ("", None),
            ("root", None),
            ("root=", None),
            ("root=tmpfs", Some(RootSpec::Tmpfs)),
            ("root=gpt-auto", Some(RootSpec::GptAuto)),
            ("root=/dev/nfs", Some(RootSpec::Nfs)),
            ("root=//dev//nfs/", Some(RootSpec::Nfs)),
            (
                "root=LABEL=root",
                Some(RootSpec::Device("LABEL=root".into())),
            ),
            (
                "root=UUID=AB-CD",
                Some(RootSpec::Device("UUID=AB-CD".into())),
            ),
            (
                "root=PARTUUID=1-2 root=/dev/sda1",
                Some(RootSpec::Device("/dev/sda1".into())),
            ),
            ("root=/dev/sda1 root=tmpfs", Some(RootSpec::Tmpfs)),
            ("root=tmpfs root=", None),
            ("rd.root=tmpfs", None),
        ];
        for (line, expected) in table {
            assert_eq!(parse(line).root(), *expected, "{line}");
        }
    }

    // Spec §7.1: the keys of the fstab generator.
    #[test]
    fn fstab_generator_keys() {
        let c = parse(
            "root=tmpfs rootfstype=ext4 rootfstype=btrfs rootflags=size=1G rootflags rootflags=mode=755 \
             ro rw mount.usr=LABEL=usr mount.usrfstype=xfs mount.usrflags=a mount.usrflags=b",
        );
        assert_eq!(c.rootfstype(), Some("btrfs"));
        assert_eq!(c.rootflags().as_deref(), Some("size=1G,mode=755"));
        assert_eq!(c.root_rw(), Some(true));
        assert_eq!(c.mount_usr(), Some("LABEL=usr"));
        assert_eq!(c.mount_usrfstype(), Some("xfs"));
        assert_eq!(c.mount_usrflags().as_deref(), Some("a,b"));

        let c = parse("rootflags= rootflags=x rw=1 ro");
        assert_eq!(c.rootflags().as_deref(), Some("x"));
        assert_eq!(c.root_rw(), Some(false));
        let c = parse("rootflags=x rootflags=");
        assert_eq!(c.rootflags().as_deref(), Some("x,"));

        let c = parse("quiet");
        assert_eq!(c.rootfstype(), None);
        assert_eq!(c.rootflags(), None);
        assert_eq!(c.root_rw(), None);
        assert_eq!(c.mount_usr(), None);
        assert_eq!(c.mount_usrfstype(), None);
        assert_eq!(c.mount_usrflags(), None);
    }

    #[test]
    fn setenv() {
        let c = parse(
            "systemd.setenv=A=1 systemd.setenv systemd.setenv=bad-name=2 systemd.setenv=B= \
             systemd.setenv=noequals systemd.setenv=A=3 \"systemd.setenv=C=x y\" rd.systemd.setenv=D=1",
        );
        assert_eq!(
            c.systemd_setenv(),
            [
                ("A".to_string(), "3".to_string()),
                ("B".to_string(), String::new()),
                ("C".to_string(), "x y".to_string()),
            ]
        );
    }

    #[test]
    fn default_unit() {
        let table: &[(&str, Option<&str>, Option<&str>)] = &[
            ("", None, None),
            ("systemd.unit=rescue.target", Some("rescue.target"), None),
            (
                "rd.systemd.unit=emergency.target",
                None,
                Some("emergency.target"),
            ),
            (
                "systemd.unit=a.target rd.systemd.unit=b.target",
                Some("a.target"),
                Some("b.target"),
            ),
            (
                "systemd.unit=a.target systemd.unit=b.service",
                Some("b.service"),
                None,
            ),
            (
                "systemd.unit=a.target systemd.unit=bad",
                Some("a.target"),
                None,
            ),
            ("systemd.unit=getty@.service", None, None),
            (
                "systemd.unit=getty@tty1.service",
                Some("getty@tty1.service"),
                None,
            ),
            ("systemd.unit", None, None),
            ("3", Some("multi-user.target"), None),
            ("single", Some("rescue.target"), None),
            ("-b", Some("emergency.target"), None),
            ("5 systemd.unit=x.target", Some("x.target"), None),
            ("systemd.unit=x.target 5", Some("graphical.target"), None),
            ("S=1", None, None),
            ("rd.rescue", None, Some("rescue.target")),
            ("rd.3 3", Some("multi-user.target"), None),
            ("emergency", Some("emergency.target"), None),
        ];
        for (line, host, initrd) in table {
            let c = parse(line);
            assert_eq!(c.systemd_unit(false), *host, "host: {line}");
            assert_eq!(c.systemd_unit(true), *initrd, "initrd: {line}");
        }
    }

    #[test]
    fn load_reads_first_line() {
        let root = std::env::temp_dir().join(format!("keel-cmdline-{}", std::process::id()));
        let _ = fs::remove_dir_all(&root);
        assert!(matches!(
            KernelCommandLine::load(&root),
            Err(CmdlineError::Read { path, .. }) if path == root.join("proc/cmdline")
        ));
        fs::create_dir_all(root.join("proc")).unwrap();
        fs::write(root.join("proc/cmdline"), "root=tmpfs quiet\nignored=1\n").unwrap();
        let c = KernelCommandLine::load(&root).unwrap();
        assert_eq!(c.root(), Some(RootSpec::Tmpfs));
        assert_eq!(c.get("ignored"), None);
        assert_eq!(c.params.len(), 2);
        fs::remove_dir_all(&root).unwrap();
    }
}
