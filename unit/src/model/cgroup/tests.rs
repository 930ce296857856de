use super::*;
use crate::model::directive::find;

/// Applies `key=value` to `s` through the table, as the loader does.
fn apply_in(
    unit: &str,
    s: &mut CGroupSettings,
    key: &str,
    value: &str,
) -> (Result<(), SettingError>, Vec<String>) {
    crate::model::mount::testing::apply_in(CGROUP_DIRECTIVES, unit, s, key, value)
}

fn apply(s: &mut CGroupSettings, key: &str, value: &str) -> Result<(), SettingError> {
    apply_in("foo.service", s, key, value).0
}

const KEYS_248: &[&str] = &[
    "Slice",
    "AllowedCPUs",
    "AllowedMemoryNodes",
    "CPUAccounting",
    "CPUWeight",
    "StartupCPUWeight",
    "CPUShares",
    "StartupCPUShares",
    "CPUQuota",
    "CPUQuotaPeriodSec",
    "MemoryAccounting",
    "MemoryMin",
    "DefaultMemoryMin",
    "DefaultMemoryLow",
    "MemoryLow",
    "MemoryHigh",
    "MemoryMax",
    "MemorySwapMax",
    "MemoryLimit",
    "DeviceAllow",
    "DevicePolicy",
    "IOAccounting",
    "IOWeight",
    "StartupIOWeight",
    "IODeviceWeight",
    "IOReadBandwidthMax",
    "IOWriteBandwidthMax",
    "IOReadIOPSMax",
    "IOWriteIOPSMax",
    "IODeviceLatencyTargetSec",
    "BlockIOAccounting",
    "BlockIOWeight",
    "StartupBlockIOWeight",
    "BlockIODeviceWeight",
    "BlockIOReadBandwidth",
    "BlockIOWriteBandwidth",
    "TasksAccounting",
    "TasksMax",
    "Delegate",
    "DisableControllers",
    "IPAccounting",
    "IPAddressAllow",
    "IPAddressDeny",
    "IPIngressFilterPath",
    "IPEgressFilterPath",
    "ManagedOOMSwap",
    "ManagedOOMMemoryPressure",
    "ManagedOOMMemoryPressureLimit",
    "ManagedOOMPreference",
    "NetClass",
];

#[test]
fn table_has_exactly_the_248_keys() {
    assert_eq!(CGROUP_DIRECTIVES.len(), KEYS_248.len());
    for k in KEYS_248 {
        assert!(find(CGROUP_DIRECTIVES, k).is_some(), "{k}");
    }
    for k in [
        "ManagedOOMMemoryPressureLimitPercent",
        "BPFProgram",
        "SocketBindAllow",
        "StartupAllowedCPUs",
        "MemoryZSwapMax",
    ] {
        assert!(find(CGROUP_DIRECTIVES, k).is_none(), "{k}");
    }
}

/// Port of systemd's `test_config_parse_memory_limit` (None = value left unchanged).
#[test]
fn memory_limit_table() {
    let dummy = MemoryLimit::Bytes(12345);
    let cases: &[(&str, &str, Option<MemoryLimit>)] = &[
        ("MemoryMin", "", Some(MemoryLimit::Bytes(0))),
        ("MemoryMin", "0", Some(MemoryLimit::Bytes(0))),
        ("MemoryMin", "10", Some(MemoryLimit::Bytes(10))),
        ("MemoryMin", "infinity", Some(MemoryLimit::Infinity)),
        ("MemoryLow", "", Some(MemoryLimit::Bytes(0))),
        ("MemoryLow", "0", Some(MemoryLimit::Bytes(0))),
        ("MemoryLow", "10", Some(MemoryLimit::Bytes(10))),
        ("MemoryLow", "infinity", Some(MemoryLimit::Infinity)),
        ("MemoryHigh", "", Some(MemoryLimit::Infinity)),
        ("MemoryHigh", "0", None),
        ("MemoryHigh", "10", Some(MemoryLimit::Bytes(10))),
        ("MemoryHigh", "infinity", Some(MemoryLimit::Infinity)),
        ("MemoryMax", "", Some(MemoryLimit::Infinity)),
        ("MemoryMax", "0", None),
        ("MemoryMax", "10", Some(MemoryLimit::Bytes(10))),
        ("MemoryMax", "infinity", Some(MemoryLimit::Infinity)),
    ];
    for (key, value, expected) in cases {
        let mut s = CGroupSettings {
            memory_min: Some(dummy),
            memory_low: Some(dummy),
            memory_high: dummy,
            memory_max: dummy,
            ..CGroupSettings::default()
        };
        let r = apply(&mut s, key, value);
        assert_eq!(r.is_ok(), expected.is_some(), "{key}={value}");
        let got = match *key {
            "MemoryMin" => s.memory_min.unwrap(),
            "MemoryLow" => s.memory_low.unwrap(),
            "MemoryHigh" => s.memory_high,
            _ => s.memory_max,
        };
        assert_eq!(got, expected.unwrap_or(dummy), "{key}={value}");
    }
    let mut s = CGroupSettings::default();
    apply(&mut s, "MemoryMax", "50%").unwrap();
    assert_eq!(s.memory_max, MemoryLimit::Percent(Permyriad(5000)));
    apply(&mut s, "MemoryMax", "1G").unwrap();
    assert_eq!(s.memory_max, MemoryLimit::Bytes(1 << 30));
    assert_eq!(
        apply(&mut s, "MemoryMax", "0%").unwrap_err().to_string(),
        "Memory limit '0%' out of range, ignoring."
    );
    apply(&mut s, "MemorySwapMax", "0").unwrap();
    assert_eq!(s.memory_swap_max, MemoryLimit::Bytes(0));
}

