//! Command line of keel-analyze.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use keel_core::specifier::{HostFacts, SpecifierContext};
use keel_core::unit_name::{UnitType, mangle};
use keel_unit::dump::dump;
use keel_unit::load::{LoadedUnit, UnitLoader};
use keel_unit::lookup::{LookupPaths, Scope, UnitLookup};
use keel_unit::verify::{VerifyOptions, verify};

/// Check systemd unit files the way systemd 248 reads them.
#[derive(Debug, Parser)]
#[command(name = "keel-analyze", version)]
pub(crate) struct Args {
    /// Root directory the search paths are taken under.
    #[arg(long, global = true, default_value = "/")]
    root: PathBuf,
    /// Use the user manager's search paths.
    #[arg(long, global = true)]
    user: bool,
    /// Print JSON instead of text.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load unit files (or every unit file of a directory) and report every problem as
    /// `file:line: message`; exit status 1 when a unit has an error.
    Verify {
        /// Also print each unit as systemd's dump prints it.
        #[arg(long)]
        dump: bool,
        /// Instance used to verify templates.
        #[arg(long, default_value = "example")]
        instance: String,
        /// Unit files or directories.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Print units' fragments and drop-ins, each headed by its path.
    Cat {
        /// Unit names.
        #[arg(required = true)]
        units: Vec<String>,
    },
    /// Print fully loaded units (drop-ins, templates and specifiers resolved).
    Dump {
        /// Unit names.
        #[arg(required = true)]
        units: Vec<String>,
    },
    /// Print the unit search path.
    UnitPaths,
    /// List the syscall groups (all, or the ones named) as `systemd-analyze
    /// syscall-filter` does.
    SyscallFilter {
        /// Group names (`@system-service`, …).
        groups: Vec<String>,
    },
    /// Print every setting keel knows, by section, with its support level (the coverage
    /// table; `--markdown` prints `docs/directives.md`).
    Directives {
        /// Print the Markdown coverage table.
        #[arg(long)]
        markdown: bool,
    },
}

fn scope(args: &Args) -> Scope {
    if args.user {
        Scope::User
    } else {
        Scope::System
    }
}

fn specifiers(root: &std::path::Path) -> SpecifierContext {
    SpecifierContext::system(HostFacts::probe(root))
}

fn print_loaded(u: &LoadedUnit, json: bool, with_dump: bool) -> Result<()> {
    if json {
        let v = serde_json::json!({
            "unit": &u.unit,
            "diagnostics": &u.diagnostics,
        });
        println!("{}", serde_json::to_string_pretty(&v)?);
        return Ok(());
    }
    for d in &u.diagnostics {
        eprintln!("{d}");
    }
    if with_dump {
        print!("{}", dump(&u.unit));
    }
    Ok(())
}

fn loader(args: &Args) -> Result<UnitLoader> {
    let paths = match std::env::var("SYSTEMD_UNIT_PATH") {
        Ok(p) => LookupPaths::from_unit_path(scope(args), &args.root, &p),
        Err(_) => LookupPaths::new(scope(args), &args.root),
    };
    let lookup = UnitLookup::scan(&paths).context("scanning the unit search path")?;
    Ok(UnitLoader::new(lookup, specifiers(&args.root)))
}

/// Runs the command; the exit code says whether every unit loaded cleanly.
pub(crate) fn run(args: Args) -> Result<ExitCode> {
    match &args.command {
        Command::Verify {
            dump: with_dump,
            instance,
            paths,
        } => {
            let mut opts = VerifyOptions::default();
            opts.scope = scope(&args);
            opts.root = args.root.clone();
            opts.template_instance = instance.clone();
            opts.specifiers = specifiers(&args.root);
            let report = verify(paths, &opts).context("verifying")?;
            for d in &report.diagnostics {
                eprintln!("{d}");
            }
            for u in &report.units {
                print_loaded(u, args.json, *with_dump)?;
                if !args.json && u.unit.load_state != keel_unit::model::LoadState::Loaded {
                    eprintln!(
                        "{}: unit load state {}",
                        u.unit.name,
                        u.unit.load_state.as_str()
                    );
                }
            }
            Ok(if report.is_ok() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Cat { units } => {
            let l = loader(&args)?;
            for (i, name) in units.iter().enumerate() {
                let name = mangle(name, UnitType::Service)?;
                let files = l.lookup().resolve(&name)?;
                let Some(fragment) = &files.fragment else {
                    anyhow::bail!("no files found for {name}");
                };
                if i > 0 {
                    println!();
                }
                for p in std::iter::once(fragment).chain(files.dropins.iter()) {
                    println!("# {}", p.display());
                    let text = std::fs::read_to_string(p)
                        .with_context(|| format!("reading {}", p.display()))?;
                    print!("{text}");
                    if !text.ends_with('\n') {
                        println!();
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Dump { units } => {
            let l = loader(&args)?;
            let mut ok = true;
            for name in units {
                let name = mangle(name, UnitType::Service)?;
                let u = l.load(&name)?;
                ok &= u.unit.load_state == keel_unit::model::LoadState::Loaded;
                print_loaded(&u, args.json, true)?;
            }
            Ok(if ok {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Command::Directives { markdown } => {
            if *markdown {
                print!("{}", keel_unit::model::coverage_markdown());
            } else {
                for (section, key, support) in keel_unit::model::directive_names() {
                    println!("[{section}]{key} {support:?}");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::SyscallFilter { groups } => {
            let names: Vec<&str> = groups.iter().map(String::as_str).collect();
            print!("{}", keel_exec::seccomp::format_groups(&names)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::UnitPaths => {
            let l = loader(&args)?;
            for p in &l.lookup().paths().search_path {
                println!("{}", p.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
