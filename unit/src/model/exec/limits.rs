//! Process attributes: `Limit*=`, `Nice=`, `OOMScoreAdjust=`, `CoredumpFilter=`,
//! `IOScheduling*=`, `CPUScheduling*=`, `CPUAffinity=`, `NUMAPolicy=`, `NUMAMask=`,
//! `Personality=`, `TimerSlackNSec=`.

use std::fmt;

use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::ExecSettings;
use super::value::{Words, expand, signed, unsigned};
use crate::model::directive::{ParseCtx, SettingError};

/// A resource limited by a `Limit*=` setting (`RLIMIT_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum Resource {
    Cpu,
    Fsize,
    Data,
    Stack,
    Core,
    Rss,
    Nproc,
    Nofile,
    Memlock,
    As,
    Locks,
    Sigpending,
    Msgqueue,
    Nice,
    Rtprio,
    Rttime,
}

impl Resource {
    /// Every resource, in `RLIMIT_*` number order.
    pub const ALL: [Resource; 16] = [
        Resource::Cpu,
        Resource::Fsize,
        Resource::Data,
        Resource::Stack,
        Resource::Core,
        Resource::Rss,
        Resource::Nproc,
        Resource::Nofile,
        Resource::Memlock,
        Resource::As,
        Resource::Locks,
        Resource::Sigpending,
        Resource::Msgqueue,
        Resource::Nice,
        Resource::Rtprio,
        Resource::Rttime,
    ];

    /// The manager default's directive name (`DefaultLimitNOFILE`).
    pub fn default_directive(self) -> &'static str {
        match self {
            Self::Cpu => "DefaultLimitCPU",
            Self::Fsize => "DefaultLimitFSIZE",
            Self::Data => "DefaultLimitDATA",
            Self::Stack => "DefaultLimitSTACK",
            Self::Core => "DefaultLimitCORE",
            Self::Rss => "DefaultLimitRSS",
            Self::Nproc => "DefaultLimitNPROC",
            Self::Nofile => "DefaultLimitNOFILE",
            Self::Memlock => "DefaultLimitMEMLOCK",
            Self::As => "DefaultLimitAS",
            Self::Locks => "DefaultLimitLOCKS",
            Self::Sigpending => "DefaultLimitSIGPENDING",
            Self::Msgqueue => "DefaultLimitMSGQUEUE",
            Self::Nice => "DefaultLimitNICE",
            Self::Rtprio => "DefaultLimitRTPRIO",
            Self::Rttime => "DefaultLimitRTTIME",
        }
    }

    /// The directive name (`LimitNOFILE`).
    pub fn directive(self) -> &'static str {
        match self {
            Self::Cpu => "LimitCPU",
            Self::Fsize => "LimitFSIZE",
            Self::Data => "LimitDATA",
            Self::Stack => "LimitSTACK",
            Self::Core => "LimitCORE",
            Self::Rss => "LimitRSS",
            Self::Nproc => "LimitNPROC",
            Self::Nofile => "LimitNOFILE",
            Self::Memlock => "LimitMEMLOCK",
            Self::As => "LimitAS",
            Self::Locks => "LimitLOCKS",
            Self::Sigpending => "LimitSIGPENDING",
            Self::Msgqueue => "LimitMSGQUEUE",
            Self::Nice => "LimitNICE",
            Self::Rtprio => "LimitRTPRIO",
            Self::Rttime => "LimitRTTIME",
        }
    }

    /// The resource for a `Limit*` key.
    pub fn from_directive(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.directive() == key)
    }
}

/// Soft and hard limit; `None` is `infinity` (`RLIM_INFINITY`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "LimitNOFILE=")]
pub struct ResourceLimit {
    /// Soft limit.
    pub soft: Option<u64>,
    /// Hard limit.
    pub hard: Option<u64>,
}

impl ResourceLimit {
    /// A limit with these soft and hard values.
    pub fn new(soft: Option<u64>, hard: Option<u64>) -> Self {
        Self { soft, hard }
    }
}

fn inf(v: u64) -> Option<u64> {
    (v != u64::MAX).then_some(v)
}

