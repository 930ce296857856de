//! The initramfs as an in-memory tree, written as an uncompressed `newc` cpio archive.
//!
//! Written here rather than with `cpio(1)` so that the image needs no staging directory, is
//! byte-for-byte reproducible (inode numbers in order, mtime 0, uid/gid 0, so no root is
//! needed to own files as root) and is keyed for the cache from the same tree. It stays
//! uncompressed: the kernel unpacks it faster than it would gunzip it under TCG.
//!
//! Format (`Documentation/driver-api/early-userspace/buffer-format.rst`): for each entry
//! a 110-byte ASCII header (`070701` and 13 eight-digit hex fields), the NUL-terminated
//! name padded to a multiple of 4, then the data padded to a multiple of 4; a final
//! entry named `TRAILER!!!` closes the archive.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::PathBuf;

/// Where a regular file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
    /// A host file, read when the archive is written.
    Host(PathBuf),
    /// Bytes held in memory (generated files).
    Bytes(Vec<u8>),
}

/// One entry of the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Entry {
    /// A directory (mode 0755).
    Dir,
    /// A regular file with its permission bits.
    File {
        /// The content.
        source: Source,
        /// Permission bits (`0o755`, `0o644`).
        perm: u32,
    },
    /// A symbolic link to the given target.
    Symlink(String),
}

/// A file tree keyed by path relative to `/` (no leading slash); parents sort before
/// their children, as the kernel needs.
#[derive(Debug, Default)]
pub(crate) struct Tree {
    /// Path → entry.
    pub(crate) entries: BTreeMap<String, Entry>,
}

impl Tree {
    /// Adds the directories leading to `path` (not `path` itself).
    fn add_parents(&mut self, path: &str) {
        let mut end = 0;
        while let Some(i) = path[end..].find('/') {
            end += i;
            self.entries
                .entry(path[..end].to_owned())
                .or_insert(Entry::Dir);
            end += 1;
        }
    }

    /// Adds a directory and its parents.
    pub(crate) fn dir(&mut self, path: &str) {
        let path = path.trim_matches('/');
        self.add_parents(path);
        self.entries.insert(path.to_owned(), Entry::Dir);
    }

    /// Adds (or replaces) a file, creating its parents.
    pub(crate) fn file(&mut self, path: &str, source: Source, perm: u32) {
        let path = path.trim_matches('/');
        self.add_parents(path);
        self.entries
            .insert(path.to_owned(), Entry::File { source, perm });
    }

    /// Adds a symbolic link, creating its parents.
    pub(crate) fn symlink(&mut self, path: &str, target: &str) {
        let path = path.trim_matches('/');
        self.add_parents(path);
        self.entries
            .insert(path.to_owned(), Entry::Symlink(target.to_owned()));
    }

    /// Whether `path` is in the tree.
    pub(crate) fn contains(&self, path: &str) -> bool {
        self.entries.contains_key(path.trim_matches('/'))
    }

    /// Writes the tree as a `newc` archive.
    ///
    /// # Errors
    /// Reading a host file or writing to `out` failed (the error names the file).
    pub(crate) fn write_newc(&self, out: &mut dyn Write) -> io::Result<()> {
        for (ino, (path, entry)) in (1_u32..).zip(&self.entries) {
            let (mode, nlink, data) = match entry {
                Entry::Dir => (0o040_755, 2, Vec::new()),
                Entry::File { source, perm } => {
                    let data = match source {
                        Source::Bytes(b) => b.clone(),
                        Source::Host(p) => std::fs::read(p).map_err(|e| {
                            io::Error::new(e.kind(), format!("reading {}: {e}", p.display()))
                        })?,
                    };
                    (0o100_000 | (perm & 0o7777), 1, data)
                }
                Entry::Symlink(target) => (0o120_777, 1, target.as_bytes().to_vec()),
            };
            write_entry(out, ino, mode, nlink, path.as_bytes(), &data)?;
        }
        write_entry(out, 0, 0, 1, b"TRAILER!!!", &[])
    }
}

/// Zero bytes to pad `len` up to a multiple of 4.
fn pad4(len: usize) -> &'static [u8] {
    &[0u8; 3][..(4 - len % 4) % 4]
}

