//! keel-unit: systemd 248 unit files for Rust.
//!
//! What systemd 248's PID 1 does when it reads a unit, as a library:
//!
//! - [`lex`]: the INI lexer shared by every systemd-style file (units, `system.conf`,
//!   `.network`, `oomd.conf`): sections, `\` continuations (comment lines inside a
//!   continuation skipped), `#`/`;` comments, exact line and column positions;
//! - [`lookup`]: the search paths of the system and user managers under an explicit root
//!   directory, aliases (symlinks), masks, drop-in directories (`foo.service.d/`,
//!   `foo@.service.d/`, dash-prefix `foo-.service.d/`, type-wide `service.d/`) and
//!   `.wants/`/`.requires/` directories;
//! - [`load`]: fragment + drop-ins dispatched key by key through the directive tables of the
//!   typed [`model`], with 248's semantics (empty assignments reset lists but not
//!   dependencies, invalid values are warnings naming file and line, only what 248 treats
//!   as fatal makes a unit `bad-setting`), then 248's load-time defaults and checks;
//! - [`manager_conf`]: `system.conf`/`user.conf` with drop-ins, `ManagerEnvironment=`;
//! - [`dump`]: a unit printed as `systemd --test` prints it; [`verify`]: what
//!   `systemd-analyze verify` does, for `keel-analyze`.
//!
//! It does not start anything (that is `keel-exec` and `keel-manager`), and it does not
//! compute the implicit dependencies a running manager adds (`DefaultDependencies=`,
//! `Slice=` ordering, mount ordering); those belong to the manager's graph.
//!
//! # Example
//!
//! ```
//! use keel_unit::load::parse_unit_text;
//! use keel_unit::model::{LoadState, service::ServiceType};
//!
//! let name = "web.service".parse()?;
//! let text = b"[Unit]\nDescription=Web for %n\n\n[Service]\nType=oneshot\n\
//!     ExecStart=-/usr/bin/web --port 80 ; /bin/true\nPrivateIPC=yes\nRestart=sometimes\n";
//! let loaded = parse_unit_text(&name, text, None, &Default::default());
//! let unit = &loaded.unit;
//! assert_eq!(unit.load_state, LoadState::Loaded);
//! assert_eq!(unit.unit.description.as_deref(), Some("Web for web.service"));
//! let service = unit.service().expect("a service");
//! assert_eq!(service.effective_type(), ServiceType::Oneshot);
//! assert_eq!(service.commands.start.len(), 2);
//! assert!(unit.exec.as_ref().is_some_and(|e| e.private_ipc));
//! // An invalid value is a warning with its line; the unit still loads.
//! assert_eq!(loaded.diagnostics[0].line, 8);
//! assert_eq!(loaded.diagnostics[0].message, "Failed to parse service restart specifier, ignoring: sometimes");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod diag;
pub mod dump;
pub mod lex;
pub mod load;
pub mod lookup;
pub mod manager_conf;
pub mod model;
pub mod verify;