/// Parses one side of a `Limit*=` value with the resource's unit (`rlimit_parse_one`).
fn parse_one(res: Resource, v: &str) -> Result<u64, ()> {
    match res {
        Resource::Cpu => {
            let t = keel_core::time::parse_sec(v).map_err(|_| ())?.as_raw();
            if t == u64::MAX {
                return Ok(u64::MAX);
            }
            // Round up to whole seconds.
            Ok(t.div_ceil(1_000_000))
        }
        Resource::Rttime => {
            if v == "infinity" {
                return Ok(u64::MAX);
            }
            keel_core::time::parse_time(v, keel_core::time::Usec(1))
                .map(|t| t.as_raw())
                .map_err(|_| ())
        }
        Resource::Nice => {
            if let Some(p) = v.strip_prefix('+') {
                let n: u64 = unsigned(p).ok_or(())?;
                if n >= 20 {
                    return Err(());
                }
                Ok(20 - n)
            } else if let Some(p) = v.strip_prefix('-') {
                let n: u64 = unsigned(p).ok_or(())?;
                if n > 20 {
                    return Err(());
                }
                Ok(20 + n)
            } else {
                let n: u64 = unsigned(v).ok_or(())?;
                if n > 40 {
                    return Err(());
                }
                Ok(n)
            }
        }
        Resource::Fsize
        | Resource::Data
        | Resource::Stack
        | Resource::Core
        | Resource::Rss
        | Resource::As
        | Resource::Memlock
        | Resource::Msgqueue => {
            if v == "infinity" {
                return Ok(u64::MAX);
            }
            let n = keel_core::size::parse_size(v, 1024).map_err(|_| ())?;
            if n == u64::MAX { Err(()) } else { Ok(n) }
        }
        Resource::Nproc
        | Resource::Nofile
        | Resource::Locks
        | Resource::Sigpending
        | Resource::Rtprio => {
            if v == "infinity" {
                return Ok(u64::MAX);
            }
            let n: u64 = unsigned(v).ok_or(())?;
            if n == u64::MAX { Err(()) } else { Ok(n) }
        }
    }
}

/// `rlimit_parse()`: `SOFT[:HARD]`.
///
/// # Errors
/// `Err(true)` if the soft limit is above the hard one, `Err(false)` for a syntax error.
pub(crate) fn parse_rlimit(res: Resource, value: &str) -> Result<ResourceLimit, bool> {
    let (soft, hard) = match value.split_once(':') {
        Some((s, h)) => (s, Some(h)),
        None => (value, None),
    };
    if soft.is_empty() {
        return Err(false);
    }
    let sl = parse_one(res, soft).map_err(|()| false)?;
    let hl = match hard {
        None => sl,
        Some(h) => {
            if h.contains(':') {
                return Err(false);
            }
            let hl = parse_one(res, h).map_err(|()| false)?;
            if sl > hl {
                return Err(true);
            }
            hl
        }
    };
    Ok(ResourceLimit::new(inf(sl), inf(hl)))
}

pub(super) fn apply_rlimit(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let Some(res) = Resource::from_directive(ctx.key) else {
        return Err(SettingError::invalid(format!(
            "Unknown resource limit {}",
            ctx.key
        )));
    };
    match parse_rlimit(res, value) {
        Ok(l) => {
            s.limits.insert(res, l);
            Ok(())
        }
        Err(true) => Err(SettingError::invalid(format!(
            "Soft resource limit chosen higher than hard limit, ignoring: {value}"
        ))),
        Err(false) => Err(SettingError::invalid(format!(
            "Failed to parse resource value, ignoring: {value}"
        ))),
    }
}

pub(super) fn apply_nice(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.nice = None;
        return Ok(());
    }
    let n = signed(value).ok_or_else(|| {
        SettingError::invalid(format!(
            "Failed to parse nice priority '{value}', ignoring: Invalid argument"
        ))
    })?;
    if !(-20..20).contains(&n) {
        return Err(SettingError::invalid(format!(
            "Nice priority out of range, ignoring: {value}"
        )));
    }
    s.nice = i8::try_from(n).ok();
    Ok(())
}

