//! The full test command: lint, then every test tier, then one summary line.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::packages;
use crate::util::cargo;

fn step(name: &str, mut cmd: Command) -> Result<bool> {
    eprintln!("xtask: {name}");
    let st = cmd.status().with_context(|| format!("starting {name}"))?;
    if !st.success() {
        eprintln!("xtask: {name} failed ({st})");
    }
    Ok(st.success())
}

#[derive(Default)]
struct Tally {
    passed: u64,
    failed: u64,
    ignored: u64,
}

impl Tally {
    /// Adds the counts of one libtest summary line
    /// (`test result: ok. 12 passed; 0 failed; 1 ignored; ...`).
    fn add_line(&mut self, line: &str) {
        let Some(rest) = line.strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(what), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match what {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

/// Runs `cargo test` with `args`, echoing its output and adding up its summary lines.
fn cargo_test(args: &[&str], extra: &[String], tally: &mut Tally) -> Result<bool> {
    let mut cmd = cargo();
    cmd.arg("test")
        .args(args)
        .args(extra)
        .stdout(Stdio::piped());
    eprintln!("xtask: cargo test {}", args.join(" "));
    let mut child = cmd.spawn().context("starting cargo test")?;
    let out = child.stdout.take().context("cargo test stdout")?;
    for line in BufReader::new(out).lines() {
        let line = line.context("reading cargo test output")?;
        println!("{line}");
        tally.add_line(&line);
    }
    let st = child.wait().context("waiting for cargo test")?;
    if !st.success() {
        eprintln!("xtask: cargo test {} failed ({st})", args.join(" "));
    }
    Ok(st.success())
}

/// `cargo xtask test [--no-lint] [-- FILTER...]`.
pub(crate) fn run(args: &[String]) -> Result<bool> {
    let no_lint = args.iter().any(|a| a == "--no-lint");
    let filter: Vec<String> = args
        .iter()
        .skip_while(|a| *a != "--")
        .skip(1)
        .cloned()
        .collect();
    packages::ensure(packages::TEST_PACKAGES)?;
    packages::ensure_package_lists()?;

    let mut ok = true;
    if !no_lint {
        let mut fmt = cargo();
        fmt.args(["fmt", "--all", "--", "--check"]);
        ok &= step("cargo fmt --check", fmt)?;
        let mut clippy = cargo();
        clippy.args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]);
        ok &= step("cargo clippy -D warnings", clippy)?;
        let mut doc = cargo();
        doc.args(["doc", "--workspace", "--no-deps"])
            .env("RUSTDOCFLAGS", "-D warnings");
        ok &= step("cargo doc -D warnings", doc)?;
    }

    let mut tally = Tally::default();
    let mut test_args: Vec<String> = filter.clone();
    test_args.push("--".into());
    test_args.push("--include-ignored".into());
    // Every test target except the criterion benches (they take no libtest flags); then the
    // benches once each in test mode (criterion runs every benchmark a single time), then
    // the doctests.
    let targets = [
        "--workspace",
        "--no-fail-fast",
        "--lib",
        "--bins",
        "--tests",
        "--examples",
    ];
    ok &= cargo_test(&targets, &test_args, &mut tally)?;
    if filter.is_empty() {
        ok &= cargo_test(
            &["--workspace", "--no-fail-fast", "--benches"],
            &[],
            &mut tally,
        )?;
        ok &= cargo_test(&["--workspace", "--no-fail-fast", "--doc"], &[], &mut tally)?;
    }
    if filter.is_empty() {
        // The kernel-feature scenarios in QEMU (tests/vm/), one pass or fail each, and the
        // harness self-test (a scenario failing on purpose must be reported as failed).
        match crate::vm::test_suite().and_then(|t| Ok((t, crate::vm::selftest()?))) {
            Ok((t, selftest_ok)) => {
                tally.passed += t.passed + u64::from(selftest_ok);
                tally.failed += t.failed + u64::from(!selftest_ok);
            }
            Err(e) => {
                eprintln!("xtask: vm test: {e:#}");
                tally.failed += 1;
            }
        }
    }
    ok &= tally.failed == 0;
    println!(
        "keel: {} passed, {} failed, {} skipped",
        tally.passed, tally.failed, tally.ignored
    );
    Ok(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tally_reads_libtest_summary() {
        let mut t = Tally::default();
        t.add_line("test result: ok. 12 passed; 0 failed; 3 ignored; 0 measured; 0 filtered out; finished in 0.01s");
        t.add_line(
            "test result: FAILED. 1 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        t.add_line("running 3 tests");
        assert_eq!((t.passed, t.failed, t.ignored), (13, 2, 3));
    }
}
