//! PSI triggers: write `some|full STALL_US WINDOW_US` to a pressure file and wait for
//! `POLLPRI`, with a fallback when the kernel refuses the window.
//!
//! Without `CAP_SYS_RESOURCE` the kernel accepts only windows that are a multiple of 2 s
//! (and every window must lie in 500 ms..=10 s). [`plan_windows`] lists what to try, in
//! order: the requested window, then the next allowed unprivileged one (the stall scaled to
//! keep the same share of the window). If every write fails with `EINVAL`,
//! [`register`] returns [`TriggerSetup::PollingTotal`]: the caller then compares the
//! file's `total=` between timer ticks. Every outcome carries the attempts made, and its
//! `Display` is the log line saying which was used.
//!
//! Caution for callers (observed on Linux 6.18 with unprivileged triggers): those are
//! evaluated by the kernel's 2 s averaging work, and *reading* the pressure file once that
//! period has elapsed runs the averaging itself, so the trigger misses the period. A
//! watcher relying on an unprivileged trigger reads the file right after `POLLPRI`, not on
//! a free-running timer.
//!
//! # References
//! - <https://docs.kernel.org/accounting/psi.html#monitoring-for-pressure-thresholds>

use std::fmt;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_core::time::{USEC_PER_MSEC, USEC_PER_SEC, Usec};
use nix::errno::Errno;
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::statfs;

use crate::psi::PressureKind;

/// Smallest window the kernel accepts.
pub const WINDOW_MIN: Usec = Usec(500 * USEC_PER_MSEC);
/// Largest window the kernel accepts.
pub const WINDOW_MAX: Usec = Usec(10 * USEC_PER_SEC);
/// Without `CAP_SYS_RESOURCE` windows must be a multiple of this.
pub const UNPRIVILEGED_WINDOW_STEP: Usec = Usec(2 * USEC_PER_SEC);

/// What to ask the kernel for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct TriggerSpec {
    /// `some` or `full`.
    pub kind: PressureKind,
    /// Stall time within the window that fires the trigger.
    pub stall: Usec,
    /// The window.
    pub window: Usec,
}

impl TriggerSpec {
    /// A trigger firing when `stall` of stall accumulates within `window`.
    pub const fn new(kind: PressureKind, stall: Usec, window: Usec) -> Self {
        Self {
            kind,
            stall,
            window,
        }
    }

    /// The text written to the pressure file.
    pub fn to_kernel_string(&self) -> String {
        format!(
            "{} {} {}",
            self.kind.as_str(),
            self.stall.as_raw(),
            self.window.as_raw()
        )
    }
}

/// The specs to try, in order: `requested`, then (if different) the same trigger on the
/// next window that is a multiple of 2 s, clamped to the kernel's 10 s maximum, with the
/// stall scaled to keep its share of the window.
pub fn plan_windows(requested: TriggerSpec) -> Vec<TriggerSpec> {
    let mut out = vec![requested];
    let step = UNPRIVILEGED_WINDOW_STEP.as_raw();
    let w = requested
        .window
        .as_raw()
        .clamp(WINDOW_MIN.as_raw(), WINDOW_MAX.as_raw());
    let rounded = w
        .div_ceil(step)
        .saturating_mul(step)
        .min(WINDOW_MAX.as_raw());
    if rounded != requested.window.as_raw() {
        let scaled = u128::from(requested.stall.as_raw()) * u128::from(rounded)
            / u128::from(requested.window.as_raw().max(1));
        let stall = u64::try_from(scaled).unwrap_or(rounded).min(rounded);
        out.push(TriggerSpec::new(requested.kind, Usec(stall), Usec(rounded)));
    }
    out
}

/// One refused write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RefusedAttempt {
    /// What was written.
    pub spec: TriggerSpec,
    /// The kernel's answer.
    pub errno: Errno,
}

/// An armed trigger: the open pressure file, readable for `POLLPRI`.
#[derive(Debug)]
pub struct Trigger {
    file: File,
    path: PathBuf,
    spec: TriggerSpec,
}

impl Trigger {
    /// The spec the kernel accepted.
    pub fn spec(&self) -> TriggerSpec {
        self.spec
    }

