//! `keel-cryptenroll`: systemd-cryptenroll's password, recovery-key and `--wipe-slot=`
//! parts on keel's pure-Rust LUKS2 (see `keel_crypt::cryptenroll` for the behaviour and the
//! differences from systemd 248). This file is the terminal glue: environment, the
//! no-echo prompt, output streams and the exit status.

use std::io::{BufRead, Write};
use std::process::ExitCode;

use keel_crypt::cryptenroll::{Console, Invocation, help_text, parse_args, run};
use rustix::termios::{LocalModes, OptionalActions, isatty, tcgetattr, tcsetattr};
use zeroize::Zeroizing;

/// The real process environment and terminal.
struct Terminal;

impl Terminal {
    /// Reads one line from standard input with echo off, restoring the terminal after.
    fn read_hidden(question: &str, glyph: &str) -> std::io::Result<Zeroizing<String>> {
        let stdin = std::io::stdin();
        if !isatty(&stdin) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "standard input is not a terminal (keel-cryptenroll has no ask-password agent)",
            ));
        }
        let mut stderr = std::io::stderr();
        write!(stderr, "{glyph}{question} ")?;
        stderr.flush()?;
        let saved = tcgetattr(&stdin)?;
        let mut quiet = saved.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        quiet.local_modes.insert(LocalModes::ICANON);
        tcsetattr(&stdin, OptionalActions::Flush, &quiet)?;
        let mut line = Zeroizing::new(String::new());
        let read = stdin.lock().read_line(&mut line);
        tcsetattr(&stdin, OptionalActions::Now, &saved)?;
        writeln!(stderr)?;
        if read? == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "end of input",
            ));
        }
        let len = line.trim_end_matches(['\n', '\r']).len();
        line.truncate(len);
        Ok(line)
    }
}

impl Console for Terminal {
    fn take_env(&mut self, name: &str) -> Option<Zeroizing<String>> {
        // Removing it would need `unsafe` (edition 2024); keel-cryptenroll starts no child
        // processes, so the variable goes nowhere else.
        std::env::var(name).ok().map(Zeroizing::new)
    }

    fn ask_password(&mut self, question: &str) -> std::io::Result<Zeroizing<String>> {
        let glyph = if self.emoji() { "🔐 " } else { "" };
        Self::read_hidden(question, glyph)
    }

    fn stdout(&mut self, text: &str) {
        let mut out = std::io::stdout().lock();
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }

    fn stderr(&mut self, text: &str) {
        let _ = std::io::stderr().write_all(text.as_bytes());
    }

    fn emoji(&self) -> bool {
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
            .unwrap_or_default()
            .to_ascii_lowercase();
        let utf8 = locale.contains("utf-8") || locale.contains("utf8");
        utf8 && std::env::var("TERM").is_ok_and(|t| t != "dumb")
    }
}

fn main() -> ExitCode {
    let program = "keel-cryptenroll";
    let req = match parse_args(std::env::args().skip(1)) {
        Ok(Invocation::Help) => {
            print!("{}", help_text(program));
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Version) => {
            println!(
                "{program} {} (keel; systemd 248 compatible)",
                env!("CARGO_PKG_VERSION")
            );
            return ExitCode::SUCCESS;
        }
        Ok(Invocation::Run(req)) => req,
        Err(e) => {
            // getopt names the program as invoked.
            let argv0 = std::env::args_os()
                .next()
                .map_or_else(|| program.to_owned(), |a| a.to_string_lossy().into_owned());
            eprintln!("{}", e.message_for(&argv0));
            return ExitCode::FAILURE;
        }
    };
    match run(&req, &mut Terminal) {
        Ok(()) => ExitCode::SUCCESS,
        Err(_) => ExitCode::FAILURE,
    }
}
