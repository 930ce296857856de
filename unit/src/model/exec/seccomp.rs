//! `SystemCallFilter=`, `SystemCallLog=`, `SystemCallErrorNumber=`,
//! `SystemCallArchitectures=`, `RestrictAddressFamilies=`, `RestrictNamespaces=`.
//!
//! Groups such as `@system-service` are kept as references: turning them into syscall
//! numbers is keel-exec's job. The rules are kept as the ordered list of map
//! operations 248's `config_parse_syscall_filter` performs, so replaying them after group
//! expansion yields exactly 248's syscall → action map.

use std::fmt;

use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::ExecSettings;
use super::value::Words;
use crate::model::directive::{ParseCtx, SettingError};

/// The syscall groups systemd 248 defines (spec §6.2).
pub const SYSCALL_GROUPS: &[&str] = &[
    "@aio",
    "@basic-io",
    "@chown",
    "@clock",
    "@cpu-emulation",
    "@debug",
    "@default",
    "@file-system",
    "@io-event",
    "@ipc",
    "@keyring",
    "@known",
    "@memlock",
    "@module",
    "@mount",
    "@network-io",
    "@obsolete",
    "@pkey",
    "@privileged",
    "@process",
    "@raw-io",
    "@reboot",
    "@resources",
    "@setuid",
    "@signal",
    "@swap",
    "@sync",
    "@system-service",
    "@timer",
];

/// What happens when a listed syscall is called.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
pub enum SyscallAction {
    /// No per-call action (`-1` in 248): allowed in an allow-list, the default
    /// negative action (`SystemCallErrorNumber=`) in a deny-list.
    Default,
    /// `:ERRNO`: fail with this errno (0–4095).
    Errno(u16),
    /// `:kill`: kill the process.
    Kill,
}

/// One map operation, in assignment order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum SyscallFilterOp {
    /// Put the syscall(s) into the map with this action (replacing an older action).
    Add(SyscallAction),
    /// Remove the syscall(s) from the map.
    Remove,
}

/// One rule: a syscall name or an `@group` reference, and what to do with the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyscallRule {
    /// A syscall name (`uname`) or a group (`@system-service`).
    pub name: String,
    /// The map operation.
    pub op: SyscallFilterOp,
}

/// `SystemCallFilter=` or `SystemCallLog=` as 248 builds it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "SystemCallFilter=")]
#[doc(alias = "SystemCallLog=")]
pub struct SyscallFilter {
    /// Allow-list (listed calls allowed/logged) versus deny-list (`~`).
    pub allow_list: bool,
    /// The map operations in order; for an allow-list filter the first is the implicit
    /// `@default` (filter only).
    pub rules: Vec<SyscallRule>,
}

/// `SystemCallErrorNumber=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "SystemCallErrorNumber=")]
pub enum SyscallErrorNumber {
    /// Kill the process (the default).
    #[default]
    Kill,
    /// Fail with this errno (1–4095).
    Errno(u16),
}

/// Architectures `SystemCallArchitectures=` knows (names of `seccomp_arch_to_string`).
pub const SECCOMP_ARCHITECTURES: &[&str] = &[
    "native",
    "x86",
    "x86-64",
    "x32",
    "arm",
    "arm64",
    "mips",
    "mips64",
    "mips64-n32",
    "mips-le",
    "mips64-le",
    "mips64-le-n32",
    "ppc",
    "ppc64",
    "ppc64-le",
    "riscv64",
    "s390",
    "s390x",
];

