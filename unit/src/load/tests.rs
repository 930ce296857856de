//! Loading with drop-ins, templates, masks and 248's per-setting semantics.

use std::path::{Path, PathBuf};

use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::UnitName;

use super::*;
use crate::lookup::{LookupPaths, Scope, UnitLookup};
use crate::model::unit_section::Dependency;

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        for d in [
            "etc/systemd/system",
            "lib/systemd/system",
            "run/systemd/system",
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap_or_else(|e| panic!("{e}"));
        }
        Self { dir }
    }

    fn write(&self, rel: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap_or(Path::new("/")))
            .unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(&p, text).unwrap_or_else(|e| panic!("{e}"));
        p
    }

    fn load(&self, name: &str) -> LoadedUnit {
        let paths = LookupPaths::new(Scope::System, self.dir.path());
        let lookup = UnitLookup::scan(&paths).unwrap_or_else(|e| panic!("{e}"));
        let loader = UnitLoader::new(lookup, SpecifierContext::default());
        loader
            .load(&UnitName::new(name).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

fn messages(l: &LoadedUnit) -> Vec<String> {
    l.diagnostics
        .iter()
        .map(|d| format!("{}: {}", d.line, d.message))
        .collect()
}

#[test]
fn dropins_override_in_order_and_lists_reset() {
    let t = Tree::new();
    t.write(
        "lib/systemd/system/a.service",
        "[Unit]\nDescription=lib\nAfter=x.service\n[Service]\nExecStart=/bin/a\nEnvironment=A=1 B=2\n",
    );
    // Same file name in /etc overrides the /lib one; lexical order across directories.
    t.write(
        "lib/systemd/system/a.service.d/10-x.conf",
        "[Unit]\nDescription=lib-dropin\n",
    );
    t.write(
        "etc/systemd/system/a.service.d/10-x.conf",
        "[Unit]\nDescription=etc-dropin\n",
    );
    t.write(
        "run/systemd/system/a.service.d/20-y.conf",
        "[Unit]\nAfter=\nAfter=y.service\n[Service]\nEnvironment=\nEnvironment=C=3\nExecStart=\nExecStart=/bin/b\n",
    );
    t.write(
        "lib/systemd/system/service.d/05-all.conf",
        "[Service]\nNice=5\n",
    );
    let l = t.load("a.service");
    assert_eq!(l.unit.load_state, LoadState::Loaded, "{:?}", messages(&l));
    assert_eq!(l.unit.unit.description.as_deref(), Some("etc-dropin"));
    let names: Vec<&str> = l
        .unit
        .dropin_paths
        .iter()
        .filter_map(|p| p.file_name()?.to_str())
        .collect();
    assert_eq!(names, ["05-all.conf", "10-x.conf", "20-y.conf"]);
    // Lists reset by an empty assignment...
    let exec = l.unit.exec.as_ref().unwrap_or_else(|| panic!("exec"));
    assert_eq!(exec.environment, ["C=3"]);
    assert_eq!(exec.nice, Some(5));
    let svc = l.unit.service().unwrap_or_else(|| panic!("service"));
    assert_eq!(svc.commands.start.len(), 1);
    assert_eq!(svc.commands.start[0].path, "/bin/b");
    // ...but dependencies cannot be reset.
    let after: Vec<&str> = l
        .unit
        .unit
        .dependencies
        .of(Dependency::After)
        .map(UnitName::as_str)
        .collect();
    assert_eq!(after, ["x.service", "y.service"]);
}

#[test]
fn templates_instances_and_specifiers() {
    let t = Tree::new();
    t.write(
        "lib/systemd/system/getty@.service",
        "[Unit]\nDescription=Getty on %I\n[Service]\nExecStart=/sbin/agetty %I\n",
    );
    t.write(
        "etc/systemd/system/getty@.service.d/x.conf",
        "[Service]\nTTYPath=/dev/%I\n",
    );
    t.write(
        "etc/systemd/system/getty@tty1.service.d/y.conf",
        "[Unit]\nDescription=first\n",
    );
    let l = t.load("getty@tty2.service");
    assert_eq!(l.unit.unit.description.as_deref(), Some("Getty on tty2"));
    let e = l.unit.exec.as_ref().unwrap_or_else(|| panic!("exec"));
    assert_eq!(e.tty_path.as_deref(), Some(Path::new("/dev/tty2")));
    let l1 = t.load("getty@tty1.service");
    assert_eq!(l1.unit.unit.description.as_deref(), Some("first"));
    let svc = l1.unit.service().unwrap_or_else(|| panic!("service"));
    assert_eq!(svc.commands.start[0].argv, ["/sbin/agetty", "tty1"]);
}

#[test]
fn masks_not_found_and_empty_files() {
    let t = Tree::new();
    t.write(
        "lib/systemd/system/m.service",
        "[Service]\nExecStart=/bin/m\n",
    );
    std::os::unix::fs::symlink(
        "/dev/null",
        t.dir.path().join("etc/systemd/system/m.service"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    t.write("etc/systemd/system/e.service", "");
    assert_eq!(t.load("m.service").unit.load_state, LoadState::Masked);
    assert_eq!(t.load("e.service").unit.load_state, LoadState::Masked);
    assert_eq!(
        t.load("nothing.service").unit.load_state,
        LoadState::NotFound
    );
}

#[test]
fn warnings_keep_loading_and_fatal_errors_stop_it() {
    let t = Tree::new();
    t.write(
        "lib/systemd/system/w.service",
        "Orphan=1\n[Unit]\nBogus=1\nX-Mine=ok\n[X-Vendor]\nAnything=1\n[Weird]\nKey=1\n[Service]\nExecStart=/bin/w\nRestart=sometimes\nUpholds=x.service\n",
    );
    let l = t.load("w.service");
    assert_eq!(l.unit.load_state, LoadState::Loaded);
    assert_eq!(
        messages(&l),
        [
            "1: Assignment outside of section. Ignoring.",
            "3: Unknown key name 'Bogus' in section 'Unit', ignoring.",
            "7: Unknown section 'Weird'. Ignoring.",
            "11: Failed to parse service restart specifier, ignoring: sometimes",
            "12: Unknown key name 'Upholds' in section 'Service', ignoring.",
        ]
    );
    // Unknown keys are kept, not dropped.
    let kept: Vec<&str> = l.unit.unsupported.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(kept, ["Bogus", "Upholds"]);

    t.write(
        "lib/systemd/system/f.service",
        "[Service]\nExecStart=relative/path\nDescription=never-read\nBogus=2\n",
    );
    let f = t.load("f.service");
    assert_eq!(f.unit.load_state, LoadState::BadSetting);
    assert_eq!(
        f.diagnostics.len(),
        1,
        "parsing stops at the fatal error: {:?}",
        messages(&f)
    );
    assert!(f.diagnostics[0].is_error());

    t.write("lib/systemd/system/h.service", "[Unit\nDescription=x\n");
    assert_eq!(t.load("h.service").unit.load_state, LoadState::Error);

    t.write("lib/systemd/system/v.service", "[Service]\nType=simple\n");
    let v = t.load("v.service");
    assert_eq!(v.unit.load_state, LoadState::BadSetting);
    assert!(
        v.diagnostics[0]
            .message
            .starts_with("Service has no ExecStart=")
    );
}

#[test]
fn wants_directories_and_aliases() {
    let t = Tree::new();
    t.write("lib/systemd/system/b.target", "[Unit]\nDescription=b\n");
    t.write(
        "lib/systemd/system/c.service",
        "[Service]\nExecStart=/bin/c\n",
    );
    std::fs::create_dir_all(t.dir.path().join("etc/systemd/system/b.target.wants"))
        .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(
        "/lib/systemd/system/c.service",
        t.dir
            .path()
            .join("etc/systemd/system/b.target.wants/c.service"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::os::unix::fs::symlink(
        "c.service",
        t.dir.path().join("lib/systemd/system/alias-c.service"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    t.write(
        "etc/systemd/system/alias-c.service.d/a.conf",
        "[Unit]\nDescription=via alias\n",
    );
    let b = t.load("b.target");
    let wants: Vec<&str> = b
        .unit
        .unit
        .dependencies
        .of(Dependency::Wants)
        .map(UnitName::as_str)
        .collect();
    assert_eq!(wants, ["c.service"]);
    let c = t.load("alias-c.service");
    assert_eq!(c.unit.names[0].as_str(), "c.service");
    assert_eq!(c.unit.unit.description.as_deref(), Some("via alias"));
}
