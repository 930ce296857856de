//! The keys of `[Timer]` (`Timer.*` of systemd 248's gperf table), with `timer_init`'s
//! defaults, the setting lines of 248's `timer_dump`, the check of `timer_verify`, and a
//! calendar-specification parser that follows 248's `calendar_spec_from_string` /
//! `calendar_spec_to_string` (`src/basic/calendarspec.c`; systemd.timer(5) and
//! systemd.time(7) of 248).
//!
//! `OnCalendar=` values are kept as written (after specifier expansion) and validated;
//! [`normalize_calendar`] gives the normalized form systemd prints. Time zones: 248 accepts a
//! trailing ` UTC`, the local zone's abbreviations and any zone that exists under
//! `/usr/share/zoneinfo`; keel accepts ` UTC` and any syntactically valid zone name that
//! exists under `/usr/share/zoneinfo` (when that directory is missing: any such name that
//! contains a `/` or starts with an upper-case letter). When a timer elapses is the
//! manager's business, not computed here.
//!
//! Keys newer than 248 are deliberately absent: `DeferReactivation=` (257).

use std::fmt::Write as _;

use keel_core::boolean::yes_no;
use keel_core::specifier::{UNIT_NAME_SPECIFIERS, expand_specifiers_limited};
use keel_core::time::{USEC_PER_MINUTE, Usec, format_timespan, parse_sec};
use keel_core::unit_name::{UnitName, UnitType};
use serde::Serialize;

use super::directive::{ApplyFn, Directive, ParseCtx, SettingError, Support};
use super::exec::value::{expand, set_bool};
use super::exec::{choice, sec};
use super::mount::pair;

choice! {
    /// What a timer value counts from (`timer_base_to_string`: the key that set it).
    TimerBase {
        Active = "OnActiveSec", Boot = "OnBootSec", Startup = "OnStartupSec",
        UnitActive = "OnUnitActiveSec", UnitInactive = "OnUnitInactiveSec",
        Calendar = "OnCalendar"
    }
}

/// The `[Timer]` settings with systemd 248's defaults.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TimerSettings {
    /// `OnCalendar=`: calendar specifications, as written (specifiers expanded) and
    /// validated, in file order.
    #[doc(alias = "OnCalendar=")]
    pub on_calendar: Vec<String>,
    /// `OnActiveSec=`, `OnBootSec=`, `OnStartupSec=`, `OnUnitActiveSec=`,
    /// `OnUnitInactiveSec=`: monotonic values in file order.
    #[doc(alias = "OnBootSec=")]
    pub monotonic: Vec<(TimerBase, Usec)>,
    /// `OnClockChange=` (default no)
    #[doc(alias = "OnClockChange=")]
    pub on_clock_change: bool,
    /// `OnTimezoneChange=` (default no)
    #[doc(alias = "OnTimezoneChange=")]
    pub on_timezone_change: bool,
    /// `Persistent=` (default no)
    #[doc(alias = "Persistent=")]
    pub persistent: bool,
    /// `WakeSystem=` (default no)
    #[doc(alias = "WakeSystem=")]
    pub wake_system: bool,
    /// `RemainAfterElapse=` (default yes)
    #[doc(alias = "RemainAfterElapse=")]
    pub remain_after_elapse: bool,
    /// `FixedRandomDelay=` (default no)
    #[doc(alias = "FixedRandomDelay=")]
    pub fixed_random_delay: bool,
    /// `AccuracySec=` (default 1min, the manager's `DefaultTimerAccuracySec=`)
    #[doc(alias = "AccuracySec=")]
    pub accuracy: Usec,
    /// `RandomizedDelaySec=` (default 0)
    #[doc(alias = "RandomizedDelaySec=")]
    pub randomized_delay: Usec,
    /// `Unit=`: the unit to trigger (default unset: the service of the same name, see
    /// [`TimerSettings::target`]).
    #[doc(alias = "Unit=")]
    pub unit: Option<UnitName>,
    /// The base of every value in assignment order (systemd keeps one list, and prints it
    /// newest first).
    #[serde(skip)]
    order: Vec<TimerBase>,
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
            accuracy: Usec(USEC_PER_MINUTE),
            randomized_delay: Usec::ZERO,
            unit: None,
            order: Vec::new(),
        }
    }
}

