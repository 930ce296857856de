//! Credentials and privileges: `User=`, `Group=`, `SupplementaryGroups=`,
//! `CapabilityBoundingSet=`, `AmbientCapabilities=`, `SecureBits=`,
//! `LoadCredential=`, `SetCredential=`, MAC labels.

use std::fmt;
use std::path::PathBuf;

use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::ExecSettings;
use super::value::{Words, cunescape_bytes, expand, expand_or, filename_is_valid};
use crate::model::directive::{ParseCtx, SettingError};

/// Capability names, indexed by number, up to `CAP_CHECKPOINT_RESTORE` (40).
pub const CAPABILITY_NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// A set of capabilities as a 64-bit mask (bit N = capability N), as systemd keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[doc(alias = "CapabilityBoundingSet=")]
#[doc(alias = "AmbientCapabilities=")]
pub struct CapabilitySet(pub u64);

impl CapabilitySet {
    /// Every bit set (the bounding set's initial value, `CAP_ALL` in 248).
    pub const ALL: Self = Self(u64::MAX);
    /// No capability.
    pub const EMPTY: Self = Self(0);

    /// The raw mask.
    pub fn as_raw(self) -> u64 {
        self.0
    }

    /// True if capability number `cap` is in the set.
    pub fn contains(self, cap: u32) -> bool {
        cap < 64 && self.0 & (1u64 << cap) != 0
    }

    /// `capability_from_name()`: a name (case-insensitive, with `cap_` prefix) or a number 0–63.
    pub fn capability_from_name(name: &str) -> Option<u32> {
        if let Some(i) = CAPABILITY_NAMES
            .iter()
            .position(|n| n.eq_ignore_ascii_case(name))
        {
            return u32::try_from(i).ok();
        }
        name.parse::<u32>().ok().filter(|&n| n < 64)
    }

    /// `capability_set_from_string()`: whitespace-separated names; unknown ones are skipped.
    pub fn parse(s: &str) -> Self {
        let mut mask = 0u64;
        for word in Words::new(s, ExtractFlags::UNQUOTE | ExtractFlags::RELAX) {
            let Ok(word) = word else { break };
            if let Some(cap) = Self::capability_from_name(&word) {
                mask |= 1u64 << cap;
            }
        }
        Self(mask)
    }
}

impl fmt::Display for CapabilitySet {
    /// The known capability names in the set, space-separated, as systemd prints them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (i, n) in CAPABILITY_NAMES.iter().enumerate() {
            if self.0 & (1u64 << i) != 0 {
                if !first {
                    f.write_str(" ")?;
                }
                f.write_str(n)?;
                first = false;
            }
        }
        Ok(())
    }
}

bitflags::bitflags! {
    /// `SecureBits=` (`SECBIT_*` of `<linux/securebits.h>`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    #[doc(alias = "SecureBits=")]
    pub struct SecureBits: u32 {
        /// `noroot`
        const NOROOT = 1 << 0;
        /// `noroot-locked`
        const NOROOT_LOCKED = 1 << 1;
        /// `no-setuid-fixup`
        const NO_SETUID_FIXUP = 1 << 2;
        /// `no-setuid-fixup-locked`
        const NO_SETUID_FIXUP_LOCKED = 1 << 3;
        /// `keep-caps`
        const KEEP_CAPS = 1 << 4;
        /// `keep-caps-locked`
        const KEEP_CAPS_LOCKED = 1 << 5;
    }
}

/// `SELinuxContext=`, `AppArmorProfile=`, `SmackProcessLabel=`: a label, `-` prefix
/// meaning failures to apply it are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "SELinuxContext=")]
#[doc(alias = "AppArmorProfile=")]
#[doc(alias = "SmackProcessLabel=")]
pub struct SecurityLabel {
    /// The label, specifiers expanded.
    pub label: String,
    /// `-` prefix.
    pub ignore_errors: bool,
}

/// One `LoadCredential=ID:SOURCE` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "LoadCredential=")]
pub struct LoadCredential {
    /// Credential name.
    pub id: String,
    /// Absolute path (or `AF_UNIX` socket) to read it from.
    pub path: PathBuf,
}

/// One `SetCredential=ID:DATA` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "SetCredential=")]
pub struct SetCredential {
    /// Credential name.
    pub id: String,
    /// The data, C escapes decoded (may contain NUL bytes).
    pub data: Vec<u8>,
}

/// `parse_uid()`: a numeric id other than the invalid `65535` and `4294967295`.
fn is_numeric_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|b| b.is_ascii_digit())
        && s.parse::<u32>().is_ok_and(|n| n != 65535 && n != u32::MAX)
}