    /// The pressure file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Waits up to `timeout` for the trigger to fire (`None`: forever). Returns whether
    /// it fired.
    ///
    /// # Errors
    /// [`TriggerError::Poll`] when `poll` fails, [`TriggerError::Gone`] when the kernel
    /// reports `POLLERR` (the cgroup was removed).
    pub fn wait(&self, timeout: Option<Duration>) -> Result<bool, TriggerError> {
        let timeout = match timeout {
            None => PollTimeout::NONE,
            Some(d) => PollTimeout::try_from(d).unwrap_or(PollTimeout::MAX),
        };
        let mut fds = [PollFd::new(self.file.as_fd(), PollFlags::POLLPRI)];
        let n = loop {
            match poll(&mut fds, timeout) {
                Err(Errno::EINTR) => {}
                r => {
                    break r.map_err(|errno| TriggerError::Poll {
                        path: self.path.clone(),
                        errno,
                    })?;
                }
            }
        };
        let revents = fds[0].revents().unwrap_or(PollFlags::empty());
        if revents.intersects(PollFlags::POLLERR | PollFlags::POLLNVAL) {
            return Err(TriggerError::Gone {
                path: self.path.clone(),
            });
        }
        Ok(n > 0 && revents.contains(PollFlags::POLLPRI))
    }
}

/// The pressure file's descriptor, for callers that poll many triggers at once
/// (`POLLPRI`).
impl AsFd for Trigger {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

/// What [`register`] ended with. `Display` is the log line.
#[derive(Debug)]
#[non_exhaustive]
pub enum TriggerSetup {
    /// A trigger is armed.
    Armed {
        /// The trigger.
        trigger: Trigger,
        /// Windows refused before this one.
        refused: Vec<RefusedAttempt>,
    },
    /// The file is not on procfs or cgroup2 (a fixture tree, say): nothing was written
    /// to it; compare `total=` between ticks instead.
    NotKernelFile {
        /// The file.
        path: PathBuf,
    },
    /// Every window was refused with `EINVAL`: compare `total=` between ticks instead.
    PollingTotal {
        /// The pressure file.
        path: PathBuf,
        /// The refused windows.
        refused: Vec<RefusedAttempt>,
    },
}

impl fmt::Display for TriggerSetup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let refused = match self {
            Self::Armed { refused, .. } | Self::PollingTotal { refused, .. } => refused,
            Self::NotKernelFile { path } => {
                return write!(
                    f,
                    "{}: not a kernel pressure file (neither procfs nor cgroup2), polling total= instead",
                    path.display()
                );
            }
        };
        match self {
            Self::Armed { trigger, .. } => write!(
                f,
                "{}: PSI trigger \"{}\" armed",
                trigger.path.display(),
                trigger.spec.to_kernel_string()
            )?,
            Self::NotKernelFile { .. } => {}
            Self::PollingTotal { path, .. } => write!(
                f,
                "{}: kernel refused every PSI trigger window, polling total= instead",
                path.display()
            )?,
        }
        for r in refused {
            write!(
                f,
                "; refused \"{}\" ({})",
                r.spec.to_kernel_string(),
                r.errno.desc()
            )?;
        }
        Ok(())
    }
}

/// A trigger could not be set up or waited on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TriggerError {
    /// The pressure file could not be opened.
    #[error("cannot open pressure file {} for a trigger", path.display())]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The kernel refused the trigger for a reason other than the window.
    #[error("cannot write PSI trigger \"{spec}\" to {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// What was written.
        spec: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `poll` failed.
    #[error("poll on {} failed", path.display())]
    Poll {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        errno: Errno,
    },
    /// The trigger is no longer valid (its cgroup was removed).
    #[error("PSI trigger on {} is gone", path.display())]
    Gone {
        /// The file.
        path: PathBuf,
    },
}

