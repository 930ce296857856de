//! File-system settings: `WorkingDirectory=`, `ReadOnlyPaths=` and friends,
//! `BindPaths=`, `TemporaryFileSystem=`, `RootImageOptions=`, `MountImages=`,
//! `ExtensionImages=`, `RootHash=`, `RuntimeDirectory=` and friends.

use std::path::PathBuf;

use keel_core::word::ExtractFlags;
use serde::Serialize;

use super::ExecSettings;
use super::value::{
    PathCheck, Words, absolute_path, expand, extract_with_separator, simplify_path, unbase64, unhex,
};
use crate::model::directive::{ParseCtx, SettingError};

/// `WorkingDirectory=`: `~` (the user's home) or a path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[doc(alias = "WorkingDirectory=")]
pub enum WorkingDirectory {
    /// `~`: the home directory of `User=`.
    Home,
    /// An absolute path.
    Path(PathBuf),
}

/// One entry of `ReadWritePaths=`, `ReadOnlyPaths=`, `InaccessiblePaths=`,
/// `ExecPaths=` or `NoExecPaths=`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "ReadOnlyPaths=")]
#[doc(alias = "ReadWritePaths=")]
#[doc(alias = "InaccessiblePaths=")]
#[doc(alias = "ExecPaths=")]
#[doc(alias = "NoExecPaths=")]
pub struct NamespacePath {
    /// The absolute, simplified path.
    pub path: PathBuf,
    /// `-` prefix: skip the entry if the path does not exist.
    pub ignore_missing: bool,
    /// `+` prefix: relative to `RootDirectory=`/`RootImage=` instead of the host root.
    pub relative_to_root: bool,
}

impl NamespacePath {
    /// The entry as systemd stores and prints it (`-+/path`).
    pub fn to_systemd_string(&self) -> String {
        format!(
            "{}{}{}",
            if self.ignore_missing { "-" } else { "" },
            if self.relative_to_root { "+" } else { "" },
            self.path.display()
        )
    }
}

/// One entry of `BindPaths=`/`BindReadOnlyPaths=` (`[-]SRC[:DST[:OPTIONS]]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "BindPaths=")]
#[doc(alias = "BindReadOnlyPaths=")]
pub struct BindPath {
    /// Source path on the host.
    pub source: PathBuf,
    /// Mount point inside the unit's namespace (the source when not given).
    pub destination: PathBuf,
    /// From `BindReadOnlyPaths=`.
    pub read_only: bool,
    /// `-` prefix on the source.
    pub ignore_missing: bool,
    /// `rbind` (default) versus `norbind`.
    pub recursive: bool,
}

/// One entry of `TemporaryFileSystem=` (`PATH[:OPTIONS]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "TemporaryFileSystem=")]
pub struct TemporaryFileSystem {
    /// Mount point.
    pub path: PathBuf,
    /// Mount options as written (e.g. `ro,mode=0700`), empty if none.
    pub options: String,
}

/// A partition of a disk image (`partition_designator_table` of 248).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[non_exhaustive]
#[allow(missing_docs)]
pub enum PartitionDesignator {
    Root,
    RootSecondary,
    Usr,
    UsrSecondary,
    Home,
    Srv,
    Esp,
    Xbootldr,
    Swap,
    RootVerity,
    RootSecondaryVerity,
    UsrVerity,
    UsrSecondaryVerity,
    Tmp,
    Var,
}

const PARTITIONS: &[(&str, PartitionDesignator)] = &[
    ("root", PartitionDesignator::Root),
    ("root-secondary", PartitionDesignator::RootSecondary),
    ("usr", PartitionDesignator::Usr),
    ("usr-secondary", PartitionDesignator::UsrSecondary),
    ("home", PartitionDesignator::Home),
    ("srv", PartitionDesignator::Srv),
    ("esp", PartitionDesignator::Esp),
    ("xbootldr", PartitionDesignator::Xbootldr),
    ("swap", PartitionDesignator::Swap),
    ("root-verity", PartitionDesignator::RootVerity),
    (
        "root-secondary-verity",
        PartitionDesignator::RootSecondaryVerity,
    ),
    ("usr-verity", PartitionDesignator::UsrVerity),
    (
        "usr-secondary-verity",
        PartitionDesignator::UsrSecondaryVerity,
    ),
    ("tmp", PartitionDesignator::Tmp),
    ("var", PartitionDesignator::Var),
];