impl TimerSettings {
    /// The unit this timer starts: `Unit=`, else the service of the timer's name
    /// (`foo@a.timer` → `foo@a.service`).
    pub fn target(&self, timer: &UnitName) -> UnitName {
        self.unit
            .clone()
            .unwrap_or_else(|| timer.with_type(UnitType::Service))
    }

    /// 248's `timer_verify`: a timer needs a value, `OnClockChange=` or `OnTimezoneChange=`.
    ///
    /// # Errors
    ///
    /// The message systemd logs before refusing the unit (`bad-setting`).
    pub fn verify(&self) -> Result<(), String> {
        if self.on_calendar.is_empty()
            && self.monotonic.is_empty()
            && !self.on_clock_change
            && !self.on_timezone_change
        {
            return Err("Timer unit lacks value setting. Refusing.".into());
        }
        Ok(())
    }

    fn clear_values(&mut self) {
        self.on_calendar.clear();
        self.monotonic.clear();
        self.order.clear();
    }

    /// The setting lines of 248's `timer_dump` for the timer `name` as `(label, value)`
    /// pairs, without the run-time lines (`Timer State:`, `Result:`); the values come newest
    /// first, as systemd keeps them, and calendar values in normalized form. (248 does not
    /// print `RandomizedDelaySec=`.)
    pub(crate) fn dump(&self, name: &UnitName, out: &mut Vec<(String, String)>) {
        pair(out, "Unit", self.target(name));
        pair(out, "Persistent", yes_no(self.persistent));
        pair(out, "WakeSystem", yes_no(self.wake_system));
        pair(out, "Accuracy", format_timespan(self.accuracy, Usec(1)));
        pair(out, "RemainAfterElapse", yes_no(self.remain_after_elapse));
        pair(out, "FixedRandomDelay", yes_no(self.fixed_random_delay));
        pair(out, "OnClockChange", yes_no(self.on_clock_change));
        pair(out, "OnTimeZoneChange", yes_no(self.on_timezone_change));
        let mut cal = self.on_calendar.iter().rev();
        let mut mono = self.monotonic.iter().rev();
        for base in self.order.iter().rev() {
            if *base == TimerBase::Calendar {
                if let Some(c) = cal.next() {
                    let n = normalize_calendar(c).unwrap_or_else(|_| "n/a".into());
                    pair(out, "OnCalendar", n);
                }
            } else if let Some((b, v)) = mono.next() {
                pair(out, b.as_str(), format_timespan(*v, Usec::ZERO));
            }
        }
    }
}

/// An `OnCalendar=` value that is not a valid calendar specification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseCalendarError {
    /// Syntax error or a value out of range.
    #[error("invalid calendar specification {0:?}")]
    Invalid(String),
}

/// One element of a component chain: `start[..stop][/repeat]` (seconds in µs).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Comp {
    start: i64,
    stop: i64,
    repeat: i64,
}

/// A chain: `None` is `*` (every value).
type Chain = Option<Vec<Comp>>;

#[derive(Debug, Default)]
struct Spec {
    weekdays: i32,
    end_of_month: bool,
    utc: bool,
    timezone: Option<String>,
    year: Chain,
    month: Chain,
    day: Chain,
    hour: Chain,
    minute: Chain,
    second: Chain,
}

const BITS_WEEKDAYS: i32 = 127;
const MIN_YEAR: i64 = 1970;
const MAX_YEAR: i64 = 2199;
const COMPONENTS_MAX: usize = 240;
const INT_MAX: i64 = i32::MAX as i64;
const US: i64 = 1_000_000;

type PResult<T> = Result<T, ()>;

fn constant(v: i64) -> Chain {
    constants(&[v])
}

fn constants(vs: &[i64]) -> Chain {
    Some(
        vs.iter()
            .map(|&v| Comp {
                start: v,
                stop: -1,
                repeat: 0,
            })
            .collect(),
    )
}

