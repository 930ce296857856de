//! `%` specifiers in unit files, as systemd 248's `unit_full_printf` (`src/core/unit-printf.c`
//! over `src/shared/specifier.c`).
//!
//! The expansion is pure: every value comes from a [`SpecifierContext`] built once per
//! manager. [`HostFacts::probe`] reads the facts of the running host.

use std::path::Path;

use crate::unit_name::{self, UnitName, UnitType};

/// Facts about the host that specifiers expose (`%H %l %m %b %v %a %o %w %W %B`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct HostFacts {
    /// `%H`: the hostname.
    pub hostname: String,
    /// `%m`: the machine ID (32 hex characters).
    pub machine_id: String,
    /// `%b`: the boot ID (32 hex characters, no dashes).
    pub boot_id: String,
    /// `%v`: the kernel release (`uname -r`).
    pub kernel_release: String,
    /// `%a`: the architecture as systemd names it (`x86-64`, `arm64`, ...).
    pub architecture: String,
    /// `%o`: `ID=` of os-release.
    pub os_id: String,
    /// `%w`: `VERSION_ID=` of os-release.
    pub os_version_id: String,
    /// `%W`: `VARIANT_ID=` of os-release.
    pub os_variant_id: String,
    /// `%B`: `BUILD_ID=` of os-release.
    pub os_build_id: String,
}

/// systemd's name for the architecture keel was built for (`%a`).
pub fn native_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "x86-64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "riscv64" => "riscv64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64-le",
        "powerpc64" => "ppc64",
        "s390x" => "s390x",
        "mips64" => "mips64",
        "loongarch64" => "loongarch64",
        other => other,
    }
}

impl HostFacts {
    /// Reads the facts of the running host: hostname, boot ID and kernel release from
    /// `/proc/sys/kernel/`, and machine ID and os-release from under `root`. Missing or
    /// unreadable files give empty values.
    ///
    /// # Ambient authority
    /// Reads `/proc/sys/kernel/{hostname,osrelease,random/boot_id}` of the running kernel and
    /// `root/etc/machine-id`, `root/etc/os-release` (or `root/usr/lib/os-release`).
    pub fn probe(root: &Path) -> HostFacts {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map(|s| s.trim().to_owned())
                .unwrap_or_default()
        };
        let os = crate::os_release::OsRelease::load(root).unwrap_or_default();
        let field = |k: &str| os.get(k).unwrap_or_default().to_owned();
        HostFacts {
            hostname: read(Path::new("/proc/sys/kernel/hostname")),
            machine_id: read(&root.join("etc/machine-id")),
            boot_id: read(Path::new("/proc/sys/kernel/random/boot_id")).replace('-', ""),
            kernel_release: read(Path::new("/proc/sys/kernel/osrelease")),
            architecture: native_architecture().to_owned(),
            os_id: field("ID"),
            os_version_id: field("VERSION_ID"),
            os_variant_id: field("VARIANT_ID"),
            os_build_id: field("BUILD_ID"),
        }
    }
}

/// Everything specifier expansion needs besides the unit name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct SpecifierContext {
    /// Facts about the host.
    pub host: HostFacts,
    /// `%u`: name of the user the manager runs as.
    pub user_name: String,
    /// `%U`: UID of that user.
    pub uid: u32,
    /// `%g`: its group name.
    pub group_name: String,
    /// `%G`: its GID.
    pub gid: u32,
    /// `%h`: its home directory.
    pub home: String,
    /// `%s`: its shell.
    pub shell: String,
    /// `%t`: runtime directory.
    pub runtime_dir: String,
    /// `%S`: state directory.
    pub state_dir: String,
    /// `%C`: cache directory.
    pub cache_dir: String,
    /// `%L`: logs directory.
    pub logs_dir: String,
    /// `%E`: configuration directory.
    pub config_dir: String,
    /// `%T`: temporary directory.
    pub tmp_dir: String,
    /// `%V`: temporary directory for larger, persistent files.
    pub var_tmp_dir: String,
    /// The cgroup root of the manager (`%R`), `""` for the root of the hierarchy.
    pub cgroup_root: String,
    /// Whether this is a user manager (changes the default slice for `%c`/`%r`).
    pub user_manager: bool,
}

impl Default for SpecifierContext {
    /// The system manager's context with empty host facts.
    fn default() -> Self {
        SpecifierContext::system(HostFacts::default())
    }
}

