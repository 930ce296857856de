//! Booting one scenario: QEMU (KVM when it works, else TCG), optional swtpm and disk, the
//! 9p results share, a timeout, and the scenario's exit status as the result.
//!
//! Results come back two ways: the guest init writes the exit status to `/share/rc` on
//! the 9p share and prints `@@KEEL-VM RC=<n>` on the serial console, which QEMU sends to
//! its stdout. The file wins; the marker is the fallback when the share broke. With
//! neither (init crashed, kernel panic: `panic=-1 -no-reboot` then ends QEMU) or when the
//! timeout kills QEMU, the scenario fails. The serial log and the scenario's own output
//! are kept in `<target>/vm/runs/<scenario>/`.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::build::Image;
use super::scenario::Scenario;

/// QEMU's accelerator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accel {
    /// Hardware virtualisation (`-accel kvm -cpu host`).
    Kvm,
    /// Emulation (`-accel tcg -cpu max`), the only choice where nested KVM is unusable.
    Tcg,
}

const QEMU: &str = "qemu-system-x86_64";

/// Whether QEMU can start a KVM guest here: `/dev/kvm` opens read-write and QEMU can
/// create and reset a KVM vCPU (a stopped `-S` machine, then a monitor `quit`: well under
/// a second). Nested KVM on these machines opens and creates the VM but aborts when
/// setting the vCPU's MSRs, so opening `/dev/kvm` alone proves nothing.
/// `KEEL_VM_ACCEL=kvm|tcg` overrides the probe.
pub(crate) fn accel() -> Accel {
    static ACCEL: OnceLock<Accel> = OnceLock::new();
    *ACCEL.get_or_init(|| {
        match std::env::var("KEEL_VM_ACCEL").as_deref() {
            Ok("kvm") => return Accel::Kvm,
            Ok("tcg") => return Accel::Tcg,
            _ => {}
        }
        if std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/kvm")
            .is_err()
        {
            return Accel::Tcg;
        }
        let probe = Command::new(QEMU)
            .args([
                "-accel", "kvm", "-cpu", "host", "-M", "pc", "-m", "64", "-S",
            ])
            .args([
                "-nodefaults",
                "-display",
                "none",
                "-monitor",
                "stdio",
                "-serial",
                "none",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut child) = probe else {
            return Accel::Tcg;
        };
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"quit\n");
        }
        let ok =
            wait_with_deadline(&mut child, Duration::from_secs(10)).is_some_and(|s| s.success());
        if ok { Accel::Kvm } else { Accel::Tcg }
    })
}

/// Waits for `child` until `limit`; kills it (by its own handle) when the time is up.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(st)) => return Some(st),
            Ok(None) if start.elapsed() < limit => std::thread::sleep(Duration::from_millis(25)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// A line the guest init prints on the serial console.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Marker {
    /// Init started; guest uptime in seconds.
    Init(f64),
    /// The scenario starts now; guest uptime.
    Start(f64),
    /// The scenario ended with this status; guest uptime.
    Rc(i32, f64),
}

/// Parses `@@KEEL-VM INIT uptime=2.1`, `@@KEEL-VM START uptime=3.0`,
/// `@@KEEL-VM RC=0 uptime=4.2` (anything before `@@` and a trailing `\r` are ignored).
pub(crate) fn parse_marker(line: &str) -> Option<Marker> {
    let rest = &line[line.find("@@KEEL-VM ")? + "@@KEEL-VM ".len()..];
    let mut words = rest.split_whitespace();
    let what = words.next()?;
    let uptime = words
        .find_map(|w| w.strip_prefix("uptime="))
        .and_then(|u| u.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    match what {
        "INIT" => Some(Marker::Init(uptime)),
        "START" => Some(Marker::Start(uptime)),
        _ => Some(Marker::Rc(what.strip_prefix("RC=")?.parse().ok()?, uptime)),
    }
}

/// How a scenario's boot went.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    /// The scenario's exit status, if it came back.
    pub(crate) rc: Option<i32>,
    /// The timeout killed QEMU.
    pub(crate) timed_out: bool,
    /// QEMU start to the scenario's start (host clock).
    pub(crate) boot_to_scenario: Option<Duration>,
    /// Guest uptime when the scenario started.
    pub(crate) guest_uptime_at_start: Option<f64>,
    /// QEMU start to QEMU exit.
    pub(crate) whole_run: Duration,
    /// The serial log.
    pub(crate) serial_log: PathBuf,
}

impl Outcome {
    /// The scenario exited 0 in time.
    pub(crate) fn passed(&self) -> bool {
        self.rc == Some(0) && !self.timed_out
    }

    /// One word for the summary.
    pub(crate) fn verdict(&self) -> String {
        match (self.timed_out, self.rc) {
            (true, _) => "TIMEOUT".into(),
            (false, Some(0)) => "PASS".into(),
            (false, Some(rc)) => format!("FAIL(rc={rc})"),
            (false, None) => "FAIL(no result)".into(),
        }
    }
}

