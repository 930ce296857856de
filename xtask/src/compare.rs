//! `cargo xtask compare unit-load`: keel against Debian's systemd on the same work, in one
//! run, with the ratio printed.
//!
//! Both load every unit of the Debian corpus (`testkit::corpus`) from the same search path
//! and print their dump of every unit: `systemd --test --system --unit=keel-all.target
//! --no-pager` (a target that `Wants=` every unit; run as `nobody`, as test mode requires)
//! and `keel-analyze dump NAME...`. Each side runs `--runs` times (default 15), alternating;
//! the medians of the wall-clock times are compared.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::util::{cargo, median, target_dir};

fn unit_names(dirs: &[PathBuf]) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for d in dirs {
        for e in std::fs::read_dir(d).with_context(|| format!("reading {}", d.display()))? {
            let e = e?;
            let n = e.file_name().to_string_lossy().into_owned();
            let is_unit = [
                ".service",
                ".socket",
                ".timer",
                ".mount",
                ".path",
                ".target",
                ".slice",
                ".automount",
                ".swap",
            ]
            .iter()
            .any(|s| n.ends_with(s));
            if !is_unit || e.path().is_dir() {
                continue;
            }
            let n = match n.split_once("@.") {
                Some((p, t)) => format!("{p}@example.{t}"),
                None => n,
            };
            if !names.contains(&n) {
                names.push(n);
            }
        }
    }
    names.sort();
    Ok(names)
}

fn time(cmd: &mut Command) -> Result<Duration> {
    let t = Instant::now();
    let st = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .with_context(|| format!("running {cmd:?}"))?;
    let d = t.elapsed();
    if !st.success() {
        bail!("{cmd:?} failed: {st}");
    }
    Ok(d)
}

/// `compare unit-load [--runs N]`.
pub(crate) fn unit_load(args: &[String]) -> Result<bool> {
    let runs: usize = match args.iter().position(|a| a == "--runs") {
        Some(i) => args.get(i + 1).context("--runs N")?.parse()?,
        None => 15,
    };
    let st = cargo()
        .args(["build", "--release", "-q", "-p", "keel-analyze"])
        .status()?;
    if !st.success() {
        bail!("building keel-analyze failed");
    }
    let target = target_dir();
    let keel = std::path::absolute(target.join("release/keel-analyze"))?;
    let root = testkit::corpus::debian_corpus();
    let dirs = testkit::corpus::unit_dirs(root);
    let names = unit_names(&dirs)?;

    let tmp = std::env::temp_dir().join(format!("keel-compare-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    let mut t = String::from("[Unit]\nDescription=every corpus unit\n");
    for n in &names {
        let _ = writeln!(t, "Wants={n}");
    }
    std::fs::write(tmp.join("keel-all.target"), t)?;
    let search = std::iter::once(tmp.clone())
        .chain(dirs.iter().cloned())
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let keel_search = dirs
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(":");

    let systemd = || {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg("/lib/systemd/systemd")
            .args(["--test", "--system", "--unit=keel-all.target", "--no-pager"])
            .env("SYSTEMD_UNIT_PATH", &search)
            .current_dir(Path::new("/"));
        c
    };
    let ours = || {
        let mut c = Command::new(&keel);
        c.arg("dump")
            .args(&names)
            .env("SYSTEMD_UNIT_PATH", &keel_search);
        c
    };
    // Warm the page cache and check both work.
    time(&mut systemd())?;
    let _ = ours()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        a.push(time(&mut systemd())?);
        let t0 = Instant::now();
        ours()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        b.push(t0.elapsed());
    }
    let _ = std::fs::remove_dir_all(&tmp);
    let (ma, mb) = (median(a), median(b));
    println!(
        "unit-load: {} units of the Debian corpus, load + dump, median of {runs} runs\n  \
         systemd 252 --test: {:>8.2} ms\n  keel-analyze dump:  {:>8.2} ms\n  ratio systemd/keel: {:.2}x",
        names.len(),
        ma.as_secs_f64() * 1e3,
        mb.as_secs_f64() * 1e3,
        ma.as_secs_f64() / mb.as_secs_f64()
    );
    Ok(true)
}