fn write_entry(
    out: &mut dyn Write,
    ino: u32,
    mode: u32,
    nlink: u32,
    name: &[u8],
    data: &[u8],
) -> io::Result<()> {
    let too_big = |what: &str| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{what} too big for newc"),
        )
    };
    let size = u32::try_from(data.len()).map_err(|_| too_big("file"))?;
    let namesize = u32::try_from(name.len() + 1).map_err(|_| too_big("name"))?;
    // ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
    let header = format!(
        "070701{ino:08x}{mode:08x}{:08x}{:08x}{nlink:08x}{:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{namesize:08x}{:08x}",
        0, 0, 0, 0, 0, 0, 0, 0
    );
    out.write_all(header.as_bytes())?;
    out.write_all(name)?;
    out.write_all(&[0])?;
    out.write_all(pad4(header.len() + name.len() + 1))?;
    out.write_all(data)?;
    out.write_all(pad4(data.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Splits a newc archive back into (name, mode, nlink, data), checking the padding.
    fn parse(mut a: &[u8]) -> Vec<(String, u32, u32, Vec<u8>)> {
        let total = a.len();
        let mut out = Vec::new();
        loop {
            assert_eq!((total - a.len()) % 4, 0, "entry not 4-aligned");
            assert_eq!(&a[..6], b"070701");
            let field = |i: usize| {
                u32::from_str_radix(std::str::from_utf8(&a[6 + 8 * i..14 + 8 * i]).unwrap(), 16)
                    .unwrap()
            };
            let (mode, nlink, size, namesize) = (field(1), field(4), field(6), field(11));
            let size = size as usize;
            let namesize = namesize as usize;
            let name = std::str::from_utf8(&a[110..110 + namesize - 1])
                .unwrap()
                .to_owned();
            assert_eq!(a[110 + namesize - 1], 0);
            let data_at = (110 + namesize).div_ceil(4) * 4;
            let data = a[data_at..data_at + size].to_vec();
            a = &a[(data_at + size).div_ceil(4) * 4..];
            if name == "TRAILER!!!" {
                assert!(a.is_empty());
                return out;
            }
            out.push((name, mode, nlink, data));
        }
    }

    #[test]
    fn round_trip_with_parents_first_and_padding() {
        let mut t = Tree::default();
        t.file("usr/bin/tool", Source::Bytes(b"abcde".to_vec()), 0o755);
        t.symlink("bin", "usr/bin");
        t.file("/etc/x", Source::Bytes(Vec::new()), 0o644);
        t.dir("proc");
        let mut buf = Vec::new();
        t.write_newc(&mut buf).unwrap();
        assert_eq!(buf.len() % 4, 0);
        let entries = parse(&buf);
        let names: Vec<&str> = entries.iter().map(|e| e.0.as_str()).collect();
        assert_eq!(
            names,
            [
                "bin",
                "etc",
                "etc/x",
                "proc",
                "usr",
                "usr/bin",
                "usr/bin/tool"
            ]
        );
        assert_eq!(entries[0].1, 0o120_777);
        assert_eq!(entries[0].3, b"usr/bin");
        assert_eq!((entries[1].1, entries[1].2), (0o040_755, 2));
        assert_eq!(entries[6].1, 0o100_755);
        assert_eq!(entries[6].3, b"abcde");
    }

    #[test]
    fn header_is_110_bytes_of_hex() {
        let mut buf = Vec::new();
        write_entry(&mut buf, 7, 0o100_644, 1, b"ab", b"x").unwrap();
        assert_eq!(&buf[..14], b"07070100000007");
        // 110 header + "ab\0" = 113 -> pad to 116; 1 data byte -> pad to 120.
        assert_eq!(buf.len(), 120);
        assert_eq!(&buf[110..116], b"ab\0\0\0\0");
        assert_eq!(buf[116], b'x');
    }

    #[test]
    fn missing_host_file_names_the_file() {
        let mut t = Tree::default();
        t.file("x", Source::Host("/nonexistent/keel-vm-file".into()), 0o644);
        let err = t.write_newc(&mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/keel-vm-file"),
            "{err}"
        );
    }
}
