//! Resource-control settings of `[Service]`, `[Socket]`, `[Mount]`, `[Slice]` (and
//! `[Swap]`, `[Scope]`): every key of systemd 248's `CGROUP_CONTEXT_CONFIG_ITEMS`
//! (systemd.resource-control(5) of 248), including `Slice=` and the ManagedOOM settings.
//!
//! Not known to 248 (must stay unknown keys): `BPFProgram=`, `SocketBindAllow=`,
//! `SocketBindDeny=` (249), `RestrictNetworkInterfaces=`, `StartupAllowedCPUs=`,
//! `StartupAllowedMemoryNodes=` (250), `ManagedOOMMemoryPressureLimitPercent=` (247 name,
//! removed in 248), `CPUWeight=idle` (251), `StartupMemory*=` (252), `MemoryZSwapMax=` (253),
//! `DelegateSubgroup=` (254).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;

use keel_core::time::Usec;
use keel_core::unit_name::{UnitName, UnitType};
use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{PathCheck, Words, expand, simplify_path, unsigned};
use super::exec::{CpuSet, choice, parse_choice};

choice! {
    /// `DevicePolicy=`.
    #[doc(alias = "DevicePolicy=")]
    DevicePolicy { Auto = "auto", Closed = "closed", Strict = "strict" }
}
choice! {
    /// `ManagedOOMSwap=`, `ManagedOOMMemoryPressure=`.
    #[doc(alias = "ManagedOOMSwap=")]
    #[doc(alias = "ManagedOOMMemoryPressure=")]
    ManagedOomMode { Auto = "auto", Kill = "kill" }
}
choice! {
    /// `ManagedOOMPreference=`.
    #[doc(alias = "ManagedOOMPreference=")]
    ManagedOomPreference { None = "none", Avoid = "avoid", Omit = "omit" }
}

/// A permyriad (0.01 %) as parsed from `N%`, `N‰` or `N‱`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
pub struct Permyriad(pub u32);

/// `parse_permyriad_unbounded()` of 248: `N%` (two decimals), `N‰` (one decimal), `N‱`.
fn parse_permyriad_unbounded(s: &str) -> Option<u64> {
    let (num, scale, decimals) = if let Some(n) = s.strip_suffix('‱') {
        (n, 1u64, 0usize)
    } else if let Some(n) = s.strip_suffix('‰') {
        (n, 10, 1)
    } else if let Some(n) = s.strip_suffix('%') {
        (n, 100, 2)
    } else {
        return None;
    };
    let (int, frac) = num.split_once('.').unwrap_or((num, ""));
    if int.is_empty() || !int.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if frac.len() > decimals
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || (num.contains('.') && frac.is_empty())
    {
        return None;
    }
    let i: u64 = int.parse().ok()?;
    let mut f: u64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    for _ in frac.len()..decimals {
        f *= 10;
    }
    i.checked_mul(scale)?.checked_add(f)
}

/// `parse_permyriad()`: as above, at most 100 %.
pub fn parse_permyriad(s: &str) -> Option<Permyriad> {
    parse_permyriad_unbounded(s)
        .filter(|&v| v <= 10_000)
        .and_then(|v| u32::try_from(v).ok())
        .map(Permyriad)
}

/// A memory limit (`MemoryMax=` and friends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "MemoryMax=")]
pub enum MemoryLimit {
    /// `infinity` (`CGROUP_LIMIT_MAX`).
    #[default]
    Infinity,
    /// A size in bytes.
    Bytes(u64),
    /// A share of physical memory, resolved when applied.
    Percent(Permyriad),
}

/// `TasksMax=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
#[doc(alias = "TasksMax=")]
pub enum TasksMax {
    /// `infinity`
    Infinity,
    /// An absolute number.
    Value(u64),
    /// A share of the system's maximum (`kernel.pid_max`/`threads-max`).
    Percent(Permyriad),
}

bitflags::bitflags! {
    /// cgroup controllers (`Delegate=`, `DisableControllers=`).
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    #[doc(alias = "Delegate=")]
    #[doc(alias = "DisableControllers=")]
    pub struct CGroupControllers: u32 {
        /// `cpu`
        const CPU = 1 << 0;
        /// `cpuacct`
        const CPUACCT = 1 << 1;
        /// `cpuset`
        const CPUSET = 1 << 2;
        /// `io`
        const IO = 1 << 3;
        /// `blkio`
        const BLKIO = 1 << 4;
        /// `memory`
        const MEMORY = 1 << 5;
        /// `devices`
        const DEVICES = 1 << 6;
        /// `pids`
        const PIDS = 1 << 7;
        /// `bpf-firewall`
        const BPF_FIREWALL = 1 << 8;
        /// `bpf-devices`
        const BPF_DEVICES = 1 << 9;
    }
}

