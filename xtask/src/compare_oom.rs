//! `cargo xtask compare oom [--runs N] [--cgroups N] [--seconds S] [--release]`: the two
//! figures issue 5 asks of keel-oomd, measured on this host (root).
//!
//! 1. Kill delay. A cgroup gets real memory pressure (recipes §5.1: on a hybrid host a v1
//!    memory limit of 32M plus a re-read 256 MiB file whose cache is dropped every round;
//!    on pure v2 the same with `memory.max`), keel-oomd watches its parent with a 1% limit
//!    and a 2 s duration. The daemon's decision record says when the cgroup had been above
//!    the limit for the duration (`duration_elapsed_at`) and when the kill was done
//!    (`kills[].finished_at`), both `CLOCK_MONOTONIC`; this process also takes the time
//!    its blocking `waitpid` on the victim returns. systemd-oomd 248 samples once a
//!    second, so its delay is 0–1 s.
//! 2. CPU while idle: N (1000) empty cgroups, each watched through a `*.watch` file of
//!    `--config-dir`; after start-up, the daemon's CPU time (`/proc/PID/schedstat`, ns
//!    resolution; `/proc/PID/stat` utime+stime as a check) over S (30) seconds.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::util::{cargo, target_dir};

/// `CLOCK_MONOTONIC` in µs, from `Instant` (std documents `clock_gettime(CLOCK_MONOTONIC)`
/// on Linux; its `Debug` shows `tv_sec`/`tv_nsec`). xtask has no clock binding of its own.
fn monotonic_usec() -> Result<u64> {
    let s = format!("{:?}", Instant::now());
    let num = |key: &str| -> Option<u64> {
        let rest = &s[s.find(key)? + key.len()..];
        let end = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        rest[..end].parse().ok()
    };
    match (num("tv_sec: "), num("tv_nsec: ")) {
        (Some(sec), Some(nsec)) => Ok(sec * 1_000_000 + nsec / 1000),
        _ => bail!("cannot read CLOCK_MONOTONIC from {s}"),
    }
}

fn keel_oomd_binary(release: bool) -> Result<PathBuf> {
    let mut args = vec!["build", "-q", "-p", "keel-oomd"];
    if release {
        args.push("--release");
    }
    let st = cargo().args(&args).status().context("building keel-oomd")?;
    if !st.success() {
        bail!("cargo build -p keel-oomd failed");
    }
    let target = target_dir();
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("keel-oomd"))
}

/// The cgroup2 mount from `/proc/self/mountinfo`.
fn v2_mount() -> Result<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo")?;
    text.lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let dash = f.iter().position(|x| *x == "-")?;
            (f.get(dash + 1) == Some(&"cgroup2")).then(|| PathBuf::from(f[4]))
        })
        .context("no cgroup2 mount")
}

/// Removes a cgroup tree (children first), killing what is left in it.
fn remove_tree(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&e.path());
            }
        }
    }
    let _ = std::fs::write(dir.join("cgroup.kill"), "1");
    let end = Instant::now() + Duration::from_secs(3);
    while dir.exists() && std::fs::remove_dir(dir).is_err() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Forwards the daemon's stderr lines.
