//! Kernel module load order from `modules.dep`, `modules.softdep`, `modules.alias`,
//! `modules.builtin` and the softdeps recorded in each `.ko` (pure: text in, order out).
//!
//! The initramfs has no `modprobe`: busybox `insmod` loads one file at a time, so the order
//! must be worked out on the host. Rules (those of `modprobe`):
//! - `modules.dep` lists, for each module, every module it needs, in an order meant to be
//!   loaded *last to first*; so the list is reversed and each entry resolved recursively.
//! - `pre:` softdeps (`softdep libcrc32c pre: crc32c` in `modules.softdep`, or
//!   `softdep=pre: crc32c` in the module's `.modinfo`) load before the module. They name
//!   modules or aliases (`crypto-crc32c`); an alias may stand for several modules, all of
//!   which are loaded. A softdep that resolves to nothing is built in or absent: skipped.
//! - `-` and `_` are the same character in module names.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, Result, bail};

/// A module name with `-` folded to `_` (the kernel's canonical spelling).
pub(crate) fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

/// The canonical module name of a path in `modules.dep` (`kernel/x/dm-crypt.ko.xz` → `dm_crypt`).
fn name_of_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    let stem = base.split(".ko").next().unwrap_or(base);
    canonical(stem)
}

/// What the module index files of one kernel say.
#[derive(Debug, Default)]
pub(crate) struct ModuleIndex {
    /// Canonical name → (path relative to `/lib/modules/<ver>`, dependency paths as listed).
    modules: HashMap<String, (String, Vec<String>)>,
    /// Canonical name → `pre:` softdeps from `modules.softdep`.
    softdeps: HashMap<String, Vec<String>>,
    /// `(pattern, canonical module name)` from `modules.alias`.
    aliases: Vec<(String, String)>,
    /// Canonical names of built-in modules.
    builtin: HashSet<String>,
}

/// The names after `pre:` (up to `post:`) in a softdep value such as `pre: a b post: c`.
fn pre_names<'a>(words: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut pre = false;
    let mut out = Vec::new();
    for w in words {
        match w {
            "pre:" => pre = true,
            "post:" => pre = false,
            _ if pre => out.push(w.to_owned()),
            _ => {}
        }
    }
    out
}

/// The `pre:` softdeps stored in a module's `.modinfo` section (`softdep=pre: crc32c`).
///
/// The section is a run of NUL-terminated `key=value` strings; scanning the whole file for
/// them is enough because the key cannot occur elsewhere followed by a valid value.
pub(crate) fn modinfo_softdeps(ko: &[u8]) -> Vec<String> {
    const KEY: &[u8] = b"softdep=";
    let mut out = Vec::new();
    let mut rest = ko;
    while let Some(pos) = rest.windows(KEY.len()).position(|w| w == KEY) {
        let value = &rest[pos + KEY.len()..];
        let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
        if let Ok(text) = std::str::from_utf8(&value[..end]) {
            out.extend(pre_names(text.split_whitespace()));
        }
        rest = &value[end..];
    }
    out
}

/// Matches an alias pattern with `*` and `?` wildcards (the ones `modules.alias` uses).
fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && (pattern[p] == b'?' || pattern[p] == text[t]) {
            p += 1;
            t += 1;
        } else if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

