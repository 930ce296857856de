use super::*;
use crate::model::mount::testing::{apply_in, check_table, invalid, render};

fn apply(s: &mut TimerSettings, key: &str, value: &str) -> Result<(), SettingError> {
    apply_in(TIMER_DIRECTIVES, "backup@home.timer", s, key, value).0
}

const KEYS_248: &[&str] = &[
    "OnCalendar",
    "OnActiveSec",
    "OnBootSec",
    "OnStartupSec",
    "OnUnitActiveSec",
    "OnUnitInactiveSec",
    "OnClockChange",
    "OnTimezoneChange",
    "Persistent",
    "WakeSystem",
    "RemainAfterElapse",
    "FixedRandomDelay",
    "AccuracySec",
    "RandomizedDelaySec",
    "Unit",
];

#[test]
fn table() {
    check_table(TIMER_DIRECTIVES, KEYS_248);
}

/// Inputs and normalized outputs from systemd's `src/test/test-calendarspec.c`
/// (`test_one`), plus a few of our own.
#[test]
fn calendar_normalization() {
    let cases: &[(&str, &str)] = &[
        ("Sat,Thu,Mon-Wed,Sat-Sun", "Mon..Thu,Sat,Sun *-*-* 00:00:00"),
        (
            "Sat,Thu,Mon..Wed,Sat..Sun",
            "Mon..Thu,Sat,Sun *-*-* 00:00:00",
        ),
        ("Mon,Sun 12-*-* 2,1:23", "Mon,Sun 2012-*-* 01,02:23:00"),
        ("Wed *-1", "Wed *-*-01 00:00:00"),
        ("Wed-Wed,Wed *-1", "Wed *-*-01 00:00:00"),
        ("Wed..Wed,Wed *-1", "Wed *-*-01 00:00:00"),
        ("Wed, 17:48", "Wed *-*-* 17:48:00"),
        ("Wednesday,", "Wed *-*-* 00:00:00"),
        ("Wed-Sat,Tue 12-10-15 1:2:3", "Tue..Sat 2012-10-15 01:02:03"),
        (
            "Wed..Sat,Tue 12-10-15 1:2:3",
            "Tue..Sat 2012-10-15 01:02:03",
        ),
        ("*-*-7 0:0:0", "*-*-07 00:00:00"),
        ("10-15", "*-10-15 00:00:00"),
        ("monday *-12-* 17:00", "Mon *-12-* 17:00:00"),
        ("Mon,Fri *-*-3,1,2 *:30:45", "Mon,Fri *-*-01,02,03 *:30:45"),
        ("12,14,13,12:20,10,30", "*-*-* 12,13,14:10,20,30:00"),
        ("mon,fri *-1/2-1,3 *:30:45", "Mon,Fri *-01/2-01,03 *:30:45"),
        ("03-05 08:05:40", "*-03-05 08:05:40"),
        ("08:05:40", "*-*-* 08:05:40"),
        ("05:40", "*-*-* 05:40:00"),
        ("Sat,Sun 12-05 08:05:40", "Sat,Sun *-12-05 08:05:40"),
        ("Sat,Sun 08:05:40", "Sat,Sun *-*-* 08:05:40"),
        ("2003-03-05 05:40", "2003-03-05 05:40:00"),
        ("2003-03-05", "2003-03-05 00:00:00"),
        ("03-05", "*-03-05 00:00:00"),
        ("hourly", "*-*-* *:00:00"),
        ("daily", "*-*-* 00:00:00"),
        ("DAILY", "*-*-* 00:00:00"),
        ("monthly", "*-*-01 00:00:00"),
        ("weekly", "Mon *-*-* 00:00:00"),
        ("minutely", "*-*-* *:*:00"),
        ("quarterly", "*-01,04,07,10-01 00:00:00"),
        ("semi-annually", "*-01,07-01 00:00:00"),
        ("semiannually", "*-01,07-01 00:00:00"),
        ("annually", "*-01-01 00:00:00"),
        ("yearly", "*-01-01 00:00:00"),
        ("*:2/3", "*-*-* *:02/3:00"),
        ("2015-10-25 01:00:00 uTc", "2015-10-25 01:00:00 UTC"),
        ("2016-03-27 03:17:00.4200005", "2016-03-27 03:17:00.420001"),
        ("2016-03-27 03:17:00/0.42", "2016-03-27 03:17:00/0.420000"),
        ("9..11,13:00,30", "*-*-* 09..11,13:00,30:00"),
        ("1..3-1..3 1..3:1..3", "*-01..03-01..03 01..03:01..03:00"),
        ("*:*:5.25/0.25", "*-*-* *:*:05.250000/0.250000"),
        ("*:*:5.25..11.25", "*-*-* *:*:05.250000..11.250000"),
        ("*:05..05", "*-*-* *:05:00"),
        ("*:05..10/6", "*-*-* *:05:00"),
        ("*:05..10/5", "*-*-* *:05..10/5:00"),
        ("*:20..39/5", "*-*-* *:20..35/5:00"),
        ("00:00:20..40/1", "*-*-* 00:00:20..40"),
        ("*~03/1,03..05", "*-*~03/1,03..05 00:00:00"),
        ("*-*~1 Utc", "*-*~01 00:00:00 UTC"),
        ("*-*~05,3 ", "*-*~03,05 00:00:00"),
        ("*-*~* 00:00:00", "*-*-* 00:00:00"),
        ("Monday", "Mon *-*-* 00:00:00"),
        ("Monday *-*-*", "Mon *-*-* 00:00:00"),
        ("*-*-*", "*-*-* 00:00:00"),
        ("*:*:*", "*-*-* *:*:*"),
        ("*:*", "*-*-* *:*:00"),
        ("12:*", "*-*-* 12:*:00"),
        ("*:30", "*-*-* *:30:00"),
        ("93..00-*-*", "1993..2000-*-* 00:00:00"),
        ("00..07-*-*", "2000..2007-*-* 00:00:00"),
        ("Mon..Sun", "*-*-* 00:00:00"),
        ("@1493187147", "2017-04-26 06:12:27 UTC"),
        ("@1493187147 UTC", "2017-04-26 06:12:27 UTC"),
        ("@0", "1970-01-01 00:00:00 UTC"),
        ("@0 UTC", "1970-01-01 00:00:00 UTC"),
        ("*-*-* 00:00:00 UTC", "*-*-* 00:00:00 UTC"),
        (
            "2015-10-25 01:00:00 Asia/Vladivostok",
            "2015-10-25 01:00:00 Asia/Vladivostok",
        ),
        (
            "weekly Pacific/Auckland",
            "Mon *-*-* 00:00:00 Pacific/Auckland",
        ),
    ];
    for (input, want) in cases {
        assert!(calendar_spec_is_valid(input), "{input:?}");
        assert_eq!(
            normalize_calendar(input).as_deref(),
            Ok(*want),
            "input {input:?}"
        );
    }
}

