//! The `[Timer]` section (`Timer.*` of 248's gperf table), with 248's parsers and defaults
//! (`timer_init`). `OnCalendar=` is checked against systemd's calendar syntax
//! (systemd.time(7)) and kept as written.

use keel_core::time::{Usec, format_timespan};
use keel_core::unit_name::{UnitName, UnitType};
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{expand, set_bool};
use super::exec::{choice, sec};

choice! {
    /// The monotonic timer bases (`OnActiveSec=` ... `OnUnitInactiveSec=`).
    TimerBase {
        Active = "OnActiveSec", Boot = "OnBootSec", Startup = "OnStartupSec",
        UnitActive = "OnUnitActiveSec", UnitInactive = "OnUnitInactiveSec"
    }
}

/// The timer settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TimerSettings {
    /// `OnCalendar=` expressions as written (each validated).
    pub on_calendar: Vec<String>,
    /// The monotonic timers in order.
    pub monotonic: Vec<(TimerBase, Usec)>,
    /// `OnClockChange=` (default no)
    pub on_clock_change: bool,
    /// `OnTimezoneChange=` (default no)
    pub on_timezone_change: bool,
    /// `Persistent=` (default no)
    pub persistent: bool,
    /// `WakeSystem=` (default no)
    pub wake_system: bool,
    /// `RemainAfterElapse=` (default yes)
    pub remain_after_elapse: bool,
    /// `FixedRandomDelay=` (default no)
    pub fixed_random_delay: bool,
    /// `AccuracySec=` (default 1min)
    pub accuracy: Usec,
    /// `RandomizedDelaySec=` (default 0)
    pub randomized_delay: Usec,
    /// `Unit=` (default: the service of the same name)
    pub unit: Option<UnitName>,
}

impl Default for TimerSettings {
    fn default() -> Self {
        Self {
            on_calendar: Vec::new(),
            monotonic: Vec::new(),
            on_clock_change: false,
            on_timezone_change: false,
            persistent: false,
            wake_system: false,
            remain_after_elapse: true,
            fixed_random_delay: false,
            accuracy: Usec::from_secs(60),
            randomized_delay: Usec::ZERO,
            unit: None,
        }
    }
}

const WEEKDAYS: [&str; 14] = [
    "mon", "monday", "tue", "tuesday", "wed", "wednesday", "thu", "thursday", "fri", "friday",
    "sat", "saturday", "sun", "sunday",
];

const SHORTHANDS: [&str; 10] = [
    "minutely", "hourly", "daily", "monthly", "weekly", "yearly", "annually", "quarterly",
    "semiannually", "semi-annually",
];

/// One component (`*`, `5`, `1,3`, `1..5`, `0/15`, `*/2`), digits limited to `max_digits`.
fn component_ok(c: &str, allow_frac: bool) -> bool {
    if c.is_empty() {
        return false;
    }
    c.split(',').all(|item| {
        let (base, rep) = match item.split_once('/') {
            Some((b, r)) => (b, Some(r)),
            None => (item, None),
        };
        let num = |s: &str| {
            let s = if allow_frac { s.split_once('.').map_or(s, |(a, _)| a) } else { s };
            !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit())
        };
        let base_ok = base == "*"
            || match base.split_once("..") {
                Some((a, b)) => num(a) && num(b),
                None => num(base),
            };
        base_ok && rep.is_none_or(|r| num(r))
    })
}

fn weekdays_ok(w: &str) -> bool {
    w.split(',').all(|item| {
        let ok = |d: &str| WEEKDAYS.contains(&d.to_ascii_lowercase().as_str());
        match item.split_once("..").or_else(|| item.split_once('-')) {
            Some((a, b)) => ok(a) && ok(b),
            None => ok(item),
        }
    })
}

fn date_ok(d: &str) -> bool {
    // [YEAR-]MONTH-DAY, the day may use `~` (counted from the month's end).
    let (body, tilde) = match d.split_once('~') {
        Some((a, b)) => (a, Some(b)),
        None => (d, None),
    };
    let parts: Vec<&str> = body.split('-').collect();
    let parts_ok = match parts.len() {
        2 | 3 => parts.iter().all(|p| component_ok(p, false)),
        _ => false,
    };
    parts_ok && tilde.is_none_or(|t| component_ok(t, false))
}

