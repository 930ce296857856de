//! keel-exec: start a process exactly as a systemd 248 service would be started.
//!
//! (crate docs are completed by the keel-exec work)
#![deny(unsafe_code)]

pub mod seccomp;