/// 248's `valid_user_group_name()` with `VALID_USER_RELAX | VALID_USER_ALLOW_NUMERIC`.
pub fn valid_user_group_name_relaxed(u: &str) -> bool {
    if u.is_empty() {
        return false;
    }
    if is_numeric_id(u) {
        return true;
    }
    if u.chars().any(char::is_control) || u.contains([':', '/']) {
        return false;
    }
    if u.bytes().all(|b| b.is_ascii_digit()) || u.starts_with('-') {
        return false;
    }
    if u.starts_with(char::is_whitespace) || u.ends_with(char::is_whitespace) {
        return false;
    }
    if u == "." || u == ".." {
        return false;
    }
    u.len() <= 256
}

/// The strict (POSIX-ish) rule: `[a-zA-Z_][a-zA-Z0-9_-]*$?`, at most 31 bytes.
pub(crate) fn valid_user_group_name_strict(u: &str) -> bool {
    let body = u.strip_suffix('$').unwrap_or(u);
    let mut chars = body.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        && u.len() <= 31
}

fn check_user_group(ctx: &mut ParseCtx<'_>, k: &str) -> Result<(), SettingError> {
    if !valid_user_group_name_relaxed(k) {
        return Err(SettingError::fatal(format!(
            "Invalid user/group name or numeric ID: {k}"
        )));
    }
    if !is_numeric_id(k) && !valid_user_group_name_strict(k) {
        ctx.warn(format!(
            "Accepting user/group name '{k}', which does not match strict user/group name rules."
        ));
    }
    Ok(())
}

pub(super) fn apply_user_group(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let is_user = ctx.key == "User";
    if value.is_empty() {
        if is_user {
            s.user = None;
        } else {
            s.group = None;
        }
        return Ok(());
    }
    let k = expand_fatal_plain(ctx, value)?;
    check_user_group(ctx, &k)?;
    if is_user && k == "nobody" {
        ctx.warn(format!("Special user {k} configured, this is not safe!"));
    }
    if is_user {
        s.user = Some(k);
    } else {
        s.group = Some(k);
    }
    Ok(())
}

/// Specifier expansion whose failure is fatal with 248's `User=` wording.
fn expand_fatal_plain(ctx: &ParseCtx<'_>, value: &str) -> Result<String, SettingError> {
    expand_or(ctx, value, false)
        .map_err(|_| SettingError::fatal(format!("Failed to resolve unit specifiers in {value}")))
}

pub(super) fn apply_supplementary_groups(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.supplementary_groups.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::empty()) {
        let Ok(word) = word else {
            return Err(SettingError::fatal(format!("Invalid syntax: {value}")));
        };
        let k = expand_fatal_plain(ctx, &word)?;
        check_user_group(ctx, &k)?;
        s.supplementary_groups.push(k);
    }
    Ok(())
}

/// `config_parse_capability_set` of 248 (with its `~` inversion and merge rules).
pub(crate) fn parse_capability_set(set: &mut CapabilitySet, initial: CapabilitySet, value: &str) {
    let (invert, rest) = match value.strip_prefix('~') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let sum = CapabilitySet::parse(rest).0;
    if sum == 0 || *set == initial {
        // "", "~" or the initial value: replace.
        set.0 = if invert { !sum } else { sum };
    } else if invert {
        set.0 &= !sum;
    } else {
        set.0 |= sum;
    }
}

pub(super) fn apply_capability_bounding_set(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    parse_capability_set(&mut s.capability_bounding_set, CapabilitySet::ALL, value);
    Ok(())
}

pub(super) fn apply_ambient_capabilities(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    parse_capability_set(&mut s.ambient_capabilities, CapabilitySet::EMPTY, value);
    Ok(())
}

pub(super) fn apply_secure_bits(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let mut bits = SecureBits::empty();
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Failed to parse secure bits, ignoring: {value}"
            )));
        };
        bits |= match word.as_str() {
            "keep-caps" => SecureBits::KEEP_CAPS,
            "keep-caps-locked" => SecureBits::KEEP_CAPS_LOCKED,
            "no-setuid-fixup" => SecureBits::NO_SETUID_FIXUP,
            "no-setuid-fixup-locked" => SecureBits::NO_SETUID_FIXUP_LOCKED,
            "noroot" => SecureBits::NOROOT,
            "noroot-locked" => SecureBits::NOROOT_LOCKED,
            _ => {
                return Err(SettingError::invalid(format!(
                    "Failed to parse secure bits, ignoring: {value}"
                )));
            }
        };
    }
    s.secure_bits = bits;
    Ok(())
}

/// A `-`-prefixed label setting; specifier failures are fatal without `-`.
pub(crate) fn parse_label(
    ctx: &ParseCtx<'_>,
    value: &str,
) -> Result<Option<SecurityLabel>, SettingError> {
    if value.is_empty() {
        return Ok(None);
    }
    let (ignore_errors, rest) = match value.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, value),
    };
    let label = expand_or(ctx, rest, !ignore_errors)?;
    Ok(Some(SecurityLabel {
        label,
        ignore_errors,
    }))
}