fn time_ok(t: &str) -> bool {
    let parts: Vec<&str> = t.split(':').collect();
    matches!(parts.len(), 2 | 3)
        && parts
            .iter()
            .enumerate()
            .all(|(i, p)| component_ok(p, i == 2))
}

/// Whether `spec` is a calendar expression systemd 248 accepts (systemd.time(7)): a
/// shorthand, or `[WEEKDAYS] [DATE] [TIME] [TIMEZONE]`, or `@EPOCH`.
pub fn calendar_spec_is_valid(spec: &str) -> bool {
    let s = spec.trim();
    if s.is_empty() {
        return false;
    }
    if let Some(e) = s.strip_prefix('@') {
        return !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit());
    }
    let mut words: Vec<&str> = s.split_whitespace().collect();
    if words.len() == 1 && SHORTHANDS.contains(&words[0].to_ascii_lowercase().as_str()) {
        return true;
    }
    // A trailing time zone (UTC, an IANA name) or a shorthand followed by one.
    if words.len() > 1 {
        let last = words[words.len() - 1];
        let tz = last == "UTC"
            || (last.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && last.chars().all(|c| c.is_ascii_alphanumeric() || "/_-+".contains(c))
                && !weekdays_ok(last));
        if tz {
            words.pop();
        }
    }
    if words.len() == 1 && SHORTHANDS.contains(&words[0].to_ascii_lowercase().as_str()) {
        return true;
    }
    let mut i = 0;
    if words.get(i).is_some_and(|w| w.chars().next().is_some_and(|c| c.is_ascii_alphabetic())) {
        if !weekdays_ok(words[i]) {
            return false;
        }
        i += 1;
    }
    let mut date = false;
    let mut time = false;
    for w in &words[i..] {
        if !date && !time && w.contains('-') && !w.contains(':') {
            if !date_ok(w) {
                return false;
            }
            date = true;
        } else if !time && w.contains(':') {
            if !time_ok(w) {
                return false;
            }
            time = true;
        } else {
            return false;
        }
    }
    i > 0 || date || time
}

fn apply_monotonic(s: &mut TimerSettings, ctx: &mut ParseCtx<'_>, v: &str) -> Result<(), SettingError> {
    if v.is_empty() {
        s.monotonic.clear();
        s.on_calendar.clear();
        return Ok(());
    }
    let base: TimerBase = ctx.key.parse().map_err(|()| SettingError::invalid("unknown timer base"))?;
    let k = expand(ctx, v)?;
    let t = keel_core::time::parse_sec(&k).map_err(|_| {
        SettingError::invalid(format!("Failed to parse timer value, ignoring: {k}"))
    })?;
    s.monotonic.push((base, t));
    Ok(())
}

fn apply_calendar(s: &mut TimerSettings, ctx: &mut ParseCtx<'_>, v: &str) -> Result<(), SettingError> {
    if v.is_empty() {
        s.monotonic.clear();
        s.on_calendar.clear();
        return Ok(());
    }
    let k = expand(ctx, v)?;
    if !calendar_spec_is_valid(&k) {
        return Err(SettingError::invalid(format!(
            "Failed to parse calendar specification, ignoring: {k}"
        )));
    }
    s.on_calendar.push(k);
    Ok(())
}

/// `config_parse_trigger_unit` (`Unit=` of timers and paths): a unit name (specifiers of
/// `unit_name_printf`), not the unit itself, only once.
pub(crate) fn trigger_unit(
    current: Option<&UnitName>,
    ctx: &mut ParseCtx<'_>,
    v: &str,
) -> Result<UnitName, SettingError> {
    if let Some(c) = current {
        return Err(SettingError::invalid(format!(
            "Multiple units to trigger specified, ignoring: {v} (already {c})"
        )));
    }
    let n = keel_core::specifier::expand_specifiers_limited(
        v,
        ctx.unit,
        ctx.specifiers,
        keel_core::specifier::UNIT_NAME_SPECIFIERS,
    )
    .map_err(|e| SettingError::invalid(format!("Failed to resolve unit specifiers in {v}, ignoring: {e}")))?;
    let u = UnitName::new(&n)
        .map_err(|_| SettingError::invalid(format!("Unit type not valid, ignoring: {n}")))?;
    if &u == ctx.unit {
        return Err(SettingError::invalid(format!("Units cannot trigger themselves, ignoring: {n}")));
    }
    Ok(u)
}

