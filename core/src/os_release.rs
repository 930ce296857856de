//! `os-release` and `extension-release` files, and the rules that decide whether a system
//! extension fits its host.
//!
//! Mirrors systemd 248's `src/basic/os-util.c` (locating the files, `image_name_is_valid`),
//! `src/basic/env-file.c` (`load_env_file_pairs`, the same grammar as environment files) and
//! `src/shared/extension-release.c` (`extension_release_validate`), spec §1.5.
//!
//! Compatibility follows 248 plus two later additions that the brief asks for and that are
//! harmless for 248 data: `ID=_any` (v252) and `ARCHITECTURE=` (v252); see
//! [`ExtensionRelease::is_compatible_with`].
//!
//! ```
//! use keel_core::os_release::{ExtensionRelease, IncompatibleError, OsRelease};
//!
//! let host = OsRelease::parse("ID=debian\nVERSION_ID=\"12\"\nPRETTY_NAME='Debian 12'\n")?;
//! assert_eq!((host.id(), host.version_id()), (Some("debian"), Some("12")));
//!
//! let ext = ExtensionRelease::parse("tools", "ID=debian\nVERSION_ID=12\n")?;
//! assert_eq!(ext.is_compatible_with(&host, "x86-64"), Ok(()));
//!
//! let old = ExtensionRelease::parse("old", "ID=debian\nVERSION_ID=11\n")?;
//! assert!(matches!(
//!     old.is_compatible_with(&host, "x86-64"),
//!     Err(IncompatibleError::VersionId { .. })
//! ));
//! # Ok::<(), keel_core::env::EnvFileError>(())
//! ```

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use crate::env::{EnvFileError, dedup_entries, parse_env_entries};

/// Where `os-release` is looked for, in order, below the root.
const OS_RELEASE_PATHS: [&str; 2] = ["etc/os-release", "usr/lib/os-release"];

/// The directory of `extension-release.NAME` files, below an extension's root.
const EXTENSION_RELEASE_DIR: &str = "usr/lib/extension-release.d";

/// How many symlinks a lookup below a root follows before giving up (systemd: 32).
const MAX_SYMLINKS: usize = 32;

/// The key/value pairs of an `os-release` file, in file order, each key once with its last
/// value.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct OsRelease {
    /// The fields in file order.
    pub fields: Vec<(String, String)>,
}

impl OsRelease {
    /// Parses the text of an `os-release` file (the environment-file grammar of
    /// [`crate::env`]; keys are not validated, as `load_env_file_pairs`).
    ///
    /// # Errors
    ///
    /// [`EnvFileError`] if the text cannot be read as an environment file (a NUL byte).
    pub fn parse(text: &str) -> Result<OsRelease, EnvFileError> {
        Ok(OsRelease {
            fields: dedup_entries(parse_env_entries(text)?),
        })
    }

    /// Reads `root/etc/os-release`, or `root/usr/lib/os-release` if the former does not
    /// exist, following symlinks inside `root` (an absolute link target is taken relative to
    /// `root`), as systemd's `fopen_os_release`/`chase_symlinks(CHASE_PREFIX_ROOT)`.
    ///
    /// # Ambient authority
    ///
    /// Reads the file system below `root`; pass `/` for the running system.
    ///
    /// # Errors
    ///
    /// [`OsReleaseError::NotFound`] naming both paths when neither exists, or
    /// [`OsReleaseError::Read`] / [`OsReleaseError::Parse`] naming the file that failed.
    pub fn load(root: &Path) -> Result<OsRelease, OsReleaseError> {
        let mut tried = Vec::new();
        for rel in OS_RELEASE_PATHS {
            match load_in_root(root, rel)? {
                Some(r) => return Ok(r),
                None => tried.push(root.join(rel)),
            }
        }
        Err(OsReleaseError::NotFound { paths: tried })
    }

    /// The value of `key` (`None` if absent).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// `ID=`, the operating system identifier (`debian`, `fedora`).
    pub fn id(&self) -> Option<&str> {
        self.get("ID")
    }

    /// `VERSION_ID=` (`12`, `39`).
    pub fn version_id(&self) -> Option<&str> {
        self.get("VERSION_ID")
    }