/// `parse_component_decimal`: digits (and for seconds a fraction of up to six digits,
/// rounded at the seventh).
fn decimal(s: &mut &[u8], usec: bool) -> PResult<i64> {
    let digits = s.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        return Err(());
    }
    let mut value: i64 = 0;
    for b in &s[..digits] {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
            .ok_or(())?;
    }
    *s = &s[digits..];
    if usec {
        value = value.checked_mul(US).ok_or(())?;
        if s.first() == Some(&b'.') && s.get(1) != Some(&b'.') {
            *s = &s[1..];
            let mut add: i64 = 0;
            for i in 0..6 {
                match s.first() {
                    Some(b) if b.is_ascii_digit() => {
                        add = add * 10 + i64::from(b - b'0');
                        *s = &s[1..];
                    }
                    _ if i == 0 => return Err(()),
                    _ => {
                        for _ in i..6 {
                            add *= 10;
                        }
                        break;
                    }
                }
            }
            if matches!(s.first(), Some(b'5'..=b'9')) {
                add += 1;
            }
            let rest = s.iter().take_while(|b| b.is_ascii_digit()).count();
            *s = &s[rest..];
            value = value.checked_add(add).ok_or(())?;
        }
    }
    if value > INT_MAX {
        return Err(());
    }
    Ok(value)
}

/// `prepend_component` with its `,`-recursion: one or more `start[..stop][/repeat]`.
fn components(s: &mut &[u8], usec: bool) -> PResult<Vec<Comp>> {
    let mut out = Vec::new();
    loop {
        if out.len() > COMPONENTS_MAX {
            return Err(());
        }
        let start = decimal(s, usec)?;
        let mut stop = -1;
        let mut repeat = 0;
        if s.starts_with(b"..") {
            *s = &s[2..];
            stop = decimal(s, usec)?;
            repeat = if usec { US } else { 1 };
        }
        if s.first() == Some(&b'/') {
            *s = &s[1..];
            repeat = decimal(s, usec)?;
            if repeat == 0 {
                return Err(());
            }
        } else if start > INT_MAX - repeat || (usec && stop >= 0 && start + repeat > stop) {
            return Err(());
        }
        if !matches!(s.first(), None | Some(b' ' | b',' | b'-' | b'~' | b':')) {
            return Err(());
        }
        out.push(Comp {
            start,
            stop,
            repeat,
        });
        if s.first() == Some(&b',') {
            *s = &s[1..];
            continue;
        }
        return Ok(out);
    }
}

/// `parse_chain`: `*` or components.
fn chain(s: &mut &[u8], usec: bool) -> PResult<Chain> {
    if s.first() == Some(&b'*') {
        *s = &s[1..];
        return Ok(if usec {
            Some(vec![Comp {
                start: 0,
                stop: -1,
                repeat: US,
            }])
        } else {
            None
        });
    }
    components(s, usec).map(Some)
}

fn skip_spaces(s: &mut &[u8]) {
    let n = s.iter().take_while(|b| **b == b' ').count();
    *s = &s[n..];
}

/// `parse_weekdays`.
fn weekdays(s: &mut &[u8], spec: &mut Spec) -> PResult<()> {
    const DAYS: [(&str, i32); 14] = [
        ("Monday", 0),
        ("Mon", 0),
        ("Tuesday", 1),
        ("Tue", 1),
        ("Wednesday", 2),
        ("Wed", 2),
        ("Thursday", 3),
        ("Thu", 3),
        ("Friday", 4),
        ("Fri", 4),
        ("Saturday", 5),
        ("Sat", 5),
        ("Sunday", 6),
        ("Sun", 6),
    ];
    let mut l: i32 = -1;
    let mut first = true;
    loop {
        let found = DAYS.iter().find(|(name, _)| {
            s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name.as_bytes())
        });
        let Some((name, nr)) = found else {
            return if first { Ok(()) } else { Err(()) };
        };
        if !matches!(s.get(name.len()), None | Some(b'-' | b'.' | b',' | b' ')) {
            return Err(());
        }
        spec.weekdays |= 1 << nr;
        if l >= 0 {
            if l > *nr {
                return Err(());
            }
            for j in l + 1..*nr {
                spec.weekdays |= 1 << j;
            }
        }
        *s = &s[name.len()..];
        match s.first() {
            None => return Ok(()),
            Some(b' ') => {
                skip_spaces(s);
                return Ok(());
            }
            Some(b'.') => {
                if l >= 0 || s.get(1) != Some(&b'.') {
                    return Err(());
                }
                l = *nr;
                *s = &s[2..];
            }
            Some(b'-') => {
                if l >= 0 {
                    return Err(());
                }
                l = *nr;
                *s = &s[1..];
            }
            Some(b',') => {
                l = -1;
                *s = &s[1..];
            }
            Some(_) => {}
        }
        if matches!(s.first(), None | Some(b' ')) {
            skip_spaces(s);
            return if l < 0 { Ok(()) } else { Err(()) };
        }
        first = false;
    }
}