/// A swtpm process for one VM, ended (by its own pid) when dropped.
#[derive(Debug)]
struct Swtpm(Child);

impl Drop for Swtpm {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `swtpm socket --tpm2` with its state and control socket in `dir`.
fn start_swtpm(dir: &Path) -> Result<(Swtpm, PathBuf)> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let sock = dir.join("swtpm-sock");
    let child = Command::new("swtpm")
        .args(["socket", "--tpm2", "--tpmstate"])
        .arg(format!("dir={}", dir.display()))
        .arg("--ctrl")
        .arg(format!("type=unixio,path={}", sock.display()))
        .arg("--log")
        .arg(format!("file={},level=1", dir.join("swtpm.log").display()))
        .stdin(Stdio::null())
        .spawn()
        .context("starting swtpm (Debian package swtpm)")?;
    let mut tpm = Swtpm(child);
    let start = Instant::now();
    while !sock.exists() {
        if let Ok(Some(st)) = tpm.0.try_wait() {
            bail!(
                "swtpm exited at start ({st}); see {}",
                dir.join("swtpm.log").display()
            );
        }
        if start.elapsed() > Duration::from_secs(5) {
            bail!("swtpm made no socket {} in 5 s", sock.display());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((tpm, sock))
}

/// What the serial reader saw.
#[derive(Debug, Default)]
struct Seen {
    start_at: Option<Instant>,
    start_uptime: Option<f64>,
    rc: Option<i32>,
}

/// Copies QEMU's stdout (the serial console) to `log`, optionally echoing it, and notes
/// the markers.
fn read_serial(out: impl Read, mut log: std::fs::File, echo: bool) -> Seen {
    let mut seen = Seen::default();
    let mut r = BufReader::new(out);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match r.read_until(b'\n', &mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let _ = log.write_all(&buf);
        let line = String::from_utf8_lossy(&buf);
        let line = line.trim_end_matches(['\n', '\r']);
        if echo {
            println!("{line}");
        }
        match parse_marker(line) {
            Some(Marker::Start(up)) => {
                seen.start_at = Some(Instant::now());
                seen.start_uptime = Some(up);
            }
            Some(Marker::Rc(rc, _)) => seen.rc = Some(rc),
            _ => {}
        }
    }
    seen
}

/// Boots `image` once to run `scenario`; `runs` holds the per-scenario directories.
/// With `echo`, the guest console is printed as it comes.
///
/// # Errors
/// Setting up the share, disk or swtpm, or starting QEMU failed. A failing, crashing or
/// hanging scenario is an `Ok` outcome that did not pass.
pub(crate) fn run(image: &Image, scenario: &Scenario, runs: &Path, echo: bool) -> Result<Outcome> {
    let dir = runs.join(&scenario.name);
    if dir.exists() {
        std::fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    let share = dir.join("share");
    std::fs::create_dir_all(&share).with_context(|| format!("creating {}", share.display()))?;
    std::fs::copy(&scenario.path, share.join("scenario.sh"))
        .with_context(|| format!("copying {}", scenario.path.display()))?;
    let needs = &scenario.needs;
    let accel = accel();
    let mut cmd = Command::new(QEMU);
    match accel {
        Accel::Kvm => cmd.args(["-accel", "kvm", "-cpu", "host"]),
        Accel::Tcg => cmd.args(["-accel", "tcg", "-cpu", "max"]),
    };
    cmd.args(["-m", &format!("{}M", needs.mem_mib), "-smp", "2"])
        .args(["-nographic", "-no-reboot", "-nodefaults", "-serial", "stdio", "-monitor", "none"])
        .arg("-kernel")
        .arg(&image.kernel.vmlinuz)
        .arg("-initrd")
        .arg(&image.initrd)
        .args([
            "-append",
            &format!(
                "console=ttyS0 panic=-1 quiet loglevel=4 rdinit=/init cgroup_no_v1=all keel.scenario={}",
                scenario.name
            ),
        ])
        .arg("-fsdev")
        .arg(format!("local,id=share,path={},security_model=none", share.display()))
        .args(["-device", "virtio-9p-pci,fsdev=share,mount_tag=share"]);
    let mut _swtpm = None;
    if needs.tpm {
        let (tpm, sock) = start_swtpm(&dir.join("tpm"))?;
        cmd.arg("-chardev")
            .arg(format!("socket,id=chrtpm,path={}", sock.display()))
            .args(["-tpmdev", "emulator,id=tpm0,chardev=chrtpm"])
            .args(["-device", "tpm-tis,tpmdev=tpm0"]);
        _swtpm = Some(tpm);
    }
    if let Some(mib) = needs.disk_mib {
        let disk = dir.join("disk.img");
        let f =
            std::fs::File::create(&disk).with_context(|| format!("creating {}", disk.display()))?;
        f.set_len(mib << 20)
            .with_context(|| format!("sizing {}", disk.display()))?;
        cmd.arg("-drive").arg(format!(
            "file={},format=raw,if=virtio,cache=unsafe",
            disk.display()
        ));
    }
    let serial_log = dir.join("serial.log");
    let log = std::fs::File::create(&serial_log)
        .with_context(|| format!("creating {}", serial_log.display()))?;
    let qemu_err = dir.join("qemu.stderr");
    let err = std::fs::File::create(&qemu_err)
        .with_context(|| format!("creating {}", qemu_err.display()))?;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(err);

    let start = Instant::now();
    let mut child = cmd
        .spawn()
        .context("starting qemu-system-x86_64 (Debian package qemu-system-x86)")?;
    let out = child.stdout.take().context("qemu stdout")?;
    let reader = std::thread::spawn(move || read_serial(out, log, echo));
    let status = wait_with_deadline(&mut child, needs.timeout);
    let whole_run = start.elapsed();
    let seen = reader.join().unwrap_or_default();
    drop(_swtpm);

    let rc_file = std::fs::read_to_string(share.join("rc"))
        .ok()
        .and_then(|s| s.trim().parse::<i32>().ok());
    let outcome = Outcome {
        rc: rc_file.or(seen.rc),
        timed_out: status.is_none(),
        boot_to_scenario: seen.start_at.map(|t| t.duration_since(start)),
        guest_uptime_at_start: seen.start_uptime,
        whole_run,
        serial_log,
    };
    if !outcome.passed() {
        print_log(&outcome, &qemu_err, accel);
    }
    Ok(outcome)
}

/// Prints the guest log (and QEMU's stderr) of a failed scenario.
fn print_log(outcome: &Outcome, qemu_err: &Path, accel: Accel) {
    let log = std::fs::read(&outcome.serial_log).unwrap_or_default();
    let text = String::from_utf8_lossy(&log).replace('\r', "");
    println!(
        "----- guest log ({}, {accel:?}) -----",
        outcome.serial_log.display()
    );
    print!("{text}");
    if !text.ends_with('\n') {
        println!();
    }
    let err = std::fs::read_to_string(qemu_err).unwrap_or_default();
    if !err.trim().is_empty() {
        println!("----- qemu stderr -----\n{}", err.trim_end());
    }
    if outcome.timed_out {
        println!(
            "----- killed after {:.1}s (timeout) -----",
            outcome.whole_run.as_secs_f64()
        );
    }
    println!("----- end of guest log -----");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_parse_with_noise_around() {
        assert_eq!(
            parse_marker("@@KEEL-VM INIT uptime=2.11"),
            Some(Marker::Init(2.11))
        );
        assert_eq!(
            parse_marker("[    3.1] x @@KEEL-VM START uptime=3.00\r"),
            Some(Marker::Start(3.0))
        );
        assert_eq!(
            parse_marker("@@KEEL-VM RC=3 uptime=9.5"),
            Some(Marker::Rc(3, 9.5))
        );
        assert!(matches!(parse_marker("@@KEEL-VM START"), Some(Marker::Start(u)) if u.is_nan()));
        assert_eq!(parse_marker("@@KEEL-VM RC=x uptime=1"), None);
        assert_eq!(parse_marker("@@KEEL-VM"), None);
        assert_eq!(parse_marker("plain output"), None);
    }

    #[test]
    fn verdicts() {
        let mut o = Outcome {
            rc: Some(0),
            timed_out: false,
            boot_to_scenario: None,
            guest_uptime_at_start: None,
            whole_run: Duration::ZERO,
            serial_log: PathBuf::new(),
        };
        assert!(o.passed());
        o.rc = Some(1);
        assert_eq!((o.passed(), o.verdict().as_str()), (false, "FAIL(rc=1)"));
        o.rc = None;
        assert_eq!(o.verdict(), "FAIL(no result)");
        o.rc = Some(0);
        o.timed_out = true;
        assert_eq!((o.passed(), o.verdict().as_str()), (false, "TIMEOUT"));
    }

    #[test]
    fn serial_reader_keeps_log_and_markers() {
        let dir = std::env::temp_dir().join(format!("keel-vm-serial-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let log = dir.join("serial.log");
        let input: &[u8] =
            b"boot\r\n@@KEEL-VM START uptime=2.5\r\n\xff out\n@@KEEL-VM RC=4 uptime=3.0\r\n";
        let seen = read_serial(input, std::fs::File::create(&log).unwrap(), false);
        assert_eq!(seen.start_uptime, Some(2.5));
        assert!(seen.start_at.is_some());
        assert_eq!(seen.rc, Some(4));
        assert_eq!(std::fs::read(&log).unwrap(), input);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