/// Arms a trigger on `path` (a `/proc/pressure/*` or cgroup `*.pressure` file), trying
/// the windows of [`plan_windows`] in order.
///
/// # Errors
/// [`TriggerError::Open`] when the file cannot be opened for writing,
/// [`TriggerError::Write`] for refusals other than `EINVAL` (e.g. `EPERM`, `EOPNOTSUPP`).
pub fn register(path: &Path, spec: TriggerSpec) -> Result<TriggerSetup, TriggerError> {
    let open_error = |source| TriggerError::Open {
        path: path.to_path_buf(),
        source,
    };
    // A trigger written to a regular file would just overwrite it.
    let probe = File::open(path).map_err(open_error)?;
    let fs = statfs::fstatfs(&probe).map_err(|e| open_error(e.into()))?;
    if ![statfs::PROC_SUPER_MAGIC, statfs::CGROUP2_SUPER_MAGIC].contains(&fs.filesystem_type()) {
        return Ok(TriggerSetup::NotKernelFile {
            path: path.to_path_buf(),
        });
    }
    let mut refused = Vec::new();
    for candidate in plan_windows(spec) {
        // Each trigger needs its own open file: a refused write leaves nothing behind,
        // but one file can hold only one trigger.
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .map_err(open_error)?;
        let text = candidate.to_kernel_string();
        // The kernel overwrites the last byte written with a NUL, so the terminator must
        // be part of the write (psi.rst writes `strlen(trig) + 1` bytes).
        let mut bytes = Vec::with_capacity(text.len() + 1);
        bytes.extend_from_slice(text.as_bytes());
        bytes.push(0);
        match file.write_all(&bytes) {
            Ok(()) => {
                return Ok(TriggerSetup::Armed {
                    trigger: Trigger {
                        file,
                        path: path.to_path_buf(),
                        spec: candidate,
                    },
                    refused,
                });
            }
            Err(e) if e.raw_os_error() == Some(Errno::EINVAL as i32) => {
                refused.push(RefusedAttempt {
                    spec: candidate,
                    errno: Errno::EINVAL,
                });
            }
            Err(source) => {
                return Err(TriggerError::Write {
                    path: path.to_path_buf(),
                    spec: text,
                    source,
                });
            }
        }
    }
    Ok(TriggerSetup::PollingTotal {
        path: path.to_path_buf(),
        refused,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(stall_ms: u64, window_ms: u64) -> TriggerSpec {
        TriggerSpec::new(
            PressureKind::Some,
            Usec::from_millis(stall_ms),
            Usec::from_millis(window_ms),
        )
    }

    #[test]
    fn windows_to_try() {
        assert_eq!(
            plan_windows(spec(150, 1000)),
            vec![spec(150, 1000), spec(300, 2000)]
        );
        assert_eq!(plan_windows(spec(100, 2000)), vec![spec(100, 2000)]);
        assert_eq!(
            plan_windows(spec(500, 3000))[1],
            TriggerSpec::new(PressureKind::Some, Usec(666_666), Usec::from_secs(4))
        );
        assert_eq!(plan_windows(spec(100, 10_000)), vec![spec(100, 10_000)]);
        // Outside the kernel's range: the fallback is clamped into it.
        assert_eq!(
            plan_windows(spec(100, 30_000))[1],
            TriggerSpec::new(PressureKind::Some, Usec(33_333), Usec::from_secs(10))
        );
        assert_eq!(plan_windows(spec(100, 100))[1], spec(2000, 2000));
        assert_eq!(spec(150, 1000).to_kernel_string(), "some 150000 1000000");
    }

    #[test]
    fn register_on_real_proc_pressure() {
        // Tier 2: works with or without CAP_SYS_RESOURCE, and says which way it went.
        let path = Path::new("/proc/pressure/memory");
        let setup = register(path, spec(150, 1000)).unwrap();
        let line = setup.to_string();
        match &setup {
            TriggerSetup::Armed { trigger, refused } => {
                assert!(line.contains("armed"), "{line}");
                assert_eq!(
                    refused.is_empty(),
                    trigger.spec().window == Usec::from_secs(1)
                );
                // Nothing is expected to fire within 10 ms on an idle host; either way the
                // call must return.
                trigger.wait(Some(Duration::from_millis(10))).unwrap();
            }
            TriggerSetup::PollingTotal { refused, .. } => {
                assert_eq!(refused.len(), 2, "{line}");
            }
            TriggerSetup::NotKernelFile { .. } => panic!("{line}"),
        }
        // A fixture file is left alone.
        let t = tempfile::tempdir().unwrap();
        let fixture = t.path().join("memory.pressure");
        let text = "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n";
        std::fs::write(&fixture, text).unwrap();
        let setup = register(&fixture, spec(150, 1000)).unwrap();
        assert!(
            matches!(setup, TriggerSetup::NotKernelFile { .. }),
            "{setup}"
        );
        assert!(setup.to_string().contains("not a kernel pressure file"));
        assert_eq!(std::fs::read_to_string(&fixture).unwrap(), text);
        assert!(matches!(
            register(Path::new("/nonexistent/memory.pressure"), spec(150, 1000)),
            Err(TriggerError::Open { .. })
        ));
    }
}
