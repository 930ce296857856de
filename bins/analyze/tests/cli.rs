//! keel-analyze as users run it: exit codes, `file:line: message` diagnostics, dumps, JSON.
#![allow(clippy::tests_outside_test_module)] // integration tests: the whole file is tests

use std::process::Command;

fn analyze(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_keel-analyze"));
    c.args(args);
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap_or_else(|e| panic!("keel-analyze: {e}"));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn verify_examples_succeeds_and_dumps() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/units");
    let (code, out, err) = analyze(&["verify", "--dump", examples], &[]);
    assert_eq!(code, 0, "stderr: {err}");
    assert!(out.contains("-> Unit web.service:"), "{out}");
    assert!(out.contains("\tPrivateTmp: yes\n"));
    assert!(!err.contains("Unknown key"), "{err}");
}

#[test]
fn broken_unit_gives_file_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let unit = dir.path().join("broken.service");
    std::fs::write(&unit, "[Service]\nBogus=1\nExecStart=relative/x\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let path = unit.display().to_string();
    let (code, _, err) = analyze(&["verify", &path], &[]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "{path}:2: Unknown key name 'Bogus' in section 'Service', ignoring."
        )),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{path}:3: Neither a valid executable name nor an absolute path: relative/x"
        )),
        "{err}"
    );
    assert!(err.contains("bad-setting"), "{err}");
}

#[test]
fn dump_json_and_cat_with_unit_path() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("x.service"),
        "[Service]\nExecStart=/bin/true\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    std::fs::create_dir(dir.path().join("x.service.d")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        dir.path().join("x.service.d/a.conf"),
        "[Unit]\nDescription=X\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let up = dir.path().display().to_string();
    let env = [("SYSTEMD_UNIT_PATH", up.as_str())];
    let (code, out, err) = analyze(&["--json", "dump", "x"], &env);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["unit"]["unit"]["description"], "X");
    assert_eq!(v["unit"]["load_state"], "loaded");
    let (code, out, _) = analyze(&["cat", "x.service"], &env);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!("# {up}/x.service\n[Service]")),
        "{out}"
    );
    assert!(
        out.contains("x.service.d/a.conf\n[Unit]\nDescription=X"),
        "{out}"
    );
}