pub(super) fn apply_oom_score_adjust(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.oom_score_adjust = None;
        return Ok(());
    }
    let n = signed(value).ok_or_else(|| {
        SettingError::invalid(format!(
            "Failed to parse the OOM score adjust value '{value}', ignoring: Invalid argument"
        ))
    })?;
    if !(-1000..=1000).contains(&n) {
        return Err(SettingError::invalid(format!(
            "OOM score adjust value out of range, ignoring: {value}"
        )));
    }
    s.oom_score_adjust = i16::try_from(n).ok();
    Ok(())
}

/// `CoredumpFilter=` names, by bit number.
const COREDUMP_FILTERS: [&str; 9] = [
    "private-anonymous",
    "shared-anonymous",
    "private-file-backed",
    "shared-file-backed",
    "elf-headers",
    "private-huge",
    "shared-huge",
    "private-dax",
    "shared-dax",
];

pub(super) fn apply_coredump_filter(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.coredump_filter = None;
        return Ok(());
    }
    let err = || {
        SettingError::invalid(format!(
            "Failed to parse the CoredumpFilter={value}, ignoring: Invalid argument"
        ))
    };
    let mut m = 0u64;
    for word in Words::new(value, ExtractFlags::empty()) {
        let word = word.map_err(|()| err())?;
        if word == "default" {
            m |= 0x33;
        } else if word == "all" {
            m = u64::MAX;
        } else if let Some(i) = COREDUMP_FILTERS.iter().position(|n| *n == word) {
            m |= 1u64 << i;
        } else {
            let hex = word.strip_prefix("0x").unwrap_or(&word);
            m |= u64::from_str_radix(hex, 16).map_err(|_| err())?;
        }
    }
    s.coredump_filter = Some(s.coredump_filter.unwrap_or(0) | m);
    Ok(())
}

/// `IOSchedulingClass=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "IOSchedulingClass=")]
pub enum IoSchedulingClass {
    /// `none`
    None,
    /// `realtime`
    Realtime,
    /// `best-effort` (the default)
    #[default]
    BestEffort,
    /// `idle`
    Idle,
}

const IO_CLASSES: [(&str, IoSchedulingClass); 4] = [
    ("none", IoSchedulingClass::None),
    ("realtime", IoSchedulingClass::Realtime),
    ("best-effort", IoSchedulingClass::BestEffort),
    ("idle", IoSchedulingClass::Idle),
];

impl IoSchedulingClass {
    /// systemd's name.
    pub fn as_str(self) -> &'static str {
        IO_CLASSES[self as usize].0
    }
}

/// I/O priority: class and level 0–7 (`IOSchedulingClass=`, `IOSchedulingPriority=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "IOSchedulingPriority=")]
pub struct IoPriority {
    /// Scheduling class.
    pub class: IoSchedulingClass,
    /// Priority within the class, 0 (highest) – 7.
    pub priority: u8,
}

pub(super) fn apply_io_class(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.io_priority = None;
        return Ok(());
    }
    let class = IO_CLASSES
        .iter()
        .find(|(n, _)| *n == value)
        .map(|(_, c)| *c)
        .or_else(|| unsigned::<usize>(value).and_then(|i| IO_CLASSES.get(i).map(|(_, c)| *c)))
        .ok_or_else(|| {
            SettingError::invalid(format!(
                "Failed to parse IO scheduling class, ignoring: {value}"
            ))
        })?;
    let mut p = s.io_priority.unwrap_or_default();
    p.class = class;
    s.io_priority = Some(p);
    Ok(())
}

pub(super) fn apply_io_priority(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.io_priority = None;
        return Ok(());
    }
    let prio = signed(value)
        .and_then(|n| u8::try_from(n).ok())
        .filter(|&n| n < 8)
        .ok_or_else(|| {
            SettingError::invalid(format!("Failed to parse IO priority, ignoring: {value}"))
        })?;
    let mut p = s.io_priority.unwrap_or_default();
    p.priority = prio;
    s.io_priority = Some(p);
    Ok(())
}

/// `CPUSchedulingPolicy=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "CPUSchedulingPolicy=")]
pub enum CpuSchedulingPolicy {
    /// `other` (`SCHED_OTHER`, the default)
    #[default]
    Other,
    /// `fifo`
    Fifo,
    /// `rr`
    Rr,
    /// `batch`
    Batch,
    /// `idle`
    Idle,
}