/// Linux errno names and numbers (generic ABI, as systemd's errno list has them).
pub const ERRNO_NAMES: &[(&str, u16)] = &[
    ("EPERM", 1),
    ("ENOENT", 2),
    ("ESRCH", 3),
    ("EINTR", 4),
    ("EIO", 5),
    ("ENXIO", 6),
    ("E2BIG", 7),
    ("ENOEXEC", 8),
    ("EBADF", 9),
    ("ECHILD", 10),
    ("EAGAIN", 11),
    ("ENOMEM", 12),
    ("EACCES", 13),
    ("EFAULT", 14),
    ("ENOTBLK", 15),
    ("EBUSY", 16),
    ("EEXIST", 17),
    ("EXDEV", 18),
    ("ENODEV", 19),
    ("ENOTDIR", 20),
    ("EISDIR", 21),
    ("EINVAL", 22),
    ("ENFILE", 23),
    ("EMFILE", 24),
    ("ENOTTY", 25),
    ("ETXTBSY", 26),
    ("EFBIG", 27),
    ("ENOSPC", 28),
    ("ESPIPE", 29),
    ("EROFS", 30),
    ("EMLINK", 31),
    ("EPIPE", 32),
    ("EDOM", 33),
    ("ERANGE", 34),
    ("EDEADLK", 35),
    ("ENAMETOOLONG", 36),
    ("ENOLCK", 37),
    ("ENOSYS", 38),
    ("ENOTEMPTY", 39),
    ("ELOOP", 40),
    ("ENOMSG", 42),
    ("EIDRM", 43),
    ("ECHRNG", 44),
    ("EL2NSYNC", 45),
    ("EL3HLT", 46),
    ("EL3RST", 47),
    ("ELNRNG", 48),
    ("EUNATCH", 49),
    ("ENOCSI", 50),
    ("EL2HLT", 51),
    ("EBADE", 52),
    ("EBADR", 53),
    ("EXFULL", 54),
    ("ENOANO", 55),
    ("EBADRQC", 56),
    ("EBADSLT", 57),
    ("EBFONT", 59),
    ("ENOSTR", 60),
    ("ENODATA", 61),
    ("ETIME", 62),
    ("ENOSR", 63),
    ("ENONET", 64),
    ("ENOPKG", 65),
    ("EREMOTE", 66),
    ("ENOLINK", 67),
    ("EADV", 68),
    ("ESRMNT", 69),
    ("ECOMM", 70),
    ("EPROTO", 71),
    ("EMULTIHOP", 72),
    ("EDOTDOT", 73),
    ("EBADMSG", 74),
    ("EOVERFLOW", 75),
    ("ENOTUNIQ", 76),
    ("EBADFD", 77),
    ("EREMCHG", 78),
    ("ELIBACC", 79),
    ("ELIBBAD", 80),
    ("ELIBSCN", 81),
    ("ELIBMAX", 82),
    ("ELIBEXEC", 83),
    ("EILSEQ", 84),
    ("ERESTART", 85),
    ("ESTRPIPE", 86),
    ("EUSERS", 87),
    ("ENOTSOCK", 88),
    ("EDESTADDRREQ", 89),
    ("EMSGSIZE", 90),
    ("EPROTOTYPE", 91),
    ("ENOPROTOOPT", 92),
    ("EPROTONOSUPPORT", 93),
    ("ESOCKTNOSUPPORT", 94),
    ("EOPNOTSUPP", 95),
    ("EPFNOSUPPORT", 96),
    ("EAFNOSUPPORT", 97),
    ("EADDRINUSE", 98),
    ("EADDRNOTAVAIL", 99),
    ("ENETDOWN", 100),
    ("ENETUNREACH", 101),
    ("ENETRESET", 102),
    ("ECONNABORTED", 103),
    ("ECONNRESET", 104),
    ("ENOBUFS", 105),
    ("EISCONN", 106),
    ("ENOTCONN", 107),
    ("ESHUTDOWN", 108),
    ("ETOOMANYREFS", 109),
    ("ETIMEDOUT", 110),
    ("ECONNREFUSED", 111),
    ("EHOSTDOWN", 112),
    ("EHOSTUNREACH", 113),
    ("EALREADY", 114),
    ("EINPROGRESS", 115),
    ("ESTALE", 116),
    ("EUCLEAN", 117),
    ("ENOTNAM", 118),
    ("ENAVAIL", 119),
    ("EISNAM", 120),
    ("EREMOTEIO", 121),
    ("EDQUOT", 122),
    ("ENOMEDIUM", 123),
    ("EMEDIUMTYPE", 124),
    ("ECANCELED", 125),
    ("ENOKEY", 126),
    ("EKEYEXPIRED", 127),
    ("EKEYREVOKED", 128),
    ("EKEYREJECTED", 129),
    ("EOWNERDEAD", 130),
    ("ENOTRECOVERABLE", 131),
    ("ERFKILL", 132),
    ("EHWPOISON", 133),
    ("EWOULDBLOCK", 11),
    ("EDEADLOCK", 35),
];

