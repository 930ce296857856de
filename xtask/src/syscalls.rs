//! `cargo xtask gen-syscalls` and `cargo xtask compare seccomp`.
//!
//! `gen-syscalls` regenerates `exec/src/seccomp/tables/<arch>.rs` from the kernel's UAPI
//! headers as Debian ships them (`linux-libc-dev` and its `linux-libc-dev-<arch>-cross`
//! packages). The C preprocessor (`cpp -dM`) evaluates each architecture's `asm/unistd.h`
//! with that architecture's predefined macros, exactly as the kernel's own headers select
//! their tables (the asm-generic table for aarch64 and riscv64, `_MIPS_SIM` for mips, …);
//! the `#define`s it prints are then resolved here (`(__NR_Linux + 5)` style sums).
//!
//! `compare seccomp` compiles `SystemCallFilter=@system-service` for x86_64 with keel and with
//! libseccomp (Debian's `python3-seccomp`, binary-tree mode, exported with `export_bpf`),
//! runs both programs in keel's BPF interpreter, and prints program length and the average
//! number of instructions executed per allowed syscall, with the ratio.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use keel_exec::seccomp::{Arch, FilterRules, bpf, groups};

use crate::util::workspace_root;

/// One architecture's header source.
struct Source {
    /// File stem under `exec/src/seccomp/tables/`.
    stem: &'static str,
    /// Debian package shipping the header.
    package: &'static str,
    /// Include directory.
    include: &'static str,
    /// Header that selects the table (relative to `include`).
    header: &'static str,
    /// Predefined macros of that architecture's compiler that the headers test.
    defines: &'static [&'static str],
}

const SOURCES: &[Source] = &[
    Source {
        stem: "x86_64",
        package: "linux-libc-dev",
        include: "/usr/include/x86_64-linux-gnu",
        header: "asm/unistd_64.h",
        defines: &["__x86_64__", "__LP64__"],
    },
    Source {
        stem: "x86",
        package: "linux-libc-dev",
        include: "/usr/include/x86_64-linux-gnu",
        header: "asm/unistd_32.h",
        defines: &["__i386__"],
    },
    Source {
        stem: "x32",
        package: "linux-libc-dev",
        include: "/usr/include/x86_64-linux-gnu",
        header: "asm/unistd.h",
        defines: &["__x86_64__", "__ILP32__"],
    },
    Source {
        stem: "aarch64",
        package: "linux-libc-dev-arm64-cross",
        include: "/usr/aarch64-linux-gnu/include",
        header: "asm/unistd.h",
        defines: &["__aarch64__", "__LP64__", "__SIZEOF_POINTER__=8"],
    },
    Source {
        stem: "arm",
        package: "linux-libc-dev-armhf-cross",
        include: "/usr/arm-linux-gnueabihf/include",
        header: "asm/unistd.h",
        defines: &["__arm__", "__ARM_EABI__", "__SIZEOF_POINTER__=4"],
    },
    Source {
        stem: "riscv64",
        package: "linux-libc-dev-riscv64-cross",
        include: "/usr/riscv64-linux-gnu/include",
        header: "asm/unistd.h",
        defines: &[
            "__riscv",
            "__riscv_xlen=64",
            "__LP64__",
            "__SIZEOF_POINTER__=8",
        ],
    },
    Source {
        stem: "s390x",
        package: "linux-libc-dev-s390x-cross",
        include: "/usr/s390x-linux-gnu/include",
        header: "asm/unistd.h",
        defines: &["__s390__", "__s390x__", "__LP64__"],
    },
    Source {
        stem: "ppc64le",
        package: "linux-libc-dev-ppc64el-cross",
        include: "/usr/powerpc64le-linux-gnu/include",
        header: "asm/unistd.h",
        defines: &["__powerpc__", "__powerpc64__", "__LP64__"],
    },
    Source {
        stem: "mips64el",
        package: "linux-libc-dev-mips64el-cross",
        include: "/usr/mips64el-linux-gnuabi64/include",
        header: "asm/unistd.h",
        defines: &["__mips__", "_MIPS_SIM=3", "_MIPS_SIM_ABI64=3", "__LP64__"],
    },
];

/// Macro names under `__NR_` that are not syscalls.
const NOT_SYSCALLS: &[&str] = &["syscalls", "arch_specific_syscall"];