const SCHED_POLICIES: [(&str, CpuSchedulingPolicy, u32); 5] = [
    ("other", CpuSchedulingPolicy::Other, 0),
    ("fifo", CpuSchedulingPolicy::Fifo, 1),
    ("rr", CpuSchedulingPolicy::Rr, 2),
    ("batch", CpuSchedulingPolicy::Batch, 3),
    ("idle", CpuSchedulingPolicy::Idle, 5),
];

impl CpuSchedulingPolicy {
    /// systemd's name.
    pub fn as_str(self) -> &'static str {
        SCHED_POLICIES
            .iter()
            .find(|(_, p, _)| *p == self)
            .map_or("other", |(n, _, _)| n)
    }

    /// `sched_get_priority_min/max()` for the policy.
    pub fn priority_range(self) -> (u8, u8) {
        match self {
            Self::Fifo | Self::Rr => (1, 99),
            _ => (0, 0),
        }
    }
}

pub(super) fn apply_cpu_sched_policy(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.cpu_scheduling_policy = None;
        s.cpu_scheduling_priority = None;
        return Ok(());
    }
    let policy = SCHED_POLICIES
        .iter()
        .find(|(n, _, num)| *n == value || unsigned::<u32>(value) == Some(*num))
        .map(|(_, p, _)| *p)
        .ok_or_else(|| {
            SettingError::invalid(format!(
                "Failed to parse CPU scheduling policy, ignoring: {value}"
            ))
        })?;
    s.cpu_scheduling_policy = Some(policy);
    // Moving to or from a real-time policy clamps the priority into the new range.
    let (min, max) = policy.priority_range();
    s.cpu_scheduling_priority = Some(s.cpu_scheduling_priority.unwrap_or(0).clamp(min, max));
    Ok(())
}

pub(super) fn apply_cpu_sched_prio(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let i = signed(value).ok_or_else(|| {
        SettingError::invalid(format!(
            "Failed to parse CPU scheduling priority, ignoring: {value}"
        ))
    })?;
    let (min, max) = s.cpu_scheduling_policy.unwrap_or_default().priority_range();
    if i < i64::from(min) || i > i64::from(max) {
        return Err(SettingError::invalid(format!(
            "CPU scheduling priority is out of range, ignoring: {value}"
        )));
    }
    s.cpu_scheduling_priority = u8::try_from(i).ok();
    Ok(())
}

/// Highest CPU or NUMA node index accepted (`8192 * 8 - 1`).
const CPU_INDEX_MAX: u32 = 8192 * 8 - 1;

/// A set of CPU (or NUMA node) indexes, sorted and unique.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize)]
#[doc(alias = "CPUAffinity=")]
#[doc(alias = "AllowedCPUs=")]
pub struct CpuSet(Vec<u32>);

impl CpuSet {
    /// The indexes in the set, ascending.
    pub fn indexes(&self) -> &[u32] {
        &self.0
    }

    /// True if the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds one index.
    pub fn insert(&mut self, i: u32) {
        if let Err(pos) = self.0.binary_search(&i) {
            self.0.insert(pos, i);
        }
    }

    /// `parse_cpu_set()`: indexes and `A-B` ranges separated by whitespace or commas.
    pub fn parse(s: &str) -> Result<Self, String> {
        let mut set = Self::default();
        for word in Words::with_separators(s, " \t\n\r,", ExtractFlags::UNQUOTE) {
            let word = word.map_err(|()| format!("Invalid syntax: {s}"))?;
            let (a, b) = match word.split_once('-') {
                Some((a, b)) => (a, b),
                None => (word.as_str(), word.as_str()),
            };
            let (Some(lo), Some(hi)) = (unsigned::<u32>(a), unsigned::<u32>(b)) else {
                return Err(format!("Failed to parse CPU index '{word}'"));
            };
            if lo > hi {
                return Err(format!("Range '{word}' is invalid, {lo} > {hi}"));
            }
            if hi > CPU_INDEX_MAX {
                return Err(format!("CPU index {hi} out of range"));
            }
            set.0.reserve(usize::try_from(hi - lo + 1).unwrap_or(0));
            for i in lo..=hi {
                set.insert(i);
            }
        }
        Ok(set)
    }