    /// `SYSEXT_LEVEL=`, the extension API level.
    pub fn sysext_level(&self) -> Option<&str> {
        self.get("SYSEXT_LEVEL")
    }

    /// The fields in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// The `extension-release.NAME` file of a system extension image.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ExtensionRelease {
    /// The image name `NAME` (directory name, or file name without `.raw`).
    pub name: String,
    /// The fields of the file.
    pub fields: OsRelease,
}

impl ExtensionRelease {
    /// Parses the text of the `extension-release` file of the image `name`.
    ///
    /// # Errors
    ///
    /// [`EnvFileError`] if the text cannot be read as an environment file (a NUL byte).
    pub fn parse(name: &str, text: &str) -> Result<ExtensionRelease, EnvFileError> {
        Ok(ExtensionRelease {
            name: name.to_owned(),
            fields: OsRelease::parse(text)?,
        })
    }

    /// Reads `root/usr/lib/extension-release.d/extension-release.NAME` of the extension tree
    /// at `root`, following symlinks inside `root`.
    ///
    /// # Ambient authority
    ///
    /// Reads the file system below `root`.
    ///
    /// # Errors
    ///
    /// [`OsReleaseError::InvalidName`] if `name` is not a valid image name (systemd's
    /// `image_name_is_valid`), [`OsReleaseError::NotFound`] if the file does not exist, or
    /// [`OsReleaseError::Read`] / [`OsReleaseError::Parse`].
    pub fn load(root: &Path, name: &str) -> Result<ExtensionRelease, OsReleaseError> {
        if !image_name_is_valid(name) {
            return Err(OsReleaseError::InvalidName {
                name: name.to_owned(),
            });
        }
        let rel = format!("{EXTENSION_RELEASE_DIR}/extension-release.{name}");
        match load_in_root(root, &rel)? {
            Some(fields) => Ok(ExtensionRelease {
                name: name.to_owned(),
                fields,
            }),
            None => Err(OsReleaseError::NotFound {
                paths: vec![root.join(rel)],
            }),
        }
    }

    /// Whether this extension may be merged into `host`, whose architecture is
    /// `host_architecture` (systemd's names: `x86-64`, `arm64`, ...), as systemd's
    /// `extension_release_validate`:
    ///
    /// 1. the extension's `ID=` must be set, and equal the host's `ID=` or be `_any` (v252);
    /// 2. `ARCHITECTURE=` (v252), when set and not `_any`, must equal `host_architecture`;
    /// 3. `ID=_any` extensions, and hosts with neither `VERSION_ID=` nor `SYSEXT_LEVEL=`
    ///    (rolling releases), need no version match;
    /// 4. if both sides set `SYSEXT_LEVEL=`, they must be equal, and `VERSION_ID=` is not
    ///    looked at;
    /// 5. otherwise, if the host sets `VERSION_ID=`, the extension's must equal it.
    ///
    /// Comparisons are exact string equality; there is no version ordering. An empty value
    /// counts as unset. A host without `ID=` is an error here (248 trips an assertion).
    ///
    /// # Errors
    ///
    /// The [`IncompatibleError`] naming the first rule that failed and both values.
    pub fn is_compatible_with(
        &self,
        host: &OsRelease,
        host_architecture: &str,
    ) -> Result<(), IncompatibleError> {
        fn nonempty(v: Option<&str>) -> Option<&str> {
            v.filter(|s| !s.is_empty())
        }
        let ext = &self.fields;
        let Some(host_id) = nonempty(host.id()) else {
            return Err(IncompatibleError::HostIdMissing);
        };
        let Some(ext_id) = nonempty(ext.id()) else {
            return Err(IncompatibleError::IdMissing {
                name: self.name.clone(),
            });
        };
        if ext_id != "_any" && ext_id != host_id {
            return Err(IncompatibleError::Id {
                name: self.name.clone(),
                extension: ext_id.to_owned(),
                host: host_id.to_owned(),
            });
        }
        if let Some(arch) = nonempty(ext.get("ARCHITECTURE")) {
            if arch != "_any" && arch != host_architecture {
                return Err(IncompatibleError::Architecture {
                    name: self.name.clone(),
                    extension: arch.to_owned(),
                    host: host_architecture.to_owned(),
                });
            }
        }
        if ext_id == "_any" {
            return Ok(());
        }
        let host_version = nonempty(host.version_id());
        let host_level = nonempty(host.sysext_level());
        if host_version.is_none() && host_level.is_none() {
            return Ok(());
        }
        if let (Some(host_level), Some(ext_level)) = (host_level, nonempty(ext.sysext_level())) {
            return if host_level == ext_level {
                Ok(())
            } else {
                Err(IncompatibleError::SysextLevel {
                    name: self.name.clone(),
                    extension: ext_level.to_owned(),
                    host: host_level.to_owned(),
                })
            };
        }
        if let Some(host_version) = host_version {
            let ext_version = nonempty(ext.version_id());
            if ext_version != Some(host_version) {
                return Err(IncompatibleError::VersionId {
                    name: self.name.clone(),
                    extension: ext_version.unwrap_or_default().to_owned(),
                    host: host_version.to_owned(),
                });
            }
        }
        Ok(())
    }
}