const fn d(name: &'static str, apply: ApplyFn<TimerSettings>) -> Directive<TimerSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// The keys of 248's `Timer.*` gperf lines.
pub(crate) static TIMER_DIRECTIVES: &[Directive<TimerSettings>] = &[
    d("OnCalendar", apply_calendar),
    d("OnActiveSec", apply_monotonic),
    d("OnBootSec", apply_monotonic),
    d("OnStartupSec", apply_monotonic),
    d("OnUnitActiveSec", apply_monotonic),
    d("OnUnitInactiveSec", apply_monotonic),
    d("OnClockChange", |s, _, v| set_bool(&mut s.on_clock_change, v)),
    d("OnTimezoneChange", |s, _, v| set_bool(&mut s.on_timezone_change, v)),
    d("Persistent", |s, _, v| set_bool(&mut s.persistent, v)),
    d("WakeSystem", |s, _, v| set_bool(&mut s.wake_system, v)),
    d("RemainAfterElapse", |s, _, v| set_bool(&mut s.remain_after_elapse, v)),
    d("FixedRandomDelay", |s, _, v| set_bool(&mut s.fixed_random_delay, v)),
    d("AccuracySec", |s, _, v| {
        s.accuracy = sec(v)?;
        Ok(())
    }),
    d("RandomizedDelaySec", |s, _, v| {
        s.randomized_delay = sec(v)?;
        Ok(())
    }),
    d("Unit", |s, c, v| {
        s.unit = Some(trigger_unit(s.unit.as_ref(), c, v)?);
        Ok(())
    }),
];

impl TimerSettings {
    /// 248's `timer_verify`.
    pub fn verify(&self) -> Result<(), String> {
        if self.on_calendar.is_empty() && self.monotonic.is_empty() && !self.on_clock_change && !self.on_timezone_change {
            return Err("Timer unit lacks value setting. Refusing.".into());
        }
        Ok(())
    }

    /// The unit this timer starts.
    pub fn target(&self, timer: &UnitName) -> UnitName {
        self.unit.clone().unwrap_or_else(|| timer.with_type(UnitType::Service))
    }

    /// The dump lines systemd's `timer_dump` prints (without the normalized `OnCalendar=`).
    pub(crate) fn dump(&self, unit: &UnitName, out: &mut Vec<(String, String)>) {
        let yn = |b: bool| keel_core::boolean::yes_no(b).to_owned();
        let mut l = |k: &str, v: String| out.push((k.to_owned(), v));
        l("Unit", self.target(unit).to_string());
        l("Persistent", yn(self.persistent));
        l("WakeSystem", yn(self.wake_system));
        l("Accuracy", format_timespan(self.accuracy, Usec(1)));
        l("RemainAfterElapse", yn(self.remain_after_elapse));
        l("FixedRandomDelay", yn(self.fixed_random_delay));
        l("OnClockChange", yn(self.on_clock_change));
        l("OnTimeZoneChange", yn(self.on_timezone_change));
        for (b, t) in &self.monotonic {
            l(b.as_str(), format_timespan(*t, Usec(1)));
        }
        if self.randomized_delay > Usec::ZERO {
            l("RandomizedDelayUSec", format_timespan(self.randomized_delay, Usec(1)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendar_specs() {
        for ok in [
            "daily", "weekly", "Mon *-*-* 00:00:00", "*-*-* 06,18:00", "Mon..Fri 22:30",
            "Sat,Sun 20:00", "*-*-01 04:00:00", "2021-*-* 12:00", "*-02~03", "*:0/15",
            "*-*-* 00:00:00 UTC", "Mon,Tue *-*-01..04 12:00:00", "minutely", "@1600000000",
            "Sun 17..19:00:00", "*:*:00.5", "weekly Europe/Berlin", "quarterly",
        ] {
            assert!(calendar_spec_is_valid(ok), "{ok}");
        }
        for bad in ["", "tomorrow", "Mon Mon", "25:00:00:00", "*-*-*-* 00:00", "x:y", "Funday 10:00"] {
            assert!(!calendar_spec_is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn directives_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for d in TIMER_DIRECTIVES {
            assert!(seen.insert(d.name), "{}", d.name);
        }
    }
}
