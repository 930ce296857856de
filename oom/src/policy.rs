//! systemd-oomd 248's kill policy as a pure function over a [`Snapshot`], with every
//! decision explained.
//!
//! One call of [`decide`] is one tick of systemd-oomd's main loop (spec §4.6):
//!
//! 1. reclaim detection: Σ`pgscan` of the pressure-monitored cgroups grew since the last
//!    tick;
//! 2. the pressure timers: a monitored cgroup whose `full avg10` is above its limit starts
//!    (or keeps) a timer, otherwise the timer is reset;
//! 3. cooldown: nothing is killed within 15 s of the last kill;
//! 4. memory pressure: for the first monitored cgroup above its limit for at least the
//!    duration, with reclaim seen in the last 30 s (and, when configured, the
//!    [`FalseKillGuard`] satisfied), its candidates are ordered by preference, `pgscan`
//!    rate and `memory.current`;
//! 5. swap: when used swap exceeds `SwapUsedLimit=`, the swap candidates are ordered by
//!    preference and `memory.swap.current`.
//!
//! The result is a [`Decision`]: a [`Verdict`] and an [`Explanation`] of it. The caller
//! kills the ordered candidates until one kill succeeds and then calls
//! [`PolicyState::record_kill`].
//!
//! Deliberate differences from 248: timers keep running during the cooldown (248 freezes
//! them) and are all reset by a kill, so one long pressure episode is not charged twice;
//! ties are broken by path so the order is deterministic; dry-run starts the cooldown too
//! (248 logs every candidate every second).

use std::collections::BTreeMap;

use keel_core::size::Permyriad;
use keel_core::time::{USEC_PER_SEC, Usec};
use serde::Serialize;

use crate::cgroup::{CgroupContext, Preference, SystemMemory};
use crate::psi::Pressure;

/// After a kill, nothing else is killed for this long (`POST_ACTION_DELAY_USEC`).
pub const POST_ACTION_DELAY: Usec = Usec(15 * USEC_PER_SEC);
/// A pressure kill needs reclaim activity within this (`RECLAIM_DURATION_USEC`).
pub const RECLAIM_DURATION: Usec = Usec(30 * USEC_PER_SEC);
/// `SwapUsedLimit=` default.
pub const DEFAULT_SWAP_USED_LIMIT: Permyriad = match Permyriad::new(9000) {
    Some(p) => p,
    None => Permyriad::MAX,
};
/// `DefaultMemoryPressureLimit=` default.
pub const DEFAULT_MEMORY_PRESSURE_LIMIT: Permyriad = match Permyriad::new(6000) {
    Some(p) => p,
    None => Permyriad::MAX,
};
/// `DefaultMemoryPressureDurationSec=` default.
pub const DEFAULT_MEMORY_PRESSURE_DURATION: Usec = Usec(30 * USEC_PER_SEC);

/// `ManagedOOMMemoryPressureLimit=` as PID 1 sends it over varlink (`limit`, a `u32`
/// scaled so that `u32::MAX` is 100%) back to a permyriad, rounding to nearest; 0 means
/// "use the default" and gives `None`.
pub fn limit_from_scaled(raw: u32) -> Option<Permyriad> {
    if raw == 0 {
        return None;
    }
    let max = u64::from(u32::MAX);
    let v = (u64::from(raw) * 10_000 + max / 2) / max;
    Permyriad::new(u32::try_from(v).unwrap_or(10_000))
}

/// The inverse of [`limit_from_scaled`]: `(permyriad * u32::MAX + 5000) / 10000`, as PID 1
/// stores the unit setting.
pub fn limit_to_scaled(p: Permyriad) -> u32 {
    let v = (u64::from(p.get()) * u64::from(u32::MAX) + 5000) / 10_000;
    u32::try_from(v).unwrap_or(u32::MAX)
}

/// An opt-in guard against kills from pressure alone: a pressure kill additionally needs
/// one of the configured conditions. With neither set the guard is off (248's behaviour).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct FalseKillGuard {
    /// System-wide `full avg10` of `/proc/pressure/memory` must be at least this.
    pub min_system_full_avg10: Option<Permyriad>,
    /// `MemAvailable` must be below this share of `MemTotal`.
    pub max_available: Option<Permyriad>,
}

impl FalseKillGuard {
    /// Whether the guard is configured.
    pub fn is_enabled(&self) -> bool {
        self.min_system_full_avg10.is_some() || self.max_available.is_some()
    }
}

/// The policy's settings (`oomd.conf` plus the extras).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Policy {
    /// `SwapUsedLimit=`.
    pub swap_used_limit: Permyriad,
    /// `DefaultMemoryPressureLimit=`.
    pub default_pressure_limit: Permyriad,
    /// `DefaultMemoryPressureDurationSec=`; zero means the 30 s default.
    pub pressure_duration: Usec,
    /// Decide but never kill (`--dry-run`).
    pub dry_run: bool,
    /// The false-kill guard.
    pub guard: FalseKillGuard,
    /// Kill the whole cgroup (248) or only its worst process ([`crate::process`]); the
    /// decision is the same, the caller acts on it.
    pub granularity: Granularity,
}

