//! keel-unit: systemd 248 unit files for Rust.
//!
//! (crate docs are completed by the keel-unit work)
#![forbid(unsafe_code)]

pub mod diag;
pub mod model;