impl PartitionDesignator {
    /// systemd's name (`root`, `usr-verity`, …).
    pub fn as_str(self) -> &'static str {
        PARTITIONS
            .iter()
            .find(|(_, p)| *p == self)
            .map_or("root", |(n, _)| n)
    }
}

impl std::str::FromStr for PartitionDesignator {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        PARTITIONS
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, p)| *p)
            .ok_or(())
    }
}

/// Mount options for one partition of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PartitionMountOptions {
    /// Which partition.
    pub partition: PartitionDesignator,
    /// Comma-separated mount options.
    pub options: String,
}

/// One entry of `MountImages=` (`[-]SRC:DST[:OPTS | :PART:OPTS…]`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "MountImages=")]
pub struct MountImage {
    /// Image file or block device.
    pub source: PathBuf,
    /// Where it is mounted.
    pub destination: PathBuf,
    /// `-` prefix: ignore a missing source.
    pub ignore_missing: bool,
    /// Per-partition mount options.
    pub options: Vec<PartitionMountOptions>,
}

/// One entry of `ExtensionImages=` (`[-]SRC[:OPTS | :PART:OPTS…]`, spec §1.9).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[non_exhaustive]
#[doc(alias = "ExtensionImages=")]
pub struct ExtensionImage {
    /// Image file or block device.
    pub source: PathBuf,
    /// `-` prefix: ignore a missing source.
    pub ignore_missing: bool,
    /// Per-partition mount options.
    pub options: Vec<PartitionMountOptions>,
}

/// `RootHash=`: the hex root hash or a path to a file holding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[doc(alias = "RootHash=")]
pub enum RootHash {
    /// The decoded hash.
    Data(Vec<u8>),
    /// A file with the hash.
    Path(PathBuf),
}

/// `RootHashSignature=`: `base64:…` data or a path to a PKCS#7 signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[doc(alias = "RootHashSignature=")]
pub enum RootHashSignature {
    /// The decoded signature.
    Data(Vec<u8>),
    /// A file with the signature.
    Path(PathBuf),
}

/// `RuntimeDirectory=` and friends, with their `…Mode=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
#[doc(alias = "RuntimeDirectory=")]
#[doc(alias = "StateDirectory=")]
#[doc(alias = "CacheDirectory=")]
#[doc(alias = "LogsDirectory=")]
#[doc(alias = "ConfigurationDirectory=")]
pub struct ExecDirectory {
    /// Relative, simplified paths below the type's base directory.
    pub paths: Vec<PathBuf>,
    /// Access mode (default `0755`).
    pub mode: u32,
}

impl Default for ExecDirectory {
    fn default() -> Self {
        Self {
            paths: Vec::new(),
            mode: 0o755,
        }
    }
}

pub(super) fn apply_working_directory(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.working_directory = None;
        s.working_directory_missing_ok = false;
        return Ok(());
    }
    let (missing_ok, rest) = match value.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, value),
    };
    if rest == "~" {
        s.working_directory = Some(WorkingDirectory::Home);
    } else {
        let k = keel_core::specifier::expand_unit_specifiers(rest, ctx.unit, ctx.specifiers)
            .map_err(|e| {
                let m = format!(
                    "Failed to resolve unit specifiers in working directory path '{rest}'{}: {e}",
                    if missing_ok { ", ignoring" } else { "" }
                );
                if missing_ok {
                    SettingError::invalid(m)
                } else {
                    SettingError::fatal(m)
                }
            })?;
        let p = absolute_path(ctx.key, &k, !missing_ok)?;
        s.working_directory = Some(WorkingDirectory::Path(p));
    }
    s.working_directory_missing_ok = missing_ok;
    Ok(())
}

