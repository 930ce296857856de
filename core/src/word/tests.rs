//! Tables ported from systemd's src/test/test-extract-word.c and test-escape.c.

use super::*;

const U: ExtractFlags = ExtractFlags::UNQUOTE;
const C: ExtractFlags = ExtractFlags::CUNESCAPE;
const R: ExtractFlags = ExtractFlags::RELAX;
const CR: ExtractFlags = ExtractFlags::CUNESCAPE_RELAX;
const RE: ExtractFlags = ExtractFlags::RETAIN_ESCAPE;
const DC: ExtractFlags = ExtractFlags::DONT_COALESCE_SEPARATORS;
const US: ExtractFlags = ExtractFlags::UNESCAPE_SEPARATORS;
const E: ExtractFlags = ExtractFlags::empty();
const WS: &str = WHITESPACE;

/// Where the cursor must be after a step.
#[derive(Debug, Clone, Copy)]
enum Rest {
    /// At this byte offset of the input.
    At(usize),
    /// NULL (after the last word).
    Null,
    /// "isempty(p)": NULL or at the end.
    Empty,
    /// Not checked.
    Any,
}

/// One expected call: Ok(word) / Ok(None) as `None` / error as `Err`.
type Step = (Result<Option<&'static str>, ()>, Rest);

fn run(input: &'static str, seps: &str, flags: ExtractFlags, steps: &[Step]) {
    let mut w = Words::new(input, seps, flags);
    for (n, (want, rest)) in steps.iter().enumerate() {
        let got = w.step();
        let ctx = format!("{input:?} flags {flags:?} step {n}");
        match (want, &got) {
            (Ok(x), Ok(y)) => assert_eq!(*x, y.as_deref(), "{ctx}"),
            (Err(()), Err(_)) => {}
            _ => panic!("{ctx}: want {want:?}, got {got:?}"),
        }
        match rest {
            Rest::At(off) => assert_eq!(w.rest(), Some(&input[*off..]), "{ctx} rest"),
            Rest::Null => assert_eq!(w.rest(), None, "{ctx} rest"),
            Rest::Empty => assert!(
                w.rest().is_none_or(str::is_empty),
                "{ctx} rest {:?}",
                w.rest()
            ),
            Rest::Any => {}
        }
    }
}

fn ok(w: &'static str, r: Rest) -> Step {
    (Ok(Some(w)), r)
}
const END: Step = (Ok(None), Rest::Empty);
fn err(r: Rest) -> Step {
    (Err(()), r)
}
use Rest::{Any, At, Empty, Null};

#[test]
fn extract_first_word_table() {
    run(
        "foobar waldo",
        WS,
        E,
        &[ok("foobar", At(7)), ok("waldo", Empty), END],
    );
    run(
        r#""foobar" 'waldo'"#,
        WS,
        E,
        &[ok(r#""foobar""#, At(9)), ok("'waldo'", Empty), END],
    );
    run(
        r#""foobar" 'waldo'"#,
        WS,
        U,
        &[ok("foobar", At(9)), ok("waldo", Empty), END],
    );
    run("\"", WS, E, &[ok("\"", Empty)]);
    run("\"", WS, U, &[err(At(1))]);
    run("'", WS, E, &[ok("'", Empty)]);
    run("'", WS, U, &[err(At(1))]);
    run("'fooo", WS, E, &[ok("'fooo", Empty)]);
    run(
        r#"KEY=val "KEY2=val with space" "KEY3=val with \"quotation\"""#,
        WS,
        U,
        &[
            ok("KEY=val", Any),
            ok("KEY2=val with space", Any),
            ok(r#"KEY3=val with "quotation""#, Empty),
        ],
    );
    run(
        r#"KEY=val "KEY2=val space" "KEY3=val with \"quotation\"""#,
        WS,
        RE,
        &[
            ok("KEY=val", Any),
            ok("\"KEY2=val", Any),
            ok("space\"", At(25)),
        ],
    );
    run("'fooo", WS, U, &[err(At(5))]);
    run("'fooo", WS, U | R, &[ok("fooo", Empty)]);
    run("\"fooo", WS, U | R, &[ok("fooo", Empty)]);
    run("yay'foo'bar", WS, E, &[ok("yay'foo'bar", Empty)]);
    run("yay'foo'bar", WS, U, &[ok("yayfoobar", Empty)]);
    run("   foobar   ", WS, E, &[ok("foobar", Empty)]);
    run(r" foo\ba\x6ar ", WS, C, &[ok("foo\x08a\x6ar", Empty)]);
    run(r" foo\ba\x6ar ", WS, E, &[ok("foobax6ar", Empty)]);
    run(
        r#"    f\u00f6o "pi\U0001F4A9le"   "#,
        WS,
        C,
        &[ok("föo", At(13))],
    );
    {
        let mut w = Words::new(r#"    f\u00f6o "pi\U0001F4A9le"   "#, WS, C);
        assert_eq!(w.step().ok().flatten().as_deref(), Some("föo"));
        w.flags = U | C;
        assert_eq!(w.step().ok().flatten().as_deref(), Some("pi\u{1F4A9}le"));
        assert!(w.rest().is_none_or(str::is_empty));
    }
    run("fooo\\", WS, R, &[ok("fooo", Empty)]);
    run("fooo\\", WS, CR, &[ok("fooo\\", Empty)]);
    run("fooo\\", WS, CR | R, &[ok("fooo\\", Empty)]);
    run("fooo\\", WS, C | CR, &[ok("fooo\\", Empty)]);
    run("\"foo\\", WS, E, &[err(At(5))]);
    run("\"foo\\", WS, U | R, &[ok("foo", Empty)]);
    run(
        "foo::bar",
        ":",
        E,
        &[ok("foo", At(5)), ok("bar", Empty), END],
    );
    run(
        r"foo\:bar::waldo",
        ":",
        E,
        &[ok("foo:bar", At(10)), ok("waldo", Empty), END],
    );
    run("\"foo\\", WS, U | CR, &[err(At(5))]);
    run("\"foo\\", WS, U | CR | R, &[ok("foo\\", Empty)]);
    run("\"foo\\", WS, U | C | CR | R, &[ok("foo\\", Empty)]);
    run(r"fooo\ bar quux", WS, R, &[ok("fooo bar", At(10))]);
    run(r"fooo\ bar quux", WS, CR, &[ok("fooo bar", At(10))]);
    run(r"fooo\ bar quux", WS, CR | R, &[ok("fooo bar", At(10))]);
    run(r"fooo\ bar quux", WS, C, &[err(At(5))]);
    run(r"fooo\ bar quux", WS, C | CR, &[ok(r"fooo\ bar", At(10))]);
    run(r"\w+@\K[\d.]+", WS, C, &[err(At(1))]);
    run(r"\w+@\K[\d.]+", WS, C | CR, &[ok(r"\w+@\K[\d.]+", Empty)]);
    run(r"\w+\b", WS, C | CR, &[ok("\\w+\x08", Empty)]);
    run("-N ''", WS, U, &[ok("-N", At(3)), ok("", Empty)]);
    run(
        r":foo\:bar::waldo:",
        ":",
        DC,
        &[
            ok("", At(1)),
            ok("foo:bar", At(10)),
            ok("", At(11)),
            ok("waldo", At(17)),
            ok("", Null),
            (Ok(None), Null),
        ],
    );
    run(r"foo\xbar", WS, E, &[ok("fooxbar", Null)]);
    run(r"foo\xbar", WS, RE, &[ok(r"foo\xbar", Null)]);
    run(r"\:", ":", C | US, &[ok(":", Null)]);
    run(r"a\:b", ":", C | US, &[ok("a:b", Null)]);
    let wsc = " \t\n\r:";
    run(r"a\ b:c", wsc, C | US, &[ok("a b", Any), ok("c", Null)]);
    run(r"\:", ":", C, &[err(Any)]);
    run(r"a\:b", ":", C, &[err(Any), ok("b", Any)]);
    run(r"a\ b:c", wsc, C, &[err(Any), ok("b", Any), ok("c", Null)]);
}

#[test]
fn extract_first_word_on_str() {
    let mut p = "a  b";
    assert_eq!(extract_first_word(&mut p, WS, E), Ok(Some("a".into())));
    assert_eq!(p, "b");
    assert_eq!(extract_first_word(&mut p, WS, E), Ok(Some("b".into())));
    assert_eq!(p, "");
    assert_eq!(extract_first_word(&mut p, WS, E), Ok(None));
    // An empty input is the end even without coalescing.
    let mut p = "";
    assert_eq!(extract_first_word(&mut p, ",", DC), Ok(None));
    // Invalid UTF-8 after unescaping is an error, not a panic.
    let mut p = r"\xff";
    assert_eq!(
        extract_first_word(&mut p, WS, C),
        Err(ExtractWordError::InvalidUtf8)
    );
    assert_eq!(
        split_words("a 'b c' d", WS, U),
        Ok(vec!["a".to_string(), "b c".into(), "d".into()])
    );
    // Octal and hex NULs are refused, octal above 255 too.
    for bad in [r"\x00", r"\000", r"\400", r"\u0000", r"\q", r"\x4"] {
        let mut p = bad;
        assert!(extract_first_word(&mut p, WS, C).is_err(), "{bad}");
    }
    // A quote in the middle of a word opens quoting (spec §8.3).
    let mut p = r#"a"b c"d e"#;
    assert_eq!(extract_first_word(&mut p, WS, U), Ok(Some("ab cd".into())));
    // KEEP_QUOTE keeps the quotes but still groups.
    let mut p = r#"a"b c"d e"#;
    let kq = ExtractFlags::KEEP_QUOTE;
    assert_eq!(
        extract_first_word(&mut p, WS, kq),
        Ok(Some(r#"a"b c"d"#.into()))
    );
    // RETAIN_SEPARATORS leaves the separator in place.
    let mut p = "a:b";
    let rs = ExtractFlags::RETAIN_SEPARATORS;
    assert_eq!(extract_first_word(&mut p, ":", rs), Ok(Some("a".into())));
    assert_eq!(p, ":b");
}

#[test]
fn cunescape_table() {
    let none = UnescapeFlags::empty();
    let relax = UnescapeFlags::RELAX;
    assert!(cunescape(r#"abc\\\"\b\f\a\n\r\t\v\003\177\234\313\000\x00"#, none).is_err());
    assert_eq!(
        cunescape(r#"abc\\\x22\b\f\a\n\r\t\v\003\177"#, none).as_deref(),
        Ok("abc\\\"\x08\x0c\x07\n\r\t\x0b\x03\x7f")
    );
    assert!(cunescape(r#"abc\\\\\"\b\f\a\n\r\t\v\003\177\234\313\000\x00"#, relax).is_err());
    assert_eq!(cunescape(r"\u0000", relax).as_deref(), Ok(r"\u0000"));
    assert_eq!(
        cunescape(r"\u00DF\U000000df\u03a0\U00000041", none).as_deref(),
        Ok("ßßΠA")
    );
    assert_eq!(cunescape(r"\073", none).as_deref(), Ok(";"));
    assert_eq!(cunescape(r"A=A\\\\x0aB", none).as_deref(), Ok(r"A=A\\x0aB"));
    assert_eq!(
        cunescape(r"\x5", none),
        Err(ExtractWordError::InvalidEscape("x5".into()))
    );
    assert_eq!(cunescape(r"\x5", relax).as_deref(), Ok(r"\x5"));
    assert_eq!(cunescape("trailing\\", relax).as_deref(), Ok("trailing\\"));
    assert_eq!(
        cunescape("trailing\\", none),
        Err(ExtractWordError::TrailingBackslash)
    );
}

#[test]
fn cescape_table() {
    assert_eq!(
        cescape("abc\\\"\x08\x0c\x07\n\r\t\x0b\x03\x7f\u{9c}\u{cb}"),
        r#"abc\\\"\b\f\a\n\r\t\v\003\177\302\234\303\213"#
    );
    assert_eq!(cescape("plain text"), "plain text");
    // Round trip.
    let s = "a\tb 'c' \"d\" ä\x01";
    assert_eq!(
        cunescape(&cescape(s), UnescapeFlags::empty()).as_deref(),
        Ok(s)
    );
}
