//! Loading the unit text and running its commands one after the other.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use keel_exec::keel_unit::load::parse_unit_text;
use keel_exec::keel_unit::model::LoadState;
use keel_exec::{Command, ExecContext, SpawnError, SpawnOptions, exec_in_place, spawn};
use keel_unit::model::exec_command::ExecFlags;

/// What to run.
#[derive(Debug)]
pub(crate) struct Config {
    /// `-p` assignments.
    pub(crate) properties: Vec<String>,
    /// `--unit FILE`.
    pub(crate) unit: Option<PathBuf>,
    /// `--exec`: become the command instead of forking.
    pub(crate) exec: bool,
    /// The command line, if any.
    pub(crate) command: Vec<String>,
}

/// Host directories for `PrivateTmp=` shared by the commands of one run, removed at drop.
struct PrivateTmp(PathBuf);

impl PrivateTmp {
    fn create() -> Result<Self> {
        use std::os::unix::fs::PermissionsExt;
        let base = PathBuf::from(format!("/tmp/keel-run-private-{}", std::process::id()));
        for d in ["tmp", "var-tmp"] {
            let p = base.join(d);
            std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o1777))?;
        }
        Ok(Self(base))
    }
}

impl Drop for PrivateTmp {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unit_text(cfg: &Config) -> Result<(String, Vec<u8>, Option<&Path>)> {
    let (name, mut text) = match &cfg.unit {
        Some(p) => {
            let name = p
                .file_name()
                .and_then(|n| n.to_str())
                .filter(|n| n.ends_with(".service"))
                .with_context(|| format!("{} is not a .service file", p.display()))?
                .to_owned();
            let text = std::fs::read(p).with_context(|| format!("reading {}", p.display()))?;
            (name, text)
        }
        None => ("keel-run.service".to_owned(), b"[Service]\n".to_vec()),
    };
    if !cfg.command.is_empty() {
        // The command comes from the command line; this line only makes a unit without
        // ExecStart= loadable ("Service has no ExecStart=, ExecStop=, …") and never runs.
        text.extend_from_slice(b"\n[Service]\nExecStop=/bin/true\nRemainAfterExit=yes\n");
    }
    if !cfg.properties.is_empty() {
        text.extend_from_slice(b"\n[Service]\n");
        for p in &cfg.properties {
            if !p.contains('=') {
                bail!("-p {p}: expected SETTING=VALUE");
            }
            text.extend_from_slice(p.as_bytes());
            text.push(b'\n');
        }
    }
    Ok((name, text, cfg.unit.as_deref()))
}

/// Runs what `cfg` says; returns the exit code.
pub(crate) fn run(cfg: &Config) -> Result<u8> {
    let (name, text, path) = unit_text(cfg)?;
    let name = name.parse().with_context(|| format!("unit name {name}"))?;
    let loaded = parse_unit_text(&name, &text, path, &Default::default());
    for d in &loaded.diagnostics {
        eprintln!("keel-run: {d}");
    }
    if loaded.unit.load_state != LoadState::Loaded {
        bail!(
            "unit {name} failed to load: {}",
            loaded.unit.load_state.as_str()
        );
    }
    let ctx = ExecContext::from_unit(&loaded.unit);
    let commands: Vec<Command> = if let Some((prog, args)) = cfg.command.split_first() {
        // The shell already expanded the command line: run it as given (the `:` prefix).
        vec![Command::new(prog.clone(), args.iter().cloned()).with_flags(ExecFlags::NO_ENV_EXPAND)]
    } else {
        let svc = loaded
            .unit
            .service()
            .context("the unit has no [Service] settings")?;
        let c = &svc.commands;
        c.start_pre
            .iter()
            .chain(&c.start)
            .chain(&c.start_post)
            .map(Command::from)
            .collect()
    };
    if commands.is_empty() {
        bail!("nothing to run: give a command or a unit with ExecStart=");
    }
    if cfg.exec {
        let [cmd] = commands.as_slice() else {
            bail!("--exec runs one command; this unit has {}", commands.len());
        };
        if ctx.private_users {
            bail!("--exec cannot set up PrivateUsers= (its maps are written by a parent)");
        }
        return Ok(match exec_in_place(&ctx, cmd, SpawnOptions::default()) {
            Ok(()) => 0,
            Err(e) => report(&e),
        });
    }
    let private_tmp = if ctx.private_tmp && commands.len() > 1 {
        Some(PrivateTmp::create()?)
    } else {
        None
    };
    for cmd in &commands {
        let mut opts = SpawnOptions::default();
        opts.private_tmp_dirs = private_tmp
            .as_ref()
            .map(|p| (p.0.join("tmp"), p.0.join("var-tmp")));
        let ignore = cmd.flags.contains(ExecFlags::IGNORE_FAILURE);
        let code = match spawn(&ctx, cmd, opts) {
            Ok(child) => child
                .wait()
                .with_context(|| format!("waiting for {}", cmd.path))?
                .shell_code(),
            Err(e) => report(&e),
        };
        if code != 0 && !ignore {
            return Ok(code);
        }
    }
    Ok(0)
}

/// Prints a spawn failure with its causes; returns the exit status it maps to.
fn report(e: &SpawnError) -> u8 {
    let mut msg = format!("keel-run: {e}");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    eprintln!("{msg}");
    e.exit_status()
}
