//! `cargo xtask compare spawn [--runs N]`: keel-run against bubblewrap starting the same
//! sandboxed `/bin/true`, side by side in one run, with the wall-time ratio.
//!
//! Both sides: a new IPC namespace, a new mount namespace with a fresh tmpfs on `/tmp`, and
//! the `@system-service` seccomp allow-list (keel compiles it; bwrap gets the very same BPF
//! program through `--seccomp FD`). keel additionally applies `NoExecPaths=/` with
//! `ExecPaths=/usr` (bwrap has no per-path noexec) and a tmpfs on `/var/tmp`
//! (`PrivateTmp=`), so keel does strictly more work. The runs alternate and the medians
//! are compared. keel-run runs twice: as `bwrap` does (a forked child, the parent waits and
//! turns a signal into 128+N) and with `--exec` (the sandbox is set up in keel-run's own
//! process, which then becomes `/bin/true`). `--release` measures keel-run as shipped
//! (optimised, statically linked); the default debug build carries debug-mode overhead in
//! its own start-up.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use keel_exec::seccomp::FilterRules;

use crate::util::{cargo, median, target_dir};

/// Wall time of one run; both sides are run alike: stdout to `/dev/null`, stderr
/// inherited (so a failure shows its message), stdin as set on `cmd` (bwrap's seccomp
/// program; `/dev/null` for keel-run).
fn time(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .status()
        .with_context(|| format!("running {cmd:?}"))?;
    let d = t.elapsed();
    if !st.success() {
        bail!("{cmd:?} failed: {st}");
    }
    Ok(d)
}

fn host_triple() -> Result<String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(str::to_owned)
        .context("rustc -vV printed no host triple")
}

/// The musl twin of the host's glibc triple, when rustup has (or can add) its standard
/// library: musl's start-up does no CPUID probing, which glibc's static start-up does
/// (each CPUID traps to the hypervisor on a virtual machine).
fn musl_triple(host: &str) -> Option<String> {
    let musl = host.strip_suffix("-gnu")?.to_owned() + "-musl";
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .ok()?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == musl)
    {
        return Some(musl);
    }
    let added = Command::new("rustup")
        .args(["target", "add", &musl])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    added.success().then_some(musl)
}

/// Builds keel-run: debug, or as shipped (the `dist` profile: release with fat LTO, one
/// codegen unit, abort on panic; statically linked and not
/// position-independent: no dynamic loader and no relocation work at start-up; musl when
/// available, else glibc). `RUSTFLAGS` with an explicit `--target` reach only the target's
/// crates, not build scripts and proc-macros. Returns the binary and its flavour.
fn keel_run_binary(release: bool) -> Result<(PathBuf, String)> {
    let mut cmd = cargo();
    cmd.args(["build", "-q", "-p", "keel-run"]);
    let target = target_dir();
    let (dir, flavour) = if release {
        let host = host_triple()?;
        let triple = musl_triple(&host).unwrap_or(host);
        cmd.args(["--profile", "dist", "--target", &triple]).env(
            "RUSTFLAGS",
            "-C target-feature=+crt-static -C relocation-model=static",
        );
        let flavour = format!("profile dist (fat LTO), static non-PIE {triple}");
        (target.join(triple).join("dist"), flavour)
    } else {
        (target.join("debug"), "debug".to_owned())
    };
    let st = cmd.status().context("building keel-run")?;
    if !st.success() {
        bail!("cargo build -p keel-run failed");
    }
    Ok((dir.join("keel-run"), flavour))
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
    let (keel, build) = keel_run_binary(release)?;
    let dir = std::env::temp_dir().join(format!("keel-compare-spawn-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let bpf = seccomp_file(&dir)?;
    let keel_cmd = |exec: bool| {
        let mut c = Command::new(&keel);
        c.stdin(Stdio::null());
        if exec {
            c.arg("--exec");
        }
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
    // Warm all three (page cache, first-run mount setup), then alternate.
    time(&mut keel_cmd(false))?;
    time(&mut keel_cmd(true))?;
    time(&mut bwrap_cmd()?)?;
    let (mut k, mut x, mut w) = (
        Vec::with_capacity(runs),
        Vec::with_capacity(runs),
        Vec::with_capacity(runs),
    );
    for _ in 0..runs {
        k.push(time(&mut keel_cmd(false))?);
        x.push(time(&mut keel_cmd(true))?);
        w.push(time(&mut bwrap_cmd()?)?);
    }
    let _ = std::fs::remove_dir_all(&dir);
    let (km, xm, wm) = (median(k), median(x), median(w));
    let ratio = km.as_secs_f64() / wm.as_secs_f64();
    let xratio = xm.as_secs_f64() / wm.as_secs_f64();
    println!(
        "compare spawn: /bin/true with PrivateIPC, private /tmp, seccomp @system-service ({runs} runs each, keel-run {build})"
    );
    println!("  keel-run (+NoExecPaths=/ ExecPaths=/usr, PrivateTmp): median {km:?}");
    println!("  keel-run --exec (same, no fork):                  median {xm:?}");
    println!("  bwrap --unshare-ipc --bind / / --tmpfs /tmp --seccomp: median {wm:?}");
    println!(
        "  ratio keel-run/bwrap: {ratio:.2}x, keel-run --exec/bwrap: {xratio:.2}x (target <= 0.70x)"
    );
    Ok(ratio.min(xratio) <= 0.7)
}