/// Whether `name` may name an image (systemd's `image_name_is_valid`): a valid file name
/// (non-empty, at most 255 bytes, not `.` or `..`, no `/`), no control characters, and not a
/// temporary file (`.#...`).
pub fn image_name_is_valid(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains('/')
        && !name.chars().any(char::is_control)
        && !name.starts_with(".#")
}

/// A failure to read an `os-release` or `extension-release` file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OsReleaseError {
    /// None of the candidate files exists.
    #[error("no release file found at {}", DisplayPaths(.paths))]
    NotFound {
        /// Every path tried, in order.
        paths: Vec<PathBuf>,
    },
    /// A file exists but could not be read.
    #[error("cannot read {}", .path.display())]
    Read {
        /// The file (below the root, before following symlinks).
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: io::Error,
    },
    /// A file could not be parsed.
    #[error("cannot parse {}", .path.display())]
    Parse {
        /// The file (below the root, before following symlinks).
        path: PathBuf,
        /// The parse error, with the line.
        #[source]
        source: EnvFileError,
    },
    /// The extension name is not a valid image name.
    #[error("invalid extension image name {name:?}")]
    InvalidName {
        /// The name given.
        name: String,
    },
}

/// Why an extension does not fit its host. Each variant names the image and both values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IncompatibleError {
    /// The host's `os-release` has no `ID=`.
    #[error("host os-release has no ID=")]
    HostIdMissing,
    /// The extension's release file has no `ID=`.
    #[error("extension {name} has no ID= in its extension-release file")]
    IdMissing {
        /// The image name.
        name: String,
    },
    /// `ID=` differs.
    #[error("extension {name} is for ID={extension}, host has ID={host}")]
    Id {
        /// The image name.
        name: String,
        /// The extension's value.
        extension: String,
        /// The host's value.
        host: String,
    },
    /// `ARCHITECTURE=` differs from the host's architecture.
    #[error("extension {name} is for ARCHITECTURE={extension}, host architecture is {host}")]
    Architecture {
        /// The image name.
        name: String,
        /// The extension's value.
        extension: String,
        /// The host's architecture.
        host: String,
    },
    /// `SYSEXT_LEVEL=` differs.
    #[error("extension {name} has SYSEXT_LEVEL={extension}, host has SYSEXT_LEVEL={host}")]
    SysextLevel {
        /// The image name.
        name: String,
        /// The extension's value.
        extension: String,
        /// The host's value.
        host: String,
    },
    /// `VERSION_ID=` differs or is missing in the extension (then `extension` is empty).
    #[error("extension {name} has VERSION_ID={extension}, host has VERSION_ID={host}")]
    VersionId {
        /// The image name.
        name: String,
        /// The extension's value, empty if unset.
        extension: String,
        /// The host's value.
        host: String,
    },
}

/// Shows a list of paths as `a, b`.
struct DisplayPaths<'a>(&'a [PathBuf]);