/// What a kill takes down.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    /// The whole cgroup and its descendants (systemd 248).
    #[default]
    Cgroup,
    /// Only the worst process of the chosen cgroup.
    Process,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            swap_used_limit: DEFAULT_SWAP_USED_LIMIT,
            default_pressure_limit: DEFAULT_MEMORY_PRESSURE_LIMIT,
            pressure_duration: DEFAULT_MEMORY_PRESSURE_DURATION,
            dry_run: false,
            guard: FalseKillGuard::default(),
            granularity: Granularity::Cgroup,
        }
    }
}

impl Policy {
    /// `DefaultMemoryPressureDurationSec=` in force: [`Policy::pressure_duration`], or
    /// the 30 s default when it is zero.
    pub fn duration(&self) -> Usec {
        if self.pressure_duration == Usec::ZERO {
            DEFAULT_MEMORY_PRESSURE_DURATION
        } else {
            self.pressure_duration
        }
    }
}

/// A cgroup with `ManagedOOMMemoryPressure=kill`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PressureMonitored {
    /// Its current context.
    pub context: CgroupContext,
    /// `ManagedOOMMemoryPressureLimit=`; `None` uses the default.
    pub limit: Option<Permyriad>,
    /// How long pressure must stay above the limit for this cgroup (keel extension, set
    /// by keel-oomd's `--watch …:duration=`); `None` uses
    /// `DefaultMemoryPressureDurationSec=`.
    pub duration: Option<Usec>,
    /// Its kill candidates (see [`crate::cgroup::candidates`]).
    pub candidates: Vec<CgroupContext>,
}

/// Everything one tick looks at. Plain data: tests build it by hand or from fixture trees.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Snapshot {
    /// `CLOCK_MONOTONIC` now.
    pub now: Usec,
    /// `/proc/meminfo`.
    pub memory: SystemMemory,
    /// `/proc/pressure/memory`, for the guard.
    pub system_pressure: Option<Pressure>,
    /// Cgroups with `ManagedOOMMemoryPressure=kill`.
    pub pressure_monitored: Vec<PressureMonitored>,
    /// Candidates below the cgroups with `ManagedOOMSwap=kill`.
    pub swap_candidates: Vec<CgroupContext>,
}

/// What the policy remembers between ticks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct PolicyState {
    /// `pgscan` seen last tick, per cgroup path.
    pub last_pgscan: BTreeMap<String, u64>,
    /// When each monitored cgroup went above its limit.
    pub above_since: BTreeMap<String, Usec>,
    /// Last reclaim activity.
    pub last_reclaim_at: Option<Usec>,
    /// Last kill (or dry-run decision).
    pub last_kill_at: Option<Usec>,
}

impl PolicyState {
    /// Records a successful kill at `now`: starts the cooldown and resets the timers.
    pub fn record_kill(&mut self, now: Usec) {
        self.last_kill_at = Some(now);
        self.above_since.clear();
    }
}

/// Why a candidate was passed over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Skipped {
    /// `ManagedOOMPreference=omit`.
    Omitted,
    /// Not below the monitored cgroup.
    OutsideTarget,
    /// `pgscan` and `memory.current` are both 0.
    NoUsage,
    /// No swap in use.
    NoSwap,
}

/// One candidate as the policy scored it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Candidate {
    /// The cgroup path.
    pub path: String,
    /// Its preference.
    pub preference: Preference,
    /// `pgscan` growth since the last tick (pressure kills).
    pub pgscan_rate: u64,
    /// `memory.current`.
    pub memory_current: u64,
    /// `memory.swap.current`.
    pub swap_current: u64,
    /// 1-based rank in kill order; `None` when skipped.
    pub rank: Option<u32>,
    /// Why it was skipped.
    pub skipped: Option<Skipped>,
}

/// What made the policy look for a victim.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Cause {
    /// Memory pressure (`ManagedOOMMemoryPressure=kill`).
    MemoryPressure {
        /// The monitored cgroup.
        cgroup: String,
        /// Its `memory.pressure`.
        pressure: Option<Pressure>,
        /// `full avg10` compared with the limit.
        full_avg10: Permyriad,
        /// The limit in force.
        limit: Permyriad,
        /// How long it has been above the limit.
        above_for: Usec,
        /// The duration required.
        duration: Usec,
        /// When reclaim was last seen.
        last_reclaim_at: Option<Usec>,
    },
    /// Swap use (`ManagedOOMSwap=kill`).
    Swap {
        /// Swap in use, bytes.
        used: u64,
        /// Swap total, bytes.
        total: u64,
        /// `SwapUsedLimit=`.
        limit: Permyriad,
    },
}

/// Why nothing is killed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum NoAction {
    /// Nothing is over any limit.
    BelowLimits,
    /// Over a pressure limit, but not yet for the duration.
    NotLongEnough,
    /// Within the cooldown after a kill.
    Cooldown,
    /// Pressure long enough, but no reclaim activity within 30 s.
    NoReclaim,
    /// The false-kill guard's conditions do not hold.
    GuardNotMet,
    /// Every candidate was skipped.
    NoCandidate,
}

/// The outcome of a tick.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Verdict {
    /// Kill these cgroups in order until one kill succeeds.
    Kill {
        /// Cgroup paths, best victim first.
        order: Vec<String>,
    },
    /// Dry run: these would have been killed.
    WouldKill {
        /// Cgroup paths, best victim first.
        order: Vec<String>,
    },
    /// Nothing to do.
    None {
        /// Why.
        reason: NoAction,
    },
}

