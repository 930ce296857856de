//! `keel-sysext [OPTIONS] [status|merge|unmerge|refresh|list]`: merges system extension
//! images into `/usr` and `/opt`, as systemd 248's `systemd-sysext` (spec §1.2), through
//! `keel_exec::sysext`.
//!
//! Exit codes as systemd-sysext: 0 on success (also when no extension was found to merge),
//! 1 on failure. Unlike systemd 248, a failure inside the merge is reported and exits 1.

mod render;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use keel_exec::sysext::{self, Options};

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "keel-sysext",
    version,
    about = "Merge extension images into /usr/ and /opt/ hierarchies."
)]
struct Args {
    /// Do not pipe output into a pager (accepted; keel never pages).
    #[arg(long)]
    no_pager: bool,
    /// Do not show the headers and footers.
    #[arg(long)]
    no_legend: bool,
    /// Operate relative to root path.
    #[arg(long, value_name = "PATH")]
    root: Option<PathBuf>,
    /// Generate JSON output.
    #[arg(
        long,
        value_enum,
        value_name = "pretty|short|off",
        default_value = "off"
    )]
    json: Json,
    /// Ignore version incompatibilities.
    #[arg(long)]
    force: bool,
    /// status (default), merge, unmerge, refresh, list or help.
    #[arg(value_enum, default_value = "status")]
    verb: Verb,
}

/// `--json=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Json {
    Pretty,
    Short,
    Off,
}

/// The verbs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Verb {
    Status,
    Merge,
    Unmerge,
    Refresh,
    List,
    Help,
}

fn run(a: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut opts = Options::default();
    if let Some(r) = &a.root {
        opts.root = std::path::absolute(r)?;
    }
    opts.force = a.force;
    if let Ok(v) = std::env::var("SYSTEMD_SYSEXT_HIERARCHIES") {
        opts.hierarchies = sysext::parse_hierarchies(&v)?;
    }
    let legend = !a.no_legend;
    match a.verb {
        Verb::Help => {
            use clap::CommandFactory;
            Args::command().print_help()?;
        }
        Verb::Status => {
            let rows = sysext::status(&opts)?;
            render::print(&rows, a.json, legend, render::status_table)?;
        }
        Verb::List => {
            let images = sysext::discover(&opts.root)?;
            if images.is_empty() && a.json == Json::Off {
                eprintln!("No OS extensions found.");
                return Ok(());
            }
            render::print(&images, a.json, legend, render::list_table)?;
        }
        Verb::Merge | Verb::Refresh => {
            let r = if a.verb == Verb::Merge {
                sysext::merge(&opts)?
            } else {
                sysext::refresh(&opts)?
            };
            render::report(&opts, &r);
        }
        Verb::Unmerge => {
            for h in sysext::unmerge(&opts)? {
                eprintln!(
                    "Unmerged '{}'.",
                    opts.root.join(h.strip_prefix("/")?).display()
                );
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let a = match Args::try_parse() {
        Ok(a) => a,
        Err(e) => {
            use clap::error::ErrorKind;
            let _ = e.print();
            // Usage errors exit 1, as systemd-sysext's.
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => ExitCode::SUCCESS,
                _ => ExitCode::FAILURE,
            };
        }
    };
    let _ = a.no_pager;
    match run(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let mut msg = e.to_string();
            let mut src = e.source();
            while let Some(s) = src {
                msg.push_str(": ");
                msg.push_str(&s.to_string());
                src = s.source();
            }
            eprintln!("keel-sysext: {msg}");
            ExitCode::FAILURE
        }
    }
}
