//! `ferryd`: the Ferry FTP server.
//!
//! With no arguments it serves `./ftp-root` on 127.0.0.1:2121 to the
//! accounts in `./users.txt`, creating both on first run.
//!
//! Layout (in `ferryd/`):
//!
//! - `options.rs`: every setting, defined once (flag, config key, help,
//!   default); `settings.rs` layers the command line over the config file
//!   over the defaults and prints them back; `validate.rs` refuses values
//!   that cannot work.
//! - `run.rs`: serving (and `check-config`), with `logging.rs` and
//!   `storage.rs`; `accounts.rs`: the server's accounts.
//! - `user_command.rs`: `ferryd user …`, through the `AccountStore` trait;
//!   `admin_command.rs`: `ferryd admin …` (admin accounts and API tokens),
//!   through the `AdminStore` trait, found with the same options.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `println!` in this program writes through [`write_stdout`]: standard
/// output may be a pipe whose reader has gone (`ferryd check-config | head
/// -1`), and std's `println!` panics then.
macro_rules! println {
    () => { $crate::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
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
            eprintln!("ferryd: cannot write to standard output: {e}");
            std::process::exit(1);
        }
    }
}

// After the macro above, so that they print through it.
#[path = "ferryd/accounts.rs"]
mod accounts;
#[path = "ferryd/admin.rs"]
mod admin;
#[path = "ferryd/admin_backend.rs"]
mod admin_backend;
#[path = "ferryd/admin_command.rs"]
mod admin_command;
#[cfg(test)]
#[path = "ferryd/docs.rs"]
mod docs;
#[path = "ferryd/hooks.rs"]
mod hooks;
#[path = "ferryd/logging.rs"]
mod logging;
#[path = "ferryd/options.rs"]
mod options;
#[path = "ferryd/reload.rs"]
mod reload;
#[path = "ferryd/run.rs"]
mod run;
#[path = "ferryd/settings.rs"]
mod settings;
#[path = "ferryd/sftp.rs"]
mod sftp;
#[path = "ferryd/storage.rs"]
mod storage;
#[path = "ferryd/user_command.rs"]
mod user_command;
#[path = "ferryd/validate.rs"]
mod validate;

use admin_command::AdminCmd;
use settings::ServeArgs;
use user_command::UserCmd;

/// Ferry FTP server: RFC 959/2389/2428/3659 FTP with argon2id accounts and
/// every user confined to the served folder.
#[derive(Parser, Debug)]
#[command(name = "ferryd", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Manage accounts in the users file (or PostgreSQL).
    #[command(subcommand)]
    User(UserCmd),
    /// Manage the admins of the admin API and web admin, and their API tokens.
    #[command(subcommand)]
    Admin(AdminCmd),
    /// Check the configuration (file and flags) and print the settings in force.
    CheckConfig(Box<ServeArgs>),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `ferryd man > ferryd.1`.
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Cmd::User(cmd)) => user_command::run(cmd),
        Some(Cmd::Admin(cmd)) => admin_command::run(cmd),
        Some(Cmd::CheckConfig(args)) => run::check_config(*args),
        // Written to a buffer first: a closed pipe (`| head`) is not an error.
        Some(Cmd::Completions { shell }) => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "ferryd", &mut out);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            Ok(())
        }
        Some(Cmd::Man) => {
            let mut out = Vec::new();
            let _ = clap_mangen::Man::new(<Cli as clap::CommandFactory>::command()).render(&mut out);
            let _ = std::io::Write::write_all(&mut std::io::stdout(), &out);
            Ok(())
        }
        None => settings::resolve(cli.serve).and_then(run::serve),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ferryd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