/// The structured explanation of a [`Verdict`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Explanation {
    /// When.
    pub now: Usec,
    /// What triggered the search (absent when nothing did).
    pub cause: Option<Cause>,
    /// Every candidate considered, in kill order, skipped ones last.
    pub candidates: Vec<Candidate>,
    /// Human-readable: why the first victim is first (or why nothing happens).
    pub why: String,
}

/// A verdict with its explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Decision {
    /// What to do.
    pub verdict: Verdict,
    /// Why.
    pub explanation: Explanation,
}

fn no_action(now: Usec, reason: NoAction, cause: Option<Cause>, why: String) -> Decision {
    Decision {
        verdict: Verdict::None { reason },
        explanation: Explanation {
            now,
            cause,
            candidates: Vec::new(),
            why,
        },
    }
}

fn used_fraction_above(used: u64, total: u64, limit: Permyriad) -> bool {
    // used / total > limit / 10000, never with no swap.
    total > 0 && u128::from(used) * 10_000 > u128::from(total) * u128::from(limit.get())
}

fn guard_holds(guard: &FalseKillGuard, snap: &Snapshot) -> (bool, String) {
    let mut notes = Vec::new();
    let mut ok = false;
    if let Some(min) = guard.min_system_full_avg10 {
        let full = snap
            .system_pressure
            .and_then(|p| p.full)
            .map(|l| l.avg10)
            .unwrap_or_default();
        ok |= full >= min;
        notes.push(format!("system full avg10 {full} (need >= {min})"));
    }
    if let Some(max) = guard.max_available {
        let m = &snap.memory;
        let low = m.mem_total > 0
            && u128::from(m.mem_available) * 10_000
                < u128::from(m.mem_total) * u128::from(max.get());
        ok |= low;
        notes.push(format!(
            "available {} of {} bytes (need < {max})",
            m.mem_available, m.mem_total
        ));
    }
    (ok, notes.join(", "))
}

/// Orders `ctxs` for a pressure kill below `prefix` (248's
/// `compare_pgscan_rate_and_memory_usage`): omitted and out-of-prefix candidates and those
/// with neither pgscan nor memory are skipped; the rest sort by preference (`none` before
/// `avoid`), then `pgscan` rate, then `memory.current` (both descending), then path.
pub fn rank_by_pgscan_rate(
    ctxs: &[CgroupContext],
    prefix: &str,
    last_pgscan: &BTreeMap<String, u64>,
) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = ctxs
        .iter()
        .map(|c| {
            let pgscan = c.pgscan();
            // A lower pgscan than last time means the cgroup was recreated: count from 0.
            let last = last_pgscan
                .get(&c.path)
                .copied()
                .filter(|&l| l <= pgscan)
                .unwrap_or(0);
            let memory_current = c.memory_current.unwrap_or(0);
            let skipped = if c.preference == Preference::Omit {
                Some(Skipped::Omitted)
            } else if !is_below(&c.path, prefix) {
                Some(Skipped::OutsideTarget)
            } else if pgscan == 0 && memory_current == 0 {
                Some(Skipped::NoUsage)
            } else {
                None
            };
            Candidate {
                path: c.path.clone(),
                preference: c.preference,
                pgscan_rate: pgscan - last,
                memory_current,
                swap_current: c.swap_current.unwrap_or(0),
                rank: None,
                skipped,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.skipped
            .is_some()
            .cmp(&b.skipped.is_some())
            .then(a.preference.cmp(&b.preference))
            .then(b.pgscan_rate.cmp(&a.pgscan_rate))
            .then(b.memory_current.cmp(&a.memory_current))
            .then(a.path.cmp(&b.path))
    });
    number(&mut out);
    out
}

/// Orders `ctxs` for a swap kill (248's `compare_swap_usage`): omitted candidates and those
/// using no swap are skipped; the rest sort by preference, then `memory.swap.current`
/// descending, then path.
pub fn rank_by_swap_usage(ctxs: &[CgroupContext]) -> Vec<Candidate> {
    let mut out: Vec<Candidate> = ctxs
        .iter()
        .map(|c| {
            let swap_current = c.swap_current.unwrap_or(0);
            Candidate {
                path: c.path.clone(),
                preference: c.preference,
                pgscan_rate: 0,
                memory_current: c.memory_current.unwrap_or(0),
                swap_current,
                rank: None,
                skipped: if c.preference == Preference::Omit {
                    Some(Skipped::Omitted)
                } else if swap_current == 0 {
                    Some(Skipped::NoSwap)
                } else {
                    None
                },
            }
        })
        .collect();
    out.sort_by(|a, b| {
        a.skipped
            .is_some()
            .cmp(&b.skipped.is_some())
            .then(a.preference.cmp(&b.preference))
            .then(b.swap_current.cmp(&a.swap_current))
            .then(a.path.cmp(&b.path))
    });
    number(&mut out);
    out
}

fn number(cands: &mut [Candidate]) {
    let mut rank = 0u32;
    for c in cands.iter_mut().filter(|c| c.skipped.is_none()) {
        rank += 1;
        c.rank = Some(rank);
    }
}

