//! `cargo xtask compare sysext [--runs N] [--release]`: keel-sysext against Debian's
//! systemd-sysext merging and unmerging the same 10 directory extensions into the same
//! `--root` tree, side by side in one run, with the wall-time ratio (target: keel at most
//! 0.5×).
//!
//! Everything happens on a thread that unshared its own mount namespace (made private,
//! then shared again inside so that systemd-sysext's propagation-based merge works, with a
//! tmpfs on `/run`), so the host's mounts never change. The runs alternate between the
//! tools; each run times `merge` and then `unmerge` as separate processes, and the medians
//! of merge, unmerge and their sum are printed.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use keel_exec::nix::mount::{MsFlags, mount};
use keel_exec::nix::sched::{CloneFlags, unshare};

use crate::util::{cargo, median, target_dir};

const SYSTEMD_SYSEXT: &str = "/usr/bin/systemd-sysext";
const EXTENSIONS: usize = 10;

fn time(bin: &Path, root: &Path, verb: &str) -> Result<Duration> {
    let t = Instant::now();
    let out = Command::new(bin)
        .arg(format!("--root={}", root.display()))
        .arg(verb)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {} {verb}", bin.display()))?;
    let d = t.elapsed();
    if !out.status.success() {
        bail!(
            "{} {verb} failed ({}): {}",
            bin.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(d)
}

fn keel_sysext_binary(release: bool) -> Result<PathBuf> {
    let mut cmd = cargo();
    cmd.args(["build", "-q", "-p", "keel-sysext"]);
    if release {
        cmd.arg("--release");
    }
    let st = cmd.status().context("building keel-sysext")?;
    if !st.success() {
        bail!("cargo build -p keel-sysext failed");
    }
    let target = target_dir();
    Ok(target
        .join(if release { "release" } else { "debug" })
        .join("keel-sysext"))
}

/// The `--root` tree: Debian 12 os-release, a host `/usr`, 10 directory extensions.
fn build_tree(root: &Path) -> Result<()> {
    fs::create_dir_all(root.join("etc"))?;
    fs::create_dir_all(root.join("usr/bin"))?;
    fs::write(root.join("etc/os-release"), "ID=debian\nVERSION_ID=12\n")?;
    fs::write(root.join("usr/bin/host-tool"), "host")?;
    for i in 0..EXTENSIONS {
        let name = format!("ext{i:02}");
        let e = root.join("var/lib/extensions").join(&name);
        fs::create_dir_all(e.join("usr/lib/extension-release.d"))?;
        fs::create_dir_all(e.join("usr/bin"))?;
        fs::create_dir_all(e.join("usr/share").join(&name))?;
        fs::write(
            e.join("usr/lib/extension-release.d")
                .join(format!("extension-release.{name}")),
            "ID=debian\nVERSION_ID=12\n",
        )?;
        fs::write(e.join("usr/bin").join(format!("{name}-tool")), &name)?;
        fs::write(e.join("usr/share").join(&name).join("data"), &name)?;
    }
    Ok(())
}

fn enter_private_namespace() -> Result<()> {
    unshare(CloneFlags::CLONE_NEWNS | CloneFlags::CLONE_FS).context("unshare(CLONE_NEWNS)")?;
    let flags = [
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        MsFlags::MS_REC | MsFlags::MS_SHARED,
    ];
    for f in flags {
        mount(None::<&str>, "/", None::<&str>, f, None::<&str>)
            .context("changing / propagation")?;
    }
    mount(
        Some("tmpfs"),
        "/run",
        Some("tmpfs"),
        MsFlags::empty(),
        Some("mode=0755"),
    )
    .context("tmpfs on /run")?;
    Ok(())
}

/// Runs the comparison; `Ok(true)` when keel is within the 0.5× target.
pub(crate) fn sysext(args: &[String]) -> Result<bool> {
    let mut runs = 20usize;
    let mut release = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--runs" => {
                runs = it
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .context("--runs needs a positive number")?;
            }
            "--release" => release = true,
            other => bail!("unknown argument {other}"),
        }
    }
    crate::packages::ensure(&["systemd"])?;
    testkit::require_tool(SYSTEMD_SYSEXT, "systemd");
    let keel = keel_sysext_binary(release)?;
    let dir = std::env::temp_dir().join(format!("keel-compare-sysext-{}", std::process::id()));
    let root = dir.join("root");
    build_tree(&root)?;
    let sd = PathBuf::from(SYSTEMD_SYSEXT);
    let result = std::thread::scope(|s| {
        s.spawn(|| -> Result<[[Vec<Duration>; 2]; 2]> {
            enter_private_namespace()?;
            let mut t: [[Vec<Duration>; 2]; 2] = Default::default();
            for run in 0..runs {
                let order = if run % 2 == 0 { [0, 1] } else { [1, 0] };
                for tool in order {
                    let bin = if tool == 0 { &keel } else { &sd };
                    t[tool][0].push(time(bin, &root, "merge")?);
                    if !root.join("usr/bin/ext09-tool").exists() {
                        bail!("{} merge had no visible effect", bin.display());
                    }
                    t[tool][1].push(time(bin, &root, "unmerge")?);
                    if root.join("usr/bin/ext09-tool").exists() {
                        bail!("{} unmerge had no visible effect", bin.display());
                    }
                }
            }
            Ok(t)
        })
        .join()
    });
    let _ = fs::remove_dir_all(&dir);
    let t = match result {
        Ok(r) => r?,
        Err(_) => bail!("the comparison thread panicked"),
    };
    let total = |i: usize| -> Vec<Duration> {
        t[i][0].iter().zip(&t[i][1]).map(|(a, b)| *a + *b).collect()
    };
    let (keel_total, sd_total) = (median(total(0)), median(total(1)));
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "sysext merge+unmerge of {EXTENSIONS} directory extensions, {runs} runs each, medians ({} build of keel-sysext):",
        if release { "release" } else { "debug" }
    );
    println!(
        "  keel-sysext     merge {:8.2} ms  unmerge {:8.2} ms  total {:8.2} ms",
        ms(median(t[0][0].clone())),
        ms(median(t[0][1].clone())),
        ms(keel_total)
    );
    println!(
        "  systemd-sysext  merge {:8.2} ms  unmerge {:8.2} ms  total {:8.2} ms",
        ms(median(t[1][0].clone())),
        ms(median(t[1][1].clone())),
        ms(sd_total)
    );
    let ratio = keel_total.as_secs_f64() / sd_total.as_secs_f64().max(f64::MIN_POSITIVE);
    println!("  ratio keel/systemd: {ratio:.3} (target <= 0.5)");
    Ok(ratio <= 0.5)
}