const CONTROLLER_NAMES: [(&str, CGroupControllers); 10] = [
    ("cpu", CGroupControllers::CPU),
    ("cpuacct", CGroupControllers::CPUACCT),
    ("cpuset", CGroupControllers::CPUSET),
    ("io", CGroupControllers::IO),
    ("blkio", CGroupControllers::BLKIO),
    ("memory", CGroupControllers::MEMORY),
    ("devices", CGroupControllers::DEVICES),
    ("pids", CGroupControllers::PIDS),
    ("bpf-firewall", CGroupControllers::BPF_FIREWALL),
    ("bpf-devices", CGroupControllers::BPF_DEVICES),
];

impl CGroupControllers {
    /// A controller by name.
    pub fn from_controller_name(name: &str) -> Option<Self> {
        CONTROLLER_NAMES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, c)| *c)
    }

    /// The names of the controllers in the set.
    pub fn names(self) -> Vec<&'static str> {
        CONTROLLER_NAMES
            .iter()
            .filter(|(_, c)| self.contains(*c))
            .map(|(n, _)| *n)
            .collect()
    }
}

bitflags::bitflags! {
    /// Access rights of a `DeviceAllow=` entry.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
    pub struct DevicePermissions: u8 {
        /// `r`
        const READ = 1;
        /// `w`
        const WRITE = 2;
        /// `m` (mknod)
        const MKNOD = 4;
    }
}

/// One `DeviceAllow=` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "DeviceAllow=")]
pub struct DeviceAllow {
    /// A device node (`/dev/…`, `/sys/…`) or a class (`char-pts`, `block-loop`).
    pub path: String,
    /// Access rights.
    pub permissions: DevicePermissions,
}

/// A device path with a value (`IODeviceWeight=`, `BlockIODeviceWeight=`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "IODeviceWeight=")]
#[doc(alias = "BlockIODeviceWeight=")]
pub struct DeviceWeight {
    /// Device node or a file on the device.
    pub path: PathBuf,
    /// The weight.
    pub weight: u64,
}

/// `IODeviceLatencyTargetSec=` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "IODeviceLatencyTargetSec=")]
pub struct DeviceLatency {
    /// Device node or a file on the device.
    pub path: PathBuf,
    /// Target latency.
    pub target: Usec,
}

/// Per-device I/O limits (`IO{Read,Write}{Bandwidth,IOPS}Max=`); None is `infinity`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "IOReadBandwidthMax=")]
#[doc(alias = "IOWriteBandwidthMax=")]
#[doc(alias = "IOReadIOPSMax=")]
#[doc(alias = "IOWriteIOPSMax=")]
pub struct IoDeviceLimit {
    /// Device node or a file on the device.
    pub path: PathBuf,
    /// `IOReadBandwidthMax=` (bytes/s)
    pub read_bandwidth_max: Option<u64>,
    /// `IOWriteBandwidthMax=` (bytes/s)
    pub write_bandwidth_max: Option<u64>,
    /// `IOReadIOPSMax=`
    pub read_iops_max: Option<u64>,
    /// `IOWriteIOPSMax=`
    pub write_iops_max: Option<u64>,
}

/// Per-device legacy block I/O bandwidth (`BlockIO{Read,Write}Bandwidth=`); None is unlimited.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "BlockIOReadBandwidth=")]
#[doc(alias = "BlockIOWriteBandwidth=")]
pub struct BlockIoBandwidth {
    /// Device node or a file on the device.
    pub path: PathBuf,
    /// Read bytes/s.
    pub read: Option<u64>,
    /// Write bytes/s.
    pub write: Option<u64>,
}

/// An address prefix of `IPAddressAllow=`/`IPAddressDeny=` (host bits cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
#[doc(alias = "IPAddressAllow=")]
#[doc(alias = "IPAddressDeny=")]
pub struct IpAddressPrefix {
    /// The network address.
    pub address: IpAddr,
    /// Prefix length.
    pub prefix_len: u8,
}

impl IpAddressPrefix {
    /// A prefix with the host bits of `address` cleared.
    pub fn new(address: IpAddr, prefix_len: u8) -> Self {
        let address = match address {
            IpAddr::V4(a) => {
                let bits = u32::from(a);
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(prefix_len))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(bits & mask))
            }
            IpAddr::V6(a) => {
                let bits = u128::from(a);
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(prefix_len))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(bits & mask))
            }
        };
        Self {
            address,
            prefix_len,
        }
    }

    /// True if `other` lies within this prefix.
    pub fn covers(&self, other: &Self) -> bool {
        other.prefix_len >= self.prefix_len
            && Self::new(other.address, self.prefix_len).address == self.address
            && self.address.is_ipv4() == other.address.is_ipv4()
    }

    /// `in_addr_prefix_from_string_auto()`: `ADDR` or `ADDR/LEN`.
    pub fn parse(s: &str) -> Option<Self> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let addr: IpAddr = a.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let len = match len {
            Some(l) => unsigned::<u8>(l).filter(|&l| l <= max)?,
            None => max,
        };
        Some(Self::new(addr, len))
    }
}

impl std::fmt::Display for IpAddressPrefix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

