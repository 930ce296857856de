//! `keel-oomd`: a userspace OOM killer with systemd-oomd 248's policy (spec §4), woken by
//! PSI triggers and deadlines instead of a 1 s poll, logging an explanation of every
//! decision.
//!
//! The work is [`keel_oom::monitor::Monitor`]; this binary parses the command line, loads
//! `oomd.conf` and the watch list, and prints.

mod daemon;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(
    name = "keel-oomd",
    version,
    about = "Kill cgroups under sustained memory pressure or swap use (systemd-oomd 248 policy)",
    after_help = "\
WATCHES
  Which cgroups are watched comes from PID 1 (varlink io.systemd.ManagedOOM on
  --manager-socket, as systemd 248 sends ManagedOOMMemoryPressure=/ManagedOOMSwap=
  of its units), from --watch arguments and from *.watch files in --config-dir.

  --watch CGROUP[:memory-pressure=kill|auto][:limit=PERCENT][:duration=TIMESPAN]
          [:swap=kill|auto]
      A bare CGROUP (a path below the cgroup2 mount) means memory-pressure=kill with
      DefaultMemoryPressureLimit= and DefaultMemoryPressureDurationSec=.
      Example: --watch /workload.slice:limit=20%:duration=5s:swap=kill

  A watch file (DIR/*.watch, in file-name order):
      [Watch]
      CGroup=/workload.slice
      ManagedOOMMemoryPressure=kill
      ManagedOOMMemoryPressureLimit=20%
      MemoryPressureDurationSec=5s
      ManagedOOMSwap=kill

DUMP
  --dump prints a one-shot snapshot in oomctl dump's format: the settings, the system
  swap, and every watched cgroup read now (PID 1's watches too when its socket answers
  within a second); \"Last Pgscan\" is 0 in a snapshot. It does not ask a running daemon.

LOG
  --log FILE writes one JSON object per decision (what woke the daemon, the verdict,
  the explanation with every candidate and score, the instant the pressure duration
  elapsed, each kill with CLOCK_MONOTONIC timestamps). \"-\" is standard output."
)]
pub(crate) struct Args {
    /// Watch a cgroup (repeatable); see WATCHES.
    #[arg(long, value_name = "SPEC")]
    pub(crate) watch: Vec<String>,
    /// Directory of *.watch files.
    #[arg(long, value_name = "DIR")]
    pub(crate) config_dir: Option<PathBuf>,
    /// oomd.conf to read instead of /etc/systemd/oomd.conf (drop-ins: FILE.d/*.conf).
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<PathBuf>,
    /// PID 1's io.systemd.ManagedOOM socket.
    #[arg(
        long,
        value_name = "PATH",
        default_value = keel_oom::varlink::MANAGED_OOM_SOCKET
    )]
    pub(crate) manager_socket: PathBuf,
    /// Do not subscribe to PID 1.
    #[arg(long)]
    pub(crate) no_manager: bool,
    /// Decide and log, never kill.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print the monitored state like `oomctl dump` and exit; see DUMP.
    #[arg(long)]
    pub(crate) dump: bool,
    /// Append decision records as JSON lines to FILE ("-": stdout).
    #[arg(long, value_name = "FILE")]
    pub(crate) log: Option<PathBuf>,
    /// The cgroup2 mount (default: found in /proc/self/mountinfo).
    #[arg(long, value_name = "DIR")]
    pub(crate) cgroup_root: Option<PathBuf>,
    /// PSI trigger window to ask for (the kernel may only grant multiples of 2 s).
    #[arg(long, value_name = "TIMESPAN", default_value = "1s")]
    pub(crate) trigger_window: String,
    /// Kill only the worst process of the chosen cgroup, not the whole cgroup.
    #[arg(long)]
    pub(crate) kill_process: bool,
    /// Send SIGKILL to each pid even where cgroup.kill exists (as systemd 248 does).
    #[arg(long)]
    pub(crate) sigkill_each: bool,
    /// False-kill guard: a pressure kill also needs system-wide full avg10 >= PERCENT…
    #[arg(long, value_name = "PERCENT")]
    pub(crate) guard_full_avg10: Option<String>,
    /// …or MemAvailable below PERCENT of MemTotal.
    #[arg(long, value_name = "PERCENT")]
    pub(crate) guard_available: Option<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match daemon::run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("keel-oomd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
