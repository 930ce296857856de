//! keel's workspace-level integration tests live in `tests/<area>/main.rs` (one test binary
//! per area); this library is empty (a package needs a target).
