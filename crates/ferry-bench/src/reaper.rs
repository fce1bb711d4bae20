//! Every server runs under a small reaper: this same binary, started as
//! `ferry-bench __reap PROGRAM ARGS…`, which becomes a child subreaper,
//! starts the server, and reaps whatever ends beneath it.
//!
//! Why: a forking server's CPU time is read from /proc as the tree's own
//! time plus each process's `cutime`/`cstime` (its reaped children). That
//! misses orphans: Pure-FTPd's session process (privilege separation)
//! outlives its parent in every session, and vsftpd's does in some, so
//! they are re-parented to init and their CPU time leaves the tree. Under
//! a subreaper they are re-parented to it instead, it reaps them, and their
//! time lands in its `cutime`, inside the tree measured.

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::process::{Child, Command, Stdio};

use anyhow::{Context, bail};
use rustix::process::{Pid, Signal, WaitOptions};

/// The first argument that makes the binary a reaper.
const ARG: &str = "__reap";

/// If the binary was started as a reaper, run as one (never returns).
pub(crate) fn run_if_asked() {
    let mut args = std::env::args_os().skip(1);
    if args.next().is_some_and(|a| a == ARG) {
        reap(args.collect())
    }
}

fn reap(cmd: Vec<OsString>) -> ! {
    let say = |line: String| {
        let mut out = std::io::stdout();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    };
    // Go when the bench goes, rather than hold a server's reaper open.
    let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
    if let Err(e) = rustix::process::set_child_subreaper(Some(rustix::process::getpid())) {
        say(format!("error: PR_SET_CHILD_SUBREAPER: {e}"));
        std::process::exit(1);
    }
    let Some((program, args)) = cmd.split_first() else {
        say("error: no program".to_owned());
        std::process::exit(2)
    };
    let child = match Command::new(program).args(args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null()).spawn() {
        Ok(c) => c,
        Err(e) => {
            say(format!("error: starting {}: {e}", program.to_string_lossy()));
            std::process::exit(127)
        }
    };
    let server = Pid::from_child(&child);
    say(child.id().to_string());
    loop {
        match rustix::process::wait(WaitOptions::empty()) {
            Ok(Some((pid, status))) if pid == server => std::process::exit(status.exit_status().unwrap_or(1)),
            Ok(_) | Err(rustix::io::Errno::INTR) => {}
            Err(_) => std::process::exit(1),
        }
    }
}

/// A server started under a reaper.
pub(crate) struct Reaped {
    /// The reaper, the root of the tree measured.
    pub(crate) reaper: Child,
    /// The server itself.
    pub(crate) server: u32,
}

/// Start `cmd` (program and arguments only; its stdio is discarded) under
/// a reaper.
pub(crate) fn spawn(cmd: &Command) -> anyhow::Result<Reaped> {
    let me = std::env::current_exe().context("finding ferry-bench's own binary")?;
    let mut reaper = Command::new(me)
        .arg(ARG)
        .arg(cmd.get_program())
        .args(cmd.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the reaper")?;
    let mut line = String::new();
    std::io::BufReader::new(reaper.stdout.take().context("reaper stdout")?).read_line(&mut line)?;
    let line = line.trim();
    match line.parse::<u32>() {
        Ok(server) => Ok(Reaped { reaper, server }),
        Err(_) => {
            let _ = reaper.wait();
            bail!("{}", line.strip_prefix("error: ").unwrap_or(line))
        }
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        // The reaper lives as long as the server does (it exits on
        // reaping it), so while it runs the pid is still the server's.
        if matches!(self.reaper.try_wait(), Ok(None))
            && let Some(pid) = Pid::from_raw(self.server as i32)
        {
            let _ = rustix::process::kill_process(pid, Signal::KILL);
        }
        let _ = self.reaper.wait();
    }
}
