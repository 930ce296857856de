//! `cargo xtask compare netlink [--runs N] [--release]`: keel-netlink against `ip -batch`
//! doing the same rtnetlink work, side by side in one run, with the wall-time ratio.
//!
//! The work (in a fresh network namespace per side and round, made with `ip netns add`
//! before the clock starts and removed after it stops): create 200 veth pairs
//! (`v0`/`p0` … `v199`/`p199`), then add 1000 IPv4 addresses to `v0`.
//!
//! - keel: library calls in this process (a thread that entered the namespace with
//!   `setns(2)`): open an rtnetlink socket, [`Socket::batch_all`] the 200 `RTM_NEWLINK`,
//!   look up `v0`, [`Socket::batch_all`] the 1000 `RTM_NEWADDR`. Every request still
//!   carries `NLM_F_ACK` and every acknowledgement is checked.
//! - iproute2: `nsenter --net=/run/netns/NAME ip -batch FILE` with one `link add` or
//!   `addr add` line per request (ip waits for each acknowledgement before the next).
//!
//! Both results are checked (links and addresses dumped and counted) outside the clock;
//! the sides alternate which goes first, and the medians are compared. A second
//! comparison adds the addresses alone (`v0` made before the clock starts), where the
//! kernel's share of the work is smallest, and a third the veth pairs alone. `--release` re-runs this command from an
//! optimised xtask build.

use std::fmt::Write as _;
use std::fs::File;
use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use keel_netlink::Socket;
use keel_netlink::address::{self, Address, IpPrefix};
use keel_netlink::link::{self, LinkKind, LinkSpec};
use keel_netlink::nix::sched::{CloneFlags, setns};

use crate::util::median;

/// How much work one round does.
#[derive(Debug, Clone, Copy)]
struct Work {
    /// veth pairs to create (`v0`/`p0` …); 0: `v0`/`p0` exist before the clock starts.
    veths: usize,
    /// Addresses to add to `v0`.
    addresses: u32,
}

/// The `n`th address (1-based): 10.20.x.y/16.
fn address_of(n: u32) -> Ipv4Addr {
    let [_, _, x, y] = n.to_be_bytes();
    Ipv4Addr::new(10, 20, x, y)
}

/// The same work as `ip -batch` lines.
fn batch_file(work: Work) -> String {
    // (with no veths to create, v0/p0 are made before the clock starts)
    let mut s = String::new();
    for i in 0..work.veths {
        let _ = writeln!(s, "link add v{i} type veth peer name p{i}");
    }
    for n in 1..=work.addresses {
        let _ = writeln!(s, "addr add {}/16 dev v0", address_of(n));
    }
    s
}