/// Days since 1970-01-01 → (year, month, day) (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// `parse_date`; `Ok(true)` when an `@TIMESTAMP` settled everything.
fn date(s: &mut &[u8], spec: &mut Spec) -> PResult<bool> {
    let mut t = *s;
    if t.is_empty() {
        return Ok(false);
    }
    if t[0] == b'@' {
        t = &t[1..];
        let n = t.iter().take_while(|b| b.is_ascii_digit()).count();
        if n == 0 {
            return Err(());
        }
        let secs: i64 = std::str::from_utf8(&t[..n])
            .ok()
            .and_then(|d| d.parse().ok())
            .ok_or(())?;
        let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400);
        if y > INT_MAX {
            return Err(());
        }
        spec.utc = true;
        spec.year = constant(y);
        spec.month = constant(mo);
        spec.day = constant(d);
        spec.hour = constant(rem / 3600);
        spec.minute = constant(rem % 3600 / 60);
        spec.second = constant(rem % 60 * US);
        *s = &t[n..];
        return Ok(true);
    }
    let first = chain(&mut t, false)?;
    if matches!(t.first(), None | Some(b':')) {
        return Ok(false);
    }
    match t.first() {
        Some(b'~') => spec.end_of_month = true,
        Some(b'-') => {}
        _ => return Err(()),
    }
    t = &t[1..];
    let second = chain(&mut t, false)?;
    if matches!(t.first(), None | Some(b' ')) {
        skip_spaces(&mut t);
        *s = t;
        spec.month = first;
        spec.day = second;
        return Ok(false);
    } else if spec.end_of_month {
        return Err(());
    }
    match t.first() {
        Some(b'~') => spec.end_of_month = true,
        Some(b'-') => {}
        _ => return Err(()),
    }
    t = &t[1..];
    let third = chain(&mut t, false)?;
    if !matches!(t.first(), None | Some(b' ')) {
        return Err(());
    }
    skip_spaces(&mut t);
    *s = t;
    spec.year = first;
    spec.month = second;
    spec.day = third;
    Ok(false)
}

/// `parse_calendar_time`.
fn time(s: &mut &[u8], spec: &mut Spec) -> PResult<()> {
    let mut t = *s;
    if t.is_empty() {
        spec.hour = constant(0);
        spec.minute = constant(0);
        spec.second = constant(0);
        return Ok(());
    }
    let h = chain(&mut t, false)?;
    if t.first() != Some(&b':') {
        return Err(());
    }
    t = &t[1..];
    let m = chain(&mut t, false)?;
    let sec = if t.is_empty() {
        constant(0)
    } else {
        if t.first() != Some(&b':') {
            return Err(());
        }
        t = &t[1..];
        let sec = chain(&mut t, true)?;
        if !t.is_empty() {
            return Err(());
        }
        sec
    };
    *s = t;
    spec.hour = h;
    spec.minute = m;
    spec.second = sec;
    Ok(())
}

/// `normalize_chain`: trims ranges to whole repeats, drops useless repeats, sorts, dedups.
fn normalize_chain(c: &mut Chain) {
    let Some(v) = c else { return };
    for i in v.iter_mut() {
        if i.stop > i.start && i.repeat > 0 {
            i.stop -= (i.stop - i.start) % i.repeat;
        }
        if (i.stop > i.start && i.repeat > 0 && i.start + i.repeat > i.stop) || i.start == i.stop {
            i.repeat = 0;
            i.stop = -1;
        }
    }
    v.sort_unstable();
    v.dedup();
}