#[test]
fn percent_parsing() {
    assert_eq!(parse_permyriad("50%"), Some(Permyriad(5000)));
    assert_eq!(parse_permyriad("12.34%"), Some(Permyriad(1234)));
    assert_eq!(parse_permyriad("12.3‰"), Some(Permyriad(123)));
    assert_eq!(parse_permyriad("42‱"), Some(Permyriad(42)));
    assert_eq!(parse_permyriad("101%"), None);
    assert_eq!(parse_permyriad("1.234%"), None);
    assert_eq!(parse_permyriad("5"), None);
    assert_eq!(parse_permyriad("%"), None);
    assert_eq!(parse_permyriad_unbounded("200%"), Some(20000));
}

#[test]
fn cpu_settings() {
    let mut s = CGroupSettings::default();
    apply(&mut s, "CPUQuota", "20%").unwrap();
    assert_eq!(s.cpu_quota_per_sec, Some(Usec(200_000)));
    apply(&mut s, "CPUQuota", "150%").unwrap();
    assert_eq!(s.cpu_quota_per_sec, Some(Usec(1_500_000)));
    assert_eq!(
        apply(&mut s, "CPUQuota", "0%").unwrap_err().to_string(),
        "Invalid CPU quota '0%', ignoring."
    );
    apply(&mut s, "CPUQuota", "").unwrap();
    assert_eq!(s.cpu_quota_per_sec, None);
    apply(&mut s, "CPUWeight", "100").unwrap();
    assert_eq!(s.cpu_weight, Some(100));
    assert_eq!(
        apply(&mut s, "CPUWeight", "0").unwrap_err().to_string(),
        "Invalid weight, ignoring: 0"
    );
    assert!(apply(&mut s, "CPUWeight", "10001").is_err());
    assert!(apply(&mut s, "CPUShares", "1").is_err());
    apply(&mut s, "CPUShares", "2").unwrap();
    assert!(apply(&mut s, "BlockIOWeight", "9").is_err());
    apply(&mut s, "AllowedCPUs", "0-3").unwrap();
    assert_eq!(s.allowed_cpus.to_string(), "0-3");
    apply(&mut s, "CPUAccounting", "yes").unwrap();
    assert_eq!(s.cpu_accounting, Some(true));
}

#[test]
fn tasks_max() {
    let mut s = CGroupSettings::default();
    apply(&mut s, "TasksMax", "512").unwrap();
    assert_eq!(s.tasks_max, Some(TasksMax::Value(512)));
    apply(&mut s, "TasksMax", "15%").unwrap();
    assert_eq!(s.tasks_max, Some(TasksMax::Percent(Permyriad(1500))));
    apply(&mut s, "TasksMax", "infinity").unwrap();
    assert_eq!(s.tasks_max, Some(TasksMax::Infinity));
    assert_eq!(
        apply(&mut s, "TasksMax", "0").unwrap_err().to_string(),
        "Maximum tasks value '0' out of range, ignoring."
    );
    apply(&mut s, "TasksMax", "").unwrap();
    assert_eq!(s.tasks_max, None);
}

