//! `ferry get URL`, `ferry put FILE URL`, `ferry ls URL`: one operation,
//! retried with backoff on network failures, with an exit status that
//! says what went wrong.

use std::path::Path;
use std::time::Duration;

use ferry_client::credentials::Credentials;
use ferry_client::download::{Action, STDIO};
use ferry_client::local::{self, Clobber};
use ferry_client::target::{self, Scheme, Target};
use ferry_client::{ClientConfig, Error, Login, Session, StoreMode};
use ferry_proto::command::Password;

use super::args::{Common, OneShot};
use super::exit;
use super::listing::printable;
use super::progress::{Meter, View};
use super::shell::{ctrl_c, entry_json};
use super::transfer;

/// The login for a one-shot command: from the URL, `--user` or `~/.netrc`,
/// else anonymous; a named user without a password is asked on a
/// terminal, and refused in a script.
fn credentials(t: &Target, common: &Common) -> Result<(String, String), String> {
    let known = Credentials::lookup_with_netrc(&t.host, t.user.as_deref(), t.password.as_deref(), common.user.as_deref()).or_anonymous();
    let user = known.user.unwrap_or_default();
    let password = match known.password {
        Some(p) => p,
        None if std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            rpassword::prompt_password(format!("Password for {user}: ")).map_err(|e| e.to_string())?
        }
        None => return Err(format!("no password for {user}: put it in the URL or ~/.netrc")),
    };
    Ok((user, password))
}

/// Run one one-shot command; returns the exit status.
pub(crate) async fn run(cmd: OneShot, common: &Common, config: ClientConfig) -> u8 {
    let (url, retries, json) = match &cmd {
        OneShot::Get { url, retries, json, .. } | OneShot::Put { url, retries, json, .. } | OneShot::Ls { url, retries, json } => {
            (url.clone(), *retries, *json)
        }
        // Handled in main before any runtime starts.
        OneShot::Completions { .. } | OneShot::Man => return exit::USAGE,
    };
    let t = match target::parse_url(&url) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("ferry: {e}");
            return exit::USAGE;
        }
    };
    if let Err(e) = check_usage(&cmd, &t) {
        eprintln!("ferry: {e}");
        return exit::USAGE;
    }
    let mut config = config;
    config.tls = t.scheme.tls_mode(config.tls);
    let how = if t.scheme == Scheme::Sftp {
        // SSH logs in as the local user by default, with keys before any
        // password (which is asked for only if the keys are refused).
        let known = Credentials::lookup_with_netrc(&t.host, t.user.as_deref(), t.password.as_deref(), common.user.as_deref());
        let user = known.user.or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty())).unwrap_or_else(|| "root".into());
        How::Sftp(user, known.password)
    } else {
        match credentials(&t, common) {
            Ok((user, password)) => How::Ftp(Login { host: t.host.clone(), port: t.port, user, password: Password(password) }),
            Err(e) => {
                eprintln!("ferry: {e}");
                return exit::USAGE;
            }
        }
    };
    // A stream cannot be sent or written twice: the bytes already read
    // from standard input are gone, and standard output already has some.
    let retries = if streams(&cmd) && retries > 0 {
        eprintln!("ferry: --retries does not apply to standard input or output, or to special files: trying once");
        0
    } else {
        retries
    };
    let mut attempt = 0;
    loop {
        let attempt_result = match &how {
            How::Ftp(login) => match login.open(config.clone()).await {
                Ok(c) => once(&cmd, Session::Ftp(Box::new(c)), t.path.clone().unwrap_or_default(), common).await,
                Err(e) => Err(e),
            },
            How::Sftp(user, password) => match super::sftp::connect(&t, user, password.clone(), common).await {
                // The URL's path is the server's (absolute unless `~/`).
                Ok(s) => once(&cmd, Session::Sftp(Box::new(s)), super::sftp::remote_path(&t), common).await,
                Err(e) => Err(e),
            },
        };
        match attempt_result {
            Ok(value) => {
                if json && streams_to_stdout(&cmd) {
                    eprintln!("{value}");
                } else if json {
                    println!("{value}");
                }
                return exit::OK;
            }
            Err(e) if e.is_transient() && attempt < retries => {
                attempt += 1;
                let wait = Duration::from_secs(1 << attempt.min(5));
                eprintln!("ferry: {}; retrying in {}s ({attempt}/{retries})", printable(&e.to_string()), wait.as_secs());
                tokio::time::sleep(wait).await;
            }
            Err(e) => {
                if json {
                    let mut failed = serde_json::json!({"ok": false, "error": e.to_string(), "reply_code": e.reply_code()});
                    if let Some(status) = e.sftp_status() {
                        failed["sftp_status"] = status.into();
                    }
                    println!("{failed}");
                }
                // The server's words: no control characters raw.
                eprintln!("ferry: {}", printable(&e.to_string()));
                return exit::for_kind(e.kind());
            }
        }
    }
}

/// Which protocol, and its login.
enum How {
    Ftp(Login),
    /// The user, and the password if one was given.
    Sftp(String, Option<String>),
}