/// The resource-control settings of a unit, with systemd 248's defaults. Accounting
/// switches and `TasksMax=` are `None` when not set, meaning the manager's `Default…=`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CGroupSettings {
    /// `Slice=`
    #[doc(alias = "Slice=")]
    pub slice: Option<UnitName>,
    /// `AllowedCPUs=`
    pub allowed_cpus: CpuSet,
    /// `AllowedMemoryNodes=`
    #[doc(alias = "AllowedMemoryNodes=")]
    pub allowed_memory_nodes: CpuSet,
    /// `CPUAccounting=`
    #[doc(alias = "CPUAccounting=")]
    pub cpu_accounting: Option<bool>,
    /// `CPUWeight=` (1–10000)
    #[doc(alias = "CPUWeight=")]
    pub cpu_weight: Option<u64>,
    /// `StartupCPUWeight=`
    #[doc(alias = "StartupCPUWeight=")]
    pub startup_cpu_weight: Option<u64>,
    /// `CPUShares=` (2–262144)
    #[doc(alias = "CPUShares=")]
    pub cpu_shares: Option<u64>,
    /// `StartupCPUShares=`
    #[doc(alias = "StartupCPUShares=")]
    pub startup_cpu_shares: Option<u64>,
    /// `CPUQuota=` as CPU time per second of wall time (None: no quota)
    #[doc(alias = "CPUQuota=")]
    pub cpu_quota_per_sec: Option<Usec>,
    /// `CPUQuotaPeriodSec=` (None: the kernel's default)
    #[doc(alias = "CPUQuotaPeriodSec=")]
    pub cpu_quota_period: Option<Usec>,
    /// `MemoryAccounting=`
    #[doc(alias = "MemoryAccounting=")]
    pub memory_accounting: Option<bool>,
    /// `MemoryMin=` (None: not set)
    #[doc(alias = "MemoryMin=")]
    pub memory_min: Option<MemoryLimit>,
    /// `DefaultMemoryMin=`
    #[doc(alias = "DefaultMemoryMin=")]
    pub default_memory_min: Option<MemoryLimit>,
    /// `DefaultMemoryLow=`
    #[doc(alias = "DefaultMemoryLow=")]
    pub default_memory_low: Option<MemoryLimit>,
    /// `MemoryLow=`
    #[doc(alias = "MemoryLow=")]
    pub memory_low: Option<MemoryLimit>,
    /// `MemoryHigh=`
    #[doc(alias = "MemoryHigh=")]
    pub memory_high: MemoryLimit,
    /// `MemoryMax=`
    pub memory_max: MemoryLimit,
    /// `MemorySwapMax=`
    #[doc(alias = "MemorySwapMax=")]
    pub memory_swap_max: MemoryLimit,
    /// `MemoryLimit=` (cgroup v1)
    #[doc(alias = "MemoryLimit=")]
    pub memory_limit: MemoryLimit,
    /// `DeviceAllow=`
    pub device_allow: Vec<DeviceAllow>,
    /// `DevicePolicy=`
    pub device_policy: DevicePolicy,
    /// `IOAccounting=`
    #[doc(alias = "IOAccounting=")]
    pub io_accounting: Option<bool>,
    /// `IOWeight=` (1–10000)
    #[doc(alias = "IOWeight=")]
    pub io_weight: Option<u64>,
    /// `StartupIOWeight=`
    #[doc(alias = "StartupIOWeight=")]
    pub startup_io_weight: Option<u64>,
    /// `IODeviceWeight=`
    pub io_device_weights: Vec<DeviceWeight>,
    /// `IO*BandwidthMax=`, `IO*IOPSMax=`
    pub io_device_limits: Vec<IoDeviceLimit>,
    /// `IODeviceLatencyTargetSec=`
    pub io_device_latencies: Vec<DeviceLatency>,
    /// `BlockIOAccounting=`
    #[doc(alias = "BlockIOAccounting=")]
    pub blockio_accounting: Option<bool>,
    /// `BlockIOWeight=` (10–1000)
    #[doc(alias = "BlockIOWeight=")]
    pub blockio_weight: Option<u64>,
    /// `StartupBlockIOWeight=`
    #[doc(alias = "StartupBlockIOWeight=")]
    pub startup_blockio_weight: Option<u64>,
    /// `BlockIODeviceWeight=`
    pub blockio_device_weights: Vec<DeviceWeight>,
    /// `BlockIOReadBandwidth=`, `BlockIOWriteBandwidth=`
    pub blockio_device_bandwidths: Vec<BlockIoBandwidth>,
    /// `TasksAccounting=`
    #[doc(alias = "TasksAccounting=")]
    pub tasks_accounting: Option<bool>,
    /// `TasksMax=` (None: the manager's `DefaultTasksMax=`)
    pub tasks_max: Option<TasksMax>,
    /// `Delegate=`
    pub delegate: bool,
    /// `Delegate=` controller list
    pub delegate_controllers: CGroupControllers,
    /// `DisableControllers=`
    pub disable_controllers: CGroupControllers,
    /// `IPAccounting=`
    #[doc(alias = "IPAccounting=")]
    pub ip_accounting: Option<bool>,
    /// `IPAddressAllow=`
    pub ip_address_allow: Vec<IpAddressPrefix>,
    /// `IPAddressDeny=`
    pub ip_address_deny: Vec<IpAddressPrefix>,
    /// `IPIngressFilterPath=`
    #[doc(alias = "IPIngressFilterPath=")]
    pub ip_ingress_filter_paths: Vec<PathBuf>,
    /// `IPEgressFilterPath=`
    #[doc(alias = "IPEgressFilterPath=")]
    pub ip_egress_filter_paths: Vec<PathBuf>,
    /// `ManagedOOMSwap=`
    pub managed_oom_swap: ManagedOomMode,
    /// `ManagedOOMMemoryPressure=`
    pub managed_oom_memory_pressure: ManagedOomMode,
    /// `ManagedOOMMemoryPressureLimit=` (0: oomd's default)
    #[doc(alias = "ManagedOOMMemoryPressureLimit=")]
    pub managed_oom_memory_pressure_limit: Permyriad,
    /// `ManagedOOMPreference=`
    pub managed_oom_preference: ManagedOomPreference,
}

