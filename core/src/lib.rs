//! keel-core: the shared vocabulary of keel.
//!
//! (crate docs are completed by the keel-core work; see the module list)
#![forbid(unsafe_code)]

pub mod specifier;
pub mod unit_name;
