//! `cargo xtask compare spawn [--runs N]`: keel-run against bubblewrap starting the same
//! sandboxed `/bin/true`, side by side in one run, with the wall-time ratio.
//!
//! Both sides: a new IPC namespace, a new mount namespace with a fresh tmpfs on `/tmp`, and
//! the `@system-service` seccomp allow-list (keel compiles it; bwrap gets the very same BPF
//! program through `--seccomp FD`). keel additionally applies `NoExecPaths=/` with
//! `ExecPaths=/usr` (bwrap has no per-path noexec) and a tmpfs on `/var/tmp`
//! (`PrivateTmp=`), so keel does strictly more work. The runs alternate and the medians
//! are compared. `--release` measures an optimised keel-run (as shipped); the default
//! debug build carries debug-mode overhead in its own start-up.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use keel_exec::seccomp::FilterRules;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn time(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd:?}"))?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(d)
}

/// Like [`time`], keeping the stdin the command was given (bwrap's seccomp program).
fn time_status(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let st = cmd.status().with_context(|| format!("running {cmd:?}"))?;
    let d = t.elapsed();
    if !st.success() {
        bail!("{cmd:?} failed: {st}");
    }
    Ok(d)
}

fn keel_run_binary(release: bool) -> Result<PathBuf> {
    let mut args = vec!["build", "-q", "-p", "keel-run"];
    if release {
        args.push("--release");
    }
    let st = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(&args)
        .status()
        .context("building keel-run")?;
    if !st.success() {
        bail!("cargo build -p keel-run failed");
    }
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| PathBuf::from("target"), PathBuf::from);
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("keel-run"))
}

fn seccomp_file(dir: &Path) -> Result<PathBuf> {
    let rules = FilterRules::from_service_text("SystemCallFilter=@system-service");
    let programs = rules
        .compile_native()
        .context("compiling @system-service")?;
    let mut bytes = Vec::new();
    for p in &programs {
        for i in &p.program {
            bytes.extend_from_slice(&i.code.to_ne_bytes());
            bytes.push(i.jt);
            bytes.push(i.jf);
            bytes.extend_from_slice(&i.k.to_ne_bytes());
        }
    }
    let path = dir.join("system-service.bpf");
    std::fs::File::create(&path)?.write_all(&bytes)?;
    Ok(path)
}

/// Runs the comparison; `Ok(true)` when keel is within the 0.7× target.
pub(crate) fn spawn(args: &[String]) -> Result<bool> {
    let mut runs = 50usize;
    let mut release = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .context("--runs needs a number")?;
            }
            "--release" => release = true,
            other => bail!("unknown argument {other}"),
        }
    }
    crate::packages::ensure(&["bubblewrap"])?;
    testkit::require_tool("/usr/bin/bwrap", "bubblewrap");
    let keel = keel_run_binary(release)?;
    let dir = std::env::temp_dir().join(format!("keel-compare-spawn-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let bpf = seccomp_file(&dir)?;
    let keel_cmd = || {
        let mut c = Command::new(&keel);
        c.args([
            "-p",
            "PrivateIPC=yes",
            "-p",
            "PrivateTmp=yes",
            "-p",
            "NoExecPaths=/",
            "-p",
            "ExecPaths=/usr",
            "-p",
            "SystemCallFilter=@system-service",
            "--",
            "/bin/true",
        ]);
        c
    };
    let bwrap_cmd = || -> Result<Command> {
        let f = std::fs::File::open(&bpf)?;
        let mut c = Command::new("/usr/bin/bwrap");
        c.args([
            "--unshare-ipc",
            "--bind",
            "/",
            "/",
            "--tmpfs",
            "/tmp",
            "--seccomp",
            "0",
            "/bin/true",
        ]);
        c.stdin(Stdio::from(f));
        Ok(c)
    };
    // Warm both (page cache, first-run mount setup), then alternate.
    time(&mut keel_cmd())?;
    time_status(&mut bwrap_cmd()?)?;
    let (mut k, mut w) = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for _ in 0..runs {
        k.push(time(&mut keel_cmd())?);
        w.push(time_status(&mut bwrap_cmd()?)?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (km, wm) = (median(k), median(w));
    let ratio = km.as_secs_f64() / wm.as_secs_f64();
    println!(
        "compare spawn: /bin/true with PrivateIPC, private /tmp, seccomp @system-service ({runs} runs each)"
    );
    println!("  keel-run (+NoExecPaths=/ ExecPaths=/usr, PrivateTmp): median {km:?}");
    println!("  bwrap --unshare-ipc --bind / / --tmpfs /tmp --seccomp: median {wm:?}");
    println!("  ratio keel/bwrap: {ratio:.2}x (target <= 0.70x)");
    Ok(ratio <= 0.7)
}