impl Default for CGroupSettings {
    fn default() -> Self {
        Self {
            slice: None,
            allowed_cpus: CpuSet::default(),
            allowed_memory_nodes: CpuSet::default(),
            cpu_accounting: None,
            cpu_weight: None,
            startup_cpu_weight: None,
            cpu_shares: None,
            startup_cpu_shares: None,
            cpu_quota_per_sec: None,
            cpu_quota_period: None,
            memory_accounting: None,
            memory_min: None,
            default_memory_min: None,
            default_memory_low: None,
            memory_low: None,
            memory_high: MemoryLimit::Infinity,
            memory_max: MemoryLimit::Infinity,
            memory_swap_max: MemoryLimit::Infinity,
            memory_limit: MemoryLimit::Infinity,
            device_allow: Vec::new(),
            device_policy: DevicePolicy::Auto,
            io_accounting: None,
            io_weight: None,
            startup_io_weight: None,
            io_device_weights: Vec::new(),
            io_device_limits: Vec::new(),
            io_device_latencies: Vec::new(),
            blockio_accounting: None,
            blockio_weight: None,
            startup_blockio_weight: None,
            blockio_device_weights: Vec::new(),
            blockio_device_bandwidths: Vec::new(),
            tasks_accounting: None,
            tasks_max: None,
            delegate: false,
            delegate_controllers: CGroupControllers::empty(),
            disable_controllers: CGroupControllers::empty(),
            ip_accounting: None,
            ip_address_allow: Vec::new(),
            ip_address_deny: Vec::new(),
            ip_ingress_filter_paths: Vec::new(),
            ip_egress_filter_paths: Vec::new(),
            managed_oom_swap: ManagedOomMode::Auto,
            managed_oom_memory_pressure: ManagedOomMode::Auto,
            managed_oom_memory_pressure_limit: Permyriad(0),
            managed_oom_preference: ManagedOomPreference::None,
        }
    }
}

fn opt_bool(field: &mut Option<bool>, v: &str) -> Result<(), SettingError> {
    *field = Some(super::exec::value::boolean(v)?);
    Ok(())
}

/// `cg_weight_parse` / `cg_cpu_shares_parse` / `cg_blkio_weight_parse`: empty unsets.
fn weight(
    field: &mut Option<u64>,
    v: &str,
    min: u64,
    max: u64,
    msg: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        *field = None;
        return Ok(());
    }
    let w = unsigned::<u64>(v)
        .filter(|w| (min..=max).contains(w))
        .ok_or_else(|| SettingError::invalid(format!("{msg}, ignoring: {v}")))?;
    *field = Some(w);
    Ok(())
}

fn cg_weight(field: &mut Option<u64>, v: &str) -> Result<(), SettingError> {
    weight(field, v, 1, 10_000, "Invalid weight")
}

fn apply_slice(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    let k = expand(ctx, v)?;
    let name = UnitName::new(&k).map_err(|_| {
        SettingError::invalid(format!(
            "Failed to load slice unit {k}, ignoring: Invalid argument"
        ))
    })?;
    if name.unit_type() != UnitType::Slice {
        return Err(SettingError::invalid(format!(
            "Failed to assign slice {k} to unit {}, ignoring: Invalid argument",
            ctx.unit
        )));
    }
    s.slice = Some(name);
    Ok(())
}

fn apply_cpu_quota(
    s: &mut CGroupSettings,
    _ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.cpu_quota_per_sec = None;
        return Ok(());
    }
    let r = parse_permyriad_unbounded(v)
        .filter(|&r| r > 0)
        .ok_or_else(|| SettingError::invalid(format!("Invalid CPU quota '{v}', ignoring.")))?;
    let usec = r
        .checked_mul(1_000_000)
        .map(|x| x / 10_000)
        .ok_or_else(|| SettingError::invalid(format!("Invalid CPU quota '{v}', ignoring.")))?;
    s.cpu_quota_per_sec = Some(Usec(usec));
    Ok(())
}

