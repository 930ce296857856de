//! `keel-analyze`: check unit files the way systemd 248 reads them.
//!
//! - `verify FILE|DIR...`: load each unit file (every unit file in a directory; a template
//!   as an instance), print every diagnostic as `file:line: message`, exit 1 if any unit
//!   has an error. `--dump` also prints each resolved unit.
//! - `cat UNIT...`: the unit's fragment and drop-ins, each headed by its path.
//! - `dump UNIT... [--json]`: the fully resolved unit (drop-ins, templates, specifiers).
//!
//! All work is done by `keel_unit`; this file parses arguments and prints.

mod cli;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cli::Args::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("keel-analyze: {e:#}");
            ExitCode::FAILURE
        }
    }
}
