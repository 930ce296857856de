//! keel-oom against fixture trees and the real kernel.
//!
//! The first tests need no privileges: they run the whole library path (oomd.conf with
//! drop-ins → policy → snapshot read from a fixture cgroup tree → decision) in a tempdir.
//! The others create a real cgroup on this host's cgroup2 mount (found from
//! `/proc/self/mountinfo`, so both the hybrid `/sys/fs/cgroup/unified` layout and a pure v2
//! host work) and need root: each is `#[ignore = "privileged: …"]` and calls
//! `testkit::require_root()` first, so it fails rather than skips when run without root.
//! They use only what every v2 hierarchy has (PSI files, `cgroup.kill`, `cgroup.procs`,
//! `cgroup.events`, user xattrs), not the memory controller, which hybrid hosts keep on v1.

#![allow(clippy::tests_outside_test_module)] // integration tests: the whole binary is tests
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::Duration;

use keel_core::time::Usec;
use keel_oom::cgroup::{self, Preference, ReadOptions};
use keel_oom::kill::{KillMethod, KillOptions, kill_cgroup};
use keel_oom::policy::{self, Policy, PolicyState, PressureMonitored, Snapshot, Verdict};
use keel_oom::psi::PressureKind;
use keel_oom::trigger::{self, TriggerSetup, TriggerSpec};

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn pressure(full_avg10: &str) -> String {
    format!(
        "some avg10={full_avg10} avg60=0.00 avg300=0.00 total=1\n\
         full avg10={full_avg10} avg60=0.00 avg300=0.00 total=1\n"
    )
}

#[test]
fn conf_to_decision_on_a_fixture_tree() {
    let t = tempfile::tempdir().unwrap();
    let etc = t.path().join("etc");
    let (main, dropins) = keel_oom::conf::standard_paths(&etc);
    write(&main, "[OOM]\nDefaultMemoryPressureLimit=20%\n");
    write(
        &dropins[1].join("50-fast.conf"),
        "[OOM]\nDefaultMemoryPressureDurationSec=2s\n",
    );
    let (conf, diags) = keel_oom::conf::load(&main, &dropins).unwrap();
    assert!(diags.is_empty(), "{diags:?}");
    let mut p = Policy::default();
    p.default_pressure_limit = conf.default_memory_pressure_limit;
    p.pressure_duration = conf.default_memory_pressure_duration;

    let root = t.path().join("cg");
    for (cg, pgscan, current) in [("bloat", 0, 9000), ("chill", 0, 10)] {
        let dir = root.join("workload.slice").join(cg);
        write(&dir.join("memory.stat"), &format!("pgscan {pgscan}\n"));
        write(&dir.join("memory.current"), &format!("{current}\n"));
    }
    let slice = root.join("workload.slice");
    write(&slice.join("memory.pressure"), &pressure("45.00"));
    write(&slice.join("memory.stat"), "pgscan 0\n");
    let opts = ReadOptions::default();
    let snap = |now: u64| {
        let mut s = Snapshot::default();
        s.now = Usec::from_secs(now);
        let mut m = PressureMonitored::default();
        m.context = cgroup::read_context(&root, "/workload.slice", &opts).unwrap();
        m.candidates = cgroup::candidates(&root, "/workload.slice", &opts).unwrap();
        s.pressure_monitored.push(m);
        s
    };
    let mut state = PolicyState::default();
    let d = policy::decide(&p, &mut state, &snap(0));
    assert!(matches!(d.verdict, Verdict::None { .. }));
    // Reclaim starts in the bloated service.
    write(&slice.join("memory.stat"), "pgscan 500\n");
    write(&slice.join("bloat/memory.stat"), "pgscan 500\n");
    let d = policy::decide(&p, &mut state, &snap(2));
    match &d.verdict {
        Verdict::Kill { order } => assert_eq!(order[0], "/workload.slice/bloat"),
        other => panic!("{other:?}: {}", d.explanation.why),
    }
    assert!(
        d.explanation.why.contains("45.00% > 20.00% for 2s"),
        "{}",
        d.explanation.why
    );
}

/// A cgroup created for one test below the host's v2 mount, removed on drop.
struct TestCgroup {
    dir: PathBuf,
    v2_root: PathBuf,
    name: String,
}