/// `config_parse_memory_limit` of 248.
fn apply_memory(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    let key = ctx.key;
    let low_like = matches!(
        key,
        "MemoryLow" | "MemoryMin" | "DefaultMemoryLow" | "DefaultMemoryMin"
    );
    let limit = if v.is_empty() {
        if low_like {
            MemoryLimit::Bytes(0)
        } else {
            MemoryLimit::Infinity
        }
    } else if v == "infinity" {
        MemoryLimit::Infinity
    } else {
        let zero_ok = low_like || key == "MemorySwapMax";
        let out_of_range =
            || SettingError::invalid(format!("Memory limit '{v}' out of range, ignoring."));
        if let Some(p) = parse_permyriad(v) {
            if p.0 == 0 && !zero_ok {
                return Err(out_of_range());
            }
            MemoryLimit::Percent(p)
        } else {
            let bytes = keel_core::size::parse_size(v, 1024).map_err(|e| {
                SettingError::invalid(format!("Invalid memory limit '{v}', ignoring: {e}"))
            })?;
            if bytes == u64::MAX || (bytes == 0 && !zero_ok) {
                return Err(out_of_range());
            }
            MemoryLimit::Bytes(bytes)
        }
    };
    match key {
        "MemoryMin" => s.memory_min = Some(limit),
        "MemoryLow" => s.memory_low = Some(limit),
        "DefaultMemoryMin" => s.default_memory_min = Some(limit),
        "DefaultMemoryLow" => s.default_memory_low = Some(limit),
        "MemoryHigh" => s.memory_high = limit,
        "MemoryMax" => s.memory_max = limit,
        "MemorySwapMax" => s.memory_swap_max = limit,
        _ => s.memory_limit = limit,
    }
    Ok(())
}

/// `valid_device_node_path()`.
fn valid_device_node_path(p: &str) -> bool {
    (p.starts_with("/dev/") || p.starts_with("/sys/"))
        && !p.split('/').any(|c| c == "." || c == "..")
}

fn apply_device_allow(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.device_allow.clear();
        return Ok(());
    }
    let mut words = Words::new(v, ExtractFlags::UNQUOTE);
    let Some(Ok(path)) = words.next() else {
        return Err(SettingError::invalid(format!(
            "Invalid syntax, ignoring: {v}"
        )));
    };
    let resolved = expand(ctx, &path)?;
    let resolved = if resolved.starts_with("block-") || resolved.starts_with("char-") {
        resolved
    } else {
        let p = simplify_path(ctx.key, &resolved, PathCheck::Any, false)?;
        if !valid_device_node_path(&p) {
            return Err(SettingError::invalid(format!(
                "Invalid device node path '{p}', ignoring."
            )));
        }
        p
    };
    let rights = words.rest().trim_start_matches([' ', '\t', '\n', '\r']);
    let rights = if rights.is_empty() { "rwm" } else { rights };
    let mut permissions = DevicePermissions::empty();
    for c in rights.chars() {
        permissions |= match c {
            'r' => DevicePermissions::READ,
            'w' => DevicePermissions::WRITE,
            'm' => DevicePermissions::MKNOD,
            _ => {
                return Err(SettingError::invalid(format!(
                    "Invalid device rights '{rights}', ignoring."
                )));
            }
        };
    }
    s.device_allow.push(DeviceAllow {
        path: resolved,
        permissions,
    });
    Ok(())
}

/// Splits `DEVICE VALUE` (device path unquoted, specifiers, simplified).
fn device_and_value<'v>(
    ctx: &ParseCtx<'_>,
    v: &'v str,
    what: &str,
) -> Result<(PathBuf, &'v str), SettingError> {
    let mut words = Words::new(v, ExtractFlags::UNQUOTE);
    let path = match words.next() {
        Some(Ok(p)) => p,
        Some(Err(())) => {
            return Err(SettingError::invalid(format!(
                "Failed to extract device path and {what} from '{v}', ignoring."
            )));
        }
        None => String::new(),
    };
    let rest = words.rest().trim_start_matches([' ', '\t', '\n', '\r']);
    if path.is_empty() || rest.is_empty() {
        return Err(SettingError::invalid(format!(
            "Invalid device path or {what} specified in '{v}', ignoring."
        )));
    }
    let resolved = expand(ctx, &path)?;
    let p = simplify_path(ctx.key, &resolved, PathCheck::Any, false)?;
    Ok((PathBuf::from(p), rest))
}

fn apply_io_device_weight(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.io_device_weights.clear();
        return Ok(());
    }
    let (path, w) = device_and_value(ctx, v, "weight")?;
    let weight = unsigned::<u64>(w)
        .filter(|w| (1..=10_000).contains(w))
        .ok_or_else(|| {
            SettingError::invalid(format!(
                "IO weight '{w}' invalid, ignoring: Numerical result out of range"
            ))
        })?;
    s.io_device_weights.push(DeviceWeight { path, weight });
    Ok(())
}

fn apply_io_device_latency(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.io_device_latencies.clear();
        return Ok(());
    }
    let (path, t) = device_and_value(ctx, v, "latency")?;
    let target = keel_core::time::parse_sec(t).map_err(|_| {
        SettingError::invalid(format!("Failed to parse timer value, ignoring: {t}"))
    })?;
    s.io_device_latencies.push(DeviceLatency { path, target });
    Ok(())
}