/// Refused inputs from `test-calendarspec.c` (`test_calendar_spec_from_string` failures).
#[test]
fn calendar_refusals() {
    for bad in [
        "test",
        " utc",
        "    ",
        "",
        "7",
        "121212:1:2",
        "2000-03-05.23 00:00:00",
        "2000-03-05 00:00.1:00",
        "00:00:00/0.00000001",
        "00:00:00.0..00.9",
        "2016~11-22",
        "*-*~5/5",
        "Monday.. 12:00",
        "Monday..",
        "-00:+00/-5",
        "00:+00/-5",
        "2016- 11- 24 12: 30: 00",
        "*~29",
        "*~16..31",
        "12..1/2-*",
        "20/4:00",
        "00:00/60",
        "00:00:1.125..1.250",
        "00:00:2300",
        "00:00:18446744073709551615",
        "@88588582097858858",
        "Mond",
        "Fri..Mon",
        "*/2:00",
        "1969-01-01",
        "2200-01-01",
        "*-13-01",
        "*-*-32",
        "24:00",
        "00:60",
    ] {
        assert!(
            normalize_calendar(bad).is_err(),
            "{bad:?} should be refused"
        );
    }
}

#[test]
fn defaults() {
    let s = TimerSettings::default();
    assert!(s.remain_after_elapse);
    assert!(!s.persistent && !s.wake_system && !s.fixed_random_delay);
    assert!(!s.on_clock_change && !s.on_timezone_change);
    assert_eq!(s.accuracy, Usec::from_secs(60));
    assert_eq!(s.randomized_delay, Usec::ZERO);
    assert!(s.unit.is_none() && s.on_calendar.is_empty() && s.monotonic.is_empty());
    assert_eq!(
        s.verify(),
        Err("Timer unit lacks value setting. Refusing.".into())
    );
}