/// `path` equals `prefix` or lies below it (`path_startswith`).
fn is_below(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    prefix.is_empty()
        || path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

fn why_first(order: &[Candidate], swap: bool) -> String {
    let Some(first) = order.first() else {
        return String::new();
    };
    let second = order.get(1).filter(|c| c.skipped.is_none());
    let detail = match second {
        None => "the only eligible candidate".to_owned(),
        Some(s) if s.preference != first.preference => {
            format!(
                "preference {:?} ranks before {:?} of {}",
                first.preference, s.preference, s.path
            )
        }
        Some(s) if swap && s.swap_current != first.swap_current => format!(
            "uses the most swap ({} bytes; next {} with {})",
            first.swap_current, s.path, s.swap_current
        ),
        Some(s) if swap => format!(
            "tied with {} on swap use ({} bytes); first by path",
            s.path, first.swap_current
        ),
        Some(s) if s.pgscan_rate != first.pgscan_rate => format!(
            "highest pgscan rate ({}; next {} with {})",
            first.pgscan_rate, s.path, s.pgscan_rate
        ),
        Some(s) if s.memory_current != first.memory_current => format!(
            "equal pgscan rate ({}), highest memory.current ({} bytes; next {} with {})",
            first.pgscan_rate, first.memory_current, s.path, s.memory_current
        ),
        Some(s) => format!("tied with {} on every measure; first by path", s.path),
    };
    format!("{}: {detail}", first.path)
}

fn verdict(policy: &Policy, state: &mut PolicyState, now: Usec, ranked: &[Candidate]) -> Verdict {
    let order: Vec<String> = ranked
        .iter()
        .filter(|c| c.skipped.is_none())
        .map(|c| c.path.clone())
        .collect();
    if policy.dry_run {
        state.record_kill(now);
        Verdict::WouldKill { order }
    } else {
        Verdict::Kill { order }
    }
}

/// One tick of the policy. Updates `state` (pgscan history, timers, reclaim time; the
/// cooldown only in dry-run, otherwise the caller calls [`PolicyState::record_kill`]
/// after a successful kill).
pub fn decide(policy: &Policy, state: &mut PolicyState, snap: &Snapshot) -> Decision {
    let now = snap.now;

    // 1. Reclaim detection over the monitored cgroups.
    let (sum_now, sum_last) = snap
        .pressure_monitored
        .iter()
        .fold((0u64, 0u64), |(n, l), m| {
            let p = m.context.pgscan();
            let last = state.last_pgscan.get(&m.context.path).copied().unwrap_or(p);
            (n.wrapping_add(p), l.wrapping_add(last))
        });
    if sum_now > sum_last {
        state.last_reclaim_at = Some(now);
    }

    // 2. Pressure timers.
    let mut over: Vec<(&PressureMonitored, Permyriad, Usec)> = Vec::new();
    for m in &snap.pressure_monitored {
        let limit = m.limit.unwrap_or(policy.default_pressure_limit);
        if m.context.full_avg10() > limit {
            let since = *state
                .above_since
                .entry(m.context.path.clone())
                .or_insert(now);
            over.push((m, limit, Usec(now.as_raw().saturating_sub(since.as_raw()))));
        } else {
            state.above_since.remove(&m.context.path);
        }
    }

    let decision = decide_action(policy, state, snap, &over);

    // Remember pgscan for the next tick: monitored cgroups and every candidate.
    let seen = snap
        .pressure_monitored
        .iter()
        .flat_map(|m| std::iter::once(&m.context).chain(m.candidates.iter()))
        .chain(snap.swap_candidates.iter());
    state.last_pgscan = seen.map(|c| (c.path.clone(), c.pgscan())).collect();
    decision
}

fn decide_action(
    policy: &Policy,
    state: &mut PolicyState,
    snap: &Snapshot,
    over: &[(&PressureMonitored, Permyriad, Usec)],
) -> Decision {
    let now = snap.now;
    // 3. Cooldown.
    if let Some(at) = state.last_kill_at {
        let since = now.as_raw().saturating_sub(at.as_raw());
        if since < POST_ACTION_DELAY.as_raw() {
            return no_action(
                now,
                NoAction::Cooldown,
                None,
                format!(
                    "last kill {} ago, waiting {}",
                    Usec(since),
                    POST_ACTION_DELAY
                ),
            );
        }
    }

    // 4. Memory pressure.
    let mut pressure_blocked = None;
    for &(m, limit, above_for) in over {
        let duration = m
            .duration
            .filter(|d| *d != Usec::ZERO)
            .unwrap_or_else(|| policy.duration());
        let cause = Cause::MemoryPressure {
            cgroup: m.context.path.clone(),
            pressure: m.context.pressure,
            full_avg10: m.context.full_avg10(),
            limit,
            above_for,
            duration,
            last_reclaim_at: state.last_reclaim_at,
        };
        if above_for < duration {
            pressure_blocked.get_or_insert((
                NoAction::NotLongEnough,
                cause,
                format!(
                    "{} above {limit} for {above_for}, needs {duration}",
                    m.context.path
                ),
            ));
            continue;
        }
        let reclaimed = state.last_reclaim_at.is_some_and(|at| {
            now.as_raw().saturating_sub(at.as_raw()) <= RECLAIM_DURATION.as_raw()
        });
        if !reclaimed {
            pressure_blocked = Some((
                NoAction::NoReclaim,
                cause,
                format!(
                    "{} over the limit but no reclaim in the last {RECLAIM_DURATION}",
                    m.context.path
                ),
            ));
            continue;
        }
        if policy.guard.is_enabled() {
            let (ok, notes) = guard_holds(&policy.guard, snap);
            if !ok {
                pressure_blocked = Some((
                    NoAction::GuardNotMet,
                    cause,
                    format!(
                        "{} over the limit but the false-kill guard holds: {notes}",
                        m.context.path
                    ),
                ));
                continue;
            }
        }
        let ranked = rank_by_pgscan_rate(&m.candidates, &m.context.path, &state.last_pgscan);
        if ranked.iter().all(|c| c.skipped.is_some()) {
            pressure_blocked = Some((
                NoAction::NoCandidate,
                cause,
                format!("no eligible candidate below {}", m.context.path),
            ));
            continue;
        }
        let why = format!(
            "memory pressure of {} at {} > {limit} for {above_for} (>= {duration}) with reclaim; {}",
            m.context.path,
            m.context.full_avg10(),
            why_first(&ranked, false)
        );
        return Decision {
            verdict: verdict(policy, state, now, &ranked),
            explanation: Explanation {
                now,
                cause: Some(cause),
                candidates: ranked,
                why,
            },
        };
    }

    // 5. Swap.
    let m = &snap.memory;
    let swap_used = m.swap_used();
    if used_fraction_above(swap_used, m.swap_total, policy.swap_used_limit) {
        let cause = Cause::Swap {
            used: swap_used,
            total: m.swap_total,
            limit: policy.swap_used_limit,
        };
        let ranked = rank_by_swap_usage(&snap.swap_candidates);
        if ranked.iter().any(|c| c.skipped.is_none()) {
            let why = format!(
                "swap used {swap_used} of {} bytes > {}; {}",
                m.swap_total,
                policy.swap_used_limit,
                why_first(&ranked, true)
            );
            return Decision {
                verdict: verdict(policy, state, now, &ranked),
                explanation: Explanation {
                    now,
                    cause: Some(cause),
                    candidates: ranked,
                    why,
                },
            };
        }
        if pressure_blocked.is_none() {
            let mut d = no_action(
                now,
                NoAction::NoCandidate,
                Some(cause),
                "swap over the limit but no candidate uses swap".to_owned(),
            );
            d.explanation.candidates = ranked;
            return d;
        }
    }

    match pressure_blocked {
        Some((reason, cause, why)) => no_action(now, reason, Some(cause), why),
        None => no_action(
            now,
            NoAction::BelowLimits,
            None,
            "nothing over its limit".to_owned(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroup::{ReadOptions, candidates, read_context};
    use std::fs;
    use std::path::Path;

    fn pm(v: u32) -> Permyriad {
        Permyriad::new(v).unwrap()
    }

    fn secs(s: u64) -> Usec {
        Usec::from_secs(s)
    }

    /// One cgroup of a fixture tree: (path, full avg10 in hundredths, pgscan,
    /// memory.current, swap, xattr).
    struct Cg<'a>(&'a str, u32, u64, u64, u64, Option<&'a str>);

    fn write_tree(root: &Path, cgs: &[Cg<'_>]) {
        for Cg(path, full, pgscan, current, swap, xattr) in cgs {
            let dir = root.join(path.trim_start_matches('/'));
            fs::create_dir_all(&dir).unwrap();
            let avg = format!("{}.{:02}", full / 100, full % 100);
            fs::write(
                dir.join("memory.pressure"),
                format!(
                    "some avg10={avg} avg60=0.00 avg300=0.00 total=10\n\
                     full avg10={avg} avg60=0.00 avg300=0.00 total=5\n"
                ),
            )
            .unwrap();
            fs::write(
                dir.join("memory.stat"),
                format!("anon {current}\nfile 0\npgscan {pgscan}\n"),
            )
            .unwrap();
            fs::write(dir.join("memory.current"), format!("{current}\n")).unwrap();
            fs::write(dir.join("memory.swap.current"), format!("{swap}\n")).unwrap();
            if let Some(name) = xattr {
                rustix::fs::setxattr(&dir, *name, b"1", rustix::fs::XattrFlags::empty()).unwrap();
            }
        }
    }

    fn opts() -> ReadOptions {
        ReadOptions {
            trusted_owner: nix::unistd::geteuid().as_raw(),
        }
    }

    /// A snapshot of the fixture tree at `root`, monitoring `monitored` for pressure and
    /// for swap.
    fn snapshot(root: &Path, now: Usec, monitored: &[(&str, Option<Permyriad>)]) -> Snapshot {
        let mut s = Snapshot {
            now,
            ..Snapshot::default()
        };
        for (path, limit) in monitored {
            let cands = candidates(root, path, &opts()).unwrap();
            s.swap_candidates.extend(cands.iter().cloned());
            s.pressure_monitored.push(PressureMonitored {
                context: read_context(root, path, &opts()).unwrap(),
                limit: *limit,
                duration: None,
                candidates: cands,
            });
        }
        s
    }

    fn policy() -> Policy {
        Policy {
            default_pressure_limit: pm(5000),
            pressure_duration: secs(5),
            ..Policy::default()
        }
    }

    fn order(d: &Decision) -> Vec<&str> {
        match &d.verdict {
            Verdict::Kill { order } | Verdict::WouldKill { order } => {
                order.iter().map(String::as_str).collect()
            }
            Verdict::None { .. } => Vec::new(),
        }
    }

    fn reason(d: &Decision) -> Option<NoAction> {
        match d.verdict {
            Verdict::None { reason } => Some(reason),
            _ => None,
        }
    }

    /// Runs ticks at t=0 and t=`at` on the tree, pgscan growing by `grow` between them on
    /// every cgroup listed in `grow`.
    fn two_ticks(
        root: &Path,
        p: &Policy,
        state: &mut PolicyState,
        first: &[Cg<'_>],
        second: &[Cg<'_>],
        at: u64,
    ) -> Decision {
        write_tree(root, first);
        let d0 = decide(p, state, &snapshot(root, secs(0), &[("/w", None)]));
        assert!(reason(&d0).is_some(), "{d0:?}");
        write_tree(root, second);
        decide(p, state, &snapshot(root, secs(at), &[("/w", None)]))
    }

    #[test]
    fn kills_after_duration_with_reclaim_ordering_by_pgscan_rate() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let mut state = PolicyState::default();
        let first = [
            Cg("/w", 8000, 100, 900, 0, None),
            Cg("/w/a", 0, 50, 100, 0, None),
            Cg("/w/b", 0, 10, 500, 0, None),
            Cg("/w/c", 0, 40, 50, 0, None),
        ];
        // a: +10, b: +200, c: +10 (c uses less memory than a).
        let second = [
            Cg("/w", 8000, 320, 900, 0, None),
            Cg("/w/a", 0, 60, 100, 0, None),
            Cg("/w/b", 0, 210, 500, 0, None),
            Cg("/w/c", 0, 50, 50, 0, None),
        ];
        let d = two_ticks(root, &policy(), &mut state, &first, &second, 5);
        assert_eq!(order(&d), ["/w/b", "/w/a", "/w/c"], "{d:?}");
        let Some(Cause::MemoryPressure {
            cgroup,
            full_avg10,
            limit,
            above_for,
            ..
        }) = &d.explanation.cause
        else {
            panic!("{d:?}")
        };
        assert_eq!(cgroup, "/w");
        assert_eq!(
            (full_avg10.get(), limit.get(), *above_for),
            (8000, 5000, secs(5))
        );
        let b = &d.explanation.candidates[0];
        assert_eq!(
            (b.rank, b.pgscan_rate, b.memory_current),
            (Some(1), 200, 500)
        );
        assert!(
            d.explanation.why.contains("/w/b: highest pgscan rate (200"),
            "{}",
            d.explanation.why
        );
        assert!(matches!(d.verdict, Verdict::Kill { .. }));

        // The caller killed /w/b: cooldown for 15 s, then the timers start over.
        state.record_kill(secs(5));
        let again = decide(
            &policy(),
            &mut state,
            &snapshot(root, secs(10), &[("/w", None)]),
        );
        assert_eq!(reason(&again), Some(NoAction::Cooldown));
        // The timer restarted at the first tick after the kill (t=10, within the
        // cooldown); at t=21 the pressure has lasted 11 s again.
        let later = decide(
            &policy(),
            &mut state,
            &snapshot(root, secs(21), &[("/w", None)]),
        );
        assert!(matches!(
            later.explanation.cause,
            Some(Cause::MemoryPressure { above_for, .. }) if above_for == secs(11)
        ));
        assert_eq!(order(&later).len(), 3);
    }

    #[test]
    fn ties_fall_to_memory_then_path() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let mut state = PolicyState::default();
        let first = [
            Cg("/w", 9000, 0, 0, 0, None),
            Cg("/w/x", 0, 0, 100, 0, None),
            Cg("/w/y", 0, 0, 300, 0, None),
            Cg("/w/z", 0, 0, 300, 0, None),
        ];
        let second = [
            Cg("/w", 9000, 30, 0, 0, None),
            Cg("/w/x", 0, 10, 100, 0, None),
            Cg("/w/y", 0, 10, 300, 0, None),
            Cg("/w/z", 0, 10, 300, 0, None),
        ];
        let d = two_ticks(root, &policy(), &mut state, &first, &second, 6);
        assert_eq!(order(&d), ["/w/y", "/w/z", "/w/x"]);
        assert!(
            d.explanation.why.contains("tied with /w/z"),
            "{}",
            d.explanation.why
        );
        // Equal rate, different memory: the explanation says so.
        let ctx = |path: &str, m: u64| CgroupContext {
            path: path.into(),
            memory_current: Some(m),
            ..CgroupContext::default()
        };
        let ranked = rank_by_pgscan_rate(
            &[ctx("/w/x", 100), ctx("/w/y", 300)],
            "/w",
            &BTreeMap::new(),
        );
        assert!(why_first(&ranked, false).contains("highest memory.current"));
    }

    #[test]
    fn avoid_goes_last_and_omit_never() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let mut state = PolicyState::default();
        let first = [
            Cg("/w", 9000, 0, 0, 0, None),
            Cg("/w/hog", 0, 0, 1000, 0, Some("user.oomd_avoid")),
            Cg("/w/keep", 0, 0, 5000, 0, Some("user.oomd_omit")),
            Cg("/w/small", 0, 0, 10, 0, None),
        ];
        let second = [
            Cg("/w", 9000, 2000, 0, 0, None),
            Cg("/w/hog", 0, 1000, 1000, 0, Some("user.oomd_avoid")),
            Cg("/w/keep", 0, 1000, 5000, 0, Some("user.oomd_omit")),
            Cg("/w/small", 0, 1, 10, 0, None),
        ];
        let d = two_ticks(root, &policy(), &mut state, &first, &second, 5);
        assert_eq!(order(&d), ["/w/small", "/w/hog"]);
        let keep = d
            .explanation
            .candidates
            .iter()
            .find(|c| c.path == "/w/keep")
            .unwrap();
        assert_eq!((keep.skipped, keep.rank), (Some(Skipped::Omitted), None));
        assert!(
            d.explanation
                .why
                .contains("preference None ranks before Avoid"),
            "{}",
            d.explanation.why
        );
    }

    #[test]
    fn no_kill_without_reclaim_or_duration_or_above_limit() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let cgs = [
            Cg("/w", 9000, 5, 10, 0, None),
            Cg("/w/a", 0, 5, 10, 0, None),
        ];
        write_tree(root, &cgs);
        let mut state = PolicyState::default();
        let p = policy();
        let d = decide(&p, &mut state, &snapshot(root, secs(0), &[("/w", None)]));
        assert_eq!(reason(&d), Some(NoAction::NotLongEnough));
        assert!(
            d.explanation.why.contains("needs 5s"),
            "{}",
            d.explanation.why
        );
        // pgscan never moved: pressure alone is not enough.
        let d = decide(&p, &mut state, &snapshot(root, secs(40), &[("/w", None)]));
        assert_eq!(reason(&d), Some(NoAction::NoReclaim));
        // A per-cgroup limit above the pressure: nothing over any limit, timer reset.
        let d = decide(
            &p,
            &mut state,
            &snapshot(root, secs(41), &[("/w", Some(pm(9500)))]),
        );
        assert_eq!(reason(&d), Some(NoAction::BelowLimits));
        assert!(state.above_since.is_empty());
        // Exactly at the limit is not above it.
        let d = decide(
            &p,
            &mut state,
            &snapshot(root, secs(42), &[("/w", Some(pm(9000)))]),
        );
        assert_eq!(reason(&d), Some(NoAction::BelowLimits));
    }

    #[test]
    fn recreated_cgroup_counts_pgscan_from_zero_and_idle_ones_are_skipped() {
        let mut last = BTreeMap::new();
        last.insert("/w/a".to_owned(), 1000);
        last.insert("/w/b".to_owned(), 10);
        let mk = |path: &str, pgscan: u64, current: u64| {
            let mut c = CgroupContext {
                path: path.into(),
                memory_current: Some(current),
                ..CgroupContext::default()
            };
            c.memory_stat.insert("pgscan".into(), pgscan);
            c
        };
        let ranked = rank_by_pgscan_rate(
            &[
                mk("/w/a", 50, 1),
                mk("/w/b", 30, 1),
                mk("/w/idle", 0, 0),
                mk("/v/out", 99, 9),
            ],
            "/w",
            &last,
        );
        let rates: Vec<(&str, u64, Option<Skipped>)> = ranked
            .iter()
            .map(|c| (c.path.as_str(), c.pgscan_rate, c.skipped))
            .collect();
        assert_eq!(
            rates,
            [
                ("/w/a", 50, None),
                ("/w/b", 20, None),
                ("/v/out", 99, Some(Skipped::OutsideTarget)),
                ("/w/idle", 0, Some(Skipped::NoUsage)),
            ]
        );
        assert!(is_below("/w", "/w") && is_below("/w/a", "/w/") && !is_below("/wx", "/w"));
        assert!(is_below("/anything", "/"));
    }

    #[test]
    fn guard_and_dry_run() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let first = [Cg("/w", 9000, 0, 0, 0, None), Cg("/w/a", 0, 0, 10, 0, None)];
        let second = [
            Cg("/w", 9000, 10, 0, 0, None),
            Cg("/w/a", 0, 10, 10, 0, None),
        ];
        let mut p = policy();
        p.guard.min_system_full_avg10 = Some(pm(1000));
        p.guard.max_available = Some(pm(500));
        let mut state = PolicyState::default();
        write_tree(root, &first);
        decide(&p, &mut state, &snapshot(root, secs(0), &[("/w", None)]));
        write_tree(root, &second);
        let mut snap = snapshot(root, secs(5), &[("/w", None)]);
        snap.memory.mem_total = 1000;
        snap.memory.mem_available = 500;
        snap.system_pressure = Some(
            crate::psi::parse(
                "some avg10=5 avg60=0 avg300=0 total=0\nfull avg10=2.00 avg60=0 avg300=0 total=0\n",
                Path::new("m"),
            )
            .unwrap(),
        );
        let mut s2 = state.clone();
        let d = decide(&p, &mut s2, &snap);
        assert_eq!(reason(&d), Some(NoAction::GuardNotMet), "{d:?}");
        assert!(
            d.explanation.why.contains("system full avg10 2.00%"),
            "{}",
            d.explanation.why
        );

        // Low available memory satisfies the guard.
        snap.memory.mem_available = 40;
        let mut s3 = state.clone();
        assert_eq!(order(&decide(&p, &mut s3, &snap)), ["/w/a"]);
        // So does system-wide full pressure.
        snap.memory.mem_available = 500;
        if let Some(sp) = snap.system_pressure.as_mut() {
            if let Some(f) = sp.full.as_mut() {
                f.avg10 = pm(1000);
            }
        }
        p.dry_run = true;
        let d = decide(&p, &mut state, &snap);
        assert!(
            matches!(&d.verdict, Verdict::WouldKill { order } if order == &["/w/a"]),
            "{d:?}"
        );
        // Dry run starts the cooldown itself.
        assert_eq!(state.last_kill_at, Some(secs(5)));
    }

    #[test]
    fn swap_rule() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        write_tree(
            root,
            &[
                Cg("/s", 0, 0, 0, 0, None),
                Cg("/s/a", 0, 0, 10, 300, None),
                Cg("/s/b", 0, 0, 10, 900, Some("user.oomd_avoid")),
                Cg("/s/c", 0, 0, 10, 500, None),
                Cg("/s/d", 0, 0, 10, 0, None),
                Cg("/s/e", 0, 0, 10, 800, Some("user.oomd_omit")),
                // Ties /s/c on swap use: ranked after it by path.
                Cg("/s/f", 0, 0, 10, 500, None),
            ],
        );
        let p = Policy::default(); // SwapUsedLimit=90%
        let mut snap = snapshot(root, secs(1), &[]);
        snap.swap_candidates = candidates(root, "/s", &opts()).unwrap();
        snap.memory.swap_total = 1000;
        snap.memory.swap_free = 100; // exactly 90%: not above
        let mut state = PolicyState::default();
        assert_eq!(
            reason(&decide(&p, &mut state, &snap)),
            Some(NoAction::BelowLimits)
        );
        snap.memory.swap_free = 99;
        let d = decide(&p, &mut state, &snap);
        assert_eq!(order(&d), ["/s/c", "/s/f", "/s/a", "/s/b"], "{d:?}");
        assert!(matches!(
            d.explanation.cause,
            Some(Cause::Swap {
                used: 901,
                total: 1000,
                ..
            })
        ));
        assert!(
            d.explanation
                .why
                .contains("/s/c: tied with /s/f on swap use (500 bytes); first by path"),
            "{}",
            d.explanation.why
        );
        // Without the tie: the most swap, and the runner-up named.
        let mut untied = snap.clone();
        untied.swap_candidates.retain(|c| c.path != "/s/f");
        let d = decide(&p, &mut state, &untied);
        assert!(
            d.explanation
                .why
                .contains("/s/c: uses the most swap (500 bytes; next /s/a with 300)"),
            "{}",
            d.explanation.why
        );
        // No swap device: never a swap kill.
        snap.memory = SystemMemory::default();
        assert_eq!(
            reason(&decide(&p, &mut state, &snap)),
            Some(NoAction::BelowLimits)
        );
        // Over the limit but nobody uses swap.
        snap.memory.swap_total = 10;
        snap.swap_candidates.retain(|c| c.path == "/s/d");
        let d = decide(&p, &mut state, &snap);
        assert_eq!(reason(&d), Some(NoAction::NoCandidate));
        assert_eq!(d.explanation.candidates[0].skipped, Some(Skipped::NoSwap));
    }

    #[test]
    fn scaled_limits_round_trip() {
        assert_eq!(limit_from_scaled(0), None);
        assert_eq!(limit_from_scaled(u32::MAX), Some(Permyriad::MAX));
        for v in [1, 100, 1234, 5000, 6000, 9999, 10_000] {
            assert_eq!(
                limit_from_scaled(limit_to_scaled(pm(v))),
                Some(pm(v)),
                "{v}"
            );
        }
        assert_eq!(limit_to_scaled(pm(5000)), 2_147_483_648);
    }

    #[test]
    fn next_target_when_the_first_has_no_candidate() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path();
        let first = [
            Cg("/a", 9000, 0, 0, 0, None),
            Cg("/a/only", 0, 0, 10, 0, Some("user.oomd_omit")),
            Cg("/b", 9000, 0, 0, 0, None),
            Cg("/b/x", 0, 0, 10, 0, None),
        ];
        write_tree(root, &first);
        let mut state = PolicyState::default();
        let p = policy();
        let mon = [("/a", None), ("/b", None)];
        decide(&p, &mut state, &snapshot(root, secs(0), &mon));
        write_tree(root, &[Cg("/b", 9000, 7, 0, 0, None)]);
        let d = decide(&p, &mut state, &snapshot(root, secs(5), &mon));
        assert_eq!(order(&d), ["/b/x"], "{d:?}");
        assert!(
            matches!(&d.explanation.cause, Some(Cause::MemoryPressure { cgroup, .. }) if cgroup == "/b")
        );
        // Only /a over the limit: nothing eligible there.
        write_tree(root, &[Cg("/b", 0, 7, 0, 0, None)]);
        let d = decide(&p, &mut state, &snapshot(root, secs(6), &mon));
        assert_eq!(reason(&d), Some(NoAction::NoCandidate), "{d:?}");
    }

    #[test]
    fn explanation_serializes() {
        let mut state = PolicyState::default();
        let d = decide(&Policy::default(), &mut state, &Snapshot::default());
        assert_eq!(reason(&d), Some(NoAction::BelowLimits));
        // The record is plain data the daemon can log as JSON.
        let dbg = format!("{:?}", d.explanation);
        assert!(dbg.contains("nothing over its limit"));
    }
}