fn apply_io_limit(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    let pick: fn(&mut IoDeviceLimit) -> &mut Option<u64> = match ctx.key {
        "IOReadBandwidthMax" => |l| &mut l.read_bandwidth_max,
        "IOWriteBandwidthMax" => |l| &mut l.write_bandwidth_max,
        "IOReadIOPSMax" => |l| &mut l.read_iops_max,
        _ => |l| &mut l.write_iops_max,
    };
    if v.is_empty() {
        for l in &mut s.io_device_limits {
            *pick(l) = None;
        }
        return Ok(());
    }
    let (path, n) = device_and_value(ctx, v, "bandwidth")?;
    let num = if n == "infinity" {
        None
    } else {
        match keel_core::size::parse_size(n, 1000) {
            Ok(x) if x > 0 => Some(x),
            _ => {
                return Err(SettingError::invalid(format!(
                    "Invalid IO limit '{n}', ignoring."
                )));
            }
        }
    };
    let idx = match s.io_device_limits.iter().position(|l| l.path == path) {
        Some(i) => i,
        None => {
            s.io_device_limits.push(IoDeviceLimit {
                path,
                ..IoDeviceLimit::default()
            });
            s.io_device_limits.len() - 1
        }
    };
    if let Some(l) = s.io_device_limits.get_mut(idx) {
        *pick(l) = num;
    }
    Ok(())
}

fn apply_blockio_device_weight(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.blockio_device_weights.clear();
        return Ok(());
    }
    let (path, w) = device_and_value(ctx, v, "weight")?;
    let weight = unsigned::<u64>(w)
        .filter(|w| (10..=1000).contains(w))
        .ok_or_else(|| {
            SettingError::invalid(format!(
                "Invalid block IO weight '{w}', ignoring: Numerical result out of range"
            ))
        })?;
    s.blockio_device_weights.push(DeviceWeight { path, weight });
    Ok(())
}

fn apply_blockio_bandwidth(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    let read = ctx.key == "BlockIOReadBandwidth";
    if v.is_empty() {
        for b in &mut s.blockio_device_bandwidths {
            b.read = None;
            b.write = None;
        }
        return Ok(());
    }
    let (path, n) = device_and_value(ctx, v, "bandwidth")?;
    let bytes = match keel_core::size::parse_size(n, 1000) {
        Ok(x) if x > 0 => x,
        _ => {
            return Err(SettingError::invalid(format!(
                "Invalid Block IO Bandwidth '{n}', ignoring."
            )));
        }
    };
    let idx = match s
        .blockio_device_bandwidths
        .iter()
        .position(|b| b.path == path)
    {
        Some(i) => i,
        None => {
            s.blockio_device_bandwidths.push(BlockIoBandwidth {
                path,
                ..BlockIoBandwidth::default()
            });
            s.blockio_device_bandwidths.len() - 1
        }
    };
    if let Some(b) = s.blockio_device_bandwidths.get_mut(idx) {
        if read {
            b.read = Some(bytes);
        } else {
            b.write = Some(bytes);
        }
    }
    Ok(())
}

fn apply_tasks_max(
    s: &mut CGroupSettings,
    _ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.tasks_max = None;
        return Ok(());
    }
    if v == "infinity" {
        s.tasks_max = Some(TasksMax::Infinity);
        return Ok(());
    }
    if let Some(p) = parse_permyriad(v) {
        s.tasks_max = Some(TasksMax::Percent(p));
        return Ok(());
    }
    let n = unsigned::<u64>(v).ok_or_else(|| {
        SettingError::invalid(format!(
            "Invalid maximum tasks value '{v}', ignoring: Invalid argument"
        ))
    })?;
    if n == 0 || n == u64::MAX {
        return Err(SettingError::invalid(format!(
            "Maximum tasks value '{v}' out of range, ignoring."
        )));
    }
    s.tasks_max = Some(TasksMax::Value(n));
    Ok(())
}

fn apply_delegate(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if !matches!(ctx.unit.unit_type(), UnitType::Service | UnitType::Scope) {
        return Err(SettingError::invalid(
            "Delegate= setting not supported for this unit type, ignoring.",
        ));
    }
    if v.is_empty() {
        s.delegate = true;
        s.delegate_controllers = CGroupControllers::empty();
        return Ok(());
    }
    match keel_core::boolean::parse_boolean(v) {
        Ok(true) => {
            s.delegate = true;
            s.delegate_controllers = CGroupControllers::all();
        }
        Ok(false) => {
            s.delegate = false;
            s.delegate_controllers = CGroupControllers::empty();
        }
        Err(_) => {
            let mut mask = CGroupControllers::empty();
            for word in Words::new(v, ExtractFlags::UNQUOTE) {
                let Ok(word) = word else {
                    return Err(SettingError::invalid(format!(
                        "Invalid syntax, ignoring: {v}"
                    )));
                };
                match CGroupControllers::from_controller_name(&word) {
                    Some(c) => mask |= c,
                    None => ctx.warn(format!("Invalid controller name '{word}', ignoring")),
                }
            }
            s.delegate = true;
            s.delegate_controllers |= mask;
        }
    }
    Ok(())
}

