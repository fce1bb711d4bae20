//! `ferry`: the Ferry FTP client.
//!
//! `ferry HOST [PORT]` or `ferry ftp://user@host/` opens a shell with the
//! seed's `get`, `upload` and `exit` and the ftp(1) command set;
//! `ferry get|put|ls URL` does one thing and exits with a status that says
//! how it went.

/// `print!` and `println!` here and in every `cli` module write through
/// [`write_stdout`]: standard output may be a pipe whose reader has gone
/// (`ferry ls URL | head -1`), and std's macros panic then.
macro_rules! print {
    ($($arg:tt)*) => { $crate::write_stdout(format_args!($($arg)*)) };
}

/// See [`print!`].
macro_rules! println {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}

#[path = "../cli/mod.rs"]
mod cli;

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use ferry_client::target;
use ferry_client::tls::{TlsMode, Trust, default_known_hosts};
use ferry_client::{ClientConfig, DataMode};

use cli::args::Cli;
use cli::shell::{Settings, Shell};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        // Written to a buffer first: a closed pipe (`| head`) is not an error.
        Some(cli::args::OneShot::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut <Cli as clap::CommandFactory>::command(), "ferry", &mut out);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            return ExitCode::SUCCESS;
        }
        Some(cli::args::OneShot::Man) => {
            let mut out = Vec::new();
            let _ = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("ferry: cannot start: {e}");
            return ExitCode::from(cli::exit::OTHER);
        }
    };
    let status = runtime.block_on(run(cli));
    // A read of standard input (`put -`) blocks a thread that cannot be
    // cancelled; do not wait for it once the work is over.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    ExitCode::from(status)
}

async fn run(cli: Cli) -> u8 {
    let c = &cli.common;
    let proxy = match c.proxy.as_deref().map(str::parse::<ferry_client::proxy::Proxy>).transpose() {
        Ok(p) => p,
        Err(e) => {
            eprintln!("ferry: --proxy: {e}");
            return cli::exit::USAGE;
        }
    };
    let config = ClientConfig {
        connect_timeout: Duration::from_secs(c.timeout),
        reply_timeout: Duration::from_secs(c.timeout.max(60)),
        data_timeout: Duration::from_secs(c.timeout.max(60)),
        mode: if c.active { DataMode::Active } else { DataMode::Passive },
        extended: !c.no_epsv,
        limit_rate: c.limit_rate.clone(),
        tls: if c.tls { TlsMode::Explicit } else { TlsMode::Off },
        trust: Trust {
            ca_file: c.ca_file.clone(),
            fingerprint: c.fingerprint.clone(),
            insecure: c.insecure,
            known_hosts: default_known_hosts(),
        },
        proxy,
    };
    if c.insecure {
        eprintln!("ferry: WARNING: --insecure accepts any certificate; the connection can be read and changed by anyone in the path");
    }
    if let Some(cmd) = cli.command {
        return cli::one_shot::run(cmd, &cli.common, config).await;
    }
    let settings = Settings { prompt: true, hash: None, clobber: c.clobber(), progress: !c.no_progress };
    let commands = cli.commands.as_ref().map(|s| s.split(';').map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect());
    let mut shell = Shell::new(config, cli::sftp::config(c), commands, settings, c.user.clone());
    if let Some(t) = &cli.target {
        let opened = if target::is_url(t) {
            match target::parse_url(t) {
                Ok(u) => shell.open_target(&u, cli.port).await,
                Err(e) => {
                    eprintln!("ferry: {e}");
                    return cli::exit::USAGE;
                }
            }
        } else {
            shell.open(t, cli.port.unwrap_or(21), None, None).await.map(|()| None)
        };
        match opened {
            Err(e) => {
                shell.fail("open", &e);
                // A shell with no connection is still useful interactively.
                if !shell.input.interactive() {
                    return shell.status;
                }
            }
            Ok(Some(dir)) => {
                if let Err(e) = shell.execute(&format!("cd {}", cli::words::quote(&dir))).await {
                    shell.fail("cd", &e);
                }
            }
            Ok(None) => {}
        }
    }
    shell.run().await
}

/// Write to standard output. A closed pipe means the reader has all it
/// wanted: the program ends quietly with status 0, as ripgrep does. Any
/// other failure ends it with an error.
fn write_stdout(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    match std::io::stdout().lock().write_fmt(args) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => {
            eprintln!("ferry: cannot write to standard output: {e}");
            std::process::exit(cli::exit::OTHER.into());
        }
    }
}