impl ModuleIndex {
    /// Parses the contents of `modules.dep`, `modules.softdep`, `modules.alias` and
    /// `modules.builtin`.
    ///
    /// # Errors
    /// A `modules.dep` line without `:` or a `softdep` line without a module name, with
    /// the file and line number.
    pub(crate) fn parse(dep: &str, softdep: &str, alias: &str, builtin: &str) -> Result<Self> {
        let mut idx = ModuleIndex::default();
        for (n, line) in dep.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let Some((path, deps)) = line.split_once(':') else {
                bail!("modules.dep:{}: no ':' in {line:?}", n + 1);
            };
            let deps = deps.split_whitespace().map(str::to_owned).collect();
            idx.modules
                .insert(name_of_path(path), (path.trim().to_owned(), deps));
        }
        for (n, line) in softdep.lines().enumerate() {
            let mut words = line.split_whitespace();
            if words.next() != Some("softdep") {
                continue;
            }
            let Some(name) = words.next() else {
                bail!("modules.softdep:{}: softdep without a module name", n + 1);
            };
            idx.softdeps
                .entry(canonical(name))
                .or_default()
                .extend(pre_names(words));
        }
        for line in alias.lines() {
            let mut words = line.split_whitespace();
            if let (Some("alias"), Some(pat), Some(module)) =
                (words.next(), words.next(), words.next())
            {
                idx.aliases.push((pat.to_owned(), canonical(module)));
            }
        }
        idx.builtin = builtin
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(name_of_path)
            .collect();
        Ok(idx)
    }

    /// The loadable modules `name` stands for: the module itself, or every module an alias
    /// names. Empty when it is built in or unknown.
    fn resolve_name(&self, name: &str) -> Vec<String> {
        let c = canonical(name);
        if self.modules.contains_key(&c) {
            return vec![c];
        }
        let mut out: Vec<String> = self
            .aliases
            .iter()
            .filter(|(pat, _)| glob_match(pat.as_bytes(), name.as_bytes()))
            .map(|(_, m)| m.clone())
            .filter(|m| self.modules.contains_key(m))
            .collect();
        out.dedup();
        out
    }

    /// Whether `name` is compiled into the kernel.
    pub(crate) fn is_builtin(&self, name: &str) -> bool {
        self.builtin.contains(&canonical(name))
    }

    /// The module paths (relative to `/lib/modules/<ver>`) to `insmod`, in order, so that
    /// every module of `wanted` loads. `ko_softdeps(path)` gives the softdeps recorded in a
    /// module file itself (see [`modinfo_softdeps`]).
    ///
    /// Wanted modules that are built in are left out.
    ///
    /// # Errors
    /// A wanted module that is neither a module, an alias nor built in, or a dependency
    /// path that `modules.dep` does not list.
    pub(crate) fn load_order(
        &self,
        wanted: &[&str],
        ko_softdeps: &mut dyn FnMut(&str) -> Vec<String>,
    ) -> Result<Vec<String>> {
        let by_path: HashMap<&str, &str> = self
            .modules
            .iter()
            .map(|(name, (path, _))| (path.as_str(), name.as_str()))
            .collect();
        let mut walk = Walk {
            idx: self,
            by_path,
            seen: HashSet::new(),
            order: Vec::new(),
            ko_softdeps,
        };
        for &w in wanted {
            let names = self.resolve_name(w);
            if names.is_empty() {
                if self.is_builtin(w) {
                    continue;
                }
                bail!("kernel module {w} is not in modules.dep, modules.alias or modules.builtin");
            }
            for n in names {
                walk.visit(&n)
                    .with_context(|| format!("ordering kernel module {w}"))?;
            }
        }
        Ok(walk.order)
    }
}

/// Depth-first walk state of [`ModuleIndex::load_order`].
struct Walk<'a, 'f> {
    idx: &'a ModuleIndex,
    by_path: HashMap<&'a str, &'a str>,
    seen: HashSet<String>,
    order: Vec<String>,
    ko_softdeps: &'f mut dyn FnMut(&str) -> Vec<String>,
}