/// `parse_errno()`: an errno name or a number 0–4095.
pub fn parse_errno(s: &str) -> Option<u16> {
    if let Some((_, n)) = ERRNO_NAMES.iter().find(|(name, _)| *name == s) {
        return Some(*n);
    }
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>().ok().filter(|&n| n <= 4095)
}

/// The name of an errno number, if it has one.
pub fn errno_name(n: u16) -> Option<&'static str> {
    ERRNO_NAMES
        .iter()
        .find(|(_, v)| *v == n)
        .map(|(name, _)| *name)
}

/// An address family (`AF_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct AddressFamily(pub u16);

/// `AF_*` names and numbers (Linux).
pub const ADDRESS_FAMILIES: &[(&str, u16)] = &[
    ("AF_UNIX", 1),
    ("AF_INET", 2),
    ("AF_AX25", 3),
    ("AF_IPX", 4),
    ("AF_APPLETALK", 5),
    ("AF_NETROM", 6),
    ("AF_BRIDGE", 7),
    ("AF_ATMPVC", 8),
    ("AF_X25", 9),
    ("AF_INET6", 10),
    ("AF_ROSE", 11),
    ("AF_DECnet", 12),
    ("AF_NETBEUI", 13),
    ("AF_SECURITY", 14),
    ("AF_KEY", 15),
    ("AF_NETLINK", 16),
    ("AF_PACKET", 17),
    ("AF_ASH", 18),
    ("AF_ECONET", 19),
    ("AF_ATMSVC", 20),
    ("AF_RDS", 21),
    ("AF_SNA", 22),
    ("AF_IRDA", 23),
    ("AF_PPPOX", 24),
    ("AF_WANPIPE", 25),
    ("AF_LLC", 26),
    ("AF_IB", 27),
    ("AF_MPLS", 28),
    ("AF_CAN", 29),
    ("AF_TIPC", 30),
    ("AF_BLUETOOTH", 31),
    ("AF_IUCV", 32),
    ("AF_RXRPC", 33),
    ("AF_ISDN", 34),
    ("AF_PHONET", 35),
    ("AF_IEEE802154", 36),
    ("AF_CAIF", 37),
    ("AF_ALG", 38),
    ("AF_NFC", 39),
    ("AF_VSOCK", 40),
    ("AF_KCM", 41),
    ("AF_QIPCRTR", 42),
    ("AF_SMC", 43),
    ("AF_XDP", 44),
    ("AF_LOCAL", 1),
    ("AF_FILE", 1),
    ("AF_ROUTE", 16),
];

impl AddressFamily {
    /// `af_from_name()`.
    pub fn from_name(name: &str) -> Option<Self> {
        ADDRESS_FAMILIES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| Self(*v))
    }

    /// The family's name (`AF_INET`).
    pub fn as_str(self) -> &'static str {
        ADDRESS_FAMILIES
            .iter()
            .find(|(_, v)| *v == self.0)
            .map_or("AF_UNSPEC", |(n, _)| n)
    }
}

