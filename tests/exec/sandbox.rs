//! One test per setting: start `/bin/sh -c PROBE` under it and check from inside.

use std::io::Read;
use std::os::fd::OwnedFd;
use std::path::Path;

use keel_exec::keel_unit::load::parse_unit_text;
use keel_exec::keel_unit::model::exec_command::ExecFlags;
use keel_exec::nix::errno::Errno;
use keel_exec::{
    Command, ExecContext, ExitStatus, OutputTarget, SpawnError, SpawnOptions, StepKind, spawn,
};

/// The exec context of a service with these `[Service]` lines.
fn ctx(settings: &str) -> ExecContext {
    let name = "probe.service".parse().unwrap();
    let text = format!("[Service]\n{settings}\nExecStart=/bin/true\n");
    let l = parse_unit_text(&name, text.as_bytes(), None, &Default::default());
    // Only the expected "Special user nobody configured" warning may appear.
    assert!(
        l.diagnostics.iter().all(|d| d.message.contains("nobody")),
        "settings {settings:?}: {:?}",
        l.diagnostics
    );
    ExecContext::from_unit(&l.unit)
}

fn pipe() -> (std::fs::File, OwnedFd) {
    let (r, w) = keel_exec::nix::unistd::pipe().unwrap();
    (std::fs::File::from(r), w)
}

/// Runs `cmd` under `c` with stdout+stderr captured.
fn run_cmd(mut c: ExecContext, cmd: &Command, opts: SpawnOptions) -> (ExitStatus, String) {
    let (mut r, w) = pipe();
    c.stdout = OutputTarget::Fd;
    c.stderr = OutputTarget::Inherit;
    let mut opts = opts;
    opts.stdout = Some(w);
    let child = spawn(&c, cmd, opts).unwrap();
    let mut out = String::new();
    r.read_to_string(&mut out).unwrap();
    (child.wait().unwrap(), out)
}

fn opts_with(f: impl FnOnce(&mut SpawnOptions)) -> SpawnOptions {
    let mut o = SpawnOptions::default();
    f(&mut o);
    o
}

fn sh(script: &str) -> Command {
    Command::new("/bin/sh", ["-c", script]).with_flags(ExecFlags::NO_ENV_EXPAND)
}

/// Runs a shell probe; returns its output, asserting it exited 0.
fn probe(c: ExecContext, script: &str) -> String {
    let (st, out) = run_cmd(c, &sh(script), SpawnOptions::default());
    assert_eq!(st, ExitStatus::Exited(0), "probe {script:?} said: {out}");
    out
}