impl TestCgroup {
    fn new(tag: &str) -> Self {
        let mount = cgroup::read_v2_mount(Path::new("/proc"))
            .unwrap()
            .expect("a cgroup2 mount");
        let name = format!("keel-oom-test-{tag}-{}", std::process::id());
        let dir = mount.path.join(&name);
        std::fs::create_dir(&dir).unwrap();
        TestCgroup {
            dir,
            v2_root: mount.path,
            name,
        }
    }

    fn cg_path(&self) -> String {
        format!("/{}", self.name)
    }

    fn spawn_sleeper(&self, sub: Option<&str>) -> Child {
        let child = Command::new("sleep").arg("60").spawn().unwrap();
        let dir = match sub {
            Some(s) => {
                let d = self.dir.join(s);
                std::fs::create_dir_all(&d).unwrap();
                d
            }
            None => self.dir.clone(),
        };
        std::fs::write(dir.join("cgroup.procs"), child.id().to_string()).unwrap();
        child
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Children first; best effort (a failing test may leave processes behind).
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    let _ = std::fs::remove_dir(e.path());
                }
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

#[test]
#[ignore = "privileged: root, creates a cgroup on the host's cgroup2 mount"]
fn real_cgroup_pressure_read_and_trigger() {
    testkit::require_root();
    let cg = TestCgroup::new("psi");
    let ctx = cgroup::read_context(&cg.v2_root, &cg.cg_path(), &ReadOptions::default()).unwrap();
    let p = ctx.pressure.expect("every v2 cgroup has memory.pressure");
    assert!(p.full.is_some());
    // A 1 s window: accepted with CAP_SYS_RESOURCE, else the 2 s fallback is used.
    let spec = TriggerSpec::new(
        PressureKind::Some,
        Usec::from_millis(150),
        Usec::from_secs(1),
    );
    let setup = trigger::register(&cg.dir.join("memory.pressure"), spec).unwrap();
    eprintln!("{setup}");
    let TriggerSetup::Armed { trigger, .. } = setup else {
        panic!("no window accepted: {setup}")
    };
    assert!(trigger.spec().window <= Usec::from_secs(2));
    // An idle cgroup: the trigger does not fire.
    assert!(!trigger.wait(Some(Duration::from_millis(50))).unwrap());
}

#[test]
#[ignore = "privileged: root, creates a cgroup on the host's cgroup2 mount"]
fn real_cgroup_kill_of_sleeping_children() {
    testkit::require_root();
    let cg = TestCgroup::new("kill");
    let mut a = cg.spawn_sleeper(None);
    let mut b = cg.spawn_sleeper(Some("sub"));
    assert!(!keel_oom::kill::is_empty(&cg.dir).unwrap());
    let r = kill_cgroup(&cg.dir, &KillOptions::default()).unwrap();
    assert_eq!(r.method, KillMethod::CgroupKill);
    assert_eq!(r.found, 2);
    assert!(r.emptied, "{r:?}");
    assert_eq!(r.kill_counter, Some(2));
    assert_eq!(a.wait().unwrap().signal(), Some(9));
    assert_eq!(b.wait().unwrap().signal(), Some(9));
}

#[test]
#[ignore = "privileged: root, creates a cgroup on the host's cgroup2 mount"]
fn real_cgroup_sigkill_fallback() {
    testkit::require_root();
    let cg = TestCgroup::new("sigkill");
    let mut a = cg.spawn_sleeper(Some("x/y"));
    let mut opts = KillOptions::default();
    opts.force_sigkill_each = true;
    let r = kill_cgroup(&cg.dir, &opts).unwrap();
    assert_eq!(r.method, KillMethod::SigkillEach);
    assert_eq!(r.signalled, [i32::try_from(a.id()).unwrap()]);
    // The zombie leaves the cgroup only once reaped.
    assert_eq!(a.wait().unwrap().signal(), Some(9));
    let start = std::time::Instant::now();
    while !keel_oom::kill::is_empty(&cg.dir).unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(1),
            "cgroup never emptied"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::fs::remove_dir(cg.dir.join("x/y")).unwrap();
}

#[test]
#[ignore = "privileged: root, creates a cgroup on the host's cgroup2 mount"]
fn real_cgroup_preference_xattrs() {
    testkit::require_root();
    let cg = TestCgroup::new("xattr");
    let opts = ReadOptions::default();
    for pref in [Preference::Avoid, Preference::Omit, Preference::None] {
        cgroup::write_preference(&cg.dir, pref).unwrap();
        let ctx = cgroup::read_context(&cg.v2_root, &cg.cg_path(), &opts).unwrap();
        assert_eq!(ctx.preference, pref);
    }
}

/// `total_pgpgout` of a v1 memory cgroup: on hybrid hosts the v2 cgroup has no
/// `memory.stat`, so this count of pages leaving the cgroup stands in for `pgscan`.
fn v1_pgpgout(v1: &Path) -> u64 {
    let text = std::fs::read_to_string(v1.join("memory.stat")).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("total_pgpgout "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

#[test]
#[ignore = "privileged: root, v2 cgroups plus a v1 memory limit (hybrid host), ~10 s of memory pressure"]
fn real_pressure_kills_the_bloated_cgroup_and_spares_the_other() {
    testkit::require_root();
    let v1_root = Path::new("/sys/fs/cgroup/memory");
    assert!(
        v1_root.join("memory.limit_in_bytes").exists(),
        "needs the hybrid layout with the memory controller on v1 (pure v2: the VM harness)"
    );
    let tmp = tempfile::tempdir_in("/var/tmp").unwrap();
    let big = tmp.path().join("big.bin");
    std::fs::write(&big, vec![0x5au8; 256 << 20]).unwrap();
    let drop_cache = format!("dd if={} iflag=nocache count=0 status=none", big.display());
    assert!(
        Command::new("sh")
            .arg("-c")
            .arg(&drop_cache)
            .status()
            .unwrap()
            .success()
    );

    let w = TestCgroup::new("e2e");
    let v1 = v1_root.join(&w.name);
    std::fs::create_dir(&v1).unwrap();
    std::fs::write(v1.join("memory.limit_in_bytes"), "32M").unwrap();
    let mut chill = w.spawn_sleeper(Some("chill"));
    std::fs::create_dir(w.dir.join("bloat")).unwrap();

    // 20 ms of stall per 2 s: 1%, the same as the policy's limit below. Armed before the
    // workload starts.
    let spec = TriggerSpec::new(
        PressureKind::Some,
        Usec::from_millis(20),
        Usec::from_secs(2),
    );
    let setup = trigger::register(&w.dir.join("memory.pressure"), spec).unwrap();
    eprintln!("{setup}");
    let TriggerSetup::Armed { trigger, .. } = setup else {
        panic!("{setup}")
    };

    let script = format!(
        "echo $$ > {}/cgroup.procs; echo $$ > {}/cgroup.procs; \
         end=$(( $(date +%s) + 30 )); \
         while [ $(date +%s) -lt $end ]; do cat {} > /dev/null; {drop_cache}; done",
        w.dir.join("bloat").display(),
        v1.display(),
        big.display()
    );
    let mut bloat = Command::new("sh").arg("-c").arg(script).spawn().unwrap();

    let mut p = Policy::default();
    p.default_pressure_limit = keel_core::size::Permyriad::new(100).unwrap(); // 1%
    p.pressure_duration = Usec::from_secs(2);
    let opts = ReadOptions::default();
    let start = std::time::Instant::now();
    let mut state = PolicyState::default();
    let mut fired = 0;
    let mut killed = None;
    while start.elapsed() < Duration::from_secs(25) && killed.is_none() {
        // Read the cgroup only when the trigger fired: a read of the pressure file after
        // the kernel's 2 s averaging period has elapsed updates the averages itself, and
        // the unprivileged trigger then misses that period (seen on 6.18).
        if !trigger.wait(Some(Duration::from_secs(3))).unwrap() {
            continue;
        }
        fired += 1;
        let pgscan = v1_pgpgout(&v1);
        let mut m = PressureMonitored::default();
        m.context = cgroup::read_context(&w.v2_root, &w.cg_path(), &opts).unwrap();
        m.context.memory_stat.insert("pgscan".into(), pgscan);
        m.candidates = cgroup::candidates(&w.v2_root, &w.cg_path(), &opts).unwrap();
        for c in &mut m.candidates {
            if c.path.ends_with("/bloat") {
                c.memory_stat.insert("pgscan".into(), pgscan);
                c.memory_current = Some(1 << 20);
            }
        }
        let mut snap = Snapshot::default();
        snap.now = Usec(u64::try_from(start.elapsed().as_micros()).unwrap());
        snap.pressure_monitored.push(m);
        let d = policy::decide(&p, &mut state, &snap);
        eprintln!(
            "t={:?} fired={fired}: {}",
            start.elapsed(),
            d.explanation.why
        );
        if let Verdict::Kill { order } = &d.verdict {
            assert_eq!(order, &[format!("{}/bloat", w.cg_path())]);
            let r = kill_cgroup(&w.dir.join("bloat"), &KillOptions::default()).unwrap();
            assert!(r.emptied, "{r:?}");
            state.record_kill(snap.now);
            killed = Some(d);
        }
    }
    // Stop the workload whatever happened, before any assertion can fail.
    let _ = std::fs::write(w.dir.join("bloat/cgroup.kill"), "1");
    let bloat_status = bloat.wait().unwrap();
    let chill_alive = chill.try_wait().unwrap().is_none();
    chill.kill().unwrap();
    chill.wait().unwrap();
    let t = std::time::Instant::now();
    while std::fs::remove_dir(&v1).is_err() && t.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(20));
    }

    let d = killed.expect("no kill within 25 s");
    // Two fires 2 s apart: the first starts the timer, the second finds it at 2 s.
    assert!(fired >= 2, "the PSI trigger fired {fired} times");
    match &d.explanation.cause {
        Some(policy::Cause::MemoryPressure {
            cgroup, above_for, ..
        }) => {
            assert_eq!(cgroup, &w.cg_path());
            assert!(*above_for >= Usec::from_secs(2));
        }
        other => panic!("{other:?}"),
    }
    let chill_c = d
        .explanation
        .candidates
        .iter()
        .find(|c| c.path.ends_with("/chill"))
        .unwrap();
    assert_eq!(chill_c.skipped, Some(policy::Skipped::NoUsage));
    assert_eq!(bloat_status.signal(), Some(9));
    assert!(chill_alive, "the idle cgroup must survive");
}

/// keel-oomd's loop on a real cgroup: the trigger is armed and the first sample taken
/// (a "below limits" record), an idle cgroup then never wakes the loop, and removing the
/// cgroup is noticed through the trigger (`POLLERR`) and retried later.
#[test]
#[ignore = "privileged: root, creates a cgroup on the host's cgroup2 mount"]
fn monitor_arms_samples_and_notices_removal() {
    use keel_oom::monitor::{Event, Monitor, MonitorConfig, Wake};
    use keel_oom::watch::parse_watch_arg;
    testkit::require_root();
    let cg = TestCgroup::new("monitor");
    let mut cfg = MonitorConfig::default();
    cfg.cgroup_root = cg.v2_root.clone();
    cfg.trigger_window = Usec::from_secs(2);
    cfg.watches
        .push(parse_watch_arg(&format!("{}:limit=50%", cg.cg_path())).unwrap());
    let mut m = Monitor::new(cfg);
    let mut notices = Vec::new();
    let mut records = Vec::new();
    let mut sink = |e: Event| match e {
        Event::Notice(n) => notices.push(n),
        Event::Decision(r) => records.push(r),
        _ => {}
    };
    m.step(Some(Duration::from_millis(10)), &mut sink).unwrap();
    let start = std::time::Instant::now();
    m.step(Some(Duration::from_millis(300)), &mut sink).unwrap();
    assert!(
        start.elapsed() >= Duration::from_millis(290),
        "an idle cgroup woke the loop"
    );
    std::fs::remove_dir(&cg.dir).unwrap();
    m.step(Some(Duration::from_secs(3)), &mut sink).unwrap();
    assert!(
        notices
            .iter()
            .any(|n| n.contains("PSI trigger \"full 1000000 2000000\" armed")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("PSI trigger gone")),
        "{notices:?}"
    );
    assert_eq!(records.len(), 1, "{records:?}");
    assert_eq!(
        records[0].woken_by,
        [Wake::Start {
            cgroup: cg.cg_path()
        }]
    );
    assert!(keel_oom::monitor::is_quiet(&records[0].decision));
}
