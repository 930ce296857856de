//! Turning the command line into a [`MonitorConfig`], and printing what the monitor reports.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use keel_core::size::Permyriad;
use keel_core::time::parse_sec;
use keel_oom::cgroup::{self, Layout};
use keel_oom::kill::KillOptions;
use keel_oom::monitor::{Event, Monitor, MonitorConfig, Record, is_quiet};
use keel_oom::policy::{Granularity, Policy, Verdict};
use keel_oom::{conf, watch};

use crate::Args;

fn percent(v: &str, what: &str) -> Result<Permyriad> {
    keel_core::size::parse_permyriad(v)
        .ok()
        .and_then(Permyriad::new)
        .with_context(|| format!("{what}: invalid percentage {v:?}"))
}

fn policy(args: &Args) -> Result<Policy> {
    let (main, dropins) = match &args.config {
        Some(p) => {
            let mut d = p.clone().into_os_string();
            d.push(".d");
            (p.clone(), vec![PathBuf::from(d)])
        }
        None => conf::standard_paths(Path::new("/")),
    };
    let (c, diags) = conf::load(&main, &dropins).context("loading oomd.conf")?;
    for d in diags {
        eprintln!("keel-oomd: {d}");
    }
    let mut p = Policy::default();
    p.swap_used_limit = c.swap_used_limit;
    p.default_pressure_limit = c.default_memory_pressure_limit;
    p.pressure_duration = c.default_memory_pressure_duration;
    p.dry_run = args.dry_run;
    if args.kill_process {
        p.granularity = Granularity::Process;
    }
    if let Some(v) = &args.guard_full_avg10 {
        p.guard.min_system_full_avg10 = Some(percent(v, "--guard-full-avg10")?);
    }
    if let Some(v) = &args.guard_available {
        p.guard.max_available = Some(percent(v, "--guard-available")?);
    }
    Ok(p)
}

fn config(args: &Args) -> Result<MonitorConfig> {
    let proc = PathBuf::from("/proc");
    if !proc.join("pressure/memory").exists() {
        bail!("PSI is not available (/proc/pressure/memory missing; boot with psi=1)");
    }
    let mut cfg = MonitorConfig::default();
    match &args.cgroup_root {
        Some(r) => cfg.cgroup_root = r.clone(),
        None => {
            let m = cgroup::read_v2_mount(&proc)?.context("no cgroup2 mount found")?;
            if m.layout == Layout::Hybrid {
                let v1 = m.path.parent().map(|p| p.join("memory"));
                cfg.v1_memory_root = v1.filter(|p| p.join("memory.stat").exists());
                eprintln!(
                    "keel-oomd: hybrid cgroup layout, v2 at {}; memory use and reclaim from {}",
                    m.path.display(),
                    cfg.v1_memory_root
                        .as_deref()
                        .map_or("nowhere".into(), |p| p.display().to_string())
                );
            }
            cfg.cgroup_root = m.path;
        }
    }
    cfg.policy = policy(args)?;
    cfg.trigger_window = parse_sec(&args.trigger_window).ok().with_context(|| {
        format!(
            "--trigger-window: invalid time span {:?}",
            args.trigger_window
        )
    })?;
    let mut kill = KillOptions::default();
    kill.force_sigkill_each = args.sigkill_each;
    cfg.kill = kill;
    if !args.no_manager {
        cfg.manager_socket = Some(args.manager_socket.clone());
    }
    if let Some(dir) = &args.config_dir {
        let (ws, diags) = watch::load_watch_dir(dir)
            .with_context(|| format!("loading watch files from {}", dir.display()))?;
        for d in diags {
            eprintln!("keel-oomd: {d}");
        }
        cfg.watches.extend(ws);
    }
    for w in &args.watch {
        cfg.watches
            .push(watch::parse_watch_arg(w).with_context(|| format!("--watch {w}"))?);
    }
    let mem = cgroup::read_meminfo(&proc)?;
    if mem.swap_total == 0 {
        eprintln!(
            "keel-oomd: swap is currently not detected; memory pressure usage will be degraded"
        );
    }
    Ok(cfg)
}

fn summary(r: &Record) -> String {
    let mut s = r.decision.explanation.why.clone();
    if let Verdict::WouldKill { order } = &r.decision.verdict {
        s.push_str(&format!(
            " (dry run: would have killed {})",
            order.first().map_or("nothing", String::as_str)
        ));
    }
    for k in &r.kills {
        let process = k.process.as_ref().and_then(|c| {
            let pid = c.chosen?;
            let name = c
                .ranked
                .iter()
                .find(|p| p.process.pid == pid)
                .map_or("?", |p| p.process.name.as_str());
            Some(format!("process {pid} ({name}) of "))
        });
        s.push_str(&match (&k.error, k.killed) {
            (Some(e), _) => format!("; failed to kill {}: {e}", k.cgroup),
            (None, true) => format!("; killed {}{}", process.unwrap_or_default(), k.cgroup),
            (None, false) => format!("; nothing to kill in {}", k.cgroup),
        });
    }
    s
}

/// Runs `--dump` or the daemon.
pub(crate) fn run(args: &Args) -> Result<()> {
    let cfg = config(args)?;
    if args.dump {
        let mut m = Monitor::new(cfg);
        print!("{}", m.dump(Duration::from_secs(1)));
        return Ok(());
    }
    let mut log: Option<Box<dyn Write>> = match &args.log {
        None => None,
        Some(p) if p.as_os_str() == "-" => Some(Box::new(std::io::stdout())),
        Some(p) => Some(Box::new(
            OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .with_context(|| format!("opening log {}", p.display()))?,
        )),
    };
    let mut m = Monitor::new(cfg);
    let mut sink = |e: Event| match e {
        Event::Notice(n) => eprintln!("keel-oomd: {n}"),
        Event::Decision(r) => {
            if !is_quiet(&r.decision) || !r.kills.is_empty() {
                eprintln!("keel-oomd: {}", summary(&r));
            }
            if let Some(w) = log.as_mut() {
                let line = serde_json::to_string(&r).unwrap_or_default();
                if writeln!(w, "{line}").and_then(|()| w.flush()).is_err() {
                    eprintln!("keel-oomd: cannot write the decision log");
                }
            }
        }
        _ => {}
    };
    m.run(&mut sink)?;
    Ok(())
}
