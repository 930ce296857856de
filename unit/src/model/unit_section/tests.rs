//! `[Unit]` parsing: dependencies, conditions, documentation, actions and the 248 messages.

use keel_core::specifier::SpecifierContext;
use keel_core::time::Usec;
use keel_core::unit_name::UnitName;

use super::*;
use crate::model::directive::find;

fn apply(s: &mut UnitSection, key: &str, value: &str) -> (Result<(), SettingError>, Vec<String>) {
    let unit = UnitName::new("foo-bar@inst.service").unwrap_or_else(|e| panic!("{e}"));
    let spec = SpecifierContext::default();
    let mut ctx = ParseCtx::new(&unit, &spec, key);
    let r = match find(UNIT_DIRECTIVES, key) {
        Some(d) => (d.apply)(s, &mut ctx, value),
        None => {
            apply_condition(s, &mut ctx, key, value).unwrap_or_else(|| panic!("unknown key {key}"))
        }
    };
    (r, ctx.warnings)
}

fn ok(r: (Result<(), SettingError>, Vec<String>)) {
    assert_eq!(r.0, Ok(()));
}

fn names(s: &UnitSection, kind: Dependency) -> Vec<&str> {
    s.dependencies.of(kind).map(UnitName::as_str).collect()
}

#[test]
fn dependencies_with_specifiers() {
    let mut s = UnitSection::default();
    let (r, w) = apply(&mut s, "Wants", "a.service %i.target foo-%j.socket");
    assert_eq!((r, w.len()), (Ok(()), 0));
    assert_eq!(
        names(&s, Dependency::Wants),
        ["a.service", "inst.target", "foo-bar.socket"]
    );
    // %I is not a unit_name_printf specifier: that word is skipped with a warning.
    let (r, w) = apply(&mut s, "After", "%I.service b.service");
    assert_eq!(r, Ok(()));
    assert!(
        w[0].starts_with("Failed to resolve unit name '%I.service', ignoring"),
        "{w:?}"
    );
    assert_eq!(names(&s, Dependency::After), ["b.service"]);
    // Invalid names are skipped with systemd's message.
    let (_, w) = apply(&mut s, "Requires", "not-a-unit c.service");
    assert_eq!(
        w,
        ["Failed to add dependency on not-a-unit, ignoring: Invalid argument"]
    );
    assert_eq!(names(&s, Dependency::Requires), ["c.service"]);
    // Aliases and obsolete spellings.
    ok(apply(&mut s, "BindTo", "d.service"));
    assert_eq!(names(&s, Dependency::BindsTo), ["d.service"]);
    let (_, w) = apply(&mut s, "RequiresOverridable", "e.service");
    assert!(w[0].contains("is obsolete"));
    assert_eq!(names(&s, Dependency::Requires), ["c.service", "e.service"]);
    // Repeats are merged.
    ok(apply(&mut s, "Wants", "a.service"));
    assert_eq!(names(&s, Dependency::Wants).len(), 3);
}

#[test]
fn conditions_prefixes_and_reset() {
    let mut s = UnitSection::default();
    ok(apply(&mut s, "ConditionPathExists", "|!/etc/%p"));
    ok(apply(&mut s, "ConditionHost", "myhost"));
    ok(apply(&mut s, "AssertUser", "root"));
    assert_eq!(s.conditions.len(), 2);
    let c = &s.conditions[0];
    assert!(c.trigger && c.negate);
    assert_eq!(c.parameter, "/etc/foo-bar");
    assert_eq!(c.to_string(), "|!/etc/foo-bar");
    assert_eq!(s.asserts.len(), 1);
    let (r, _) = apply(&mut s, "ConditionPathExists", "relative");
    assert!(r.is_err());
    assert_eq!(s.conditions.len(), 2);
    // An empty assignment drops every condition, not only that kind (248's quirk).
    ok(apply(&mut s, "ConditionHost", ""));
    assert!(s.conditions.is_empty());
    assert_eq!(s.asserts.len(), 1);
}

#[test]
fn documentation_and_scalars() {
    let mut s = UnitSection::default();
    let (_, w) = apply(
        &mut s,
        "Documentation",
        "man:foo(1) https://example.org/x bogus http:",
    );
    assert_eq!(s.documentation, ["man:foo(1)", "https://example.org/x"]);
    assert_eq!(
        w,
        [
            "Invalid URL, ignoring: bogus",
            "Invalid URL, ignoring: http:"
        ]
    );
    ok(apply(&mut s, "Documentation", ""));
    assert!(s.documentation.is_empty());

    ok(apply(&mut s, "JobTimeoutSec", "0"));
    assert_eq!(s.job_timeout, Usec::INFINITY);
    ok(apply(&mut s, "JobTimeoutSec", "5min"));
    assert_eq!(s.job_timeout, Usec::from_secs(300));
    let (r, _) = apply(&mut s, "JobTimeoutSec", "soon");
    assert_eq!(
        r,
        Err(SettingError::invalid(
            "Failed to parse job timeout, ignoring: soon"
        ))
    );
    assert_eq!(s.job_timeout, Usec::from_secs(300));

    ok(apply(&mut s, "FailureAction", "reboot-force"));
    assert_eq!(s.failure_action, EmergencyAction::RebootForce);
    let (r, _) = apply(&mut s, "SuccessAction", "explode");
    assert_eq!(
        r,
        Err(SettingError::invalid(
            "Failed to parse SuccessAction=, ignoring: explode"
        ))
    );
    ok(apply(&mut s, "FailureActionExitStatus", "7"));
    assert_eq!(s.failure_action_exit_status, Some(7));
    assert!(apply(&mut s, "FailureActionExitStatus", "256").0.is_err());
    ok(apply(&mut s, "FailureActionExitStatus", ""));
    assert_eq!(s.failure_action_exit_status, None);
    ok(apply(&mut s, "OnFailureJobMode", "isolate"));
    assert_eq!(s.on_failure_job_mode, JobMode::Isolate);
    ok(apply(&mut s, "StartLimitBurst", "12"));
    ok(apply(&mut s, "StartLimitIntervalSec", "1min"));
    assert_eq!(
        (s.start_limit_burst, s.start_limit_interval),
        (12, Usec::from_secs(60))
    );
    ok(apply(&mut s, "DefaultDependencies", "no"));
    assert!(!s.default_dependencies);
    ok(apply(
        &mut s,
        "RequiresMountsFor",
        "/var/lib/x /srv//y/ rel",
    ));
    assert_eq!(s.requires_mounts_for, ["/var/lib/x", "/srv/y"]);
    ok(apply(&mut s, "CollectMode", "inactive-or-failed"));
    assert_eq!(s.collect_mode, CollectMode::InactiveOrFailed);
}

#[test]
fn directive_names_are_unique() {
    let mut seen = std::collections::BTreeSet::new();
    for d in UNIT_DIRECTIVES {
        assert!(seen.insert(d.name), "duplicate {}", d.name);
    }
}
