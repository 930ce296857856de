//! Finding extension images: the search directories of spec §1.3 below a root, the kinds
//! of entry they may hold, and the version-aware name order merges use.

use std::cmp::Ordering;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use keel_core::os_release::image_name_is_valid;

use super::error::DiscoverError;

/// Where extension images are looked for, in order; the first image of a name wins.
pub const SEARCH_DIRS: [&str; 5] = [
    "/etc/extensions",
    "/run/extensions",
    "/var/lib/extensions",
    "/usr/local/lib/extensions",
    "/usr/lib/extensions",
];

/// What kind of image an entry of a search directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ImageKind {
    /// A plain directory tree, bind-mounted.
    #[default]
    Directory,
    /// A regular file ending in `.raw`: a file system or a GPT disk image, attached
    /// through a loop device.
    Raw,
    /// A block device node.
    Block,
}

impl ImageKind {
    /// systemd's name for the kind (`directory`, `raw`, `block`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Directory => "directory",
            Self::Raw => "raw",
            Self::Block => "block",
        }
    }
}

/// One discovered extension image.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Image {
    /// The image name (directory name, or file name without `.raw`).
    pub name: String,
    /// Its kind.
    #[serde(rename = "type")]
    pub kind: ImageKind,
    /// Where it is (below the root, not resolved further).
    pub path: PathBuf,
    /// Its modification time in µs since the epoch.
    #[serde(rename = "time")]
    pub mtime_usec: Option<u64>,
}

/// Lists the extension images below `root` (`/` for the running system), sorted by name
/// in [`version_cmp`] order. Missing search directories are skipped. Entries are
/// stat'ed following symlinks, except with a root other than `/` (then symlinks are taken
/// as they are and so ignored, as systemd does).
///
/// # Ambient authority
///
/// Reads the search directories below `root`.
///
/// # Errors
///
/// [`DiscoverError::ReadDir`] if a search directory exists but cannot be read.
pub fn discover(root: &Path) -> Result<Vec<Image>, DiscoverError> {
    let follow = root == Path::new("/");
    let mut out: Vec<Image> = Vec::new();
    for dir in SEARCH_DIRS {
        let path = root.join(dir.trim_start_matches('/'));
        let entries = match fs::read_dir(&path) {
            Ok(e) => e,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) =>
            {
                continue;
            }
            Err(source) => return Err(DiscoverError::ReadDir { path, source }),
        };
        for entry in entries {
            let entry = entry.map_err(|source| DiscoverError::ReadDir {
                path: path.clone(),
                source,
            })?;
            let Ok(file_name) = entry.file_name().into_string() else {
                continue;
            };
            let p = entry.path();
            let md = if follow {
                fs::metadata(&p)
            } else {
                fs::symlink_metadata(&p)
            };
            let Ok(md) = md else { continue };
            let ft = md.file_type();
            let (name, kind) = if ft.is_dir() {
                (file_name.as_str(), ImageKind::Directory)
            } else if ft.is_file() {
                match file_name.strip_suffix(".raw") {
                    Some(n) => (n, ImageKind::Raw),
                    None => continue,
                }
            } else if std::os::unix::fs::FileTypeExt::is_block_device(&ft) {
                (file_name.as_str(), ImageKind::Block)
            } else {
                continue;
            };
            if !image_name_is_valid(name) || out.iter().any(|i| i.name == name) {
                continue;
            }
            let mtime_usec = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| u64::try_from(d.as_micros()).ok());
            out.push(Image {
                name: name.to_owned(),
                kind,
                path: p,
                mtime_usec,
            });
        }
    }
    out.sort_by(|a, b| version_cmp(&a.name, &b.name));
    Ok(out)
}

/// Version-aware string order, in the spirit of systemd's `strverscmp_improved()`: runs of
/// digits compare as numbers (leading zeros ignored), `~` sorts before everything (even the
/// end of the string), letters sort after other characters, other bytes compare as bytes.
pub fn version_cmp(a: &str, b: &str) -> Ordering {
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        match (a.first(), b.first()) {
            (None, None) => return Ordering::Equal,
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) if x.is_ascii_digit() && y.is_ascii_digit() => {
                let da = a.iter().take_while(|c| c.is_ascii_digit()).count();
                let db = b.iter().take_while(|c| c.is_ascii_digit()).count();
                let na = trim_zeros(&a[..da]);
                let nb = trim_zeros(&b[..db]);
                let o = na.len().cmp(&nb.len()).then_with(|| na.cmp(nb));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[da..];
                b = &b[db..];
            }
            (Some(x), Some(y)) => {
                let rank = |c: u8| (u8::from(c.is_ascii_alphabetic()), c);
                let o = rank(*x).cmp(&rank(*y));
                if o != Ordering::Equal {
                    return o;
                }
                a = &a[1..];
                b = &b[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let n = d.iter().take_while(|c| **c == b'0').count();
    &d[n..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_order_table() {
        let table: &[(&str, &str, Ordering)] = &[
            ("a", "a", Ordering::Equal),
            ("a", "b", Ordering::Less),
            ("app2", "app10", Ordering::Less),
            ("app010", "app9", Ordering::Greater),
            ("app1", "app01", Ordering::Equal),
            ("1.0~rc1", "1.0", Ordering::Less),
            ("1.0", "1.0.1", Ordering::Less),
            ("foo", "foo-1", Ordering::Less),
            ("a-b", "ab", Ordering::Less),
            ("", "a", Ordering::Less),
        ];
        for (a, b, want) in table {
            assert_eq!(version_cmp(a, b), *want, "{a} vs {b}");
            assert_eq!(version_cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn discovers_kinds_order_and_first_wins() {
        let t = tempfile::tempdir().unwrap();
        let r = t.path();
        for d in ["etc/extensions", "var/lib/extensions", "usr/lib/extensions"] {
            fs::create_dir_all(r.join(d)).unwrap();
        }
        fs::create_dir(r.join("var/lib/extensions/app10")).unwrap();
        fs::create_dir(r.join("var/lib/extensions/app2")).unwrap();
        fs::write(r.join("var/lib/extensions/img.raw"), b"").unwrap();
        fs::write(r.join("var/lib/extensions/notes.txt"), b"").unwrap();
        fs::create_dir(r.join("var/lib/extensions/.#tmp")).unwrap();
        fs::create_dir(r.join("etc/extensions/app2")).unwrap();
        fs::create_dir(r.join("usr/lib/extensions/app2")).unwrap();
        std::os::unix::fs::symlink("/nowhere", r.join("etc/extensions/link")).unwrap();
        let l = discover(r).unwrap();
        let names: Vec<(&str, ImageKind)> = l.iter().map(|i| (i.name.as_str(), i.kind)).collect();
        assert_eq!(
            names,
            [
                ("app2", ImageKind::Directory),
                ("app10", ImageKind::Directory),
                ("img", ImageKind::Raw)
            ]
        );
        assert_eq!(l[0].path, r.join("etc/extensions/app2"));
        assert!(l[0].mtime_usec.is_some());
        let empty = tempfile::tempdir().unwrap();
        assert_eq!(discover(empty.path()).unwrap(), []);
    }
}