/// Mistakes in the command itself, found before connecting: exit 2.
fn check_usage(cmd: &OneShot, t: &Target) -> Result<(), String> {
    let path = t.path.as_deref().unwrap_or_default();
    let names_no_file = path.is_empty() || path.ends_with('/');
    match cmd {
        OneShot::Get { .. } if names_no_file => Err("the URL names a folder, not a file: ferry get ftp://host/path/FILE [LOCAL]".into()),
        OneShot::Put { local, .. } if local == STDIO && names_no_file => {
            Err("standard input has no name: give the remote file in the URL (ferry put - ftp://host/path/FILE)".into())
        }
        _ => Ok(()),
    }
}

/// True for transfers from standard input or to standard output or a
/// special file, which cannot be started again.
fn streams(cmd: &OneShot) -> bool {
    match cmd {
        OneShot::Get { local: Some(l), .. } => ferry_client::download::streams_into(Path::new(l)),
        OneShot::Put { local, .. } => local == STDIO,
        _ => false,
    }
}

/// True when the downloaded bytes go to standard output, so that the
/// JSON result must go elsewhere (standard error).
fn streams_to_stdout(cmd: &OneShot) -> bool {
    matches!(cmd, OneShot::Get { local: Some(l), .. } if l == STDIO)
}

/// `--ask` in one-shot mode: ask on the terminal (standard error), or
/// keep the seed's rule when nobody is there to answer.
fn ask_policy(target: &Path) -> Clobber {
    use std::io::{BufRead, IsTerminal, Write};
    if !std::io::stdin().is_terminal() {
        return Clobber::NewName;
    }
    eprint!("{} exists: [n]ew name, [o]verwrite, [r]esume, [s]kip? ", target.display());
    let _ = std::io::stderr().flush();
    let mut answer = String::new();
    let _ = std::io::stdin().lock().read_line(&mut answer);
    match answer.trim() {
        "o" | "overwrite" => Clobber::Overwrite,
        "r" | "resume" => Clobber::Resume,
        "s" | "skip" => Clobber::Skip,
        _ => Clobber::NewName,
    }
}

/// One attempt, on a session just opened: `path` is the remote path the
/// URL names, as the protocol reads it.
async fn once(cmd: &OneShot, mut client: Session, path: String, common: &Common) -> Result<serde_json::Value, Error> {
    let mut meter = Meter::new(View { bar: !common.no_progress, hash: None });
    let path = if path == "." { String::new() } else { path };
    let value = match cmd {
        OneShot::Get { local, segments, json, .. } => {
            let target = local::local_target(&path, local.as_deref());
            let policy = match common.clobber() {
                Clobber::Ask if std::fs::symlink_metadata(&target).is_ok() => ask_policy(&target),
                Clobber::Ask => Clobber::NewName,
                p => p,
            };
            let plan = client.plan_download(&path, &target, policy).await?;
            if let (Action::Resume(r) | Action::Continue(r), false) = (plan.action, *json) {
                transfer::report_download_resume(&plan, &r);
            }
            let f = match client.download(&plan, *segments, &mut meter, ctrl_c()).await {
                Ok(f) => f,
                Err(e) => {
                    transfer::report_kept(&plan, "the same `ferry get`");
                    return Err(e);
                }
            };
            if !json {
                transfer::report_fetched(&path, &f);
            }
            transfer::fetched_json(&path, &f)
        }
        OneShot::Put { local, json, .. } if local == STDIO => {
            if common.resume {
                return Err(Error::Protocol("standard input cannot be resumed: it can only be read once".into()));
            }
            let started = std::time::Instant::now();
            let n = client.upload_stdin(&path, &mut meter, ctrl_c()).await?;
            if !json {
                transfer::report_sent(Path::new("standard input"), &path, StoreMode::Replace, n, started.elapsed());
            }
            serde_json::json!({"ok": true, "local": local, "remote": path, "bytes": n, "seconds": started.elapsed().as_secs_f64()})
        }
        OneShot::Put { local, json, .. } => {
            let remote = if path.is_empty() || path.ends_with('/') { format!("{path}{}", local::base_name(local)) } else { path.clone() };
            let local_path = Path::new(local);
            let mode = if common.resume {
                // The same checked resume as the shell's `reput`.
                let (mode, resume) = client.plan_resumed_upload(local_path, &remote).await?;
                if !json {
                    transfer::report_upload_resume(&resume);
                }
                mode
            } else {
                StoreMode::Replace
            };
            let started = std::time::Instant::now();
            let n = client.upload(local_path, &remote, mode, &mut meter, ctrl_c()).await?;
            if !json {
                transfer::report_sent(local_path, &remote, mode, n, started.elapsed());
            }
            serde_json::json!({"ok": true, "local": local, "remote": remote, "bytes": n, "seconds": started.elapsed().as_secs_f64()})
        }
        OneShot::Completions { .. } | OneShot::Man => serde_json::Value::Null,
        OneShot::Ls { json, .. } => {
            let dir = (!path.is_empty()).then_some(path.as_str());
            if *json {
                let entries = client.list(dir).await?;
                serde_json::Value::Array(entries.iter().map(entry_json).collect())
            } else {
                print!("{}", super::listing::long(&client.list(dir).await?));
                serde_json::Value::Null
            }
        }
    };
    let _ = client.quit().await;
    Ok(value)
}