impl fmt::Display for AddressFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `RestrictAddressFamilies=`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "RestrictAddressFamilies=")]
pub struct AddressFamilies {
    /// Allow-list versus deny-list (`~`).
    pub allow_list: bool,
    /// The families, sorted.
    pub families: Vec<AddressFamily>,
}

bitflags::bitflags! {
    /// Namespace types (`CLONE_NEW*`) for `RestrictNamespaces=`.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    #[doc(alias = "RestrictNamespaces=")]
    pub struct NamespaceFlags: u32 {
        /// `cgroup`
        const CGROUP = 0x0200_0000;
        /// `ipc`
        const IPC = 0x0800_0000;
        /// `net`
        const NET = 0x4000_0000;
        /// `mnt`
        const MNT = 0x0002_0000;
        /// `pid`
        const PID = 0x2000_0000;
        /// `user`
        const USER = 0x1000_0000;
        /// `uts`
        const UTS = 0x0400_0000;
    }
}

const NAMESPACE_NAMES: &[(&str, NamespaceFlags)] = &[
    ("cgroup", NamespaceFlags::CGROUP),
    ("ipc", NamespaceFlags::IPC),
    ("net", NamespaceFlags::NET),
    ("mnt", NamespaceFlags::MNT),
    ("pid", NamespaceFlags::PID),
    ("user", NamespaceFlags::USER),
    ("uts", NamespaceFlags::UTS),
];

/// A syscall name as libseccomp could know it: lowercase letters, digits, `_`.
fn syscall_name_plausible(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Applies one name to `rules` with 248's `seccomp_parse_syscall_filter` rules.
fn push_rule(
    filter: &mut SyscallFilter,
    ctx: &mut ParseCtx<'_>,
    name: &str,
    invert: bool,
    action: Option<SyscallAction>,
) {
    if name.starts_with('@') {
        if !SYSCALL_GROUPS.contains(&name) {
            ctx.warn(format!("Unknown system call group, ignoring: {name}"));
            return;
        }
    } else if !syscall_name_plausible(name) {
        ctx.warn(format!("Failed to parse system call, ignoring: {name}"));
        return;
    }
    // 248: put if (!INVERT == ALLOW_LIST), or an errno entry in an allow-list; else remove.
    let add = (invert != filter.allow_list) || (invert && filter.allow_list && action.is_some());
    let op = if add {
        SyscallFilterOp::Add(action.unwrap_or(SyscallAction::Default))
    } else {
        SyscallFilterOp::Remove
    };
    filter.rules.push(SyscallRule {
        name: name.to_owned(),
        op,
    });
}

/// `parse_syscall_and_errno()`: `NAME[:ERRNO|:kill]`.
fn parse_syscall_and_errno(word: &str) -> Option<(&str, Option<SyscallAction>)> {
    let (name, action) = match word.split_once(':') {
        Some((n, e)) => {
            let a = if e == "kill" {
                SyscallAction::Kill
            } else {
                SyscallAction::Errno(parse_errno(e)?)
            };
            (n, Some(a))
        }
        None => (word, None),
    };
    (!name.is_empty()).then_some((name, action))
}

pub(super) fn apply_syscall_filter(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.system_call_filter = None;
        return Ok(());
    }
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let filter = s.system_call_filter.get_or_insert_with(|| {
        let mut f = SyscallFilter {
            allow_list: !invert,
            rules: Vec::new(),
        };
        if !invert {
            f.rules.push(SyscallRule {
                name: "@default".to_owned(),
                op: SyscallFilterOp::Add(SyscallAction::Default),
            });
        }
        f
    });
    for word in Words::new(rest, ExtractFlags::empty()) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let Some((name, action)) = parse_syscall_and_errno(&word) else {
            ctx.warn(format!("Failed to parse syscall:errno, ignoring: {word}"));
            continue;
        };
        if !invert && action.is_some() {
            ctx.warn(format!(
                "Allow-listed system calls cannot take error number, ignoring: {word}"
            ));
            continue;
        }
        push_rule(filter, ctx, name, invert, action);
    }
    Ok(())
}