/// `config_parse_namespace_path_strv`.
pub(crate) fn parse_namespace_paths(
    list: &mut Vec<NamespacePath>,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        list.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Failed to extract first word, ignoring: {value}"
            )));
        };
        let (ignore_missing, w) = match word.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, word.as_str()),
        };
        let (relative_to_root, w) = match w.strip_prefix('+') {
            Some(r) => (true, r),
            None => (false, w),
        };
        let resolved = match expand(ctx, w) {
            Ok(r) => r,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        match absolute_path(ctx.key, &resolved, false) {
            Ok(path) => list.push(NamespacePath {
                path,
                ignore_missing,
                relative_to_root,
            }),
            Err(e) => ctx.warn(e.to_string()),
        }
    }
    Ok(())
}

pub(super) fn apply_bind_paths(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.bind_paths.clear();
        return Ok(());
    }
    let read_only = ctx.key.contains("ReadOnly");
    let seps = ": \t\n\r";
    let flags = ExtractFlags::UNQUOTE | ExtractFlags::DONT_COALESCE_SEPARATORS;
    let key = ctx.key;
    let syntax = || SettingError::invalid(format!("Failed to parse {key}, ignoring: {value}"));
    let mut p = value;
    while let Some((source, colon)) =
        extract_with_separator(&mut p, seps, flags, ':').map_err(|()| syntax())?
    {
        if source.is_empty() && !colon {
            // Runs of whitespace yield empty words with DONT_COALESCE; skip them.
            continue;
        }
        let sresolved = match expand(ctx, &source) {
            Ok(r) => r,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        let (ignore_missing, src) = match sresolved.strip_prefix('-') {
            Some(r) => (true, r),
            None => (false, sresolved.as_str()),
        };
        let src = match absolute_path(ctx.key, src, false) {
            Ok(p) => p,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        let mut recursive = true;
        let destination = if colon {
            let Some((dest, colon2)) =
                extract_with_separator(&mut p, seps, flags, ':').map_err(|()| syntax())?
            else {
                ctx.warn(format!(
                    "Missing argument after ':', ignoring: {}",
                    src.display()
                ));
                continue;
            };
            let dresolved = match expand(ctx, &dest) {
                Ok(r) => r,
                Err(e) => {
                    ctx.warn(e.to_string());
                    continue;
                }
            };
            let d = match absolute_path(ctx.key, &dresolved, false) {
                Ok(p) => p,
                Err(e) => {
                    ctx.warn(e.to_string());
                    continue;
                }
            };
            if colon2 {
                let opts = keel_core::word::extract_first_word(
                    &mut p,
                    keel_core::word::WHITESPACE,
                    ExtractFlags::UNQUOTE,
                )
                .map_err(|_| {
                    SettingError::invalid(format!(
                        "Failed to parse {}=, ignoring: {value}",
                        ctx.key
                    ))
                })?
                .unwrap_or_default();
                match opts.as_str() {
                    "" | "rbind" => recursive = true,
                    "norbind" => recursive = false,
                    _ => {
                        ctx.warn(format!("Invalid option string, ignoring setting: {opts}"));
                        continue;
                    }
                }
            }
            d
        } else {
            src.clone()
        };
        s.bind_paths.push(BindPath {
            source: src,
            destination,
            read_only,
            ignore_missing,
            recursive,
        });
    }
    Ok(())
}

pub(super) fn apply_temporary_filesystem(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.temporary_filesystems.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Failed to extract first word, ignoring: {value}"
            )));
        };
        let (path, options) = match word.split_once(':') {
            Some((p, o)) => (p, o),
            None => (word.as_str(), ""),
        };
        if path.is_empty() {
            ctx.warn(format!("Invalid syntax, ignoring: {word}"));
            continue;
        }
        let resolved = match expand(ctx, path) {
            Ok(r) => r,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        match absolute_path(ctx.key, &resolved, false) {
            Ok(path) => s.temporary_filesystems.push(TemporaryFileSystem {
                path,
                options: options.to_owned(),
            }),
            Err(e) => ctx.warn(e.to_string()),
        }
    }
    Ok(())
}