impl Walk<'_, '_> {
    fn visit(&mut self, name: &str) -> Result<()> {
        if !self.seen.insert(name.to_owned()) {
            return Ok(());
        }
        let idx = self.idx;
        let Some((path, deps)) = idx.modules.get(name) else {
            bail!("module {name} is not in modules.dep");
        };
        let mut pre: Vec<String> = idx.softdeps.get(name).cloned().unwrap_or_default();
        pre.extend((self.ko_softdeps)(path));
        for sd in pre {
            for m in idx.resolve_name(&sd) {
                self.visit(&m)?;
            }
        }
        for d in deps.iter().rev() {
            let Some(&dep_name) = self.by_path.get(d.as_str()) else {
                bail!("{path}: dependency {d} is not in modules.dep");
            };
            self.visit(dep_name)?;
        }
        self.order.push(path.clone());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Shaped after Debian 12's 6.1 kernel (paths shortened).
    const DEP: &str = "\
kernel/net/batman-adv/batman-adv.ko: kernel/lib/libcrc32c.ko kernel/lib/crc16.ko kernel/net/bridge/bridge.ko kernel/net/802/stp.ko kernel/net/llc/llc.ko kernel/net/wireless/cfg80211.ko
kernel/lib/libcrc32c.ko:
kernel/lib/crc16.ko:
kernel/net/bridge/bridge.ko: kernel/net/802/stp.ko kernel/net/llc/llc.ko
kernel/net/802/stp.ko: kernel/net/llc/llc.ko
kernel/net/llc/llc.ko:
kernel/net/wireless/cfg80211.ko: kernel/net/rfkill/rfkill.ko
kernel/net/rfkill/rfkill.ko:
kernel/crypto/crc32c_generic.ko:
kernel/arch/x86/crypto/crc32c-intel.ko:
kernel/drivers/md/dm-crypt.ko: kernel/drivers/md/dm-mod.ko
kernel/drivers/md/dm-mod.ko:
kernel/fs/erofs/erofs.ko: kernel/lib/libcrc32c.ko
";
    const SOFTDEP: &str = "\
# Soft dependencies extracted from modules themselves.
softdep libcrc32c pre: crc32c
softdep erofs pre: crypto-crc32c post: other
";
    const ALIAS: &str = "\
alias crypto-crc32c crc32c_generic
alias crc32c crc32c_generic
alias crypto-crc32c crc32c_intel
alias crc32c crc32c_intel
alias fs-erofs erofs
alias pci:v00001AF4d*sv*sd*bc*sc*i* virtio_pci
";
    const BUILTIN: &str = "kernel/fs/overlayfs/overlay.ko\nkernel/drivers/char/tpm/tpm_tis.ko\n";

    fn index() -> ModuleIndex {
        ModuleIndex::parse(DEP, SOFTDEP, ALIAS, BUILTIN).unwrap()
    }

    fn order(wanted: &[&str]) -> Vec<String> {
        index()
            .load_order(wanted, &mut |_| Vec::new())
            .unwrap()
            .into_iter()
            .map(|p| name_of_path(&p))
            .collect()
    }

    #[test]
    fn dependencies_load_first_last_listed_first() {
        assert_eq!(order(&["dm-crypt"]), ["dm_mod", "dm_crypt"]);
        assert_eq!(
            order(&["bridge"]),
            ["llc", "stp", "bridge"],
            "reversed list: llc before stp before bridge"
        );
    }

    #[test]
    fn softdeps_resolve_through_aliases_before_the_module() {
        let o = order(&["batman_adv"]);
        assert_eq!(
            o,
            [
                "rfkill",
                "cfg80211",
                "llc",
                "stp",
                "bridge",
                "crc16",
                "crc32c_generic",
                "crc32c_intel",
                "libcrc32c",
                "batman_adv"
            ]
        );
    }

    #[test]
    fn each_module_once_and_post_softdeps_ignored() {
        let o = order(&["erofs", "batman-adv", "libcrc32c", "erofs"]);
        let mut unique = o.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), o.len());
        assert_eq!(
            &o[..4],
            ["crc32c_generic", "crc32c_intel", "libcrc32c", "erofs"]
        );
        assert!(!o.contains(&"other".to_owned()));
    }

    #[test]
    fn builtin_modules_are_skipped_and_unknown_ones_fail() {
        assert!(order(&["overlay", "tpm_tis"]).is_empty());
        let err = index()
            .load_order(&["nosuchmod"], &mut |_| Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("nosuchmod"), "{err}");
    }

    #[test]
    fn softdeps_from_the_ko_file_count() {
        let ko = b"\x7fELF...\0license=GPL\0softdep=pre: crc16\0vermagic=6.1\0";
        assert_eq!(modinfo_softdeps(ko), ["crc16"]);
        let o: Vec<String> = index()
            .load_order(&["dm_mod"], &mut |p| {
                if p.ends_with("dm-mod.ko") {
                    modinfo_softdeps(ko)
                } else {
                    Vec::new()
                }
            })
            .unwrap()
            .iter()
            .map(|p| name_of_path(p))
            .collect();
        assert_eq!(o, ["crc16", "dm_mod"]);
    }

    #[test]
    fn modinfo_softdep_parsing() {
        assert_eq!(
            modinfo_softdeps(b"softdep=pre: a b post: c\0softdep=pre: d\0"),
            ["a", "b", "d"]
        );
        assert!(modinfo_softdeps(b"no softdeps here").is_empty());
        assert_eq!(modinfo_softdeps(b"softdep=pre: tail"), ["tail"]);
    }

    #[test]
    fn aliases_match_globs() {
        assert!(glob_match(
            b"pci:v00001AF4d*sv*",
            b"pci:v00001AF4d00001000sv00"
        ));
        assert!(glob_match(b"a?c", b"abc"));
        assert!(!glob_match(b"a?c", b"abbc"));
        assert!(glob_match(b"*", b""));
        assert!(!glob_match(b"crc32c", b"crc32c-x"));
    }

    #[test]
    fn malformed_lines_are_errors_with_line_numbers() {
        let err = ModuleIndex::parse("a.ko:\nbroken\n", "", "", "").unwrap_err();
        assert!(err.to_string().contains("modules.dep:2"), "{err}");
        let err = ModuleIndex::parse("", "softdep\n", "", "").unwrap_err();
        assert!(err.to_string().contains("modules.softdep:1"), "{err}");
    }

    #[test]
    fn names_fold_dashes_and_strip_compression() {
        assert_eq!(name_of_path("kernel/a/dm-crypt.ko.xz"), "dm_crypt");
        assert_eq!(name_of_path("x.ko"), "x");
    }
}
