//! `keel-networkd`: configures links, addresses, routes and BATMAN-adv meshes from
//! systemd-networkd 248's `.netdev`/`.network` files.
//!
//! The work is [`keel_netlink::reconcile`]; this binary parses the command line, loads
//! the files, prints diagnostics and reports, and maps the outcome to an exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use keel_core::report::chain;
use keel_netlink::config::{self, Severity};
use keel_netlink::reconcile::{Reconciler, Report, status};
use keel_netlink::socket::Socket;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "keel-networkd",
    version,
    about = "Configure links from systemd-networkd 248 .netdev/.network files",
    after_help = "\
Without a command: apply the files, then watch RTNLGRP_LINK and reconcile each link
that appears or changes (a daemon in the foreground). --once applies and exits: 0
when everything applied and no file had an error, 1 otherwise.

Files come from --config-dir (repeatable, highest priority first) or else from
/etc/systemd/network, /run/systemd/network, /usr/local/lib/systemd/network and
/usr/lib/systemd/network."
)]
struct Args {
    /// Directory of .netdev/.network files (repeatable, highest priority first).
    #[arg(long, value_name = "DIR", global = true)]
    config_dir: Vec<PathBuf>,
    /// Apply once and exit.
    #[arg(long)]
    once: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show links (all, or one) in detail; batadv links with mesh options and originators.
    Status {
        /// The link.
        link: Option<String>,
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
    /// One line per link: index, name, kind, operational state, setup.
    List {
        /// JSON output.
        #[arg(long)]
        json: bool,
    },
}

fn load(args: &Args) -> config::NetworkdConfig {
    if args.config_dir.is_empty() {
        config::load(std::path::Path::new("/"))
    } else {
        config::load_dirs(&args.config_dir)
    }
}

fn print_report(scope: Option<&str>, report: &Report) {
    for d in &report.diagnostics {
        eprintln!("keel-networkd: {d}");
    }
    for r in &report.results {
        match &r.result {
            Ok(()) => eprintln!("keel-networkd: {}", r.op),
            Err(e) => eprintln!("keel-networkd: failed: {}", chain(e)),
        }
    }
    for op in &report.remaining.ops {
        eprintln!("keel-networkd: still to do: {op}");
    }
    if let Some(link) = scope {
        eprintln!(
            "keel-networkd: {link}: {}",
            if report.is_clean() {
                "configured"
            } else {
                "failed"
            }
        );
    }
}

fn run(args: &Args) -> Result<bool> {
    let cfg = load(args);
    match &args.command {
        Some(Command::Status { link, json }) => {
            let mut route = Socket::route().context("cannot open rtnetlink")?;
            let mut links = status::collect(&mut route, &cfg).context("cannot read links")?;
            if let Some(name) = link {
                links.retain(|l| &l.name == name);
                if links.is_empty() {
                    bail!("no link called {name}");
                }
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&links)?);
            } else {
                for l in &links {
                    println!("{}", status::render_status(l));
                }
            }
            Ok(true)
        }
        Some(Command::List { json }) => {
            let mut route = Socket::route().context("cannot open rtnetlink")?;
            let links = status::collect(&mut route, &cfg).context("cannot read links")?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&links)?);
            } else {
                print!("{}", status::render_list(&links));
            }
            Ok(true)
        }
        None => {
            let mut file_errors = false;
            for d in &cfg.diagnostics {
                eprintln!("keel-networkd: {d}");
                file_errors |= d.severity == Severity::Error;
            }
            eprintln!(
                "keel-networkd: loaded {} .netdev and {} .network files",
                cfg.netdevs.len(),
                cfg.networks.len()
            );
            let mut engine = Reconciler::new(cfg).context("cannot open rtnetlink")?;
            if args.once {
                let report = engine.reconcile_all().context("reconciling failed")?;
                print_report(None, &report);
                return Ok(report.is_clean() && !file_errors);
            }
            engine
                .watch(|scope, report| {
                    if scope.is_none() || !report.results.is_empty() {
                        print_report(scope, report);
                    }
                })
                .context("watching links failed")?;
            Ok(true)
        }
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("keel-networkd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