/// `chain_valid`.
fn chain_valid(c: &Chain, from: i64, to: i64, end_of_month: bool) -> bool {
    let Some(v) = c else { return true };
    let to = if end_of_month { to - 3 } else { to };
    v.iter().all(|c| {
        if c.start < from || c.start > to || c.repeat > to - from {
            return false;
        }
        if c.stop >= 0 {
            c.stop >= from && c.stop <= to && c.start + c.repeat <= c.stop
        } else if end_of_month {
            c.start - c.repeat >= from
        } else {
            c.start + c.repeat <= to
        }
    })
}

/// systemd's `timezone_is_valid` (syntax), plus the zone file check described in the module
/// docs.
fn timezone_is_valid(name: &str) -> bool {
    if name == "UTC" {
        return true;
    }
    if name.is_empty() || name.starts_with('/') || name.len() >= 4096 {
        return false;
    }
    let mut slash = false;
    for c in name.chars() {
        if !(c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '+')) {
            return false;
        }
        if c == '/' {
            if slash {
                return false;
            }
            slash = true;
        } else {
            slash = false;
        }
    }
    if slash {
        return false;
    }
    let dir = std::path::Path::new("/usr/share/zoneinfo");
    if dir.is_dir() {
        dir.join(name).is_file()
    } else {
        name.contains('/') || name.starts_with(|c: char| c.is_ascii_uppercase())
    }
}

fn ends_with_ignore_case<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let cut = s.len().checked_sub(suffix.len())?;
    let (head, tail) = (s.get(..cut)?, s.get(cut..)?);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

fn parse_spec(input: &str) -> PResult<Spec> {
    let mut spec = Spec::default();
    let mut p = input;
    if let Some(head) = ends_with_ignore_case(p, " UTC") {
        spec.utc = true;
        p = head;
    } else if let Some((head, tz)) = p.rsplit_once(' ')
        && timezone_is_valid(tz)
    {
        spec.timezone = Some(tz.to_owned());
        p = head;
    }
    if p.is_empty() {
        return Err(());
    }
    let zero_time = |spec: &mut Spec| {
        spec.hour = constant(0);
        spec.minute = constant(0);
        spec.second = constant(0);
    };
    match p.to_ascii_lowercase().as_str() {
        "minutely" => spec.second = constant(0),
        "hourly" => {
            spec.minute = constant(0);
            spec.second = constant(0);
        }
        "daily" => zero_time(&mut spec),
        "monthly" => {
            spec.day = constant(1);
            zero_time(&mut spec);
        }
        "annually" | "yearly" | "anually" => {
            spec.month = constant(1);
            spec.day = constant(1);
            zero_time(&mut spec);
        }
        "weekly" => {
            spec.weekdays = 1;
            zero_time(&mut spec);
        }
        "quarterly" => {
            spec.month = constants(&[1, 4, 7, 10]);
            spec.day = constant(1);
            zero_time(&mut spec);
        }
        "biannually" | "bi-annually" | "semiannually" | "semi-annually" => {
            spec.month = constants(&[1, 7]);
            spec.day = constant(1);
            zero_time(&mut spec);
        }
        _ => {
            let mut s = p.as_bytes();
            weekdays(&mut s, &mut spec)?;
            if !date(&mut s, &mut spec)? {
                time(&mut s, &mut spec)?;
            }
            if !s.is_empty() {
                return Err(());
            }
        }
    }
    // calendar_spec_normalize
    if spec.timezone.as_deref() == Some("UTC") {
        spec.utc = true;
        spec.timezone = None;
    }
    if spec.weekdays <= 0 || spec.weekdays >= BITS_WEEKDAYS {
        spec.weekdays = -1;
    }
    if spec.end_of_month && spec.day.is_none() {
        spec.end_of_month = false;
    }
    if let Some(v) = &mut spec.year {
        for c in v.iter_mut() {
            for x in [&mut c.start, &mut c.stop] {
                if (0..70).contains(x) {
                    *x += 2000;
                } else if (70..100).contains(x) {
                    *x += 1900;
                }
            }
        }
    }
    for c in [
        &mut spec.year,
        &mut spec.month,
        &mut spec.day,
        &mut spec.hour,
        &mut spec.minute,
        &mut spec.second,
    ] {
        normalize_chain(c);
    }
    let valid = chain_valid(&spec.year, MIN_YEAR, MAX_YEAR, false)
        && chain_valid(&spec.month, 1, 12, false)
        && chain_valid(&spec.day, 1, 31, spec.end_of_month)
        && chain_valid(&spec.hour, 0, 23, false)
        && chain_valid(&spec.minute, 0, 59, false)
        && chain_valid(&spec.second, 0, 60 * US - 1, false);
    if valid { Ok(spec) } else { Err(()) }
}

