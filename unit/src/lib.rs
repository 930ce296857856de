//! keel-unit: systemd 248 unit files for Rust.
//!
//! (crate docs are completed by the keel-unit work)
#![forbid(unsafe_code)]

pub mod diag;
pub mod dump;
pub mod lex;
pub mod load;
pub mod lookup;
pub mod manager_conf;
pub mod model;
pub mod verify;