fn package_version(pkg: &str) -> Result<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", pkg])
        .output()
        .with_context(|| format!("running dpkg-query for {pkg}"))?;
    if !out.status.success() || out.stdout.is_empty() {
        bail!("{pkg} is not installed (apt-get install {pkg})");
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Runs the preprocessor over the header and returns every syscall macro with its value,
/// evaluated where it is defined (asm-generic `#undef`s its helper macros such as
/// `__NR3264_fcntl` at the end).
fn evaluate_header(src: &Source) -> Result<Vec<(String, u32)>> {
    let mut cmd = Command::new("cpp");
    cmd.args(["-nostdinc", "-undef", "-dD", "-I", src.include]);
    for d in src.defines {
        cmd.arg(format!("-D{d}"));
    }
    cmd.arg(Path::new(src.include).join(src.header));
    let out = cmd
        .output()
        .with_context(|| format!("running cpp on {}/{}", src.include, src.header))?;
    if !out.status.success() {
        bail!(
            "cpp failed on {}/{}: {}",
            src.include,
            src.header,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut macros: BTreeMap<String, String> = BTreeMap::new();
    let mut values: BTreeMap<String, u32> = BTreeMap::new();
    for line in text.lines() {
        if let Some(name) = line.strip_prefix("#undef ") {
            macros.remove(name.trim());
            continue;
        }
        let Some(rest) = line.strip_prefix("#define ") else {
            continue;
        };
        let (name, body) = rest.split_once(' ').unwrap_or((rest, ""));
        if name.contains('(') {
            continue; // function-like macro
        }
        let body = body.trim();
        macros.insert(name.to_owned(), body.to_owned());
        if let Some(sc) = syscall_name(name) {
            let n = eval(body, &macros, 0)
                .with_context(|| format!("cannot evaluate {name} = {body}"))?;
            let n = u32::try_from(n).with_context(|| format!("{name} = {n} does not fit u32"))?;
            values.insert(sc.to_owned(), n);
        }
    }
    Ok(values.into_iter().collect())
}

/// Evaluates a macro body made of numbers, macro names, `+` and parentheses.
fn eval(expr: &str, macros: &BTreeMap<String, String>, depth: u32) -> Option<u64> {
    if depth > 16 {
        return None;
    }
    let mut sum = 0u64;
    for term in expr.split('+') {
        let t = term.trim().trim_matches(|c| c == '(' || c == ')').trim();
        let lit = t.trim_end_matches(['U', 'L', 'u', 'l']);
        let v = if let Some(hex) = lit.strip_prefix("0x") {
            u64::from_str_radix(hex, 16).ok()?
        } else if lit.bytes().all(|b| b.is_ascii_digit()) && !lit.is_empty() {
            lit.parse().ok()?
        } else {
            eval(macros.get(t)?, macros, depth + 1)?
        };
        sum = sum.checked_add(v)?;
    }
    Some(sum)
}

fn syscall_name(macro_name: &str) -> Option<&str> {
    let name = macro_name
        .strip_prefix("__NR_")
        .or_else(|| macro_name.strip_prefix("__ARM_NR_"))?;
    let body = name.strip_prefix('_').unwrap_or(name);
    let plausible = body.starts_with(|c: char| c.is_ascii_lowercase())
        && body
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    // mips headers number unused slots `__NR_reserved177` …: not syscalls.
    let reserved = name.starts_with("reserved");
    (plausible && !reserved && !NOT_SYSCALLS.contains(&name)).then_some(name)
}

/// The table of one architecture: (name, number) sorted by name.
fn table(src: &Source) -> Result<Vec<(String, u32)>> {
    let out = evaluate_header(src)?;
    if out.len() < 250 {
        bail!(
            "{}: only {} syscalls found in {}/{}",
            src.stem,
            out.len(),
            src.include,
            src.header
        );
    }
    Ok(out)
}

/// Appends `GROUP_NUMBERS`: for each group of 248's table (in `groups::GROUPS` order), its
/// members' numbers on this architecture, nested groups expanded, names the architecture
/// lacks skipped, sorted and deduplicated. keel-exec uses them so that a short-lived
/// process resolves `@system-service` without a single string comparison.
fn write_group_numbers(s: &mut String, rows: &[(String, u32)]) -> Result<()> {
    s.push_str(
        "\n/// The syscall numbers of each group of `groups::GROUPS`, in that order (nested groups\n\
         /// expanded, names this architecture lacks skipped), sorted.\n\
         pub(crate) static GROUP_NUMBERS: &[&[u32]] = &[\n",
    );
    for g in groups::GROUPS {
        let mut nrs = Vec::new();
        groups::for_each_member(g.name, &mut |m| {
            if let Ok(i) = rows.binary_search_by(|(n, _)| n.as_str().cmp(m)) {
                nrs.push(rows[i].1);
            }
        })
        .with_context(|| format!("expanding {}", g.name))?;
        nrs.sort_unstable();
        nrs.dedup();
        let list: Vec<String> = nrs.iter().map(u32::to_string).collect();
        writeln!(s, "    // {}\n    &[{}],", g.name, list.join(", "))?;
    }
    s.push_str("];\n");
    Ok(())
}

/// `cargo xtask gen-syscalls`: regenerates the checked-in tables.
pub(crate) fn gen_syscalls(_args: &[String]) -> Result<bool> {
    let dir = workspace_root().join("exec/src/seccomp/tables");
    for src in SOURCES {
        let version = package_version(src.package)?;
        let rows = table(src)?;
        let mut s = String::new();
        writeln!(
            s,
            "//! Syscall numbers for `{}` (generated by `cargo xtask gen-syscalls`; do not edit).\n\
             //!\n\
             //! Package: `{}` {version}\n\
             //! Header: `{}/{}`\n\
             //! Predefined macros: `{}`\n\n\
             /// `(name, number)`, sorted by name.\n\
             pub(crate) static SYSCALLS: &[(&str, u32)] = &[",
            src.stem,
            src.package,
            src.include,
            src.header,
            src.defines.join(" "),
        )?;
        for (name, nr) in &rows {
            writeln!(s, "    (\"{name}\", {nr}),")?;
        }
        s.push_str("];\n");
        write_group_numbers(&mut s, &rows)?;
        let path = dir.join(format!("{}.rs", src.stem));
        std::fs::write(&path, s).with_context(|| format!("writing {}", path.display()))?;
        // Checked in as rustfmt leaves it, so `cargo fmt --check` stays clean.
        let st = Command::new("rustfmt")
            .args(["--edition", "2024"])
            .arg(&path)
            .status()
            .context("running rustfmt")?;
        if !st.success() {
            bail!("rustfmt {} failed", path.display());
        }
        println!(
            "{}: {} syscalls -> {}",
            src.stem,
            rows.len(),
            path.display()
        );
    }
    Ok(true)
}

const PY_EXPORT: &str = r#"
import sys, seccomp
f = seccomp.SyscallFilter(defaction=seccomp.KILL_PROCESS)
f.set_attr(seccomp.Attr.CTL_OPTIMIZE, 2)
f.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.ALLOW)
f.set_attr(seccomp.Attr.CTL_NNP, 0)
skipped = 0
for name in sys.argv[2:]:
    try:
        f.add_rule(seccomp.ALLOW, name)
    except Exception:
        skipped += 1
with open(sys.argv[1], "wb") as out:
    f.export_bpf(out)
print(skipped)
"#;

fn average_allowed(prog: &[bpf::SockFilter], arch: Arch, allowed: &[u32]) -> Result<f64> {
    let mut total = 0usize;
    for &nr in allowed {
        let data = bpf::SeccompData::new(nr, arch.audit_arch());
        let out = bpf::run(prog, &data).with_context(|| format!("interpreting syscall {nr}"))?;
        if out.action != bpf::RetAction::Allow.to_raw() {
            bail!(
                "syscall {nr} is not allowed by the program (returned {:#x})",
                out.action
            );
        }
        total += out.executed;
    }
    #[allow(clippy::cast_precision_loss)]
    Ok(total as f64 / allowed.len().max(1) as f64)
}

/// `cargo xtask compare seccomp`: keel's compiler against libseccomp's, same allow-list.
pub(crate) fn compare_seccomp(_args: &[String]) -> Result<bool> {
    crate::packages::ensure(&["python3-seccomp"])?;
    let arch = Arch::X86_64;
    let names: Vec<&str> = groups::expand("@system-service")
        .context("expanding @system-service")?
        .into_iter()
        .filter(|n| arch.syscall_number(n).is_some())
        .collect();
    let mut allowed: Vec<u32> = names
        .iter()
        .filter_map(|n| arch.syscall_number(n))
        .collect();
    allowed.sort_unstable();
    allowed.dedup();

    let rules = FilterRules::from_service_text("SystemCallFilter=@system-service");
    let t = Instant::now();
    let runs = 1000u32;
    let mut ours = Vec::new();
    for _ in 0..runs {
        ours = rules
            .syscall_filter_policy(&[arch])
            .context("no SystemCallFilter= parsed")?
            .compile()
            .context("compiling with keel")?;
    }
    let build = t.elapsed() / runs;

    let tmp = std::env::temp_dir().join(format!("keel-seccomp-{}.bpf", std::process::id()));
    let out = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg(PY_EXPORT)
        .arg(&tmp)
        .args(&names)
        .output()
        .context("running python3 with the seccomp module")?;
    if !out.status.success() {
        bail!(
            "python3-seccomp failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let raw = std::fs::read(&tmp).with_context(|| format!("reading {}", tmp.display()))?;
    // Best effort: the file is ours and only a cache of the export.
    let _ = std::fs::remove_file(&tmp);
    let theirs = bpf::decode(&raw).context("decoding libseccomp's program")?;

    let ours_avg = average_allowed(&ours, arch, &allowed)?;
    let theirs_avg = average_allowed(&theirs, arch, &allowed)?;
    println!(
        "SystemCallFilter=@system-service on x86_64 ({} allowed syscalls)",
        allowed.len()
    );
    println!("{:<24} {:>8} {:>22}", "", "length", "avg insns per allowed");
    println!("{:<24} {:>8} {:>22.2}", "keel", ours.len(), ours_avg);
    println!(
        "{:<24} {:>8} {:>22.2}",
        "libseccomp (tree)",
        theirs.len(),
        theirs_avg
    );
    #[allow(clippy::cast_precision_loss)]
    let len_ratio = ours.len() as f64 / theirs.len().max(1) as f64;
    println!(
        "ratio keel/libseccomp: length {len_ratio:.2}, avg instructions {:.2}; keel build {build:?}",
        ours_avg / theirs_avg
    );
    Ok(true)
}