pub(super) fn apply_syscall_log(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.system_call_log = None;
        return Ok(());
    }
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let filter = s.system_call_log.get_or_insert_with(|| SyscallFilter {
        allow_list: !invert,
        rules: Vec::new(),
    });
    for word in Words::new(rest, ExtractFlags::empty()) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        push_rule(filter, ctx, &word, invert, None);
    }
    Ok(())
}

pub(super) fn apply_syscall_archs(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.system_call_architectures.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        match SECCOMP_ARCHITECTURES.iter().find(|a| **a == word) {
            Some(a) => {
                if !s.system_call_architectures.contains(&(*a).to_owned()) {
                    s.system_call_architectures.push((*a).to_owned());
                }
            }
            None => ctx.warn(format!(
                "Failed to parse system call architecture \"{word}\", ignoring: Invalid argument"
            )),
        }
    }
    Ok(())
}

pub(super) fn apply_syscall_errno(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() || value == "kill" {
        s.system_call_error_number = SyscallErrorNumber::Kill;
        return Ok(());
    }
    let e = parse_errno(value).ok_or_else(|| {
        SettingError::invalid(format!("Failed to parse error number, ignoring: {value}"))
    })?;
    if e == 0 {
        return Err(SettingError::invalid(format!(
            "Invalid error number, ignoring: {value}"
        )));
    }
    s.system_call_error_number = SyscallErrorNumber::Errno(e);
    Ok(())
}

pub(super) fn apply_address_families(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.restrict_address_families = None;
        return Ok(());
    }
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let set = s
        .restrict_address_families
        .get_or_insert_with(|| AddressFamilies {
            allow_list: !invert,
            families: Vec::new(),
        });
    for word in Words::new(rest, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let Some(af) = AddressFamily::from_name(&word) else {
            ctx.warn(format!("Failed to parse address family, ignoring: {word}"));
            continue;
        };
        let pos = set.families.binary_search(&af);
        if invert != set.allow_list {
            if let Err(i) = pos {
                set.families.insert(i, af);
            }
        } else if let Ok(i) = pos {
            set.families.remove(i);
        }
    }
    Ok(())
}

pub(super) fn apply_restrict_namespaces(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.restrict_namespaces = None;
        return Ok(());
    }
    if let Ok(b) = keel_core::boolean::parse_boolean(value) {
        // yes: nothing allowed; no: everything allowed.
        s.restrict_namespaces = Some(if b {
            NamespaceFlags::empty()
        } else {
            NamespaceFlags::all()
        });
        return Ok(());
    }
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let mut flags = NamespaceFlags::empty();
    for word in Words::new(rest, ExtractFlags::UNQUOTE) {
        let known = word.ok().and_then(|w| {
            NAMESPACE_NAMES
                .iter()
                .find(|(n, _)| *n == w)
                .map(|(_, f)| *f)
        });
        let Some(f) = known else {
            return Err(SettingError::invalid(format!(
                "Failed to parse namespace type string, ignoring: {value}"
            )));
        };
        flags |= f;
    }
    s.restrict_namespaces = Some(match s.restrict_namespaces {
        None if invert => NamespaceFlags::all() - flags,
        None => flags,
        Some(old) if invert => old - flags,
        Some(old) => old | flags,
    });
    Ok(())
}

impl NamespaceFlags {
    /// The namespace type names in the set (`cgroup ipc net mnt pid user uts` order).
    pub fn names(self) -> Vec<&'static str> {
        NAMESPACE_NAMES
            .iter()
            .filter(|(_, f)| self.contains(*f))
            .map(|(n, _)| *n)
            .collect()
    }
}

impl Serialize for NamespaceFlags {
    /// Serialized as the raw bits.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::from(self.bits()))
    }
}