/// `credential_name_valid()`.
fn credential_name_valid(s: &str) -> bool {
    filename_is_valid(s)
}

pub(super) fn apply_load_credential(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.load_credentials.clear();
        return Ok(());
    }
    let (word, rest) = value.split_once(':').unwrap_or((value, ""));
    if word.is_empty() {
        return Err(SettingError::invalid(format!(
            "Invalid syntax, ignoring: {value}"
        )));
    }
    let id = expand(ctx, word)?;
    if !credential_name_valid(&id) {
        return Err(SettingError::invalid(format!(
            "Credential name \"{id}\" not valid, ignoring."
        )));
    }
    let q = expand(ctx, rest)?;
    let normalized =
        q.starts_with('/') && !q.split('/').any(|c| c == "." || c == "..") && !q.contains("//");
    if !normalized {
        return Err(SettingError::invalid(format!(
            "Credential source \"{q}\" not valid, ignoring."
        )));
    }
    s.load_credentials.push(LoadCredential {
        id,
        path: PathBuf::from(q),
    });
    Ok(())
}

pub(super) fn apply_set_credential(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.set_credentials.clear();
        return Ok(());
    }
    let Some((word, rest)) = value.split_once(':') else {
        return Err(SettingError::invalid(format!(
            "Invalid syntax, ignoring: {value}"
        )));
    };
    if word.is_empty() {
        return Err(SettingError::invalid(format!(
            "Invalid syntax, ignoring: {value}"
        )));
    }
    let id = expand(ctx, word)?;
    if !credential_name_valid(&id) {
        return Err(SettingError::invalid(format!(
            "Credential name \"{id}\" not valid, ignoring."
        )));
    }
    let data = cunescape_bytes(rest, true)
        .map_err(|e| SettingError::invalid(format!("Can't unescape \"{rest}\", ignoring: {e}")))?;
    if let Some(old) = s.set_credentials.iter_mut().find(|c| c.id == id) {
        old.data = data;
    } else {
        s.set_credentials.push(SetCredential { id, data });
    }
    Ok(())
}

impl Serialize for SecureBits {
    /// Serialized as the raw bits.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::from(self.bits()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cap(n: u32) -> u64 {
        1u64 << n
    }

    /// Port of systemd's `test_config_parse_capability_set`.
    #[test]
    fn capability_set_table() {
        let mut set = CapabilitySet(0);
        let init = CapabilitySet::ALL;
        parse_capability_set(&mut set, init, "CAP_NET_RAW");
        assert_eq!(set.0, cap(13));
        parse_capability_set(&mut set, init, "CAP_NET_ADMIN");
        assert_eq!(set.0, cap(13) | cap(12));
        parse_capability_set(&mut set, init, "~CAP_NET_ADMIN");
        assert_eq!(set.0, cap(13));
        parse_capability_set(&mut set, init, "");
        assert_eq!(set.0, 0);
        parse_capability_set(&mut set, init, "~");
        assert!((0..=40).all(|c| set.contains(c)));
        set = CapabilitySet(0);
        parse_capability_set(
            &mut set,
            init,
            "  'CAP_NET_RAW' WAT_CAP??? CAP_NET_ADMIN CAP'_trailing_garbage",
        );
        assert_eq!(set.0, cap(13) | cap(12));
    }

    #[test]
    fn capability_set_initial_replaced() {
        let mut set = CapabilitySet::ALL;
        parse_capability_set(&mut set, CapabilitySet::ALL, "cap_chown cap_kill");
        assert_eq!(set.0, cap(0) | cap(5));
        assert_eq!(set.to_string(), "cap_chown cap_kill");
        let mut amb = CapabilitySet::EMPTY;
        parse_capability_set(&mut amb, CapabilitySet::EMPTY, "~cap_chown");
        assert_eq!(amb.0, !cap(0));
        assert_eq!(CapabilitySet::capability_from_name("40"), Some(40));
        assert_eq!(CapabilitySet::capability_from_name("64"), None);
        assert_eq!(
            CapabilitySet::capability_from_name("CAP_CHECKPOINT_RESTORE"),
            Some(40)
        );
    }

    #[test]
    fn user_names() {
        for ok in ["root", "0", "1000", "foo.bar", "a@b", "_x", "foo$", "Δ"] {
            assert!(valid_user_group_name_relaxed(ok), "{ok}");
        }
        for bad in [
            "",
            "65535",
            "4294967295",
            "a:b",
            "a/b",
            "-x",
            " x",
            "x ",
            ".",
            "..",
            "a\nb",
        ] {
            assert!(!valid_user_group_name_relaxed(bad), "{bad:?}");
        }
        assert!(valid_user_group_name_strict("foo-bar"));
        assert!(!valid_user_group_name_strict("foo.bar"));
    }
}