impl SpecifierContext {
    /// The context of the system manager (PID 1, running as root): `/run`, `/var/lib`,
    /// `/var/cache`, `/var/log`, `/etc`, `/tmp`, `/var/tmp`, home `/root`, shell `/bin/sh`.
    pub fn system(host: HostFacts) -> SpecifierContext {
        SpecifierContext {
            host,
            user_name: "root".into(),
            uid: 0,
            group_name: "root".into(),
            gid: 0,
            home: "/root".into(),
            shell: "/bin/sh".into(),
            runtime_dir: "/run".into(),
            state_dir: "/var/lib".into(),
            cache_dir: "/var/cache".into(),
            logs_dir: "/var/log".into(),
            config_dir: "/etc".into(),
            tmp_dir: "/tmp".into(),
            var_tmp_dir: "/var/tmp".into(),
            cgroup_root: String::new(),
            user_manager: false,
        }
    }
}

/// Why a value could not be expanded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecifierError {
    /// `%X` with an alphanumeric `X` that systemd 248 does not know (`EBADSLT`).
    #[error("unknown specifier %{0}")]
    Unknown(char),
    /// A known specifier whose value cannot be computed for this unit (e.g. `%f` of an
    /// instance that is not a valid escaped path).
    #[error("failed to resolve specifier %{specifier}")]
    Failed {
        /// The specifier letter.
        specifier: char,
        /// Why.
        #[source]
        source: unit_name::UnitNameError,
    },
}

fn default_slice(unit: &UnitName, ctx: &SpecifierContext) -> String {
    if unit.unit_type() == UnitType::Slice {
        return String::new();
    }
    let base = if ctx.user_manager { "app" } else { "system" };
    match unit.instance() {
        // Instances of a template get a slice of their own, `system-PREFIX.slice`.
        Some(_) => format!("{base}-{}.slice", unit_name::escape(unit.prefix())),
        None => format!("{base}.slice"),
    }
}

/// systemd's `cg_escape`: names that could clash with cgroup files get a `_` prefix.
fn cg_escape(name: &str) -> String {
    if name.starts_with(['_', '.']) || name.starts_with("cgroup.") {
        format!("_{name}")
    } else {
        name.to_owned()
    }
}

/// The cgroup path of a slice unit name (`a-b.slice` → `/a.slice/a-b.slice`).
fn slice_path(slice: &str) -> String {
    let Some(prefix) = slice.strip_suffix(".slice") else {
        return String::new();
    };
    if prefix == "-" || prefix.is_empty() {
        return String::new();
    }
    let mut out = String::new();
    for (i, c) in prefix.char_indices() {
        if c == '-' {
            out.push('/');
            out.push_str(&prefix[..i]);
            out.push_str(".slice");
        }
    }
    out.push('/');
    out.push_str(slice);
    out
}

/// Expands the `%` specifiers of `input` for `unit`, as systemd 248's `unit_full_printf`:
/// `%%` is `%`; a known `%X` is replaced; an unknown alphanumeric `X` is an error; `%`
/// before anything else, and a trailing `%`, are kept.
///
/// ```
/// use keel_core::specifier::{expand_unit_specifiers, SpecifierContext};
/// use keel_core::unit_name::UnitName;
///
/// let unit: UnitName = "getty@tty1.service".parse()?;
/// let ctx = SpecifierContext::default();
/// assert_eq!(expand_unit_specifiers("%p on %I (%n) 100%%", &unit, &ctx)?, "getty on tty1 (getty@tty1.service) 100%");
/// assert!(expand_unit_specifiers("%y", &unit, &ctx).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn expand_unit_specifiers(
    input: &str,
    unit: &UnitName,
    ctx: &SpecifierContext,
) -> Result<String, SpecifierError> {
    expand_with(input, unit, ctx, None)
}

/// The specifiers systemd 248's `unit_name_printf` knows (used for dependency names such as
/// `Wants=`, `Sockets=`): `%i %j %n %N %p`, the system specifiers `%a %b %B %H %l %m %o %v %w
/// %W` and the credential specifiers `%g %G %u %U`.
pub const UNIT_NAME_SPECIFIERS: &str = "ijnNpabBHlmovwWgGuU";

/// The specifiers systemd 248's `install_full_printf` knows (for `[Install]` values).
pub const INSTALL_SPECIFIERS: &str = "nNpiIjfabBHlmovwWgGuU";

