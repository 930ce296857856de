//! keel-run as users run it: exit codes (the failing line's status, 128+N for a signal,
//! systemd's codes for failed setup steps), unit files with their `Exec*=` prefixes, `-p`
//! settings, and `--exec`.
#![allow(clippy::tests_outside_test_module)] // integration tests: the whole file is tests
#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers: a failure is a test failure

use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};

fn keel_run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_keel-run"))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("keel-run: {e}"))
}

fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("no exit code: {:?}", o.status))
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn write_unit(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write the unit file");
    p.to_str().expect("UTF-8 temp path").to_owned()
}

#[test]
fn exit_status_of_the_command() {
    assert_eq!(code(&keel_run(&["/bin/true"])), 0);
    assert_eq!(code(&keel_run(&["/bin/false"])), 1);
    assert_eq!(code(&keel_run(&["sh", "-c", "exit 7"])), 7);
    assert_eq!(code(&keel_run(&["--exec", "sh", "-c", "exit 7"])), 7);
}

#[test]
fn a_signal_gives_128_plus_n_and_exec_passes_the_signal_on() {
    let o = keel_run(&["sh", "-c", "kill -TERM $$"]);
    assert_eq!(code(&o), 128 + 15, "{}", stderr(&o));
    let o = keel_run(&["--exec", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(o.status.signal(), Some(15), "{:?}", o.status);
}

#[test]
fn command_line_arguments_are_not_expanded() {
    let o = keel_run(&["/bin/echo", "$HOME", "${PATH}", "%n"]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(String::from_utf8_lossy(&o.stdout), "$HOME ${PATH} %n\n");
}

#[test]
fn a_missing_binary_is_exit_203_naming_the_step() {
    for exec in [false, true] {
        let mut args = vec!["/nonexistent/keel-test-binary"];
        if exec {
            args.insert(0, "--exec");
        }
        let o = keel_run(&args);
        assert_eq!(code(&o), 203, "{}", stderr(&o));
        let e = stderr(&o);
        assert!(e.contains("open-executable"), "{e}");
        assert!(e.contains("/nonexistent/keel-test-binary"), "{e}");
    }
}

#[test]
fn bad_property_and_unit_errors_are_clear() {
    let o = keel_run(&["-p", "PrivateIPC", "/bin/true"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("-p PrivateIPC: expected SETTING=VALUE"),
        "{}",
        stderr(&o)
    );
    let o = keel_run(&["--unit", "/nonexistent/x.service"]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("/nonexistent/x.service"),
        "{}",
        stderr(&o)
    );
    let dir = tempfile::tempdir().unwrap();
    let unit = write_unit(dir.path(), "empty.service", "[Service]\nType=oneshot\n");
    let o = keel_run(&["--unit", &unit]);
    assert_ne!(code(&o), 0);
    assert!(!stderr(&o).is_empty());
}

#[test]
fn unit_lines_run_in_order_with_their_prefixes() {
    let dir = tempfile::tempdir().unwrap();
    let unit = write_unit(
        dir.path(),
        "steps.service",
        "[Service]\nType=oneshot\n\
         Environment=WHO=world\n\
         ExecStartPre=/bin/echo pre\n\
         ExecStartPre=-/bin/false\n\
         ExecStartPre=-/nonexistent/binary\n\
         ExecStart=/bin/echo start $WHO\n\
         ExecStart=:/bin/echo literal $WHO\n\
         ExecStart=@/bin/sh argv0 -c 'echo \"$0\"'\n\
         ExecStartPost=/bin/echo post\n",
    );
    let o = keel_run(&["--unit", &unit]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "pre\nstart world\nliteral $WHO\nargv0\npost\n"
    );
}

#[test]
fn the_failing_line_stops_the_run_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let l = log.display();
    let unit = write_unit(
        dir.path(),
        "fails.service",
        &format!(
            "[Service]\nType=oneshot\n\
             ExecStartPre=/bin/sh -c 'echo pre >> {l}'\n\
             ExecStart=/bin/sh -c 'exit 42'\n\
             ExecStartPost=/bin/sh -c 'echo post >> {l}'\n"
        ),
    );
    assert_eq!(code(&keel_run(&["--unit", &unit])), 42);
    assert_eq!(std::fs::read_to_string(&log).unwrap(), "pre\n");
    let o = keel_run(&["--exec", "--unit", &unit]);
    assert_eq!(code(&o), 1);
    assert!(
        stderr(&o).contains("--exec runs one command"),
        "{}",
        stderr(&o)
    );
}

#[test]
#[ignore = "privileged: namespaces and mounts need root"]
fn properties_sandbox_the_command_with_and_without_exec() {
    testkit::require_root();
    let host_ipc = std::fs::read_link("/proc/self/ns/ipc").unwrap();
    for exec in [false, true] {
        let mut args = vec![
            "-p",
            "PrivateIPC=yes",
            "-p",
            "PrivateTmp=yes",
            "-p",
            "NoExecPaths=/",
            "-p",
            "ExecPaths=/usr /bin",
            "-p",
            "SystemCallFilter=@system-service",
            "-p",
            "SystemCallFilter=~uname:EILSEQ",
            "/bin/sh",
            "-c",
            "readlink /proc/self/ns/ipc; ls -A /tmp | wc -l; uname; echo uname=$?",
        ];
        if exec {
            args.insert(0, "--exec");
        }
        let o = keel_run(&args);
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        let mut lines = out.lines();
        assert_ne!(lines.next(), host_ipc.to_str(), "exec={exec}: {out}");
        assert_eq!(lines.next(), Some("0"), "exec={exec}: a fresh /tmp: {out}");
        assert_eq!(
            lines.next(),
            Some("uname=1"),
            "exec={exec}: uname denied: {out}"
        );
        assert!(
            stderr(&o).contains("Invalid or incomplete multibyte or wide character"),
            "{}",
            stderr(&o)
        );
    }
    // A script under NoExecPaths= is refused: 203, the step named.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("s.sh");
    std::fs::write(&script, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let s = script.to_str().unwrap();
    for exec in [false, true] {
        let mut args = vec!["-p", "NoExecPaths=/", "-p", "ExecPaths=/usr /bin", s];
        if exec {
            args.insert(0, "--exec");
        }
        let o = keel_run(&args);
        assert_eq!(code(&o), 203, "exec={exec}: {}", stderr(&o));
        assert!(stderr(&o).contains("EACCES"), "{}", stderr(&o));
    }
}
