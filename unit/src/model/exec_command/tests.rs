//! After test_config_parse_exec of systemd's src/test/test-load-fragment.c.

use keel_core::specifier::SpecifierContext;
use keel_core::unit_name::UnitName;

use super::*;

fn parse_into(list: &mut Vec<ExecCommand>, value: &str) -> (Result<(), SettingError>, Vec<String>) {
    let unit = UnitName::new("foo@bar-baz.service").unwrap_or_else(|e| panic!("{e}"));
    let spec = SpecifierContext::default();
    let mut ctx = ParseCtx::new(&unit, &spec, "ExecStart");
    let r = parse_exec(list, &mut ctx, value);
    (r, ctx.warnings)
}

fn one(value: &str) -> ExecCommand {
    let mut l = Vec::new();
    let (r, w) = parse_into(&mut l, value);
    assert_eq!(r, Ok(()), "{value}");
    assert!(w.is_empty(), "{value}: {w:?}");
    assert_eq!(l.len(), 1, "{value}: {l:?}");
    l.remove(0)
}

fn check(c: &ExecCommand, path: &str, argv: &[&str], flags: ExecFlags) {
    assert_eq!(c.path, path);
    assert_eq!(c.argv, argv);
    assert_eq!(c.flags, flags);
}

#[test]
fn basic_and_slashes() {
    check(
        &one("/RValue r1"),
        "/RValue",
        &["/RValue", "r1"],
        ExecFlags::empty(),
    );
    check(
        &one("/RValue///slashes r1///"),
        "/RValue/slashes",
        &["/RValue///slashes", "r1///"],
        ExecFlags::empty(),
    );
    check(
        &one("@/RValue///slashes2 ///argv0 r1"),
        "/RValue/slashes2",
        &["///argv0", "r1"],
        ExecFlags::empty(),
    );
    check(
        &one("-@/RValue///slashes3 argv0a r1"),
        "/RValue/slashes3",
        &["argv0a", "r1"],
        ExecFlags::IGNORE_FAILURE,
    );
    check(
        &one("@-/RValue///slashes4 argv0b r1"),
        "/RValue/slashes4",
        &["argv0b", "r1"],
        ExecFlags::IGNORE_FAILURE,
    );
    check(&one("true"), "true", &["true"], ExecFlags::empty());
}

#[test]
fn prefixes() {
    let all = one(":-+@/bin/x argv0 a");
    check(
        &all,
        "/bin/x",
        &["argv0", "a"],
        ExecFlags::NO_ENV_EXPAND | ExecFlags::IGNORE_FAILURE | ExecFlags::FULLY_PRIVILEGED,
    );
    check(&one("!/bin/x"), "/bin/x", &["/bin/x"], ExecFlags::NO_SETUID);
    check(
        &one("!!/bin/x"),
        "/bin/x",
        &["/bin/x"],
        ExecFlags::AMBIENT_MAGIC,
    );
    // A second exclusive prefix ends prefix parsing and is part of the path: fatal.
    let mut l = Vec::new();
    let (r, _) = parse_into(&mut l, "+!/bin/x");
    assert!(r.as_ref().is_err_and(SettingError::is_fatal), "{r:?}");
    // The same with `-`: ignored with a warning, nothing added.
    let (r, w) = parse_into(&mut l, "-+!/bin/x");
    assert_eq!(r, Ok(()));
    assert_eq!(w.len(), 1);
    assert!(l.is_empty());
    // `-@-/RValue`: the second '-' is part of the path, which is then invalid.
    let (r, w) = parse_into(&mut l, "-@-/RValue argv0 r1");
    assert_eq!((r, w.len(), l.len()), (Ok(()), 1, 0));
    let (r, _) = parse_into(&mut l, "@-");
    assert_eq!(r, Ok(()));
    let (r, _) = parse_into(&mut l, "@");
    assert!(r.is_err());
    // `@` with only a path: no argv[0].
    let (r, _) = parse_into(&mut l, "@/bin/x");
    assert!(
        r.as_ref().is_err_and(|e| e.to_string().contains("zeroeth")),
        "{r:?}"
    );
}

#[test]
fn semicolons_quotes_escapes() {
    let mut l = Vec::new();
    let (r, _) = parse_into(&mut l, "/bin/a x ; /bin/b y;z \\; ';' \";\"");
    assert_eq!(r, Ok(()));
    assert_eq!(l.len(), 2);
    check(&l[0], "/bin/a", &["/bin/a", "x"], ExecFlags::empty());
    check(
        &l[1],
        "/bin/b",
        &["/bin/b", "y;z", ";", ";", ";"],
        ExecFlags::empty(),
    );
    // A lone ';' at the start and repeated separators.
    l.clear();
    let (r, _) = parse_into(&mut l, "; /bin/a ; ; /bin/b");
    assert_eq!(r, Ok(()));
    assert_eq!(
        l.iter().map(|c| c.path.as_str()).collect::<Vec<_>>(),
        ["/bin/a", "/bin/b"]
    );
    // Appending and resetting.
    let (r, _) = parse_into(&mut l, "/bin/c");
    assert_eq!((r, l.len()), (Ok(()), 3));
    let (r, _) = parse_into(&mut l, "");
    assert_eq!((r, l.len()), (Ok(()), 0));
    check(
        &one(r#"/bin/echo "a b" 'c d' e\x41 \u00e4"#),
        "/bin/echo",
        &["/bin/echo", "a b", "c d", "eA", "ä"],
        ExecFlags::empty(),
    );
    // `$VAR` is kept for exec time.
    check(
        &one("/bin/echo $A ${B}"),
        "/bin/echo",
        &["/bin/echo", "$A", "${B}"],
        ExecFlags::empty(),
    );
}

#[test]
fn invalid_paths_and_specifiers() {
    for bad in [
        "/bin/dir/",
        "relative/path",
        "/bin/ba\\x22d",
        "/bin/x%z",
        "/bin/x %z",
        "/bin/a 'open",
    ] {
        let mut l = Vec::new();
        let (r, _) = parse_into(&mut l, bad);
        assert!(
            r.as_ref().is_err_and(SettingError::is_fatal),
            "{bad}: {r:?}"
        );
        let (r, w) = parse_into(&mut l, &format!("-{bad}"));
        assert_eq!((r, w.len(), l.len()), (Ok(()), 1, 0), "-{bad}");
    }
    check(
        &one("/usr/bin/%p %i %I %n"),
        "/usr/bin/foo",
        &["/usr/bin/foo", "bar-baz", "bar/baz", "foo@bar-baz.service"],
        ExecFlags::empty(),
    );
}

#[test]
fn round_trip_through_systemd_string() {
    for v in [
        "/bin/echo a b",
        "-@/bin/sh sh -c \"echo 'x y'\"",
        ":+/bin/x \"a;b\" \\; \"\"",
        "!!/bin/x \"tab\\there\" 100%%",
    ] {
        let c = one(v);
        let s = c.to_systemd_string();
        assert_eq!(one(&s), c, "{v} -> {s}");
    }
    assert_eq!(one("/bin/echo a").to_string(), "/bin/echo a");
    assert_eq!(one("-@/bin/x y").to_string(), "-@/bin/x y");
}