    /// `parse_cpu_set_extend()`: empty resets, otherwise the parsed set is OR-ed in.
    pub(crate) fn extend_from(&mut self, key: &str, value: &str) -> Result<(), SettingError> {
        if value.is_empty() {
            self.0.clear();
            return Ok(());
        }
        let other = Self::parse(value)
            .map_err(|e| SettingError::invalid(format!("{e}, ignoring: {key}={value}")))?;
        for i in other.0 {
            self.insert(i);
        }
        Ok(())
    }
}

impl fmt::Display for CpuSet {
    /// Ranges as systemd prints them (`0-3 5`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut i = 0;
        let mut first = true;
        while i < self.0.len() {
            let start = self.0[i];
            let mut end = start;
            while i + 1 < self.0.len() && self.0[i + 1] == end + 1 {
                i += 1;
                end += 1;
            }
            if !first {
                f.write_str(" ")?;
            }
            first = false;
            if start == end {
                write!(f, "{start}")?;
            } else {
                write!(f, "{start}-{end}")?;
            }
            i += 1;
        }
        Ok(())
    }
}

pub(super) fn apply_cpu_affinity(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value == "numa" {
        s.cpu_affinity_from_numa = true;
        s.cpu_affinity = CpuSet::default();
        return Ok(());
    }
    let k = expand(ctx, value)?;
    s.cpu_affinity.extend_from(ctx.key, &k)?;
    s.cpu_affinity_from_numa = false;
    Ok(())
}

/// `NUMAPolicy=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
#[doc(alias = "NUMAPolicy=")]
pub enum NumaPolicy {
    /// `default`
    Default,
    /// `preferred`
    Preferred,
    /// `bind`
    Bind,
    /// `interleave`
    Interleave,
    /// `local`
    Local,
}

const NUMA_POLICIES: [(&str, NumaPolicy); 5] = [
    ("default", NumaPolicy::Default),
    ("preferred", NumaPolicy::Preferred),
    ("bind", NumaPolicy::Bind),
    ("interleave", NumaPolicy::Interleave),
    ("local", NumaPolicy::Local),
];

impl NumaPolicy {
    /// systemd's name.
    pub fn as_str(self) -> &'static str {
        NUMA_POLICIES[self as usize].0
    }
}

pub(super) fn apply_numa_policy(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    s.numa_policy = Some(
        NUMA_POLICIES
            .iter()
            .find(|(n, _)| *n == value)
            .map(|(_, p)| *p)
            .ok_or_else(|| {
                SettingError::invalid(format!("Invalid NUMA policy type, ignoring: {value}"))
            })?,
    );
    Ok(())
}

pub(super) fn apply_numa_mask(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value == "all" {
        s.numa_mask_all = true;
        return Ok(());
    }
    s.numa_mask.extend_from(ctx.key, value).map_err(|_| {
        SettingError::invalid(format!("Failed to parse NUMA node mask, ignoring: {value}"))
    })?;
    if value.is_empty() {
        s.numa_mask_all = false;
    }
    Ok(())
}

/// Personalities `Personality=` accepts on this architecture.
fn personalities() -> &'static [&'static str] {
    if cfg!(target_arch = "x86_64") {
        &["x86", "x86-64"]
    } else if cfg!(target_arch = "x86") {
        &["x86"]
    } else if cfg!(target_arch = "aarch64") {
        &["arm", "arm64"]
    } else if cfg!(target_arch = "arm") {
        &["arm"]
    } else if cfg!(target_arch = "powerpc64") {
        &["ppc", "ppc64", "ppc64-le"]
    } else if cfg!(target_arch = "s390x") {
        &["s390", "s390x"]
    } else {
        &[
            "x86", "x86-64", "arm", "arm64", "ppc", "ppc64", "ppc64-le", "s390", "s390x", "mips",
            "mips64", "riscv64",
        ]
    }
}