/// Runs `args` and fails with its stderr when it fails.
fn run(cmd: &str, args: &[&str]) -> Result<()> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {cmd} {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "{cmd} {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// A named network namespace (`ip netns add`), deleted on drop.
struct Netns {
    name: String,
}

impl Netns {
    fn new(name: String) -> Result<Netns> {
        run("ip", &["netns", "add", &name])?;
        Ok(Netns { name })
    }

    fn path(&self) -> String {
        format!("/run/netns/{}", self.name)
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = run("ip", &["netns", "del", &self.name]);
    }
}

/// Runs `f` on a thread that entered the network namespace at `path`.
fn in_netns<T: Send>(path: &str, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    std::thread::scope(|scope| {
        scope
            .spawn(|| {
                let ns = File::open(path).with_context(|| format!("opening {path}"))?;
                setns(ns.as_fd(), CloneFlags::CLONE_NEWNET)
                    .with_context(|| format!("setns({path})"))?;
                f()
            })
            .join()
            .unwrap_or_else(|_| bail!("the thread in {path} panicked"))
    })
}

/// The keel side, timed from opening the socket to the last acknowledgement.
fn keel_work(work: Work) -> Result<Duration> {
    let t = Instant::now();
    let mut socket = Socket::route().context("opening an rtnetlink socket")?;
    let creates: Vec<_> = (0..work.veths)
        .map(|i| {
            let kind = LinkKind::Veth {
                peer: format!("p{i}"),
                peer_mac: None,
            };
            link::create(&LinkSpec::new(format!("v{i}"), kind), None)
        })
        .collect();
    socket.batch_all(&creates)?;
    let v0 = socket
        .link_by_name("v0")?
        .context("v0 missing after creating it")?;
    let adds: Vec<_> = (1..=work.addresses)
        .map(|n| {
            let prefix = IpPrefix::new(IpAddr::V4(address_of(n)), 16)
                .map_err(|e| anyhow::anyhow!("{e:?}"))?;
            Ok(address::add(&Address::new(v0.index, prefix)))
        })
        .collect::<Result<_>>()?;
    socket.batch_all(&adds)?;
    Ok(t.elapsed())
}

/// Creates `v0`/`p0` before the clock starts, for the addresses-only comparison.
fn setup(work: Work, ns: &Netns) -> Result<()> {
    if work.veths == 0 {
        run(
            "ip",
            &[
                "-n", &ns.name, "link", "add", "v0", "type", "veth", "peer", "name", "p0",
            ],
        )?;
    }
    Ok(())
}

/// Counts links and `v0`'s IPv4 addresses in the namespace the thread is in.
fn check(work: Work, side: &str) -> Result<()> {
    let mut socket = Socket::route()?;
    let links = socket.links()?;
    let veths = links
        .iter()
        .filter(|l| l.kind.as_deref() == Some("veth"))
        .count();
    let v0 = links
        .iter()
        .find(|l| l.name == "v0")
        .with_context(|| format!("{side}: no v0"))?;
    let addrs = socket
        .addresses()?
        .into_iter()
        .filter(|a| a.index == v0.index && a.local.is_ipv4())
        .count();
    let want = 2 * work.veths.max(1);
    if veths != want || addrs != work.addresses as usize {
        bail!(
            "{side}: {veths} veth links and {addrs} addresses on v0, expected {want} and {}",
            work.addresses
        );
    }
    Ok(())
}

fn keel_round(work: Work, tag: &str) -> Result<Duration> {
    let ns = Netns::new(format!("keelcmp-{}-{tag}-keel", std::process::id()))?;
    setup(work, &ns)?;
    in_netns(&ns.path(), || {
        let d = keel_work(work)?;
        check(work, "keel")?;
        Ok(d)
    })
}

fn ip_round(work: Work, tag: &str, file: &Path) -> Result<Duration> {
    let ns = Netns::new(format!("keelcmp-{}-{tag}-ip", std::process::id()))?;
    setup(work, &ns)?;
    let net = format!("--net={}", ns.path());
    let file = file.to_string_lossy();
    let t = Instant::now();
    run("nsenter", &[&net, "ip", "-batch", &file])?;
    let d = t.elapsed();
    in_netns(&ns.path(), || check(work, "ip -batch"))?;
    Ok(d)
}

/// `nsenter --net=… true`: what the namespace entry and the exec cost the ip side.
fn nsenter_overhead(tag: &str) -> Result<Duration> {
    let ns = Netns::new(format!("keelcmp-{}-{tag}-nsenter", std::process::id()))?;
    let net = format!("--net={}", ns.path());
    let t = Instant::now();
    run("nsenter", &[&net, "true"])?;
    Ok(t.elapsed())
}

/// One warm-up round each, then `runs` rounds alternating which side goes first; the
/// medians of keel, `ip -batch` and `nsenter … true`.
fn measure(
    work: Work,
    runs: usize,
    file: &Path,
    label: &str,
) -> Result<(Duration, Duration, Duration)> {
    keel_round(work, &format!("{label}-warm"))?;
    ip_round(work, &format!("{label}-warm"), file)?;
    let (mut k, mut i, mut n) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..runs {
        let tag = format!("{label}-{round}");
        if round % 2 == 0 {
            k.push(keel_round(work, &tag)?);
            i.push(ip_round(work, &tag, file)?);
        } else {
            i.push(ip_round(work, &tag, file)?);
            k.push(keel_round(work, &tag)?);
        }
        n.push(nsenter_overhead(&tag)?);
        println!(
            "  {label} round {round}: keel {:?}, ip -batch {:?}",
            k[round], i[round]
        );
    }
    Ok((median(k), median(i), median(n)))
}

/// Re-runs the comparison from a release build of the xtask.
fn rerun_release(args: &[String]) -> Result<bool> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(cargo)
        .args([
            "run",
            "-q",
            "--release",
            "-p",
            "xtask",
            "--",
            "compare",
            "netlink",
        ])
        .args(args.iter().filter(|a| *a != "--release"))
        .status()
        .context("running the release xtask")?;
    Ok(st.success())
}

