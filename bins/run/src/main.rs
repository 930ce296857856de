//! `keel-run [-p SETTING=VALUE]... [--unit FILE] [--] [CMD ARGS...]`: runs a command, or a
//! service unit's `ExecStartPre=`, `ExecStart=` and `ExecStartPost=` lines in order (as a
//! `Type=oneshot` service runs them, honouring the `-`, `+`, `!`, `!!`, `@` and `:`
//! prefixes), under the unit's exec settings plus the `-p` settings, in the foreground and
//! without a manager.
//!
//! Exits 0 when every line succeeds, otherwise with the failing line's exit status (the
//! systemd code of a failed setup step, e.g. 226 for the mount namespace), or 128+N when
//! signal N killed it. With `--exec`, keel-run sets up the sandbox in its own process and
//! becomes the command (no fork, no waiting parent), so the status or the killing signal is
//! the command's own.

mod arena;
mod run;

static BLOCK: arena::Block = arena::Block::new();

#[global_allocator]
static ALLOC: arena::Arena = arena::Arena::new(&BLOCK);

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "keel-run",
    version,
    about = "Run a command sandboxed as a systemd 248 service"
)]
struct Args {
    /// A `[Service]` assignment applied after the unit's own (repeatable).
    #[arg(short = 'p', long = "property", value_name = "SETTING=VALUE")]
    properties: Vec<String>,
    /// Replace keel-run with the command instead of forking and waiting (one command only,
    /// not with `PrivateUsers=`): the exit status, or the killing signal, is the command's
    /// own, as with `exec` in a shell.
    #[arg(long)]
    exec: bool,
    /// A service unit file whose settings (and, without CMD, commands) are used.
    #[arg(long, value_name = "FILE")]
    unit: Option<PathBuf>,
    /// The command to run instead of the unit's `Exec*=` lines, as given (no `$VAR`
    /// expansion, like the `:` prefix: the shell has expanded it).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<String>,
}

fn main() -> ExitCode {
    let a = Args::parse();
    let cfg = run::Config {
        properties: a.properties,
        unit: a.unit,
        exec: a.exec,
        command: a.command,
    };
    match run::run(&cfg) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("keel-run: {e:#}");
            ExitCode::FAILURE
        }
    }
}