/// Parses the `:PART:OPTS…` or `:OPTS` tail of an image entry (fields already split).
fn partition_options(ctx: &mut ParseCtx<'_>, fields: &[String]) -> Vec<PartitionMountOptions> {
    let mut out = Vec::new();
    if fields.len() == 1 {
        match expand(ctx, &fields[0]) {
            Ok(options) => out.push(PartitionMountOptions {
                partition: PartitionDesignator::Root,
                options,
            }),
            Err(e) => ctx.warn(e.to_string()),
        }
        return out;
    }
    for pair in fields.chunks(2) {
        let [part, opts] = pair else {
            // An odd trailing field: a lone option string, as extract_many_words gives it.
            match expand(ctx, &pair[0]) {
                Ok(options) => out.push(PartitionMountOptions {
                    partition: PartitionDesignator::Root,
                    options,
                }),
                Err(e) => ctx.warn(e.to_string()),
            }
            break;
        };
        let Ok(partition) = part.parse::<PartitionDesignator>() else {
            ctx.warn(format!("Invalid partition name {part}, ignoring"));
            continue;
        };
        match expand(ctx, opts) {
            Ok(options) => out.push(PartitionMountOptions { partition, options }),
            Err(e) => ctx.warn(e.to_string()),
        }
    }
    out
}

/// Splits one image tuple at unescaped `:` (`EXTRACT_CUNESCAPE|EXTRACT_UNESCAPE_SEPARATORS`).
fn split_colon_fields(tuple: &str) -> Result<Vec<String>, ()> {
    let mut fields = Vec::new();
    let mut rest = tuple;
    let flags = ExtractFlags::CUNESCAPE | ExtractFlags::UNESCAPE_SEPARATORS;
    while let Some(w) =
        keel_core::word::extract_first_word(&mut rest, ":", flags).map_err(|_| ())?
    {
        fields.push(w);
    }
    Ok(fields)
}

/// Source of an image entry: `-` prefix, specifiers, absolute path.
fn image_source(ctx: &mut ParseCtx<'_>, first: &str) -> Option<(PathBuf, bool)> {
    let (ignore_missing, s) = match first.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, first),
    };
    let resolved = match expand(ctx, s) {
        Ok(r) => r,
        Err(e) => {
            ctx.warn(e.to_string());
            return None;
        }
    };
    match absolute_path(ctx.key, &resolved, false) {
        Ok(p) => Some((p, ignore_missing)),
        Err(e) => {
            ctx.warn(e.to_string());
            None
        }
    }
}

pub(super) fn apply_mount_images(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.mount_images.clear();
        return Ok(());
    }
    for tuple in Words::new(value, ExtractFlags::UNQUOTE | ExtractFlags::RETAIN_ESCAPE) {
        let Ok(tuple) = tuple else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax {}={value}, ignoring",
                ctx.key
            )));
        };
        let fields = split_colon_fields(&tuple).map_err(|()| {
            SettingError::invalid(format!("Invalid syntax in {}=, ignoring: {tuple}", ctx.key))
        })?;
        let Some(first) = fields.first() else {
            continue;
        };
        let Some((source, ignore_missing)) = image_source(ctx, first) else {
            continue;
        };
        let Some(second) = fields.get(1).filter(|d| !d.is_empty()) else {
            ctx.warn(format!(
                "Missing destination in {}, ignoring: {value}",
                ctx.key
            ));
            continue;
        };
        let dresolved = match expand(ctx, second) {
            Ok(r) => r,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        let destination = match absolute_path(ctx.key, &dresolved, false) {
            Ok(p) => p,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        let options = partition_options(ctx, &fields[2..]);
        s.mount_images.push(MountImage {
            source,
            destination,
            ignore_missing,
            options,
        });
    }
    Ok(())
}

pub(super) fn apply_extension_images(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.extension_images.clear();
        return Ok(());
    }
    for tuple in Words::new(value, ExtractFlags::UNQUOTE | ExtractFlags::RETAIN_ESCAPE) {
        let Ok(tuple) = tuple else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax {}={value}, ignoring",
                ctx.key
            )));
        };
        let fields = split_colon_fields(&tuple).map_err(|()| {
            SettingError::invalid(format!("Invalid syntax in {}=, ignoring: {tuple}", ctx.key))
        })?;
        let Some(first) = fields.first() else {
            continue;
        };
        let Some((source, ignore_missing)) = image_source(ctx, first) else {
            continue;
        };
        let options = partition_options(ctx, &fields[1..]);
        s.extension_images.push(ExtensionImage {
            source,
            ignore_missing,
            options,
        });
    }
    Ok(())
}