#[test]
fn devices_and_io() {
    let mut s = CGroupSettings::default();
    apply(&mut s, "DeviceAllow", "/dev/null rw").unwrap();
    apply(&mut s, "DeviceAllow", "char-pts").unwrap();
    assert_eq!(
        s.device_allow[0].permissions,
        DevicePermissions::READ | DevicePermissions::WRITE
    );
    assert_eq!(s.device_allow[1].permissions, DevicePermissions::all());
    assert!(apply(&mut s, "DeviceAllow", "/tmp/x r").is_err());
    assert!(apply(&mut s, "DeviceAllow", "/dev/x rx").is_err());
    apply(&mut s, "DevicePolicy", "closed").unwrap();
    apply(&mut s, "IOReadBandwidthMax", "/dev/sda 1M").unwrap();
    apply(&mut s, "IOWriteIOPSMax", "/dev/sda 100").unwrap();
    assert_eq!(s.io_device_limits.len(), 1);
    assert_eq!(s.io_device_limits[0].read_bandwidth_max, Some(1_000_000));
    assert_eq!(s.io_device_limits[0].write_iops_max, Some(100));
    apply(&mut s, "IOReadBandwidthMax", "").unwrap();
    assert_eq!(s.io_device_limits[0].read_bandwidth_max, None);
    assert_eq!(s.io_device_limits[0].write_iops_max, Some(100));
    assert_eq!(
        apply(&mut s, "IOWriteBandwidthMax", "/dev/sda")
            .unwrap_err()
            .to_string(),
        "Invalid device path or bandwidth specified in '/dev/sda', ignoring."
    );
    apply(&mut s, "IODeviceWeight", "/dev/sda 200").unwrap();
    apply(&mut s, "IODeviceLatencyTargetSec", "/dev/sda 25ms").unwrap();
    assert_eq!(s.io_device_latencies[0].target, Usec(25_000));
    apply(&mut s, "BlockIOWriteBandwidth", "/dev/sdb 5M").unwrap();
    assert_eq!(s.blockio_device_bandwidths[0].write, Some(5_000_000));
}

#[test]
fn ip_access() {
    let mut s = CGroupSettings::default();
    apply(&mut s, "IPAddressDeny", "any").unwrap();
    assert_eq!(s.ip_address_deny.len(), 2);
    apply(
        &mut s,
        "IPAddressAllow",
        "localhost 10.1.2.3/8 10.0.0.1 link-local",
    )
    .unwrap();
    let strs: Vec<String> = s.ip_address_allow.iter().map(ToString::to_string).collect();
    assert_eq!(
        strs,
        [
            "127.0.0.0/8",
            "::1/128",
            "10.0.0.0/8",
            "169.254.0.0/16",
            "fe80::/64"
        ]
    );
    let (_, w) = apply_in("foo.service", &mut s, "IPAddressAllow", "bogus");
    assert_eq!(w, ["Address prefix is invalid, ignoring assignment: bogus"]);
    apply(&mut s, "IPAddressAllow", "").unwrap();
    assert!(s.ip_address_allow.is_empty());
}

#[test]
fn delegate_and_controllers() {
    let mut s = CGroupSettings::default();
    apply(&mut s, "Delegate", "cpu memory").unwrap();
    assert!(s.delegate);
    assert_eq!(
        s.delegate_controllers,
        CGroupControllers::CPU | CGroupControllers::MEMORY
    );
    apply(&mut s, "Delegate", "no").unwrap();
    assert!(!s.delegate);
    let (r, _) = apply_in("foo.mount", &mut s, "Delegate", "yes");
    assert_eq!(
        r.unwrap_err().to_string(),
        "Delegate= setting not supported for this unit type, ignoring."
    );
    apply(&mut s, "DisableControllers", "io bogus").unwrap();
    assert_eq!(s.disable_controllers, CGroupControllers::IO);
    assert!(apply(&mut s, "DisableControllers", "bogus").is_err());
}

#[test]
fn managed_oom_and_slice() {
    let mut s = CGroupSettings::default();
    apply(&mut s, "ManagedOOMSwap", "kill").unwrap();
    assert_eq!(s.managed_oom_swap, ManagedOomMode::Kill);
    apply(&mut s, "ManagedOOMMemoryPressureLimit", "40%").unwrap();
    assert_eq!(s.managed_oom_memory_pressure_limit, Permyriad(4000));
    let (r, _) = apply_in("foo.socket", &mut s, "ManagedOOMMemoryPressure", "kill");
    assert_eq!(
        r.unwrap_err().to_string(),
        "ManagedOOMMemoryPressure= is not supported for this unit type, ignoring."
    );
    apply(&mut s, "ManagedOOMPreference", "avoid").unwrap();
    assert_eq!(
        apply(&mut s, "ManagedOOMPreference", "x")
            .unwrap_err()
            .to_string(),
        "Failed to parse ManagedOOMPreference=, ignoring: x"
    );
    apply(&mut s, "Slice", "system-foo.slice").unwrap();
    assert_eq!(
        s.slice.as_ref().map(UnitName::as_str),
        Some("system-foo.slice")
    );
    assert!(apply(&mut s, "Slice", "foo.service").is_err());
}