fn lines_of(child: &mut Child) -> Result<mpsc::Receiver<String>> {
    let err = child.stderr.take().context("no stderr pipe")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for l in BufReader::new(err).lines() {
            let Ok(l) = l else { break };
            if tx.send(l).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

fn wait_for(rx: &mpsc::Receiver<String>, pat: &str, count: usize, within: Duration) -> Result<()> {
    let end = Instant::now() + within;
    let mut seen = 0;
    while seen < count {
        let l = rx
            .recv_timeout(end.saturating_duration_since(Instant::now()))
            .with_context(|| format!("keel-oomd never printed {pat:?} ({seen}/{count})"))?;
        if l.contains(pat) {
            seen += 1;
        } else if l.contains("cannot") || l.contains("refused every") {
            eprintln!("  keel-oomd: {l}");
        }
    }
    Ok(())
}

/// The number after `"key":` in a JSON line.
fn json_u64(line: &str, key: &str) -> Option<u64> {
    let pat = format!("\"{key}\":");
    let rest = &line[line.find(&pat)? + pat.len()..];
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// One kill-delay run: (daemon's delay, delay until this process reaped the victim), µs.
fn kill_delay_run(bin: &Path, v2: &Path, tmp: &Path, big: &Path, run: usize) -> Result<(u64, u64)> {
    let name = format!("keel-compare-oom-{}-{run}", std::process::id());
    let w = v2.join(&name);
    std::fs::create_dir(&w)?;
    let v1_root = Path::new("/sys/fs/cgroup/memory");
    let hybrid = v1_root.join("memory.limit_in_bytes").exists();
    let v1 = v1_root.join(&name);
    let result = (|| {
        std::fs::create_dir(w.join("bloat"))?;
        std::fs::create_dir(w.join("chill"))?;
        let limit_file = if hybrid {
            std::fs::create_dir_all(v1.join("bloat"))?;
            v1.join("bloat/memory.limit_in_bytes")
        } else {
            std::fs::write(w.join("cgroup.subtree_control"), "+memory")?;
            w.join("bloat/memory.max")
        };
        std::fs::write(&limit_file, "32M")?;
        let log = tmp.join(format!("decisions-{run}.jsonl"));
        let mut d = Command::new(bin)
            .args([
                "--no-manager",
                "--config",
                "/nonexistent",
                "--trigger-window",
                "2s",
            ])
            .arg("--watch")
            .arg(format!("/{name}:limit=1%:duration=2s"))
            .arg("--log")
            .arg(&log)
            .stderr(Stdio::piped())
            .spawn()
            .context("starting keel-oomd")?;
        let lines = lines_of(&mut d)?;
        let armed = wait_for(&lines, "armed", 1, Duration::from_secs(10));
        let drop_cache = format!("dd if={} iflag=nocache count=0 status=none", big.display());
        let mut procs = format!("echo $$ > {}/cgroup.procs; ", w.join("bloat").display());
        if hybrid {
            procs.push_str(&format!(
                "echo $$ > {}/cgroup.procs; ",
                v1.join("bloat").display()
            ));
        }
        let script = format!(
            "{procs}end=$(( $(date +%s) + 40 )); \
             while [ $(date +%s) -lt $end ]; do cat {} > /dev/null; {drop_cache}; done",
            big.display()
        );
        let res = armed.and_then(|()| {
            let mut victim = Command::new("sh").arg("-c").arg(script).spawn()?;
            let st = victim.wait()?; // blocking waitpid
            let reaped = monotonic_usec()?;
            if st.code().is_some() {
                bail!("the workload was not killed within 40 s ({st})");
            }
            Ok(reaped)
        });
        // The daemon writes its record after confirming the cgroup emptied.
        let end = Instant::now() + Duration::from_secs(3);
        let text = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if text.contains("\"killed\":true") || Instant::now() > end {
                break text;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        let _ = d.kill();
        let _ = d.wait();
        let reaped = res?;
        let rec = text
            .lines()
            .find(|l| l.contains("\"killed\":true"))
            .context("no kill record in the decision log")?;
        let elapsed = json_u64(rec, "duration_elapsed_at").context("no duration_elapsed_at")?;
        let finished = json_u64(rec, "finished_at").context("no finished_at")?;
        Ok((
            finished.saturating_sub(elapsed),
            reaped.saturating_sub(elapsed),
        ))
    })();
    remove_tree(&w);
    if hybrid {
        remove_tree(&v1);
    }
    result
}

/// CPU time of `pid` in ns (`schedstat`) and in clock ticks (`stat` utime+stime).
fn cpu_of(pid: u32) -> Result<(u64, u64)> {
    let sched = std::fs::read_to_string(format!("/proc/{pid}/schedstat"))?;
    let ns = sched
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .context("malformed schedstat")?;
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    let after = &stat[stat.rfind(')').context("malformed stat")? + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 of stat(5), counted after the command name (field 3 is index 0).
    let ticks = f.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    Ok((ns, ticks))
}

/// Returns (start-up time, CPU ns, ticks, seconds measured).
fn idle_cpu(
    bin: &Path,
    v2: &Path,
    tmp: &Path,
    n: usize,
    secs: u64,
) -> Result<(Duration, u64, u64)> {
    let w = v2.join(format!("keel-compare-oom-idle-{}", std::process::id()));
    std::fs::create_dir(&w)?;
    let res = (|| {
        let conf = tmp.join("watch");
        std::fs::create_dir_all(&conf)?;
        for i in 0..n {
            let cg = format!("idle-{i:04}");
            std::fs::create_dir(w.join(&cg))?;
            std::fs::write(
                conf.join(format!("{cg}.watch")),
                format!(
                    "[Watch]\nCGroup=/{}/{cg}\nManagedOOMMemoryPressure=kill\n",
                    w.file_name().and_then(|s| s.to_str()).unwrap_or_default()
                ),
            )?;
        }
        let start = Instant::now();
        let mut d = Command::new(bin)
            .args(["--no-manager", "--config", "/nonexistent"])
            .arg("--config-dir")
            .arg(&conf)
            .stderr(Stdio::piped())
            .spawn()
            .context("starting keel-oomd")?;
        let lines = lines_of(&mut d)?;
        let r = (|| {
            wait_for(&lines, "armed", n, Duration::from_secs(120))?;
            let startup = start.elapsed();
            std::thread::sleep(Duration::from_secs(2));
            let (ns0, t0) = cpu_of(d.id())?;
            std::thread::sleep(Duration::from_secs(secs));
            let (ns1, t1) = cpu_of(d.id())?;
            Ok((startup, ns1 - ns0, t1 - t0))
        })();
        let _ = d.kill();
        let _ = d.wait();
        r
    })();
    remove_tree(&w);
    res
}

/// Runs both measurements; `Ok(true)` when both meet the targets.
pub(crate) fn oom(args: &[String]) -> Result<bool> {
    let (mut runs, mut cgroups, mut secs, mut release) = (3usize, 1000usize, 30u64, false);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut num = |what: &str| {
            it.next()
                .and_then(|n| n.parse::<u64>().ok())
                .with_context(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--runs" => runs = usize::try_from(num("--runs")?)?,
            "--cgroups" => cgroups = usize::try_from(num("--cgroups")?)?,
            "--seconds" => secs = num("--seconds")?,
            "--release" => release = true,
            other => bail!("unknown argument {other}"),
        }
    }
    testkit::require_root();
    let bin = keel_oomd_binary(release)?;
    let v2 = v2_mount()?;
    let tmp = PathBuf::from(format!("/var/tmp/keel-compare-oom-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let out = (|| {
        let big = tmp.join("big.bin");
        std::fs::write(&big, vec![0x5au8; 256 << 20])?;
        let mut internal = Vec::new();
        let mut external = Vec::new();
        for run in 0..runs {
            let (i, e) = kill_delay_run(&bin, &v2, &tmp, &big, run)?;
            println!(
                "  run {}: kill done {:.1} ms after the duration elapsed, victim reaped after {:.1} ms",
                run + 1,
                ms(i),
                ms(e)
            );
            internal.push(i);
            external.push(e);
        }
        internal.sort_unstable();
        external.sort_unstable();
        let max_i = internal.last().copied().unwrap_or(0);
        println!(
            "kill delay (limit 1%, duration 2s, {runs} runs): median {:.1} ms, max {:.1} ms \
             (daemon clock); victim reaped: median {:.1} ms, max {:.1} ms; target < 100 ms; \
             systemd-oomd 248 samples every 1 s: 0-1000 ms",
            ms(internal[internal.len() / 2]),
            ms(max_i),
            ms(external[external.len() / 2]),
            ms(external.last().copied().unwrap_or(0)),
        );
        let (startup, ns, ticks) = idle_cpu(&bin, &v2, &tmp, cgroups, secs)?;
        #[allow(clippy::cast_precision_loss)] // a percentage for printing
        let pct = ns as f64 / (secs as f64 * 1e9) * 100.0;
        println!(
            "idle CPU watching {cgroups} cgroups for {secs} s: {:.3} ms on CPU ({ticks} clock ticks) \
             = {pct:.4}% of a core; target < 0.1%; start-up (arming {cgroups} triggers, first \
             sample) {:.0} ms",
            ns as f64 / 1e6,
            startup.as_secs_f64() * 1e3
        );
        Ok(max_i < 100_000 && pct < 0.1)
    })();
    let _ = std::fs::remove_dir_all(&tmp);
    out
}

#[allow(clippy::cast_precision_loss)] // microseconds for printing
fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}