impl fmt::Display for DisplayPaths<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{}", p.display())?;
        }
        Ok(())
    }
}

/// Reads and parses `rel` below `root`; `Ok(None)` if it does not exist.
fn load_in_root(root: &Path, rel: &str) -> Result<Option<OsRelease>, OsReleaseError> {
    let path = root.join(rel);
    let read = chase_in_root(root, Path::new(rel)).and_then(fs::read_to_string);
    let text = match read {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => return Err(OsReleaseError::Read { path, source }),
    };
    OsRelease::parse(&text)
        .map(Some)
        .map_err(|source| OsReleaseError::Parse { path, source })
}

/// Resolves `rel` below `root` following symlinks, with absolute link targets and `..`
/// kept inside `root` (systemd's `chase_symlinks` with `CHASE_PREFIX_ROOT`).
fn chase_in_root(root: &Path, rel: &Path) -> io::Result<PathBuf> {
    fn push_components(todo: &mut Vec<OsString>, p: &Path) {
        for c in p.components().rev() {
            match c {
                Component::Normal(s) => todo.push(s.to_owned()),
                Component::ParentDir => todo.push(OsString::from("..")),
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
    }
    let mut todo = Vec::new();
    push_components(&mut todo, rel);
    let mut done = root.to_path_buf();
    let mut depth = 0usize;
    let mut links = 0usize;
    while let Some(c) = todo.pop() {
        if c == ".." {
            if depth > 0 {
                done.pop();
                depth -= 1;
            }
            continue;
        }
        let next = done.join(&c);
        if fs::symlink_metadata(&next)?.file_type().is_symlink() {
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(io::Error::other("too many levels of symbolic links"));
            }
            let target = fs::read_link(&next)?;
            if target.is_absolute() {
                done = root.to_path_buf();
                depth = 0;
            }
            push_components(&mut todo, &target);
        } else {
            done = next;
            depth += 1;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(text: &str) -> OsRelease {
        OsRelease::parse(text).unwrap_or_default()
    }

    fn ext(text: &str) -> ExtensionRelease {
        ExtensionRelease::parse("ext", text).unwrap_or_default()
    }

    fn tempdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "keel-os-release-{tag}-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn parse_and_accessors() {
        let r = host(
            "NAME=\"Debian GNU/Linux\"\nID=debian\nVERSION_ID=\"12\"\n# c\nSYSEXT_LEVEL=1.0\nID=other\n",
        );
        assert_eq!(r.id(), Some("other"));
        assert_eq!(r.version_id(), Some("12"));
        assert_eq!(r.sysext_level(), Some("1.0"));
        assert_eq!(r.get("NAME"), Some("Debian GNU/Linux"));
        assert_eq!(r.get("nope"), None);
        let keys: Vec<&str> = r.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["NAME", "ID", "VERSION_ID", "SYSEXT_LEVEL"]);
        assert_eq!(OsRelease::parse("A=\0"), Err(EnvFileError::Nul { line: 1 }));
    }

    // Spec §1.5 rules, plus ID=_any and ARCHITECTURE= (v252).
    #[test]
    fn compatibility_table() {
        type Check = fn(&Result<(), IncompatibleError>) -> bool;
        let ok: Check = |r| r.is_ok();
        let table: &[(&str, &str, Check)] = &[
            ("ID=debian\nVERSION_ID=12", "ID=debian\nVERSION_ID=12", ok),
            (
                "ID=debian\nVERSION_ID=12",
                "ID=debian\nVERSION_ID=11",
                |r| {
                    *r == Err(IncompatibleError::VersionId {
                        name: "ext".into(),
                        extension: "11".into(),
                        host: "12".into(),
                    })
                },
            ),
            (
                "ID=debian\nVERSION_ID=12",
                "ID=debian",
                |r| matches!(r, Err(IncompatibleError::VersionId { extension, .. }) if extension.is_empty()),
            ),
            (
                "ID=debian\nVERSION_ID=12",
                "ID=fedora\nVERSION_ID=12",
                |r| matches!(r, Err(IncompatibleError::Id { extension, host, .. }) if extension == "fedora" && host == "debian"),
            ),
            ("ID=debian\nVERSION_ID=12", "VERSION_ID=12", |r| {
                matches!(r, Err(IncompatibleError::IdMissing { .. }))
            }),
            ("ID=debian\nVERSION_ID=12", "ID=\nVERSION_ID=12", |r| {
                matches!(r, Err(IncompatibleError::IdMissing { .. }))
            }),
            ("VERSION_ID=12", "ID=debian", |r| {
                *r == Err(IncompatibleError::HostIdMissing)
            }),
            // Rolling release host: no version comparison.
            ("ID=arch", "ID=arch\nVERSION_ID=whatever", ok),
            ("ID=arch\nVERSION_ID=", "ID=arch", ok),
            // SYSEXT_LEVEL on both sides wins over VERSION_ID.
            (
                "ID=d\nVERSION_ID=12\nSYSEXT_LEVEL=2",
                "ID=d\nVERSION_ID=11\nSYSEXT_LEVEL=2",
                ok,
            ),
            (
                "ID=d\nVERSION_ID=12\nSYSEXT_LEVEL=2",
                "ID=d\nVERSION_ID=12\nSYSEXT_LEVEL=3",
                |r| matches!(r, Err(IncompatibleError::SysextLevel { extension, host, .. }) if extension == "3" && host == "2"),
            ),
            // Only the host has SYSEXT_LEVEL: fall back to VERSION_ID.
            (
                "ID=d\nVERSION_ID=12\nSYSEXT_LEVEL=2",
                "ID=d\nVERSION_ID=12",
                ok,
            ),
            (
                "ID=d\nVERSION_ID=12\nSYSEXT_LEVEL=2",
                "ID=d\nVERSION_ID=13",
                |r| matches!(r, Err(IncompatibleError::VersionId { .. })),
            ),
            // Host with SYSEXT_LEVEL but no VERSION_ID, extension without a level.
            ("ID=d\nSYSEXT_LEVEL=2", "ID=d", ok),
            // Only the extension has SYSEXT_LEVEL.
            (
                "ID=d\nVERSION_ID=12",
                "ID=d\nVERSION_ID=12\nSYSEXT_LEVEL=9",
                ok,
            ),
            // Exact string compare, no version ordering.
            ("ID=d\nVERSION_ID=12", "ID=d\nVERSION_ID=12.0", |r| {
                r.is_err()
            }),
            // ID=_any (v252).
            ("ID=debian\nVERSION_ID=12", "ID=_any", ok),
            ("ID=debian\nVERSION_ID=12", "ID=_any\nVERSION_ID=1", ok),
            // ARCHITECTURE= (v252).
            (
                "ID=d\nVERSION_ID=12",
                "ID=d\nVERSION_ID=12\nARCHITECTURE=x86-64",
                ok,
            ),
            (
                "ID=d\nVERSION_ID=12",
                "ID=d\nVERSION_ID=12\nARCHITECTURE=_any",
                ok,
            ),
            (
                "ID=d\nVERSION_ID=12",
                "ID=d\nVERSION_ID=12\nARCHITECTURE=",
                ok,
            ),
            (
                "ID=d\nVERSION_ID=12",
                "ID=d\nVERSION_ID=12\nARCHITECTURE=arm64",
                |r| {
                    *r == Err(IncompatibleError::Architecture {
                        name: "ext".into(),
                        extension: "arm64".into(),
                        host: "x86-64".into(),
                    })
                },
            ),
            ("ID=d", "ID=_any\nARCHITECTURE=arm64", |r| {
                matches!(r, Err(IncompatibleError::Architecture { .. }))
            }),
        ];
        for (h, e, check) in table {
            let r = ext(e).is_compatible_with(&host(h), "x86-64");
            assert!(check(&r), "host {h:?} ext {e:?}: {r:?}");
        }
    }

    #[test]
    fn error_messages() {
        let e = IncompatibleError::VersionId {
            name: "tools".into(),
            extension: "11".into(),
            host: "12".into(),
        };
        assert_eq!(
            e.to_string(),
            "extension tools has VERSION_ID=11, host has VERSION_ID=12"
        );
        let e = OsReleaseError::NotFound {
            paths: vec!["/r/etc/os-release".into(), "/r/usr/lib/os-release".into()],
        };
        assert_eq!(
            e.to_string(),
            "no release file found at /r/etc/os-release, /r/usr/lib/os-release"
        );
    }

    #[test]
    fn image_names() {
        for good in ["foo", "foo.raw", "a b", ".hidden", "ä"] {
            assert!(image_name_is_valid(good), "{good}");
        }
        let long = "x".repeat(256);
        for bad in ["", ".", "..", "a/b", "a\nb", ".#tmp", long.as_str()] {
            assert!(!image_name_is_valid(bad), "{bad:?}");
        }
    }

    #[test]
    fn load_prefers_etc_then_usr_lib() {
        let root = tempdir("load");
        let err = OsRelease::load(&root);
        match err {
            Err(OsReleaseError::NotFound { paths }) => assert_eq!(
                paths,
                [root.join("etc/os-release"), root.join("usr/lib/os-release")]
            ),
            other => panic!("unexpected {other:?}"),
        }
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/os-release"), "ID=usr\n").unwrap();
        assert_eq!(OsRelease::load(&root).unwrap().id(), Some("usr"));
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::write(root.join("etc/os-release"), "ID=etc\n").unwrap();
        assert_eq!(OsRelease::load(&root).unwrap().id(), Some("etc"));
        fs::write(root.join("etc/os-release"), "ID=\0").unwrap();
        assert!(matches!(
            OsRelease::load(&root),
            Err(OsReleaseError::Parse { path, source: EnvFileError::Nul { line: 1 } })
                if path == root.join("etc/os-release")
        ));
        fs::remove_dir_all(&root).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn load_follows_symlinks_inside_root() {
        use std::os::unix::fs::symlink;
        let root = tempdir("symlink");
        fs::create_dir_all(root.join("etc")).unwrap();
        fs::create_dir_all(root.join("usr/lib")).unwrap();
        fs::write(root.join("usr/lib/os-release"), "ID=inside\n").unwrap();
        // An absolute target resolves below the root, never on the host.
        symlink("/usr/lib/os-release", root.join("etc/os-release")).unwrap();
        assert_eq!(OsRelease::load(&root).unwrap().id(), Some("inside"));
        fs::remove_file(root.join("etc/os-release")).unwrap();
        symlink(
            "../../../../usr/lib/os-release",
            root.join("etc/os-release"),
        )
        .unwrap();
        assert_eq!(OsRelease::load(&root).unwrap().id(), Some("inside"));
        // A dangling link falls back to /usr/lib, as ENOENT does in systemd.
        fs::remove_file(root.join("etc/os-release")).unwrap();
        symlink("/nonexistent", root.join("etc/os-release")).unwrap();
        assert_eq!(OsRelease::load(&root).unwrap().id(), Some("inside"));
        // A loop is a read error naming the file.
        fs::remove_file(root.join("etc/os-release")).unwrap();
        symlink("os-release", root.join("etc/os-release")).unwrap();
        assert!(matches!(
            OsRelease::load(&root),
            Err(OsReleaseError::Read { path, .. }) if path == root.join("etc/os-release")
        ));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn load_extension_release() {
        let root = tempdir("ext");
        assert!(matches!(
            ExtensionRelease::load(&root, "../x"),
            Err(OsReleaseError::InvalidName { .. })
        ));
        assert!(matches!(
            ExtensionRelease::load(&root, "tools"),
            Err(OsReleaseError::NotFound { paths })
                if paths == [root.join("usr/lib/extension-release.d/extension-release.tools")]
        ));
        fs::create_dir_all(root.join("usr/lib/extension-release.d")).unwrap();
        fs::write(
            root.join("usr/lib/extension-release.d/extension-release.tools"),
            "ID=debian\nSYSEXT_LEVEL=1\n",
        )
        .unwrap();
        let e = ExtensionRelease::load(&root, "tools").unwrap();
        assert_eq!(e.name, "tools");
        assert_eq!(e.fields.sysext_level(), Some("1"));
        fs::remove_dir_all(&root).unwrap();
    }
}