pub(super) fn apply_root_image_options(
    s: &mut ExecSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.root_image_options.clear();
        return Ok(());
    }
    let mut added = Vec::new();
    for word in Words::new(value, ExtractFlags::UNQUOTE | ExtractFlags::RETAIN_ESCAPE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Failed to parse {}, ignoring: {value}",
                ctx.key
            )));
        };
        let fields = split_colon_fields(&word).map_err(|()| {
            SettingError::invalid(format!("Failed to parse {}, ignoring: {value}", ctx.key))
        })?;
        let (partition, opts) = match fields.as_slice() {
            [opts] => ("root", opts.as_str()),
            [part, opts] if opts.is_empty() => ("root", part.as_str()),
            [part, opts] => (part.as_str(), opts.as_str()),
            _ => {
                ctx.warn(format!("Failed to parse {}, ignoring: {value}", ctx.key));
                continue;
            }
        };
        let Ok(partition) = partition.parse::<PartitionDesignator>() else {
            ctx.warn(format!("Invalid partition name {partition}, ignoring"));
            continue;
        };
        match expand(ctx, opts) {
            Ok(options) => added.push(PartitionMountOptions { partition, options }),
            Err(e) => ctx.warn(e.to_string()),
        }
    }
    if added.is_empty() {
        s.root_image_options.clear();
    } else {
        s.root_image_options.extend(added);
    }
    Ok(())
}

pub(super) fn apply_root_hash(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.root_hash = None;
        return Ok(());
    }
    if value.starts_with('/') {
        s.root_hash = Some(RootHash::Path(PathBuf::from(value)));
        return Ok(());
    }
    let data = unhex(value).map_err(|()| {
        SettingError::invalid(format!("Failed to decode RootHash=, ignoring: {value}"))
    })?;
    if data.len() < 16 {
        return Err(SettingError::invalid(format!(
            "RootHash= is too short, ignoring: {value}"
        )));
    }
    s.root_hash = Some(RootHash::Data(data));
    Ok(())
}

pub(super) fn apply_root_hash_signature(
    s: &mut ExecSettings,
    _ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.root_hash_signature = None;
        return Ok(());
    }
    if value.starts_with('/') {
        s.root_hash_signature = Some(RootHashSignature::Path(PathBuf::from(value)));
        return Ok(());
    }
    let Some(b64) = value.strip_prefix("base64:") else {
        return Err(SettingError::invalid(format!(
            "Failed to decode RootHashSignature=, not a path but doesn't start with 'base64:', ignoring: {value}"
        )));
    };
    let data = unbase64(b64).map_err(|()| {
        SettingError::invalid(format!(
            "Failed to decode RootHashSignature=, ignoring: {value}"
        ))
    })?;
    s.root_hash_signature = Some(RootHashSignature::Data(data));
    Ok(())
}

/// `config_parse_exec_directories` (248: no `:DEST` symlink part yet).
pub(crate) fn parse_exec_directories(
    dir: &mut ExecDirectory,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        dir.paths.clear();
        return Ok(());
    }
    for word in Words::new(value, ExtractFlags::UNQUOTE) {
        let Ok(word) = word else {
            return Err(SettingError::invalid(format!(
                "Invalid syntax, ignoring: {value}"
            )));
        };
        let k = match expand(ctx, &word) {
            Ok(k) => k,
            Err(_) => {
                ctx.warn(format!(
                    "Failed to resolve unit specifiers in \"{word}\", ignoring"
                ));
                continue;
            }
        };
        let k = match simplify_path(ctx.key, &k, PathCheck::Relative, false) {
            Ok(k) => k,
            Err(e) => {
                ctx.warn(e.to_string());
                continue;
            }
        };
        if k == "private" || k.starts_with("private/") {
            ctx.warn(format!(
                "{}= path can't be 'private', ignoring assignment: {word}",
                ctx.key
            ));
            continue;
        }
        dir.paths.push(PathBuf::from(k));
    }
    Ok(())
}