#[test]
fn every_key() {
    let mut s = TimerSettings::default();
    apply(&mut s, "OnCalendar", "daily").unwrap();
    apply(&mut s, "OnActiveSec", "5min").unwrap();
    apply(&mut s, "OnBootSec", "10s").unwrap();
    apply(&mut s, "OnStartupSec", "1h").unwrap();
    apply(&mut s, "OnUnitActiveSec", "1d").unwrap();
    apply(&mut s, "OnUnitInactiveSec", "2w").unwrap();
    for k in [
        "OnClockChange",
        "OnTimezoneChange",
        "Persistent",
        "WakeSystem",
        "FixedRandomDelay",
    ] {
        apply(&mut s, k, "yes").unwrap();
    }
    apply(&mut s, "RemainAfterElapse", "no").unwrap();
    apply(&mut s, "AccuracySec", "1us").unwrap();
    apply(&mut s, "RandomizedDelaySec", "30s").unwrap();
    apply(&mut s, "Unit", "other@%i.service").unwrap();
    assert_eq!(s.on_calendar, vec!["daily".to_owned()]);
    assert_eq!(
        s.monotonic,
        vec![
            (TimerBase::Active, Usec::from_secs(300)),
            (TimerBase::Boot, Usec::from_secs(10)),
            (TimerBase::Startup, Usec::from_secs(3600)),
            (TimerBase::UnitActive, Usec::from_secs(86_400)),
            (TimerBase::UnitInactive, Usec::from_secs(14 * 86_400)),
        ]
    );
    assert!(s.on_clock_change && s.on_timezone_change && s.persistent && s.wake_system);
    assert!(s.fixed_random_delay && !s.remain_after_elapse);
    assert_eq!(s.accuracy, Usec(1));
    assert_eq!(s.randomized_delay, Usec::from_secs(30));
    assert_eq!(
        s.unit.as_ref().map(UnitName::as_str),
        Some("other@home.service")
    );
    assert_eq!(s.verify(), Ok(()));
    // Any empty On*= clears every value, calendar and monotonic alike.
    apply(&mut s, "OnBootSec", "").unwrap();
    assert!(s.on_calendar.is_empty() && s.monotonic.is_empty());
}

#[test]
fn invalid_values_keep_the_previous_value() {
    let mut s = TimerSettings::default();
    apply(&mut s, "OnCalendar", "Mon 12:00").unwrap();
    assert_eq!(
        invalid(apply(&mut s, "OnCalendar", "Mon..")),
        "Failed to parse calendar specification, ignoring: Mon.."
    );
    assert_eq!(
        invalid(apply(&mut s, "OnBootSec", "soon")),
        "Failed to parse timer value, ignoring: soon"
    );
    assert_eq!(s.on_calendar.len(), 1);
    assert!(s.monotonic.is_empty());
    assert_eq!(
        invalid(apply(&mut s, "AccuracySec", "x")),
        "Failed to parse sec value, ignoring: x"
    );
    assert_eq!(
        invalid(apply(&mut s, "Persistent", "perhaps")),
        "Failed to parse boolean value, ignoring: perhaps"
    );
    assert_eq!(
        invalid(apply(&mut s, "OnCalendar", "%Z")),
        "Failed to resolve unit specifiers in '%Z', ignoring: unknown specifier %Z"
    );
}

#[test]
fn trigger_unit_rules() {
    let mut s = TimerSettings::default();
    assert_eq!(
        invalid(apply(&mut s, "Unit", "nosuffix")),
        "Unit type not valid, ignoring: nosuffix"
    );
    assert_eq!(
        invalid(apply(&mut s, "Unit", "backup@home.timer")),
        "Units cannot trigger themselves, ignoring: backup@home.timer"
    );
    assert_eq!(
        invalid(apply(&mut s, "Unit", "a?b.service")),
        "Failed to add trigger on a?b.service, ignoring: Invalid argument"
    );
    assert_eq!(
        invalid(apply(&mut s, "Unit", "%I.service")),
        "Failed to resolve unit specifiers in %I.service, ignoring: unknown specifier %I"
    );
    assert!(s.unit.is_none());
    apply(&mut s, "Unit", "a.service").unwrap();
    assert_eq!(
        invalid(apply(&mut s, "Unit", "b.service")),
        "Multiple units to trigger specified, ignoring: b.service"
    );
    assert_eq!(s.unit.as_ref().map(UnitName::as_str), Some("a.service"));
}

#[test]
fn target_and_dump() {
    let name = UnitName::new("backup@home.timer").unwrap();
    let mut s = TimerSettings::default();
    apply(&mut s, "OnBootSec", "15min").unwrap();
    apply(&mut s, "OnCalendar", "Mon,Tue,Wed 9:00").unwrap();
    apply(&mut s, "OnUnitActiveSec", "1.5s").unwrap();
    assert_eq!(s.target(&name).as_str(), "backup@home.service");
    let mut out = Vec::new();
    s.dump(&name, &mut out);
    assert_eq!(
        render(&out),
        "\tUnit: backup@home.service\n\tPersistent: no\n\tWakeSystem: no\n\tAccuracy: 1min\n\
         \tRemainAfterElapse: yes\n\tFixedRandomDelay: no\n\tOnClockChange: no\n\
         \tOnTimeZoneChange: no\n\tOnUnitActiveSec: 1.500000s\n\
         \tOnCalendar: Mon..Wed *-*-* 09:00:00\n\tOnBootSec: 15min\n"
    );
}
