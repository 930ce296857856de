//! keel-oom: the library core of keel's systemd-oomd (systemd 248, `systemd-oomd`).
//!
//! What it does:
//!
//! - [`psi`]: parses `/proc/pressure/{cpu,memory,io}` and cgroup `*.pressure` files;
//! - [`trigger`]: arms PSI triggers (`some|full STALL WINDOW`) and waits for `POLLPRI`,
//!   falling back to a 2 s-multiple window or to polling `total=` where the kernel refuses;
//! - [`cgroup`]: finds the cgroup2 mount (unified or hybrid), reads `memory.*` files,
//!   `memory.pressure`, the `user.oomd_avoid`/`user.oomd_omit` xattrs and `/proc/meminfo`,
//!   and walks the candidate cgroups, all below an explicit root directory;
//! - [`policy`]: systemd-oomd 248's decision (`ManagedOOMMemoryPressure=kill`,
//!   `ManagedOOMSwap=kill`, `ManagedOOMPreference=`, cooldown), plus an opt-in false-kill
//!   guard and dry-run, as a pure function returning a [`policy::Decision`] with a
//!   structured [`policy::Explanation`];
//! - [`kill`]: kills a cgroup through `cgroup.kill` or `SIGKILL` per pid and confirms it
//!   emptied;
//! - [`process`]: the process-granular mode (beyond 248): choose and kill the worst process
//!   of the chosen cgroup instead of the whole cgroup;
//! - [`conf`]: `oomd.conf` and `oomd.conf.d/` drop-ins;
//! - [`watch`]: which cgroups to watch without a manager (`--watch`, `*.watch` files);
//! - [`varlink`]: the `io.systemd.ManagedOOM` protocol PID 1 speaks to oomd (client side,
//!   plus PID 1's replies);
//! - [`monitor`]: keel-oomd's event loop (PSI triggers and deadlines, no fixed tick),
//!   logging every decision as a [`monitor::Record`];
//! - [`dump`]: the monitored state in `oomctl dump`'s format.
//!
//! The `keel-oomd` binary is command-line parsing and logging around [`monitor::Monitor`].
//!
//! # Example
//!
//! ```
//! use keel_core::size::Permyriad;
//! use keel_oom::policy::{decide, Policy, PolicyState, PressureMonitored, Snapshot, Verdict};
//! use keel_oom::psi;
//!
//! let pressure = psi::parse(
//!     "some avg10=90.00 avg60=0 avg300=0 total=1\nfull avg10=80.00 avg60=0 avg300=0 total=1\n",
//!     std::path::Path::new("memory.pressure"),
//! )?;
//! let mut monitored = PressureMonitored::default();
//! monitored.context.path = "/workload.slice".into();
//! monitored.context.pressure = Some(pressure);
//! monitored.limit = Permyriad::new(5000);
//!
//! let mut snap = Snapshot::default();
//! snap.pressure_monitored.push(monitored);
//! let mut state = PolicyState::default();
//! let d = decide(&Policy::default(), &mut state, &snap);
//! // Above the limit, but not yet for DefaultMemoryPressureDurationSec=.
//! assert!(matches!(d.verdict, Verdict::None { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod cgroup;
pub mod conf;
pub mod dump;
pub mod kill;
pub mod monitor;
pub mod policy;
pub mod process;
pub mod psi;
pub mod trigger;
pub mod varlink;
pub mod watch;

pub use nix;
