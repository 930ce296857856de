//! keel-exec against the real kernel: processes started with each sandbox setting, checked
//! from inside the sandbox with `/bin/sh` and coreutils as the probe.
//!
//! Every test here needs root (namespaces, mounts, credentials): each is
//! `#[ignore = "privileged: …"]` and calls `testkit::require_root()` first, so a normal
//! user sees them as ignored and a root run with `--include-ignored` fails loudly rather
//! than skip.

#![allow(clippy::tests_outside_test_module)] // integration tests: the whole binary is tests
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sandbox;