fn apply_disable_controllers(
    s: &mut CGroupSettings,
    _ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    if v.is_empty() {
        s.disable_controllers = CGroupControllers::empty();
        return Ok(());
    }
    let mut mask = CGroupControllers::empty();
    for word in Words::new(v, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else { break };
        if let Some(c) = CGroupControllers::from_controller_name(&word) {
            mask |= c;
        }
    }
    if mask.is_empty() {
        return Err(SettingError::invalid(format!(
            "Invalid cgroup string: {v}, ignoring"
        )));
    }
    s.disable_controllers |= mask;
    Ok(())
}

fn is_localhost(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    let s = s.strip_suffix('.').unwrap_or(&s);
    s == "localhost"
        || s.ends_with(".localhost")
        || s == "localhost.localdomain"
        || s.ends_with(".localhost.localdomain")
}

/// `config_parse_ip_address_access`.
fn parse_ip_access(list: &mut Vec<IpAddressPrefix>, ctx: &mut ParseCtx<'_>, v: &str) {
    if v.is_empty() {
        list.clear();
        return;
    }
    let p = |a: &str, l: u8| a.parse::<IpAddr>().map(|a| IpAddressPrefix::new(a, l)).ok();
    for word in Words::new(v, ExtractFlags::empty()) {
        let Ok(word) = word else {
            ctx.warn(format!("Invalid syntax, ignoring: {v}"));
            break;
        };
        let add: Vec<Option<IpAddressPrefix>> = match word.as_str() {
            "any" => vec![p("0.0.0.0", 0), p("::", 0)],
            "link-local" => vec![p("169.254.0.0", 16), p("fe80::", 64)],
            "multicast" => vec![p("224.0.0.0", 4), p("ff00::", 8)],
            w if is_localhost(w) => vec![p("127.0.0.0", 8), p("::1", 128)],
            w => match IpAddressPrefix::parse(w) {
                Some(a) => vec![Some(a)],
                None => {
                    ctx.warn(format!(
                        "Address prefix is invalid, ignoring assignment: {word}"
                    ));
                    break;
                }
            },
        };
        list.extend(add.into_iter().flatten());
    }
    // ip_address_access_reduce(): drop entries covered by another one.
    let mut i = 0;
    while i < list.len() {
        let covered = list
            .iter()
            .enumerate()
            .any(|(j, o)| j != i && o.covers(&list[i]) && (o != &list[i] || j < i));
        if covered {
            list.remove(i);
        } else {
            i += 1;
        }
    }
}

fn bpf_paths(list: &mut Vec<PathBuf>, ctx: &mut ParseCtx<'_>, v: &str) -> Result<(), SettingError> {
    if v.is_empty() {
        list.clear();
        return Ok(());
    }
    let resolved = expand(ctx, v)?;
    let p = PathBuf::from(simplify_path(
        ctx.key,
        &resolved,
        PathCheck::Absolute,
        false,
    )?);
    if !list.contains(&p) {
        list.push(p);
    }
    Ok(())
}

/// Unit types that may use the ManagedOOM settings (`can_set_managed_oom`).
fn can_set_managed_oom(ctx: &ParseCtx<'_>) -> Result<(), SettingError> {
    if matches!(
        ctx.unit.unit_type(),
        UnitType::Service | UnitType::Slice | UnitType::Scope
    ) {
        Ok(())
    } else {
        Err(SettingError::invalid(format!(
            "{}= is not supported for this unit type, ignoring.",
            ctx.key
        )))
    }
}

fn managed_oom_mode(ctx: &ParseCtx<'_>, v: &str) -> Result<ManagedOomMode, SettingError> {
    can_set_managed_oom(ctx)?;
    if v.is_empty() {
        return Ok(ManagedOomMode::Auto);
    }
    v.parse()
        .map_err(|()| SettingError::invalid(format!("Invalid syntax, ignoring: {v}")))
}