/// Runs the comparison; `Ok(true)` when keel takes at most half of `ip -batch`'s time.
pub(crate) fn netlink(args: &[String]) -> Result<bool> {
    let mut runs = 7usize;
    let mut release = false;
    let mut work = Work {
        veths: 200,
        addresses: 1000,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut number = |what: &str| -> Result<usize> {
            it.next()
                .and_then(|n| n.parse().ok())
                .with_context(|| format!("{what} needs a number"))
        };
        match a.as_str() {
            "--runs" => runs = number("--runs")?.max(1),
            "--veths" => work.veths = number("--veths")?.max(1),
            "--addresses" => {
                work.addresses = u32::try_from(number("--addresses")?)
                    .ok()
                    .filter(|n| (1..=65_000).contains(n))
                    .context("--addresses must be 1..=65000")?;
            }
            "--release" => release = true,
            other => bail!("unknown argument {other}"),
        }
    }
    if release && cfg!(debug_assertions) {
        return rerun_release(args);
    }
    if !keel_netlink::nix::unistd::geteuid().is_root() {
        bail!("compare netlink creates network namespaces: run it as root");
    }
    testkit::require_tool("/usr/bin/nsenter", "util-linux");
    let dir = std::env::temp_dir().join(format!("keel-compare-netlink-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("batch");
    std::fs::write(&file, batch_file(work))?;

    let (km, im, nm) = measure(work, runs, &file, "all")?;
    let only = Work {
        veths: 0,
        addresses: work.addresses,
    };
    let only_file = dir.join("batch-addresses");
    std::fs::write(&only_file, batch_file(only))?;
    let (ka, ia, _) = measure(only, runs, &only_file, "addr")?;
    let veths = Work {
        veths: work.veths,
        addresses: 0,
    };
    let veths_file = dir.join("batch-veths");
    std::fs::write(&veths_file, batch_file(veths))?;
    let (kv, iv, _) = measure(veths, runs, &veths_file, "veth")?;
    let _ = std::fs::remove_dir_all(&dir);
    let ratio = km.as_secs_f64() / im.as_secs_f64();
    let ratio_net = km.as_secs_f64() / im.saturating_sub(nm).as_secs_f64();
    let build = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    println!(
        "compare netlink: {} veth pairs + {} addresses on one veth, fresh netns each ({runs} rounds, keel {build})",
        work.veths, work.addresses
    );
    println!("  keel-netlink (batched, every failure caught): median {km:?}");
    println!("  nsenter --net ip -batch FILE:                median {im:?}");
    println!("  (nsenter --net true alone:                   median {nm:?})");
    println!(
        "  ratio keel/ip-batch: {ratio:.2}x ({ratio_net:.2}x without nsenter's share) (target <= 0.50x)"
    );
    println!(
        "  {} addresses alone (v0 made before the clock): keel median {ka:?}, ip -batch median {ia:?}, ratio {:.2}x",
        work.addresses,
        ka.as_secs_f64() / ia.as_secs_f64()
    );
    println!(
        "  {} veth pairs alone: keel median {kv:?}, ip -batch median {iv:?}, ratio {:.2}x",
        work.veths,
        kv.as_secs_f64() / iv.as_secs_f64()
    );
    println!(
        "  (a veth pair is kernel work, the same for both: register_netdevice twice, sysfs, sysctl, IPv6 addrconf)"
    );
    Ok(ratio <= 0.5)
}
