//! keel-core: the shared vocabulary of keel.
//!
//! Small, pure building blocks that every other keel crate speaks, each matching systemd 248
//! exactly (the systemd source each mirrors is named in its module docs):
//!
//! - [`unit_name`]: unit names, templates and instances, `systemd-escape` escaping;
//! - [`time`]: time spans (`5min 30s`, `infinity`) with µs precision, parsing and formatting;
//! - [`size`]: byte sizes (`1.5G`) and percentages, permilles, permyriads;
//! - [`boolean`]: systemd's booleans;
//! - [`word`]: `extract_first_word` word splitting, unquoting and C escapes;
//! - [`specifier`]: `%`-specifier expansion of unit files;
//! - [`os_release`]: os-release and extension-release files and their compatibility rules;
//! - [`mod@env`]: environment files, variable names, `$VAR` substitution in command lines;
//! - [`exit_status`]: systemd's exit status codes and names;
//! - [`cmdline`]: the kernel command line (`root=`, `systemd.setenv=`, ...).
//!
//! Nothing here makes system calls; the few functions that read files say so and take an
//! explicit root directory.
//!
//! # Example
//!
//! ```
//! use keel_core::time::{parse_sec, Usec};
//! use keel_core::unit_name::{UnitName, UnitType};
//!
//! let name: UnitName = "getty@tty1.service".parse()?;
//! assert_eq!(name.unit_type(), UnitType::Service);
//! assert_eq!(name.instance(), Some("tty1"));
//! assert_eq!(name.template().map(|t| t.to_string()), Some("getty@.service".into()));
//!
//! let span = parse_sec("5min 30s")?;
//! assert_eq!(span, Usec::from_secs(330));
//! assert_eq!(span.to_string(), "5min 30s");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod boolean;
pub mod cmdline;
pub mod env;
pub mod exit_status;
pub mod os_release;
pub mod report;
pub mod size;
pub mod specifier;
pub mod time;
pub mod unit_name;
pub mod word;
