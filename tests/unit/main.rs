//! keel-unit against the real world: the Debian unit corpus, systemd 252's own view of the
//! same files, and systemd's list of configuration items.

#![allow(clippy::tests_outside_test_module)] // integration tests: the whole binary is tests

mod coverage;
mod debian_corpus;