pub(super) fn apply_personality(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.personality = None;
        return Ok(());
    }
    let p = personalities()
        .iter()
        .find(|p| **p == value)
        .ok_or_else(|| {
            SettingError::invalid(format!("Failed to parse personality, ignoring: {value}"))
        })?;
    s.personality = Some((*p).to_owned());
    Ok(())
}

pub(super) fn apply_timer_slack(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    let ns = keel_core::time::parse_nsec(value).map_err(|_| {
        SettingError::invalid(format!("Failed to parse nsec value, ignoring: {value}"))
    })?;
    s.timer_slack_nsec = (ns != u64::MAX).then_some(ns);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const INF: Option<u64> = None;

    /// Port of systemd's `test_config_parse_rlimit`.
    #[test]
    fn rlimit_table() {
        let ok = |r, v, soft, hard| {
            assert_eq!(
                parse_rlimit(r, v),
                Ok(ResourceLimit::new(soft, hard)),
                "{v}"
            );
        };
        ok(Resource::Nofile, "55", Some(55), Some(55));
        ok(Resource::Nofile, "55:66", Some(55), Some(66));
        ok(Resource::Nofile, "infinity", INF, INF);
        ok(Resource::Nofile, "infinity:infinity", INF, INF);
        assert_eq!(parse_rlimit(Resource::Nofile, "10:20:30"), Err(false));
        assert_eq!(parse_rlimit(Resource::Nofile, "wat:wat"), Err(false));
        assert_eq!(parse_rlimit(Resource::Nofile, "66:wat"), Err(false));
        assert_eq!(parse_rlimit(Resource::Nofile, "200:100"), Err(true));
        ok(Resource::Cpu, "56", Some(56), Some(56));
        ok(Resource::Cpu, "57s", Some(57), Some(57));
        ok(Resource::Cpu, "40s:1m", Some(40), Some(60));
        ok(Resource::Cpu, "infinity", INF, INF);
        ok(Resource::Cpu, "1234ms", Some(2), Some(2));
        ok(Resource::Rttime, "58", Some(58), Some(58));
        ok(Resource::Rttime, "58:60", Some(58), Some(60));
        ok(Resource::Rttime, "59s", Some(59_000_000), Some(59_000_000));
        ok(
            Resource::Rttime,
            "59s:123s",
            Some(59_000_000),
            Some(123_000_000),
        );
        ok(Resource::Rttime, "infinity", INF, INF);
        ok(Resource::Rttime, "infinity:infinity", INF, INF);
        ok(Resource::Rttime, "2345ms", Some(2_345_000), Some(2_345_000));
    }

    #[test]
    fn rlimit_units() {
        assert_eq!(
            parse_rlimit(Resource::As, "1K:2M"),
            Ok(ResourceLimit::new(Some(1024), Some(2 * 1024 * 1024)))
        );
        assert_eq!(
            parse_rlimit(Resource::Nice, "+5"),
            Ok(ResourceLimit::new(Some(15), Some(15)))
        );
        assert_eq!(
            parse_rlimit(Resource::Nice, "-20"),
            Ok(ResourceLimit::new(Some(40), Some(40)))
        );
        assert_eq!(
            parse_rlimit(Resource::Nice, "0"),
            Ok(ResourceLimit::new(Some(0), Some(0)))
        );
        assert_eq!(parse_rlimit(Resource::Nice, "41"), Err(false));
        assert_eq!(parse_rlimit(Resource::Nice, "+20"), Err(false));
        assert_eq!(parse_rlimit(Resource::Nofile, ""), Err(false));
        assert_eq!(parse_rlimit(Resource::Nofile, "-1"), Err(false));
    }

    #[test]
    fn cpu_sets() {
        let s = CpuSet::parse("0-3 5,7").unwrap();
        assert_eq!(s.indexes(), &[0, 1, 2, 3, 5, 7]);
        assert_eq!(s.to_string(), "0-3 5 7");
        assert!(CpuSet::parse("3-1").is_err());
        assert!(CpuSet::parse("x").is_err());
        assert!(CpuSet::parse("70000").is_err());
        let mut set = s;
        set.extend_from("CPUAffinity", "9").unwrap();
        assert_eq!(set.to_string(), "0-3 5 7 9");
        set.extend_from("CPUAffinity", "").unwrap();
        assert!(set.is_empty());
    }
}
