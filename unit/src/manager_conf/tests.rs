//! `system.conf` parsing, drop-in order and `ManagerEnvironment=`.

use super::*;

fn parse(text: &str) -> (ManagerConfig, Vec<Diagnostic>) {
    let mut c = ManagerConfig::default();
    let mut d = Vec::new();
    c.parse_text(text.as_bytes(), Some(Path::new("system.conf")), &mut d);
    (c, d)
}

#[test]
fn manager_environment_semantics() {
    let (c, d) = parse(
        "[Manager]\n\
         ManagerEnvironment=A=1 \"B=two words\" C=\\x41\n\
         ManagerEnvironment=A=3 bad-name=x %n=y\n\
         DefaultEnvironment=PATH=/bin LANG=C\n",
    );
    assert_eq!(c.manager_environment, ["A=3", "B=two words", "C=A"]);
    assert_eq!(c.default_environment, ["PATH=/bin", "LANG=C"]);
    // No specifier expansion in 248: `%n=y` is an invalid name, not expanded.
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "Invalid environment assignment, ignoring: bad-name=x",
            "Invalid environment assignment, ignoring: %n=y"
        ]
    );
    assert_eq!(d[0].line, 3);
    let (c2, _) = parse("[Manager]\nManagerEnvironment=A=1\nManagerEnvironment=\n");
    assert!(c2.manager_environment.is_empty());
    // Applied last, overriding what the kernel passed.
    let base = vec![
        ("A".to_string(), "kernel".to_string()),
        ("Z".into(), "z".into()),
    ];
    let env = c.manager_process_environment(&base);
    assert_eq!(env[0], ("A".into(), "3".into()));
    assert!(env.contains(&("B".into(), "two words".into())));
}

#[test]
fn typed_settings_and_unknown_keys() {
    let (c, d) = parse(
        "[Manager]\n\
         DefaultTimeoutStartSec=0\n\
         DefaultTimeoutStopSec=30s\n\
         DefaultLimitNOFILE=1024:524288\n\
         DefaultTasksMax=15%\n\
         DefaultMemoryAccounting=yes\n\
         ShowStatus=auto\n\
         CrashChangeVT=5\n\
         RuntimeWatchdogSec=20s\n\
         DefaultOOMScoreAdjust=10\n\
         LogLevel=debug\n\
         DefaultStandardOutput=journal+console\n\
         [Other]\n\
         X=1\n",
    );
    assert_eq!(c.default_timeout_start, Usec::INFINITY);
    assert_eq!(c.default_timeout_stop, Usec::from_secs(30));
    assert_eq!(c.show_status, ShowStatus::Auto);
    assert_eq!(c.crash_change_vt, Some(5));
    assert_eq!(c.runtime_watchdog, Usec::from_secs(20));
    assert!(c.log_level.is_some());
    assert_eq!(
        c.unit_exec_defaults.standard_output.as_str(),
        "journal+console"
    );
    assert!(!c.unit_exec_defaults.limits.is_empty());
    assert!(c.unit_cgroup_defaults.tasks_max.is_some());
    let msgs: Vec<&str> = d.iter().map(|d| d.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "Unknown key name 'DefaultOOMScoreAdjust' in section 'Manager', ignoring.",
            "Unknown section 'Other'. Ignoring."
        ]
    );
}

#[test]
fn dropins_in_order_with_masking() -> std::io::Result<()> {
    let root = tempfile::tempdir()?;
    let w = |p: &str, t: &str| -> std::io::Result<()> {
        let p = root.path().join(p);
        std::fs::create_dir_all(p.parent().unwrap_or(root.path()))?;
        std::fs::write(p, t)
    };
    w(
        "etc/systemd/system.conf",
        "[Manager]\nDefaultRestartSec=1s\nManagerEnvironment=A=main\n",
    )?;
    w(
        "usr/lib/systemd/system.conf.d/10-a.conf",
        "[Manager]\nDefaultRestartSec=2s\n",
    )?;
    w(
        "usr/lib/systemd/system.conf.d/20-b.conf",
        "[Manager]\nManagerEnvironment=A=usr\n",
    )?;
    // Masks the /usr/lib file of the same name.
    w(
        "etc/systemd/system.conf.d/20-b.conf",
        "[Manager]\nManagerEnvironment=A=etc B=1\n",
    )?;
    w(
        "run/systemd/system.conf.d/30-c.conf",
        "[Manager]\nBogus=1\n",
    )?;
    let l = ManagerConfig::load(root.path(), Scope::System);
    assert_eq!(l.config.default_restart, Usec::from_secs(2));
    assert_eq!(l.config.manager_environment, ["A=etc", "B=1"]);
    assert_eq!(l.files.len(), 4);
    assert!(l.files[2].starts_with(root.path().join("etc")));
    assert_eq!(l.diagnostics.len(), 1);
    assert!(
        l.diagnostics[0]
            .to_string()
            .contains("30-c.conf:2: Unknown key name 'Bogus'")
    );
    Ok(())
}
