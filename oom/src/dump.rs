//! The monitored state as `oomctl dump` prints it (systemd 248, spec §4.9).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use keel_core::time::Usec;

use crate::cgroup::{CgroupContext, SystemMemory};
use crate::policy::{Policy, PressureMonitored};

/// Bytes as systemd's `FORMAT_BYTES` writes them: `123B`, `4.0K`, `12.4G` (base 1024,
/// one decimal, rounded down).
pub fn format_bytes(v: u64) -> String {
    const UNITS: [&str; 6] = ["K", "M", "G", "T", "P", "E"];
    if v < 1024 {
        return format!("{v}B");
    }
    let mut div = 1024u128;
    let mut i = 0;
    while i + 1 < UNITS.len() && u128::from(v) >= div * 1024 {
        div *= 1024;
        i += 1;
    }
    let tenths = u128::from(v) * 10 / div;
    format!("{}.{}{}", tenths / 10, tenths % 10, UNITS[i])
}

fn bytes_or_dash(v: Option<u64>) -> String {
    match v {
        Some(u64::MAX) => "infinity".to_owned(),
        Some(v) => format_bytes(v),
        None => "n/a".to_owned(),
    }
}

/// Formats the state: settings, system context, swap-monitored cgroups, then
/// pressure-monitored cgroups, each list sorted by path. `last_pgscan` is the pgscan seen
/// at the previous sample.
pub fn format_dump(
    policy: &Policy,
    memory: &SystemMemory,
    swap_monitored: &[CgroupContext],
    pressure_monitored: &[PressureMonitored],
    last_pgscan: &BTreeMap<String, u64>,
) -> String {
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(s, "Dry Run: {}", if policy.dry_run { "yes" } else { "no" });
    let _ = writeln!(s, "Swap Used Limit: {}", policy.swap_used_limit);
    let _ = writeln!(
        s,
        "Default Memory Pressure Limit: {}",
        policy.default_pressure_limit
    );
    let _ = writeln!(s, "Default Memory Pressure Duration: {}", policy.duration());
    let _ = writeln!(s, "System Context:");
    let _ = writeln!(
        s,
        "\tSwap: Used: {} Total: {}",
        format_bytes(memory.swap_used()),
        format_bytes(memory.swap_total)
    );
    let _ = writeln!(s, "Swap Monitored CGroups:");
    let mut swap: Vec<&CgroupContext> = swap_monitored.iter().collect();
    swap.sort_by(|a, b| a.path.cmp(&b.path));
    for c in swap {
        let _ = writeln!(s, "\tPath: {}", c.path);
        let _ = writeln!(s, "\t\tSwap Usage: {}", bytes_or_dash(c.swap_current));
    }
    let _ = writeln!(s, "Memory Pressure Monitored CGroups:");
    let mut mp: Vec<&PressureMonitored> = pressure_monitored.iter().collect();
    mp.sort_by(|a, b| a.context.path.cmp(&b.context.path));
    for m in mp {
        let c = &m.context;
        let _ = writeln!(s, "\tPath: {}", c.path);
        let limit = m.limit.unwrap_or(policy.default_pressure_limit);
        let _ = writeln!(s, "\t\tMemory Pressure Limit: {limit}");
        let full = c.pressure.and_then(|p| p.full).unwrap_or_default();
        let avg = |p: keel_core::size::Permyriad| format!("{}.{:02}", p.get() / 100, p.get() % 100);
        let _ = writeln!(
            s,
            "\t\tPressure: Avg10: {} Avg60: {} Avg300: {} Total: {}",
            avg(full.avg10),
            avg(full.avg60),
            avg(full.avg300),
            Usec(full.total_usec)
        );
        let _ = writeln!(
            s,
            "\t\tCurrent Memory Usage: {}",
            bytes_or_dash(c.memory_current)
        );
        let _ = writeln!(s, "\t\tMemory Min: {}", bytes_or_dash(c.memory_min));
        let _ = writeln!(s, "\t\tMemory Low: {}", bytes_or_dash(c.memory_low));
        let _ = writeln!(s, "\t\tPgscan: {}", c.pgscan());
        let last = last_pgscan.get(&c.path).copied().unwrap_or(0);
        let _ = writeln!(s, "\t\tLast Pgscan: {last}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_core::size::Permyriad;

    #[test]
    fn bytes() {
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(1023), "1023B");
        assert_eq!(format_bytes(4096), "4.0K");
        assert_eq!(format_bytes(1536 << 10), "1.5M");
        assert_eq!(format_bytes(13_314_398_618), "12.4G");
        assert_eq!(format_bytes(u64::MAX), "15.9E");
    }

    #[test]
    fn dump_like_oomctl() {
        let p = Policy {
            default_pressure_limit: Permyriad::new(2000).unwrap(),
            ..Policy::default()
        };
        let mem = SystemMemory {
            swap_total: 1 << 30,
            swap_free: 1 << 29,
            ..SystemMemory::default()
        };
        let sw = CgroupContext {
            path: "/s.slice".into(),
            swap_current: Some(4096),
            ..CgroupContext::default()
        };
        let mut m = PressureMonitored::default();
        m.context.path = "/w.slice".into();
        m.context.memory_current = Some(12 << 20);
        m.context.memory_min = Some(0);
        m.context.memory_low = Some(u64::MAX);
        m.context.memory_stat.insert("pgscan".into(), 42);
        m.context.pressure = Some(
            crate::psi::parse(
                "some avg10=1.00 avg60=2.00 avg300=3.00 total=5\n\
                 full avg10=0.50 avg60=0.25 avg300=0.00 total=1500000\n",
                std::path::Path::new("memory.pressure"),
            )
            .unwrap(),
        );
        let last = BTreeMap::from([("/w.slice".to_owned(), 40)]);
        let out = format_dump(&p, &mem, &[sw], &[m], &last);
        assert_eq!(
            out,
            "Dry Run: no\n\
             Swap Used Limit: 90.00%\n\
             Default Memory Pressure Limit: 20.00%\n\
             Default Memory Pressure Duration: 30s\n\
             System Context:\n\
             \tSwap: Used: 512.0M Total: 1.0G\n\
             Swap Monitored CGroups:\n\
             \tPath: /s.slice\n\
             \t\tSwap Usage: 4.0K\n\
             Memory Pressure Monitored CGroups:\n\
             \tPath: /w.slice\n\
             \t\tMemory Pressure Limit: 20.00%\n\
             \t\tPressure: Avg10: 0.50 Avg60: 0.25 Avg300: 0.00 Total: 1.500000s\n\
             \t\tCurrent Memory Usage: 12.0M\n\
             \t\tMemory Min: 0B\n\
             \t\tMemory Low: infinity\n\
             \t\tPgscan: 42\n\
             \t\tLast Pgscan: 40\n"
        );
    }
}