fn format_weekdays(out: &mut String, bits: i32) {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let day = |x: i32| DAYS[usize::try_from(x).unwrap_or(0).min(6)];
    let close = |out: &mut String, l: i32, x: i32| {
        if x > l + 1 {
            out.push_str(if x > l + 2 { ".." } else { "," });
            out.push_str(day(x - 1));
        }
    };
    let mut l: i32 = -1;
    let mut need_comma = false;
    for x in 0..7i32 {
        if bits & (1 << x) != 0 {
            if l < 0 {
                if need_comma {
                    out.push(',');
                }
                need_comma = true;
                out.push_str(day(x));
                l = x;
            }
        } else if l >= 0 {
            close(out, l, x);
            l = -1;
        }
    }
    if l >= 0 {
        close(out, l, 7);
    }
}

fn format_chain(out: &mut String, width: usize, c: &Chain, usec: bool) {
    let d = if usec { US } else { 1 };
    let Some(v) = c else {
        out.push('*');
        return;
    };
    if usec && v.len() == 1 && v[0].start == 0 && v[0].repeat == US {
        out.push('*');
        return;
    }
    for (i, c) in v.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "{:0width$}", c.start / d);
        if c.start % d > 0 {
            let _ = write!(out, ".{:06}", c.start % d);
        }
        if c.stop > 0 {
            let _ = write!(out, "..{:0width$}", c.stop / d);
        }
        if c.stop % d > 0 {
            let _ = write!(out, ".{:06}", c.stop % d);
        }
        if c.repeat > 0 && !(c.stop > 0 && c.repeat == d) {
            let _ = write!(out, "/{}", c.repeat / d);
        }
        if c.repeat % d > 0 {
            let _ = write!(out, ".{:06}", c.repeat % d);
        }
    }
}

/// Parses a calendar specification as 248's `calendar_spec_from_string` and returns it in the
/// normalized form `calendar_spec_to_string` prints (`daily` → `*-*-* 00:00:00`,
/// `Mon,Tue,Wed 9:00` → `Mon..Wed *-*-* 09:00:00`).
///
/// # Errors
///
/// [`ParseCalendarError::Invalid`] when 248 would refuse it.
///
/// ```
/// use keel_unit::model::timer::normalize_calendar;
/// assert_eq!(normalize_calendar("weekly").unwrap(), "Mon *-*-* 00:00:00");
/// assert_eq!(normalize_calendar("*-*-1/2 4:0").unwrap(), "*-*-01/2 04:00:00");
/// assert!(normalize_calendar("Mon..").is_err());
/// ```
pub fn normalize_calendar(input: &str) -> Result<String, ParseCalendarError> {
    let spec = parse_spec(input).map_err(|()| ParseCalendarError::Invalid(input.to_owned()))?;
    let mut out = String::with_capacity(32);
    if spec.weekdays > 0 && spec.weekdays <= BITS_WEEKDAYS {
        format_weekdays(&mut out, spec.weekdays);
        out.push(' ');
    }
    format_chain(&mut out, 4, &spec.year, false);
    out.push('-');
    format_chain(&mut out, 2, &spec.month, false);
    out.push(if spec.end_of_month { '~' } else { '-' });
    format_chain(&mut out, 2, &spec.day, false);
    out.push(' ');
    format_chain(&mut out, 2, &spec.hour, false);
    out.push(':');
    format_chain(&mut out, 2, &spec.minute, false);
    out.push(':');
    format_chain(&mut out, 2, &spec.second, true);
    if spec.utc {
        out.push_str(" UTC");
    } else if let Some(tz) = &spec.timezone {
        out.push(' ');
        out.push_str(tz);
    }
    Ok(out)
}

/// Whether 248's `calendar_spec_from_string` accepts `spec` (see [`normalize_calendar`]).
pub fn calendar_spec_is_valid(spec: &str) -> bool {
    parse_spec(spec).is_ok()
}