fn apply_moom_limit(
    s: &mut CGroupSettings,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<(), SettingError> {
    can_set_managed_oom(ctx)?;
    if v.is_empty() {
        s.managed_oom_memory_pressure_limit = Permyriad(0);
        return Ok(());
    }
    s.managed_oom_memory_pressure_limit = parse_permyriad(v).ok_or_else(|| {
        SettingError::invalid(format!(
            "Failed to parse memory pressure limit value, ignoring: {v}"
        ))
    })?;
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<CGroupSettings>) -> Directive<CGroupSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of systemd 248's `CGROUP_CONTEXT_CONFIG_ITEMS`, in the m4 file's order.
pub(crate) static CGROUP_DIRECTIVES: &[Directive<CGroupSettings>] = &[
    d("Slice", apply_slice),
    d("AllowedCPUs", |s, c, v| {
        let k = expand(c, v)?;
        s.allowed_cpus.extend_from(c.key, &k)
    }),
    d("AllowedMemoryNodes", |s, c, v| {
        let k = expand(c, v)?;
        s.allowed_memory_nodes.extend_from(c.key, &k)
    }),
    d("CPUAccounting", |s, _, v| {
        opt_bool(&mut s.cpu_accounting, v)
    }),
    d("CPUWeight", |s, _, v| cg_weight(&mut s.cpu_weight, v)),
    d("StartupCPUWeight", |s, _, v| {
        cg_weight(&mut s.startup_cpu_weight, v)
    }),
    d("CPUShares", |s, _, v| {
        weight(&mut s.cpu_shares, v, 2, 262_144, "Invalid CPU shares")
    }),
    d("StartupCPUShares", |s, _, v| {
        weight(
            &mut s.startup_cpu_shares,
            v,
            2,
            262_144,
            "Invalid CPU shares",
        )
    }),
    d("CPUQuota", apply_cpu_quota),
    d("CPUQuotaPeriodSec", |s, _, v| {
        if v.is_empty() {
            s.cpu_quota_period = None;
            return Ok(());
        }
        let t = super::exec::sec(v)?;
        s.cpu_quota_period = (t != Usec::INFINITY).then_some(t);
        Ok(())
    }),
    d("MemoryAccounting", |s, _, v| {
        opt_bool(&mut s.memory_accounting, v)
    }),
    d("MemoryMin", apply_memory),
    d("DefaultMemoryMin", apply_memory),
    d("DefaultMemoryLow", apply_memory),
    d("MemoryLow", apply_memory),
    d("MemoryHigh", apply_memory),
    d("MemoryMax", apply_memory),
    d("MemorySwapMax", apply_memory),
    d("MemoryLimit", apply_memory),
    d("DeviceAllow", apply_device_allow),
    d("DevicePolicy", |s, _, v| {
        s.device_policy = parse_choice(v, "Failed to parse device policy")?;
        Ok(())
    }),
    d("IOAccounting", |s, _, v| opt_bool(&mut s.io_accounting, v)),
    d("IOWeight", |s, _, v| cg_weight(&mut s.io_weight, v)),
    d("StartupIOWeight", |s, _, v| {
        cg_weight(&mut s.startup_io_weight, v)
    }),
    d("IODeviceWeight", apply_io_device_weight),
    d("IOReadBandwidthMax", apply_io_limit),
    d("IOWriteBandwidthMax", apply_io_limit),
    d("IOReadIOPSMax", apply_io_limit),
    d("IOWriteIOPSMax", apply_io_limit),
    d("IODeviceLatencyTargetSec", apply_io_device_latency),
    d("BlockIOAccounting", |s, _, v| {
        opt_bool(&mut s.blockio_accounting, v)
    }),
    d("BlockIOWeight", |s, _, v| {
        weight(
            &mut s.blockio_weight,
            v,
            10,
            1000,
            "Invalid block IO weight",
        )
    }),
    d("StartupBlockIOWeight", |s, _, v| {
        weight(
            &mut s.startup_blockio_weight,
            v,
            10,
            1000,
            "Invalid block IO weight",
        )
    }),
    d("BlockIODeviceWeight", apply_blockio_device_weight),
    d("BlockIOReadBandwidth", apply_blockio_bandwidth),
    d("BlockIOWriteBandwidth", apply_blockio_bandwidth),
    d("TasksAccounting", |s, _, v| {
        opt_bool(&mut s.tasks_accounting, v)
    }),
    d("TasksMax", apply_tasks_max),
    d("Delegate", apply_delegate),
    d("DisableControllers", apply_disable_controllers),
    d("IPAccounting", |s, _, v| opt_bool(&mut s.ip_accounting, v)),
    d("IPAddressAllow", |s, c, v| {
        parse_ip_access(&mut s.ip_address_allow, c, v);
        Ok(())
    }),
    d("IPAddressDeny", |s, c, v| {
        parse_ip_access(&mut s.ip_address_deny, c, v);
        Ok(())
    }),
    d("IPIngressFilterPath", |s, c, v| {
        bpf_paths(&mut s.ip_ingress_filter_paths, c, v)
    }),
    d("IPEgressFilterPath", |s, c, v| {
        bpf_paths(&mut s.ip_egress_filter_paths, c, v)
    }),
    d("ManagedOOMSwap", |s, c, v| {
        s.managed_oom_swap = managed_oom_mode(c, v)?;
        Ok(())
    }),
    d("ManagedOOMMemoryPressure", |s, c, v| {
        s.managed_oom_memory_pressure = managed_oom_mode(c, v)?;
        Ok(())
    }),
    d("ManagedOOMMemoryPressureLimit", apply_moom_limit),
    d("ManagedOOMPreference", |s, _, v| {
        s.managed_oom_preference = parse_choice(v, "Failed to parse ManagedOOMPreference=")?;
        Ok(())
    }),
    d("NetClass", |_, c, _| {
        c.warn(format!(
            "Support for option {}= has been removed and it is ignored",
            c.key
        ));
        Ok(())
    }),
];

impl Serialize for CGroupControllers {
    /// Serialized as the raw bits.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::from(self.bits()))
    }
}

impl Serialize for DevicePermissions {
    /// Serialized as the raw bits.
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(u64::from(self.bits()))
    }
}

#[cfg(test)]
mod tests;
