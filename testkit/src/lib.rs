//! Test helpers for keel's privileged and kernel-facing tests.
//!
//! keel's tests are honest about privileges: a test that needs root is marked
//! `#[ignore = "privileged: …"]` so that a plain `cargo test` by a normal user lists
//! it as *ignored*, and when it is run anyway (the README's test command passes
//! `--include-ignored`), [`require_root`] makes it *fail* without root instead of
//! silently passing.
//!
//! Namespaces that belong to a thread (network, mount via `unshare` on a fresh
//! thread) are created on a new thread so the test harness itself is untouched.
//!
//! ```
//! // Runs a closure on a fresh thread and returns its value.
//! let v = testkit::on_fresh_thread(|| 40 + 2);
//! assert_eq!(v, 42);
//! ```
#![forbid(unsafe_code)]
#![allow(clippy::expect_used)] // test helpers: a failed setup step must abort the test loudly

pub mod corpus;

use nix::sched::{CloneFlags, unshare};
use nix::unistd::geteuid;

/// Fails (never skips) when the process is not root.
///
/// # Panics
/// Panics with a message telling how to run the privileged tier when the
/// effective user is not root.
pub fn require_root() {
    assert!(
        geteuid().is_root(),
        "needs root: run the README's full test command as root (privileged tests never skip)"
    );
}

/// Fails (never skips) when `path` does not exist: for tests that need a peer tool.
///
/// # Panics
/// Panics naming the missing tool and the Debian package that provides it.
pub fn require_tool(path: &str, debian_package: &str) {
    assert!(
        std::path::Path::new(path).exists(),
        "needs {path} (Debian package {debian_package}): the README's test command installs it"
    );
}

/// Runs `f` on a new thread and returns its result, propagating a panic.
///
/// # Panics
/// Panics if `f` panicked.
pub fn on_fresh_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("test thread panicked")
}

/// Runs `f` on a new thread that first unshares the given namespaces.
///
/// Only namespaces that can be unshared per thread are meaningful here: network
/// (`CLONE_NEWNET`) and, with `CLONE_FS` semantics handled by the kernel, mount
/// (`CLONE_NEWNS`) and SysV IPC (`CLONE_NEWIPC`). The host and the test harness keep
/// their own namespaces.
///
/// # Panics
/// Panics if `unshare(2)` fails (for example without `CAP_SYS_ADMIN`) or `f` panics.
pub fn in_new_namespaces<T: Send + 'static>(
    flags: CloneFlags,
    f: impl FnOnce() -> T + Send + 'static,
) -> T {
    on_fresh_thread(move || {
        unshare(flags).expect("unshare() for a test namespace");
        f()
    })
}

/// Runs `f` on a new thread in a fresh network namespace.
///
/// # Panics
/// Panics if the namespace cannot be created or `f` panics.
pub fn in_new_netns<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    in_new_namespaces(CloneFlags::CLONE_NEWNET, f)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_thread_returns_value() {
        assert_eq!(on_fresh_thread(|| 7), 7);
    }

    #[test]
    #[should_panic(expected = "needs /nonexistent/tool")]
    fn missing_tool_fails() {
        require_tool("/nonexistent/tool", "none");
    }

    #[test]
    #[ignore = "privileged: CAP_SYS_ADMIN (unshare CLONE_NEWNET)"]
    fn netns_is_fresh() {
        require_root();
        let host = std::fs::read_link("/proc/thread-self/ns/net").unwrap();
        let inner = in_new_netns(|| std::fs::read_link("/proc/thread-self/ns/net").unwrap());
        assert_ne!(host, inner);
    }
}