/// `config_parse_trigger_unit` (`Unit=` of timers and paths): the unit to trigger, given
/// none was set yet (248 ignores a second `Unit=`, even from a drop-in).
pub(crate) fn trigger_unit(
    current: Option<&UnitName>,
    ctx: &ParseCtx<'_>,
    value: &str,
) -> Result<UnitName, SettingError> {
    if current.is_some() {
        return Err(SettingError::invalid(format!(
            "Multiple units to trigger specified, ignoring: {value}"
        )));
    }
    let p = expand_specifiers_limited(value, ctx.unit, ctx.specifiers, UNIT_NAME_SPECIFIERS)
        .map_err(|e| {
            SettingError::invalid(format!(
                "Failed to resolve unit specifiers in {value}, ignoring: {e}"
            ))
        })?;
    let typed = p
        .rsplit_once('.')
        .and_then(|(_, suffix)| UnitType::from_suffix(suffix));
    if typed.is_none() {
        return Err(SettingError::invalid(format!(
            "Unit type not valid, ignoring: {value}"
        )));
    }
    if p == ctx.unit.as_str() {
        return Err(SettingError::invalid(format!(
            "Units cannot trigger themselves, ignoring: {value}"
        )));
    }
    UnitName::new(&p).map_err(|_| {
        SettingError::invalid(format!(
            "Failed to add trigger on {p}, ignoring: Invalid argument"
        ))
    })
}

/// `config_parse_timer`: an empty value clears every value (calendar and monotonic).
fn apply_value(
    s: &mut TimerSettings,
    ctx: &mut ParseCtx<'_>,
    value: &str,
) -> Result<(), SettingError> {
    if value.is_empty() {
        s.clear_values();
        return Ok(());
    }
    let base: TimerBase = ctx.key.parse().map_err(|()| {
        SettingError::invalid(format!("Failed to parse timer base, ignoring: {}", ctx.key))
    })?;
    let k = expand(ctx, value)?;
    if base == TimerBase::Calendar {
        if !calendar_spec_is_valid(&k) {
            return Err(SettingError::invalid(format!(
                "Failed to parse calendar specification, ignoring: {k}"
            )));
        }
        s.on_calendar.push(k);
    } else {
        let v = parse_sec(&k).map_err(|_| {
            SettingError::invalid(format!("Failed to parse timer value, ignoring: {k}"))
        })?;
        s.monotonic.push((base, v));
    }
    s.order.push(base);
    Ok(())
}

const fn d(name: &'static str, apply: ApplyFn<TimerSettings>) -> Directive<TimerSettings> {
    Directive {
        name,
        apply,
        support: Support::Parsed,
    }
}

/// Every key of 248's `Timer.*` gperf lines.
pub(crate) static TIMER_DIRECTIVES: &[Directive<TimerSettings>] = &[
    d("OnCalendar", apply_value),
    d("OnActiveSec", apply_value),
    d("OnBootSec", apply_value),
    d("OnStartupSec", apply_value),
    d("OnUnitActiveSec", apply_value),
    d("OnUnitInactiveSec", apply_value),
    d("OnClockChange", |s, _, v| {
        set_bool(&mut s.on_clock_change, v)
    }),
    d("OnTimezoneChange", |s, _, v| {
        set_bool(&mut s.on_timezone_change, v)
    }),
    d("Persistent", |s, _, v| set_bool(&mut s.persistent, v)),
    d("WakeSystem", |s, _, v| set_bool(&mut s.wake_system, v)),
    d("RemainAfterElapse", |s, _, v| {
        set_bool(&mut s.remain_after_elapse, v)
    }),
    d("FixedRandomDelay", |s, _, v| {
        set_bool(&mut s.fixed_random_delay, v)
    }),
    d("AccuracySec", |s, _, v| {
        s.accuracy = sec(v)?;
        Ok(())
    }),
    d("RandomizedDelaySec", |s, _, v| {
        s.randomized_delay = sec(v)?;
        Ok(())
    }),
    d("Unit", |s, ctx, v| {
        s.unit = Some(trigger_unit(s.unit.as_ref(), ctx, v)?);
        Ok(())
    }),
];

#[cfg(test)]
mod tests;