fn spawn_err(c: &ExecContext, cmd: &Command) -> SpawnError {
    match spawn(c, cmd, SpawnOptions::default()) {
        Ok(child) => panic!("spawn succeeded: {:?}", child.wait()),
        Err(e) => e,
    }
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("keel-exec-test")
        .tempdir_in("/var/tmp")
        .unwrap()
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (fork + exec under default settings)"]
fn plain_command_runs_and_reports_exit_codes() {
    testkit::require_root();
    assert_eq!(probe(ExecContext::default(), "echo hi"), "hi\n");
    let (st, _) = run_cmd(
        ExecContext::default(),
        &sh("exit 7"),
        SpawnOptions::default(),
    );
    assert_eq!(st, ExitStatus::Exited(7));
    let (st, _) = run_cmd(
        ExecContext::default(),
        &sh("kill -9 $$"),
        SpawnOptions::default(),
    );
    assert_eq!(st.shell_code(), 128 + 9);
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (IPC namespaces)"]
fn private_ipc_hides_host_shm_and_ipc_namespace_path_joins() {
    testkit::require_root();
    // A segment made outside, in the host's IPC namespace, with an unusual size.
    let out = std::process::Command::new("ipcmk")
        .args(["-M", "54321"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let id = text.trim().rsplit(' ').next().unwrap().to_owned();
    let host = probe(ExecContext::default(), "ipcs -m");
    assert!(host.contains("54321"), "visible on the host: {host}");
    let private = probe(ctx("PrivateIPC=yes"), "ipcs -m");
    assert!(
        !private.contains("54321"),
        "hidden under PrivateIPC=: {private}"
    );

    // A long-running holder of a fresh IPC namespace, with its own segment.
    let (mut r, w) = pipe();
    let mut c = ctx("PrivateIPC=yes");
    c.stdout = OutputTarget::Fd;
    let holder = spawn(
        &c,
        &sh("ipcmk -M 12321 >/dev/null && echo ready && exec sleep 30"),
        opts_with(|o| o.stdout = Some(w)),
    )
    .unwrap();
    let mut ready = [0u8; 6];
    r.read_exact(&mut ready).unwrap();
    let ns = format!("/proc/{}/ns/ipc", holder.pid());
    let joined = probe(ctx(&format!("IPCNamespacePath={ns}")), "ipcs -m");
    // PrivateIPC= has no additional effect when IPCNamespacePath= is set.
    let joined2 = probe(
        ctx(&format!("PrivateIPC=yes\nIPCNamespacePath={ns}")),
        "ipcs -m",
    );
    keel_exec::nix::sys::signal::kill(holder.pid(), keel_exec::nix::sys::signal::SIGKILL).unwrap();
    let _ = holder.wait();
    let _ = std::process::Command::new("ipcrm")
        .args(["-m", &id])
        .status();
    assert!(
        joined.contains("12321"),
        "joined namespace's segment: {joined}"
    );
    assert!(!joined.contains("54321"), "host segment hidden: {joined}");
    assert!(joined2.contains("12321"), "{joined2}");
    // The holder's segment never appeared on the host.
    assert!(!probe(ExecContext::default(), "ipcs -m").contains("12321"));
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (IPC namespaces, mqueue)"]
fn private_ipc_mounts_a_fresh_mqueue() {
    testkit::require_root();
    let out = probe(
        ctx("PrivateIPC=yes"),
        "grep ' /dev/mqueue ' /proc/self/mountinfo",
    );
    assert!(out.contains("mqueue"), "{out}");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (namespaces)"]
fn a_failing_step_is_named_with_its_exit_status() {
    testkit::require_root();
    let e = spawn_err(
        &ctx("IPCNamespacePath=/nonexistent/ns"),
        &Command::new("/bin/true", Vec::<String>::new()),
    );
    assert_eq!(e.step(), Some(StepKind::OpenIpcNamespace));
    assert_eq!(e.exit_status(), 226);
    assert!(
        matches!(
            e,
            SpawnError::Step {
                source: Errno::ENOENT,
                ..
            }
        ),
        "{e:?}"
    );
    // A network namespace file is not an IPC namespace: EINVAL, as fd_is_ns() says.
    let e = spawn_err(
        &ctx("IPCNamespacePath=/proc/self/ns/net"),
        &Command::new("/bin/true", Vec::<String>::new()),
    );
    assert!(
        matches!(
            e,
            SpawnError::Step {
                step: StepKind::OpenIpcNamespace,
                source: Errno::EINVAL,
                ..
            }
        ),
        "{e:?}"
    );
    // WorkingDirectory= that does not exist: EXIT_CHDIR (200).
    let e = spawn_err(
        &ctx("WorkingDirectory=/nonexistent/dir"),
        &Command::new("/bin/true", Vec::<String>::new()),
    );
    assert_eq!(
        (e.step(), e.exit_status()),
        (Some(StepKind::WorkingDirectory), 200)
    );
    // ... unless prefixed with `-`.
    probe(ctx("WorkingDirectory=-/nonexistent/dir"), "true");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (fork + exec)"]
fn a_missing_binary_is_a_typed_error_or_skipped_with_dash() {
    testkit::require_root();
    let e = spawn_err(
        &ExecContext::default(),
        &Command::new("/nonexistent/binary", Vec::<String>::new()),
    );
    assert!(
        matches!(
            e,
            SpawnError::Step {
                step: StepKind::OpenExecutable,
                source: Errno::ENOENT,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.exit_status(), 203);
    let e = spawn_err(
        &ExecContext::default(),
        &Command::new("no-such-program-keel", Vec::<String>::new()),
    );
    assert_eq!(e.step(), Some(StepKind::OpenExecutable));
    let child = spawn(
        &ExecContext::default(),
        &Command::new("/nonexistent/binary", Vec::<String>::new())
            .with_flags(ExecFlags::IGNORE_FAILURE),
        SpawnOptions::default(),
    )
    .unwrap();
    assert!(child.skipped());
    assert_eq!(child.wait().unwrap(), ExitStatus::Exited(0));
    // Plain names are found in DEFAULT_PATH.
    let (st, out) = run_cmd(
        ExecContext::default(),
        &Command::new("echo", ["found"]),
        SpawnOptions::default(),
    );
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "found\n"));
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace)"]
fn no_exec_paths_refuse_and_exec_paths_re_allow() {
    testkit::require_root();
    let d = tempdir();
    let base = d.path();
    std::fs::create_dir(base.join("ok")).unwrap();
    write_script(&base.join("denied.sh"), "echo ran-denied");
    write_script(&base.join("ok/allowed.sh"), "echo ran-allowed");
    let c = ctx(&format!(
        "NoExecPaths={b}\nExecPaths={b}/ok",
        b = base.display()
    ));
    // The service binary itself under NoExecPaths=: EACCES at open-executable (203).
    let e = spawn_err(
        &c,
        &Command::new(
            base.join("denied.sh").display().to_string(),
            Vec::<String>::new(),
        ),
    );
    assert!(
        matches!(
            e,
            SpawnError::Step {
                step: StepKind::OpenExecutable,
                source: Errno::EACCES,
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(e.exit_status(), 203);
    // Under the ExecPaths= exception it runs.
    let (st, out) = run_cmd(
        c.clone(),
        &Command::new(
            base.join("ok/allowed.sh").display().to_string(),
            Vec::<String>::new(),
        ),
        SpawnOptions::default(),
    );
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "ran-allowed\n"));
    // From inside: execve() of the denied one fails with EACCES (the shell says 126).
    let out = probe(
        c.clone(),
        &format!("{b}/denied.sh; echo rc=$?", b = base.display()),
    );
    assert!(
        out.contains("Permission denied") && out.ends_with("rc=126\n"),
        "{out}"
    );
    // The `+` prefix turns the sandbox off: the same script runs.
    let (st, out) = run_cmd(
        c,
        &Command::new(
            base.join("denied.sh").display().to_string(),
            Vec::<String>::new(),
        )
        .with_flags(ExecFlags::FULLY_PRIVILEGED),
        SpawnOptions::default(),
    );
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "ran-denied\n"));
    // NoExecPaths=/ with ExecPaths=/usr /bin /lib…: the system still runs, /var/tmp not.
    let out = probe(
        ctx("NoExecPaths=/\nExecPaths=/usr /bin /sbin /lib -/lib64"),
        &format!("{b}/ok/allowed.sh; echo rc=$?", b = base.display()),
    );
    assert!(out.ends_with("rc=126\n"), "{out}");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (fork + execveat)"]
fn the_binary_is_executed_by_fd() {
    testkit::require_root();
    // Executed through execveat(fd, "", AT_EMPTY_PATH), the kernel passes "/dev/fd/N" as
    // the program's AT_EXECFN (glibc prints its auxiliary vector with LD_SHOW_AUXV=1);
    // executed by path, AT_EXECFN is the path.
    let c = ctx("Environment=LD_SHOW_AUXV=1");
    let t = Command::new("/bin/true", Vec::<String>::new());
    let (st, by_fd) = run_cmd(c.clone(), &t, SpawnOptions::default());
    assert!(st.success());
    let execfn = |out: &str| {
        out.lines()
            .find_map(|l| l.strip_prefix("AT_EXECFN:"))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default()
    };
    let by_fd = execfn(&by_fd);
    let n = by_fd
        .strip_prefix("/dev/fd/")
        .unwrap_or_else(|| panic!("AT_EXECFN {by_fd:?}"));
    assert!(n.parse::<u32>().is_ok(), "{by_fd}");
    let (_, by_path) = run_cmd(c, &t, opts_with(|o| o.use_fexecve = false));
    assert_eq!(execfn(&by_path), "/bin/true");
    // A script cannot be run from an O_CLOEXEC fd (its interpreter would open /dev/fd/N
    // after exec closed it): the fall-back to the path runs it.
    let d = tempdir();
    write_script(&d.path().join("s.sh"), "echo script-ran");
    let (st, out) = run_cmd(
        ExecContext::default(),
        &Command::new(
            d.path().join("s.sh").display().to_string(),
            Vec::<String>::new(),
        ),
        SpawnOptions::default(),
    );
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "script-ran\n"));
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (seccomp without no_new_privs check, mount namespace)"]
fn system_call_filter_returns_the_configured_errno() {
    testkit::require_root();
    let out = probe(
        ctx("SystemCallFilter=~uname:EILSEQ"),
        "uname; echo rc=$?; grep NoNewPrivs /proc/self/status",
    );
    assert!(out.contains("rc=1"), "{out}");
    assert!(
        out.contains("multibyte") || out.contains("EILSEQ") || out.contains("byte sequence"),
        "{out}"
    );
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    // Without the filter uname works.
    assert!(probe(ExecContext::default(), "uname").contains("Linux"));
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (network namespace)"]
fn private_network_has_only_loopback_up() {
    testkit::require_root();
    let out = probe(
        ctx("PrivateNetwork=yes"),
        "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '",
    );
    assert_eq!(out, "lo\n");
    let out = probe(
        ctx("PrivateNetwork=yes"),
        "cat /sys/class/net/lo/flags 2>/dev/null || ip link show lo",
    );
    assert!(!out.is_empty());
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace)"]
fn private_tmp_private_devices_and_protect_home() {
    testkit::require_root();
    let marker = format!("/tmp/keel-host-marker-{}", std::process::id());
    std::fs::write(&marker, b"x").unwrap();
    let out = probe(
        ctx("PrivateTmp=yes"),
        &format!("test -e {marker} && echo seen; touch /tmp/inside; ls -ld /tmp | cut -c1-10"),
    );
    let _ = std::fs::remove_file(&marker);
    assert_eq!(out, "drwxrwxrwt\n");
    assert!(!Path::new("/tmp/inside").exists());
    let out = probe(
        ctx("PrivateDevices=yes"),
        "test -e /dev/kmsg && echo kmsg; echo x > /dev/null && echo null-ok; ls /dev | tr '\\n' ' '",
    );
    assert!(out.starts_with("null-ok\n"), "{out}");
    assert!(out.contains("urandom") && out.contains("pts"), "{out}");
    // Inaccessible: an empty directory with mode 0000 covers it (root may still list it).
    let out = probe(
        ctx("ProtectHome=yes"),
        "ls -A /root | wc -l; stat -c %a /root",
    );
    assert_eq!(out, "0\n0\n");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace)"]
fn protect_system_strict_read_only_read_write_inaccessible() {
    testkit::require_root();
    let d = tempdir();
    let b = d.path().display().to_string();
    std::fs::create_dir(d.path().join("rw")).unwrap();
    std::fs::create_dir(d.path().join("secret")).unwrap();
    std::fs::write(d.path().join("secret/file"), b"s").unwrap();
    let c = ctx(&format!(
        "ProtectSystem=strict\nReadWritePaths={b}/rw\nInaccessiblePaths={b}/secret"
    ));
    let out = probe(
        c,
        &format!(
            "touch {b}/x 2>/dev/null || echo ro; touch {b}/rw/y && echo rw; test -e {b}/secret/file || echo hidden; touch /proc/self/comm && echo proc-rw"
        ),
    );
    assert_eq!(out, "ro\nrw\nhidden\nproc-rw\n");
    assert!(d.path().join("rw/y").exists());
    let out = probe(
        ctx("ProtectSystem=full"),
        "touch /etc/keel-x 2>/dev/null || echo etc-ro; touch /usr/keel-x 2>/dev/null || echo usr-ro",
    );
    assert_eq!(out, "etc-ro\nusr-ro\n");
    let out = probe(
        ctx(&format!("ReadOnlyPaths={b}")),
        &format!("touch {b}/z 2>/dev/null || echo ro"),
    );
    assert_eq!(out, "ro\n");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace)"]
fn bind_paths_and_temporary_file_system() {
    testkit::require_root();
    let d = tempdir();
    let b = d.path().display().to_string();
    std::fs::create_dir(d.path().join("src")).unwrap();
    std::fs::write(d.path().join("src/f"), b"bound").unwrap();
    let out = probe(
        ctx(&format!(
            "BindPaths={b}/src:/mnt/keel-bind\nBindReadOnlyPaths={b}/src:/mnt/keel-ro\nTemporaryFileSystem=/srv/keel-tmp:ro,mode=0700"
        )),
        "cat /mnt/keel-bind/f; echo; touch /mnt/keel-bind/w && echo rw; touch /mnt/keel-ro/w 2>/dev/null || echo ro; stat -c %a /srv/keel-tmp; touch /srv/keel-tmp/x 2>/dev/null || echo tmpfs-ro",
    );
    assert_eq!(out, "bound\nrw\nro\n700\ntmpfs-ro\n");
    assert!(d.path().join("src/w").exists());
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace)"]
fn protect_kernel_tunables_modules_and_control_groups() {
    testkit::require_root();
    let out = probe(
        ctx("ProtectKernelTunables=yes\nProtectKernelModules=yes\nProtectControlGroups=yes"),
        "(echo 1 > /proc/sys/kernel/ns_last_pid) 2>/dev/null || echo sys-ro; \
         (mkdir /sys/fs/cgroup/keel-x) 2>/dev/null || echo cg-ro; \
         grep CapBnd /proc/self/status",
    );
    assert!(out.starts_with("sys-ro\ncg-ro\n"), "{out}");
    // CAP_SYS_MODULE (16) left the bounding set.
    let bnd = out.rsplit('\t').next().unwrap().trim();
    let bnd = u64::from_str_radix(bnd, 16).unwrap();
    assert_eq!(bnd & (1 << 16), 0, "{out}");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (UTS namespace)"]
fn protect_hostname_keeps_the_host_name() {
    testkit::require_root();
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let out = probe(
        ctx("ProtectHostname=yes"),
        "echo keel-inside > /proc/sys/kernel/hostname; cat /proc/sys/kernel/hostname",
    );
    assert_eq!(out, "keel-inside\n");
    assert_eq!(
        std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap(),
        host
    );
}

#[test]
#[ignore = "privileged: CAP_SETUID (credentials)"]
fn user_group_capabilities_and_no_new_privileges() {
    testkit::require_root();
    let out = probe(
        ctx("User=nobody\nGroup=nogroup\nSupplementaryGroups=daemon\nNoNewPrivileges=yes"),
        "id -u; id -g; id -G; grep -E 'NoNewPrivs|CapEff' /proc/self/status; echo $HOME $USER",
    );
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "65534");
    assert_eq!(lines[1], "65534");
    assert!(lines[2].split(' ').any(|g| g == "1"), "daemon in {out}");
    assert!(out.contains("NoNewPrivs:\t1"), "{out}");
    assert!(out.contains("CapEff:\t0000000000000000"), "{out}");
    assert!(out.contains("nobody"), "{out}");
    let out = probe(
        ctx(
            "User=nobody\nAmbientCapabilities=CAP_NET_BIND_SERVICE\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE CAP_SETUID",
        ),
        "grep -E 'CapAmb|CapBnd' /proc/self/status",
    );
    assert!(out.contains("CapAmb:\t0000000000000400"), "{out}");
    assert!(out.contains("CapBnd:\t0000000000000480"), "{out}");
    // `!` keeps root while sandboxing still applies.
    let (st, out) = run_cmd(
        ctx("User=nobody"),
        &sh("id -u").with_flags(ExecFlags::NO_SETUID),
        SpawnOptions::default(),
    );
    assert_eq!((st, out.as_str()), (ExitStatus::Exited(0), "0\n"));
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (user namespace maps)"]
fn private_users_maps_root_and_the_user() {
    testkit::require_root();
    let out = probe(
        ctx("PrivateUsers=yes\nUser=nobody"),
        "id -u; cat /proc/self/uid_map",
    );
    let mut l = out.lines();
    assert_eq!(l.next(), Some("65534"));
    let maps: Vec<Vec<&str>> = l.map(|x| x.split_whitespace().collect()).collect();
    assert_eq!(maps, [vec!["0", "0", "1"], vec!["65534", "65534", "1"]]);
}

#[test]
#[ignore = "privileged: CAP_SYS_RESOURCE (limits, nice, oom score)"]
fn limits_nice_oom_umask_and_working_directory() {
    testkit::require_root();
    let d = tempdir();
    let b = d.path().display().to_string();
    let out = probe(
        ctx(&format!(
            "LimitNOFILE=123:456\nNice=7\nOOMScoreAdjust=321\nUMask=0027\nWorkingDirectory={b}"
        )),
        "ulimit -Sn; ulimit -Hn; nice; cat /proc/self/oom_score_adj; umask; pwd",
    );
    assert_eq!(out, format!("123\n456\n7\n321\n0027\n{b}\n"));
    // `~` is the user's home: root's here; nobody's (/nonexistent) is missing → CHDIR.
    assert_eq!(
        probe(ctx("WorkingDirectory=~"), "pwd"),
        format!("{}\n", nix_home("root"))
    );
    let e = spawn_err(&ctx("User=nobody\nWorkingDirectory=~"), &sh("pwd"));
    assert_eq!(
        (e.step(), e.exit_status()),
        (Some(StepKind::WorkingDirectory), 200)
    );
    assert_eq!(probe(ExecContext::default(), "pwd"), "/\n");
}

fn nix_home(user: &str) -> String {
    keel_exec::nix::unistd::User::from_name(user)
        .unwrap()
        .unwrap()
        .dir
        .display()
        .to_string()
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (fork + exec)"]
fn environment_files_unset_and_expansion() {
    testkit::require_root();
    let d = tempdir();
    let f = d.path().join("env");
    std::fs::write(&f, "FROMFILE=file\nOVER=file\n# comment\nGONE=x\n").unwrap();
    let c = ctx(&format!(
        "Environment=A=1 \"B=two words\" OVER=env\nEnvironmentFile={}\nEnvironmentFile=-/nonexistent\nUnsetEnvironment=GONE",
        f.display()
    ));
    let out = probe(
        c.clone(),
        "echo \"$A|$B|$FROMFILE|$OVER|${GONE-unset}|$PATH\"; test -n \"$SYSTEMD_EXEC_PID\" && test \"$SYSTEMD_EXEC_PID\" = $$ && echo pid-ok",
    );
    assert_eq!(
        out,
        "1|two words|file|file|unset|/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\npid-ok\n"
    );
    // $VAR splits into words, ${VAR} stays one; `:` turns expansion off.
    let cmd = Command::new("/usr/bin/printf", ["[%s]", "$B", "${B}"]);
    let (_, out) = run_cmd(c.clone(), &cmd, SpawnOptions::default());
    assert_eq!(out, "[two][words][two words]");
    let (_, out) = run_cmd(
        c,
        &cmd.with_flags(ExecFlags::NO_ENV_EXPAND),
        SpawnOptions::default(),
    );
    assert_eq!(out, "[$B][${B}]");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (fork + exec)"]
fn standard_output_file_append_truncate_and_null() {
    testkit::require_root();
    let d = tempdir();
    let p = d.path().join("out");
    std::fs::write(&p, "old-content\n").unwrap();
    let run = |setting: &str, text: &str| {
        let c = ctx(&format!("StandardOutput={setting}:{}", p.display()));
        let child = spawn(&c, &sh(&format!("echo {text}")), SpawnOptions::default()).unwrap();
        assert!(child.wait().unwrap().success());
    };
    run("file", "new");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\ncontent\n");
    run("append", "more");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "new\ncontent\nmore\n");
    run("truncate", "only");
    assert_eq!(std::fs::read_to_string(&p).unwrap(), "only\n");
    let c = ctx("StandardOutput=null\nStandardInput=null");
    let child = spawn(
        &c,
        &sh("echo lost; read x; echo rc=$?"),
        SpawnOptions::default(),
    )
    .unwrap();
    assert!(child.wait().unwrap().success());
    let (st, out) = run_cmd(
        ExecContext::default(),
        &sh("read x; echo rc=$?"),
        SpawnOptions::default(),
    );
    assert_eq!(
        (st, out.as_str()),
        (ExitStatus::Exited(0), "rc=1\n"),
        "stdin is /dev/null"
    );
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (mount namespace, chroot)"]
fn root_directory_with_bound_system() {
    testkit::require_root();
    let d = tempdir();
    let b = d.path().display().to_string();
    std::fs::write(d.path().join("inside-root"), b"yes").unwrap();
    let out = probe(
        ctx(&format!(
            "RootDirectory={b}\nBindReadOnlyPaths=/usr /bin /lib -/lib64 -/lib32"
        )),
        "cat /inside-root; echo; test -e /etc/os-release || echo no-etc",
    );
    assert_eq!(out, "yes\nno-etc\n");
}

#[test]
#[ignore = "privileged: CAP_SYS_ADMIN (cgroup v2)"]
fn started_in_the_callers_cgroup() {
    testkit::require_root();
    let base = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        .into_iter()
        .find(|p| {
            Path::new(p).join("cgroup.procs").exists()
                && Path::new(p).join("cgroup.controllers").exists()
        })
        .expect("a cgroup v2 hierarchy");
    let cg = Path::new(base).join(format!("keel-exec-test-{}", std::process::id()));
    std::fs::create_dir(&cg).unwrap();
    let opts = opts_with(|o| o.cgroup = Some(cg.clone()));
    let (st, out) = run_cmd(
        ExecContext::default(),
        &sh("grep '^0::' /proc/self/cgroup"),
        opts,
    );
    let _ = std::fs::remove_dir(&cg);
    assert!(st.success());
    assert_eq!(
        out.trim(),
        format!("0::/{}", cg.file_name().unwrap().to_str().unwrap())
    );
}
