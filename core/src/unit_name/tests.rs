//! Tables ported from systemd's src/test/test-unit-name.c, plus a differential check against
//! the real `systemd-escape`.

use super::*;

#[test]
fn validity() {
    let plain = [
        "foo.service",
        "foo@bar.service",
        "foo@.service",
        "a.b.c.service",
        "x\\x2d.mount",
    ];
    for n in plain {
        assert!(UnitName::new(n).is_ok(), "{n}");
    }
    let bad = [
        "",
        "foo",
        ".service",
        "foo.waldo",
        "@.service",
        "@piep.service",
        "foo bar.service",
        "foo/bar.service",
        "ü.service",
        "foo.Service",
    ];
    for n in bad {
        assert!(UnitName::new(n).is_err(), "{n:?}");
    }
    let long = format!("{}.service", "a".repeat(247));
    assert_eq!(long.len(), 255);
    assert!(UnitName::new(&long).is_ok());
    let too_long = format!("{}.service", "a".repeat(248));
    assert!(UnitName::new(&too_long).is_err());
    // A second '@' belongs to the instance.
    let n = UnitName::new("foo@bar@baz.service").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(n.instance(), Some("bar@baz"));
}

fn n(s: &str) -> UnitName {
    UnitName::new(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn shapes_prefix_instance_template() {
    type Case<'a> = (
        &'a str,
        bool,
        bool,
        &'a str,
        Option<&'a str>,
        Option<&'a str>,
    );
    let cases: &[Case<'_>] = &[
        // name, template, instance, prefix, instance, template name
        ("foo.service", false, false, "foo", None, None),
        (
            "foo@.service",
            true,
            false,
            "foo",
            None,
            Some("foo@.service"),
        ),
        (
            "foo@bar.service",
            false,
            true,
            "foo",
            Some("bar"),
            Some("foo@.service"),
        ),
        (
            "foo.bar@waldo.socket",
            false,
            true,
            "foo.bar",
            Some("waldo"),
            Some("foo.bar@.socket"),
        ),
        ("a-b-c.slice", false, false, "a-b-c", None, None),
        (
            "fooa@xyz.service",
            false,
            true,
            "fooa",
            Some("xyz"),
            Some("fooa@.service"),
        ),
    ];
    for (name, t, i, p, inst, tmpl) in cases {
        let u = n(name);
        assert_eq!(u.is_template(), *t, "{name}");
        assert_eq!(u.is_instance(), *i, "{name}");
        assert_eq!(u.prefix(), *p, "{name}");
        assert_eq!(u.instance(), *inst, "{name}");
        assert_eq!(u.template().as_ref().map(UnitName::as_str), *tmpl, "{name}");
    }
    assert_eq!(
        n("foo@.service").with_instance("a").map(|x| x.0),
        Ok("foo@a.service".into())
    );
    assert_eq!(
        n("foo@x.service").with_instance("y").map(|x| x.0),
        Ok("foo@y.service".into())
    );
    assert!(n("foo.service").with_instance("y").is_err());
    assert!(n("foo@.service").with_instance("a/b").is_err());
    assert_eq!(
        n("foo@a.socket").with_type(UnitType::Service).as_str(),
        "foo@a.service"
    );
    assert_eq!(n("foo@a.socket").without_suffix(), "foo@a");
    assert_eq!("timer".parse::<UnitType>(), Ok(UnitType::Timer));
    assert!("bogus".parse::<UnitType>().is_err());
    assert_eq!(UnitType::ALL.len(), 11);
}

#[test]
fn escape_table() {
    // test_unit_name_escape and test_unit_name_unescape.
    assert_eq!(
        escape("ab+-c.a/bc@foo.service"),
        r"ab\x2b\x2dc.a-bc\x40foo.service"
    );
    assert_eq!(escape(""), "");
    assert_eq!(escape(".foo"), r"\x2efoo");
    assert_eq!(escape("a.foo"), "a.foo");
    assert_eq!(
        unescape(r"ab\x2b\x2dc.a-bc\x40foo.service").as_deref(),
        Ok("ab+-c.a/bc@foo.service")
    );
    assert_eq!(unescape("foobar").as_deref(), Ok("foobar"));
    assert_eq!(unescape(".foo.bar.").as_deref(), Ok(".foo.bar."));
    assert_eq!(unescape("-foo-bar-").as_deref(), Ok("/foo/bar/"));
    assert_eq!(unescape(r"--foo\x2d").as_deref(), Ok("//foo-"));
    for bad in [r"\x", r"\x2", r"\xgg", r"\y41", "\\"] {
        assert!(unescape(bad).is_err(), "{bad}");
    }
    // Round trip of every ASCII byte.
    let all: String = (1u8..128).map(char::from).filter(|c| *c != '/').collect();
    assert_eq!(unescape(&escape(&all)).as_deref(), Ok(all.as_str()));
}

#[test]
fn path_escape_table() {
    // test_unit_name_path_escape / test_unit_name_path_unescape / from_path / to_path.
    let ok = [
        ("/waldo", "waldo"),
        ("/waldo/quuix", "waldo-quuix"),
        ("/waldo/quuix/", "waldo-quuix"),
        ("waldo", "waldo"),
        ("waldo/quuix", "waldo-quuix"),
        ("waldo/quuix/", "waldo-quuix"),
        ("/", "-"),
        ("//", "-"),
        ("/foo//bar", "foo-bar"),
        ("/foo/.bar", r"foo-.bar"),
        ("/.foo", r"\x2efoo"),
    ];
    for (path, want) in ok {
        assert_eq!(escape_path(path).as_deref(), Ok(want), "{path}");
    }
    for bad in ["/foo/../bar", "/foo/./bar", "."] {
        assert!(escape_path(bad).is_err(), "{bad}");
    }
    let unok = [
        ("foo", "/foo"),
        ("foo-bar", "/foo/bar"),
        ("-", "/"),
        (r"foo\x2dbar", "/foo-bar"),
        (r"\x2efoo", "/.foo"),
    ];
    for (s, want) in unok {
        assert_eq!(unescape_path(s).as_deref(), Ok(want), "{s}");
    }
    for bad in [
        "",
        "--",
        "-foo",
        "foo-",
        "foo--bar",
        "foo-.-bar",
        "foo-..-bar",
        "-foo-bar",
    ] {
        assert!(unescape_path(bad).is_err(), "{bad:?}");
    }
    let fp = |p: &str, t| from_path(p, t).map(|u| u.0);
    assert_eq!(fp("/waldo", UnitType::Mount).as_deref(), Ok("waldo.mount"));
    assert_eq!(
        fp("/waldo/quuix", UnitType::Mount).as_deref(),
        Ok("waldo-quuix.mount")
    );
    assert_eq!(
        fp("/waldo/quuix/", UnitType::Mount).as_deref(),
        Ok("waldo-quuix.mount")
    );
    assert_eq!(fp("/", UnitType::Mount).as_deref(), Ok("-.mount"));
    assert_eq!(fp("///", UnitType::Mount).as_deref(), Ok("-.mount"));
    assert!(fp("/foo/../bar", UnitType::Mount).is_err());
    assert!(fp(&format!("/{}", "x".repeat(300)), UnitType::Mount).is_err());
    assert_eq!(to_path(&n("home.mount")).as_deref(), Ok("/home"));
    assert_eq!(
        to_path(&n("home-lennart.mount")).as_deref(),
        Ok("/home/lennart")
    );
    assert_eq!(to_path(&n("-.mount")).as_deref(), Ok("/"));
    assert!(to_path(&n("home--lennart.mount")).is_err());
    assert!(to_path(&n("-home-lennart.mount")).is_err());
    assert!(to_path(&n("home-..-lennart.mount")).is_err());
}

#[test]
fn mangle_table() {
    // test_unit_name_mangle.
    let t = UnitType::Service;
    let cases = [
        ("foo.service", "foo.service"),
        ("/home", "home.mount"),
        ("/dev/sda", "dev-sda.device"),
        ("üxknürz.service", r"\xc3\xbcxkn\xc3\xbcrz.service"),
        ("foobar-meh...waldi.service", "foobar-meh...waldi.service"),
        (
            "_____####----.....service",
            r"_____\x23\x23\x23\x23----.....service",
        ),
        (
            "_____##@;;;,,,##----.....service",
            r"_____\x23\x23@\x3b\x3b\x3b\x2c\x2c\x2c\x23\x23----.....service",
        ),
        (
            "xxx@@@@/////\\\\\\\\\\yyy.service",
            r"xxx@@@@-----\\\\\yyy.service",
        ),
        ("foo", "foo.service"),
        ("foo.bar", "foo.bar.service"),
        ("foo@bar", "foo@bar.service"),
    ];
    for (input, want) in cases {
        assert_eq!(
            mangle(input, t).map(|u| u.0).as_deref(),
            Ok(want),
            "{input}"
        );
    }
    assert!(mangle("", t).is_err());
    assert!(mangle("@", t).is_err());
}

/// The real `systemd-escape` agrees on a set of awkward inputs.
#[test]
fn agrees_with_systemd_escape() {
    testkit::require_tool("/usr/bin/systemd-escape", "systemd");
    let inputs = [
        "foo-bar/baz",
        ".hidden",
        "ä ö",
        "a\\b",
        "tty1",
        "x@y:z_1.2",
        "-",
        "/",
    ];
    for input in inputs {
        let out = std::process::Command::new("systemd-escape")
            .arg("--")
            .arg(input)
            .output()
            .unwrap_or_else(|e| panic!("systemd-escape: {e}"));
        assert!(out.status.success());
        let theirs = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        assert_eq!(escape(input), theirs, "escape {input:?}");
        let back = std::process::Command::new("systemd-escape")
            .args(["--unescape", "--", &theirs])
            .output()
            .unwrap_or_else(|e| panic!("systemd-escape: {e}"));
        let theirs_back = String::from_utf8_lossy(&back.stdout).trim_end().to_string();
        assert_eq!(
            unescape(&theirs).as_deref(),
            Ok(theirs_back.as_str()),
            "unescape {theirs:?}"
        );
    }
    for path in [
        "/",
        "/dev/disk/by-label/a b",
        "/foo//bar/",
        "/.dot",
        "relative/x",
    ] {
        let out = std::process::Command::new("systemd-escape")
            .args(["--path", "--", path])
            .output()
            .unwrap_or_else(|e| panic!("systemd-escape: {e}"));
        let theirs = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        assert_eq!(
            escape_path(path).as_deref(),
            Ok(theirs.as_str()),
            "--path {path:?}"
        );
    }
    for name in ["foo", "/dev/sda", "/home/x", "ü.service", "a/b"] {
        let out = std::process::Command::new("systemd-escape")
            .args(["--mangle", "--", name])
            .output()
            .unwrap_or_else(|e| panic!("systemd-escape: {e}"));
        let theirs = String::from_utf8_lossy(&out.stdout).trim_end().to_string();
        assert_eq!(
            mangle(name, UnitType::Service).map(|u| u.0).as_deref(),
            Ok(theirs.as_str()),
            "--mangle {name:?}"
        );
    }
}
