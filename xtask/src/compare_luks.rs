//! `cargo xtask compare luks [--runs N]`: keel against cryptsetup unlocking the same LUKS2
//! keyslot with the same KDF parameters, side by side in one run, with the wall-time ratio.
//!
//! Each image is made by `cryptsetup luksFormat` (so both sides read the very same header
//! and keyslot). cryptsetup runs `open --test-passphrase --key-slot 0 --key-file=-`; keel runs
//! its release `keel-cryptenroll --test-passphrase --key-slot=0` with `$PASSWORD`. Both are a
//! process start, both header copies read and verified, the KDF, the area decrypt, the AF
//! merge and the digest check; neither activates anything. The runs alternate and the medians
//! are compared. Cases: pbkdf2-sha256 with 1000 iterations (almost only process start-up and
//! header work), with a fixed 1,000,000 iterations, and argon2id with 64 MiB, t=4 at p=1 and
//! p=4 (cryptsetup stores at most as many threads as there are online CPUs; the stored
//! count is printed; keel computes the lanes of a multi-lane keyslot on parallel threads).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::util::{cargo, median, target_dir};

const PASS: &str = "compare luks passphrase";

/// Builds the optimised keel-cryptenroll (as shipped) and returns its path.
fn keel_binary() -> Result<PathBuf> {
    let st = cargo()
        .args(["build", "-q", "--release", "-p", "keel-cryptenroll"])
        .status()
        .context("building keel-cryptenroll")?;
    if !st.success() {
        bail!("cargo build --release -p keel-cryptenroll failed");
    }
    let target = target_dir();
    Ok(target.join("release").join("keel-cryptenroll"))
}

/// Runs `cmd` (feeding `stdin`), failing unless it succeeds; returns the wall time.
fn timed(cmd: &mut Command, stdin: &[u8]) -> Result<Duration> {
    let t = Instant::now();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {cmd:?}"))?;
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin).context("writing stdin")?;
    }
    let out = child.wait_with_output().context("waiting")?;
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

fn format_image(dir: &Path, name: &str, kdf: &[&str]) -> Result<PathBuf> {
    let img = dir.join(name);
    std::fs::File::create(&img)
        .and_then(|f| f.set_len(32 << 20))
        .with_context(|| format!("creating {}", img.display()))?;
    let mut cmd = Command::new("cryptsetup");
    cmd.args([
        "luksFormat",
        "--type",
        "luks2",
        "--batch-mode",
        "--key-file=-",
    ])
    .args(kdf)
    .arg(&img);
    timed(&mut cmd, PASS.as_bytes()).context("cryptsetup luksFormat (Debian cryptsetup-bin)")?;
    Ok(img)
}

/// The argon2 "Threads:" of keyslot 0 as `cryptsetup luksDump` shows it (cryptsetup caps
/// `--pbkdf-parallel` at the number of online CPUs when it formats).
fn stored_threads(img: &Path) -> Result<Option<String>> {
    let out = Command::new("cryptsetup")
        .arg("luksDump")
        .arg(img)
        .output()
        .context("cryptsetup luksDump")?;
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Threads:"))
        .map(|t| t.trim().to_owned()))
}

/// `cargo xtask compare luks [--runs N]`.
pub(crate) fn luks(args: &[String]) -> Result<bool> {
    let runs: usize = match args {
        [] => 5,
        [flag, n] if flag == "--runs" => n.parse().context("--runs N")?,
        _ => bail!("usage: cargo xtask compare luks [--runs N]"),
    };
    let runs = runs.max(1);
    let keel = keel_binary()?;
    let dir = std::env::temp_dir().join(format!("keel-compare-luks-{}", std::process::id()));
    std::fs::create_dir_all(&dir).context("temp dir")?;
    let cases: [(&str, &[&str]); 4] = [
        (
            "pbkdf2-sha256 1000 (start-up)",
            &[
                "--pbkdf",
                "pbkdf2",
                "--hash",
                "sha256",
                "--pbkdf-force-iterations",
                "1000",
            ],
        ),
        (
            "pbkdf2-sha256 1M iterations",
            &[
                "--pbkdf",
                "pbkdf2",
                "--hash",
                "sha256",
                "--pbkdf-force-iterations",
                "1000000",
            ],
        ),
        (
            "argon2id 64 MiB t=4 p=1",
            &[
                "--pbkdf",
                "argon2id",
                "--pbkdf-memory",
                "65536",
                "--pbkdf-force-iterations",
                "4",
                "--pbkdf-parallel",
                "1",
            ],
        ),
        (
            "argon2id 64 MiB t=4 p=4",
            &[
                "--pbkdf",
                "argon2id",
                "--pbkdf-memory",
                "65536",
                "--pbkdf-force-iterations",
                "4",
                "--pbkdf-parallel",
                "4",
            ],
        ),
    ];
    println!(
        "{:<30} {:>14} {:>14} {:>7}   ({runs} runs each, medians)",
        "keyslot KDF", "cryptsetup", "keel", "ratio"
    );
    let mut ok = true;
    for (i, (name, kdf)) in cases.iter().enumerate() {
        let img = format_image(&dir, &format!("case{i}.img"), kdf)?;
        let threads = stored_threads(&img)?;
        let mut peer = Vec::new();
        let mut mine = Vec::new();
        for _ in 0..runs {
            let mut c = Command::new("cryptsetup");
            c.args([
                "open",
                "--test-passphrase",
                "--key-slot",
                "0",
                "--key-file=-",
            ])
            .arg(&img);
            peer.push(timed(&mut c, PASS.as_bytes())?);
            let mut k = Command::new(&keel);
            k.args(["--test-passphrase", "--key-slot=0"])
                .arg(&img)
                .env("PASSWORD", PASS);
            mine.push(timed(&mut k, b"")?);
        }
        let (p, m) = (median(peer), median(mine));
        let ratio = m.as_secs_f64() / p.as_secs_f64();
        ok &= ratio <= 1.1;
        println!(
            "{name:<30} {:>11.1} ms {:>11.1} ms {ratio:>6.2}x{}",
            p.as_secs_f64() * 1e3,
            m.as_secs_f64() * 1e3,
            threads.map_or_else(String::new, |t| format!("   (stored threads: {t})"))
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("target: keel <= 1.1x cryptsetup");
    Ok(ok)
}