/// Like [`expand_unit_specifiers`], but only the specifiers in `allowed` are known; any other
/// alphanumeric specifier is [`SpecifierError::Unknown`] (as `unit_name_printf` and
/// `install_full_printf` behave).
///
/// ```
/// use keel_core::specifier::{expand_specifiers_limited, SpecifierContext, UNIT_NAME_SPECIFIERS};
/// let unit: keel_core::unit_name::UnitName = "a@b.service".parse()?;
/// let ctx = SpecifierContext::default();
/// assert_eq!(expand_specifiers_limited("x-%i.target", &unit, &ctx, UNIT_NAME_SPECIFIERS)?, "x-b.target");
/// assert!(expand_specifiers_limited("%I.target", &unit, &ctx, UNIT_NAME_SPECIFIERS).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn expand_specifiers_limited(
    input: &str,
    unit: &UnitName,
    ctx: &SpecifierContext,
    allowed: &str,
) -> Result<String, SpecifierError> {
    expand_with(input, unit, ctx, Some(allowed))
}

fn expand_with(
    input: &str,
    unit: &UnitName,
    ctx: &SpecifierContext,
    allowed: Option<&str>,
) -> Result<String, SpecifierError> {
    if !input.contains('%') {
        return Ok(input.to_owned());
    }
    let failed = |specifier| move |source| SpecifierError::Failed { specifier, source };
    let mut out = String::with_capacity(input.len() + 32);
    let mut chars = input.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let Some(s) = chars.next() else {
            out.push('%');
            break;
        };
        let prefix = unit.prefix();
        let instance = unit.instance().unwrap_or("");
        let last = prefix.rsplit_once('-').map_or(prefix, |(_, l)| l);
        let h = &ctx.host;
        if s.is_ascii_alphanumeric() && allowed.is_some_and(|a| !a.contains(s)) {
            return Err(SpecifierError::Unknown(s));
        }
        match s {
            '%' => out.push('%'),
            'n' => out.push_str(unit.as_str()),
            'N' => out.push_str(unit.without_suffix()),
            'p' => out.push_str(prefix),
            'P' => out.push_str(&unit_name::unescape(prefix).map_err(failed(s))?),
            'i' => out.push_str(instance),
            'I' => out.push_str(&unit_name::unescape(instance).map_err(failed(s))?),
            'j' => out.push_str(last),
            'J' => out.push_str(&unit_name::unescape(last).map_err(failed(s))?),
            'f' => {
                let p = match unit.instance() {
                    Some(i) => unit_name::unescape_path(i),
                    None => unit_name::to_path(unit),
                };
                out.push_str(&p.map_err(failed(s))?);
            }
            'c' => {
                out.push_str(&ctx.cgroup_root);
                let slice = default_slice(unit, ctx);
                if unit.unit_type() == UnitType::Slice {
                    out.push_str(&slice_path(unit.as_str()));
                } else {
                    out.push_str(&slice_path(&slice));
                    out.push('/');
                    out.push_str(&cg_escape(unit.as_str()));
                }
            }
            'r' => {
                out.push_str(&ctx.cgroup_root);
                out.push_str(&slice_path(&default_slice(unit, ctx)));
            }
            'R' => {
                out.push_str(if ctx.cgroup_root.is_empty() {
                    "/"
                } else {
                    &ctx.cgroup_root
                });
            }
            't' => out.push_str(&ctx.runtime_dir),
            'S' => out.push_str(&ctx.state_dir),
            'C' => out.push_str(&ctx.cache_dir),
            'L' => out.push_str(&ctx.logs_dir),
            'E' => out.push_str(&ctx.config_dir),
            'T' => out.push_str(&ctx.tmp_dir),
            'V' => out.push_str(&ctx.var_tmp_dir),
            'h' => out.push_str(&ctx.home),
            's' => out.push_str(&ctx.shell),
            'u' => out.push_str(&ctx.user_name),
            'U' => out.push_str(&ctx.uid.to_string()),
            'g' => out.push_str(&ctx.group_name),
            'G' => out.push_str(&ctx.gid.to_string()),
            'a' => out.push_str(&h.architecture),
            'b' => out.push_str(&h.boot_id),
            'B' => out.push_str(&h.os_build_id),
            'H' => out.push_str(&h.hostname),
            'l' => out.push_str(h.hostname.split('.').next().unwrap_or("")),
            'm' => out.push_str(&h.machine_id),
            'o' => out.push_str(&h.os_id),
            'v' => out.push_str(&h.kernel_release),
            'w' => out.push_str(&h.os_version_id),
            'W' => out.push_str(&h.os_variant_id),
            x if x.is_ascii_alphanumeric() => return Err(SpecifierError::Unknown(x)),
            x => {
                out.push('%');
                out.push(x);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx() -> SpecifierContext {
        SpecifierContext::system(HostFacts {
            hostname: "host.example.org".into(),
            machine_id: "0123456789abcdef0123456789abcdef".into(),
            boot_id: "fedcba9876543210fedcba9876543210".into(),
            kernel_release: "6.1.0-9-amd64".into(),
            architecture: "x86-64".into(),
            os_id: "debian".into(),
            os_version_id: "12".into(),
            os_variant_id: String::new(),
            os_build_id: String::new(),
        })
    }

    fn x(input: &str, unit: &str) -> Result<String, SpecifierError> {
        let u = UnitName::new(unit).unwrap_or_else(|e| panic!("{e}"));
        expand_unit_specifiers(input, &u, &ctx())
    }

    #[test]
    fn unit_printf_table() {
        // After test_unit_printf of src/test/test-unit-name.c.
        let cases = [
            ("%n", "blah.service", "blah.service"),
            ("%N", "blah.service", "blah"),
            ("%p", "blah.service", "blah"),
            ("%P", "blah.service", "blah"),
            ("%i", "blah.service", ""),
            ("%f", "blah.service", "/blah"),
            ("%j", "blah.service", "blah"),
            ("%J", "blah.service", "blah"),
            ("%u", "blah.service", "root"),
            ("%U", "blah.service", "0"),
            ("%h", "blah.service", "/root"),
            ("%s", "blah.service", "/bin/sh"),
            ("%m", "blah.service", "0123456789abcdef0123456789abcdef"),
            ("%b", "blah.service", "fedcba9876543210fedcba9876543210"),
            ("%H", "blah.service", "host.example.org"),
            ("%l", "blah.service", "host"),
            ("%v", "blah.service", "6.1.0-9-amd64"),
            ("%a", "blah.service", "x86-64"),
            ("%o %w %W %B", "blah.service", "debian 12  "),
            (
                "%t %S %C %L %E %T %V",
                "a.service",
                "/run /var/lib /var/cache /var/log /etc /tmp /var/tmp",
            ),
            ("%n", "blah@foo-foo.service", "blah@foo-foo.service"),
            ("%N", "blah@foo-foo.service", "blah@foo-foo"),
            ("%p", "blah@foo-foo.service", "blah"),
            ("%i", "blah@foo-foo.service", "foo-foo"),
            ("%I", "blah@foo-foo.service", "foo/foo"),
            ("%f", "blah@foo-foo.service", "/foo/foo"),
            ("%j", "foo-bar-baz@inst.service", "baz"),
            ("%J", "foo-bar\\x2dbaz@inst.service", "bar-baz"),
            ("%P", "foo-bar@inst.service", "foo/bar"),
            ("%f", "exec-specifier@foo-bar.service", "/foo/bar"),
            ("%c", "foo.service", "/system.slice/foo.service"),
            ("%r", "foo.service", "/system.slice"),
            ("%R", "foo.service", "/"),
            ("%c", "a-b.slice", "/a.slice/a-b.slice"),
            (
                "%c",
                "getty@tty1.service",
                "/system.slice/system-getty.slice/getty@tty1.service",
            ),
            ("%r", "a-b@x.service", "/system.slice/system-a\\x2db.slice"),
        ];
        for (input, unit, want) in cases {
            assert_eq!(x(input, unit).as_deref(), Ok(want), "{input} for {unit}");
        }
    }

    #[test]
    fn percent_rules() {
        // After test_specifier_printf and spec §8.5.
        assert_eq!(x("xxx%%yyy", "a.service").as_deref(), Ok("xxx%yyy"));
        assert_eq!(x("100%", "a.service").as_deref(), Ok("100%"));
        assert_eq!(x("%-x", "a.service").as_deref(), Ok("%-x"));
        assert_eq!(x("a%/b", "a.service").as_deref(), Ok("a%/b"));
        assert_eq!(x("%%%%", "a.service").as_deref(), Ok("%%"));
        assert_eq!(
            x("ümlaut %n", "a.service").as_deref(),
            Ok("ümlaut a.service")
        );
        assert_eq!(x("%ü", "a.service").as_deref(), Ok("%ü"));
        // Not in 248: %A %M %d %y %Y %q, and any other alphanumeric.
        for s in ['A', 'M', 'd', 'y', 'Y', 'q', 'z', '0', 'Z'] {
            assert_eq!(
                x(&format!("%{s}"), "a.service"),
                Err(SpecifierError::Unknown(s))
            );
        }
        // %f of an instance that is not a valid escaped path.
        assert!(matches!(
            x("%f", "a@foo--bar.service"),
            Err(SpecifierError::Failed { specifier: 'f', .. })
        ));
    }

    #[test]
    fn probe_reads_this_host() {
        let h = HostFacts::probe(Path::new("/"));
        assert_eq!(h.boot_id.len(), 32, "boot id {:?}", h.boot_id);
        assert!(!h.kernel_release.is_empty());
        assert_eq!(h.architecture, native_architecture());
    }
}
