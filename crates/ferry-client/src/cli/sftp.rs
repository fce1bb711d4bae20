//! `ferry get|put|ls sftp://…`: the one-shot commands over SFTP, with the
//! FTP side's rules — a `get` never overwrites a local file unless told
//! to (a `new_` name instead), downloads land in a `.ferry-part` file
//! first, `--resume` continues from what is there, the same progress,
//! messages, JSON and exit statuses.
//!
//! Host keys are checked against `~/.ssh/known_hosts`: an unknown host is
//! shown with its fingerprint and accepted only by a yes on a terminal; a
//! changed key is refused.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry_client::download::{Fetched, STDIO};
use ferry_client::local::{self, Clobber};
use ferry_client::progress::Progress;
use ferry_client::sftp::{HostKeyDecision, HostKeyPrompt, SftpClient, SftpConfig, UploadMode};
use ferry_client::target::Target;
use ferry_client::{Error, StoreMode, partial};

use super::args::{Common, OneShot};
use super::progress::{Meter, View};
use super::transfer;

/// Asks on the terminal, as `ssh` does; refuses when nobody is there.
struct TerminalPrompt;

impl HostKeyPrompt for TerminalPrompt {
    fn unknown_host(&self, host: &str, port: u16, algorithm: &str, fingerprint: &str) -> HostKeyDecision {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            return HostKeyDecision::Refuse;
        }
        let name = if port == 22 { host.to_owned() } else { format!("[{host}]:{port}") };
        eprint!(
            "The authenticity of host {name} can't be established.\n{algorithm} key fingerprint is {fingerprint}.\n\
             Are you sure you want to continue connecting (yes/no)? "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        match answer.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" => HostKeyDecision::TrustAndRemember,
            _ => HostKeyDecision::Refuse,
        }
    }
}

/// The remote path a URL names: absolute, as `sftp://host/srv/x` means
/// `/srv/x` (curl's and OpenSSH's reading); `~/x` is from the home.
pub(crate) fn remote_path(t: &Target) -> String {
    match t.path.as_deref() {
        None | Some("" | "~") => ".".into(),
        Some(p) => match p.strip_prefix("~/") {
            Some(rest) => rest.to_owned(),
            None => format!("/{p}"),
        },
    }
}

/// Connect and log in: keys first; then the password given, or asked for
/// on a terminal when the keys were refused.
async fn connect(t: &Target, user: &str, password: Option<String>, common: &Common) -> Result<SftpClient, Error> {
    let config = SftpConfig {
        connect_timeout: Duration::from_secs(common.timeout),
        reply_timeout: Duration::from_secs(common.timeout.max(60)),
        prompt: Arc::new(TerminalPrompt),
        identities: (!common.identity.is_empty()).then(|| common.identity.clone()),
        ..SftpConfig::default()
    };
    match SftpClient::connect(&t.host, t.port, user, password.as_deref(), &config).await {
        Err(Error::SshLogin(_)) if password.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let pw = rpassword::prompt_password(format!("{user}@{}'s password: ", t.host)).map_err(Error::Io)?;
            SftpClient::connect(&t.host, t.port, user, Some(&pw), &SftpConfig { agent: false, identities: Some(Vec::new()), ..config })
                .await
        }
        other => other,
    }
}

/// One attempt of a one-shot command over SFTP.
pub(crate) async fn once(
    cmd: &OneShot,
    t: &Target,
    user: &str,
    password: Option<String>,
    common: &Common,
) -> Result<serde_json::Value, Error> {
    let client = connect(t, user, password, common).await?;
    let mut meter = Meter::new(View { bar: !common.no_progress, hash: None });
    let path = remote_path(t);
    let value = match cmd {
        OneShot::Get { local, json, .. } => {
            let f = get(&client, &path, local.as_deref(), common, &mut meter).await?;
            if !json {
                transfer::report_fetched(&path, &f);
            }
            transfer::fetched_json(&path, &f)
        }
        OneShot::Put { local, json, .. } if local == STDIO => {
            if common.resume {
                return Err(Error::Protocol("standard input cannot be resumed: it can only be read once".into()));
            }
            let started = Instant::now();
            let name = Path::new("standard input");
            meter.start("stdin", None, 0);
            let sent = client.upload_stream(&mut std::io::stdin().lock(), name, &path, &mut |n| meter.advance(n)).await;
            meter.finish();
            let n = sent?;
            if !json {
                transfer::report_sent(name, &path, StoreMode::Replace, n, started.elapsed());
            }
            serde_json::json!({"ok": true, "local": local, "remote": path, "bytes": n, "seconds": started.elapsed().as_secs_f64()})
        }
        OneShot::Put { local, json, .. } => {
            let remote = if path == "." {
                local::base_name(local).to_owned()
            } else if path.ends_with('/') {
                format!("{path}{}", local::base_name(local))
            } else {
                path.clone()
            };
            let local_path = Path::new(local);
            let file = std::fs::File::open(local_path).map_err(|source| Error::Local { path: local_path.to_owned(), source })?;
            let size = file.metadata().map_err(|source| Error::Local { path: local_path.to_owned(), source })?.len();
            let mode = if common.resume { resumed_upload(&client, &remote, size).await? } else { UploadMode::Replace };
            let started = Instant::now();
            let offset = match mode {
                UploadMode::At(n) => n,
                UploadMode::Replace => 0,
            };
            meter.start(local::base_name(local), Some(size), offset);
            let sent = client.upload(&file, local_path, &remote, mode, &mut |n| meter.advance(n)).await;
            meter.finish();
            let n = sent?;
            let store = match mode {
                UploadMode::Replace => StoreMode::Replace,
                UploadMode::At(n) => StoreMode::At(n),
            };
            if !json {
                transfer::report_sent(local_path, &remote, store, n, started.elapsed());
            }
            serde_json::json!({"ok": true, "local": local, "remote": remote, "bytes": n, "seconds": started.elapsed().as_secs_f64()})
        }
        OneShot::Ls { json, .. } => {
            let mut entries = client.list(&path).await?;
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            if *json {
                serde_json::Value::Array(entries.iter().map(entry_json).collect())
            } else {
                for e in &entries {
                    println!(
                        "{}",
                        if e.long_name.is_empty() { e.name.escape_debug().to_string() } else { e.long_name.escape_debug().to_string() }
                    );
                }
                serde_json::Value::Null
            }
        }
        OneShot::Completions { .. } | OneShot::Man => serde_json::Value::Null,
    };
    client.quit().await;
    Ok(value)
}

fn entry_json(e: &ferry_client::sftp::Entry) -> serde_json::Value {
    let kind = if e.attrs.is_dir() {
        "dir"
    } else if e.attrs.is_symlink() {
        "symlink"
    } else if e.attrs.is_file() {
        "file"
    } else {
        "other"
    };
    serde_json::json!({
        "name": e.name,
        "type": kind,
        "size": e.attrs.size,
        "modified": e.attrs.modified().map(super::listing::iso_time),
        "mode": e.attrs.permissions.map(|m| format!("{:o}", m & 0o7777)),
    })
}

/// `put --resume`: continue after what the server has, when it is
/// shorter than the local file (checked by size: SFTP has no digests).
async fn resumed_upload(client: &SftpClient, remote: &str, size: u64) -> Result<UploadMode, Error> {
    match client.try_stat(remote).await? {
        None => Ok(UploadMode::Replace),
        Some(a) => match a.size {
            Some(have) if have <= size => Ok(UploadMode::At(have)),
            Some(have) => Err(Error::Protocol(format!(
                "{remote} on the server ({have} bytes) is longer than the local file ({size} bytes): not a partial upload of it"
            ))),
            None => Ok(UploadMode::Replace),
        },
    }
}

/// `get` over SFTP: the local-file rules of FTP's `get`.
async fn get(client: &SftpClient, remote: &str, local: Option<&str>, common: &Common, meter: &mut Meter) -> Result<Fetched, Error> {
    let started = Instant::now();
    let target = local::local_target(remote, local);
    let size = client.stat(remote).await?.size;
    if ferry_client::download::streams_into(&target) {
        // Standard output, or a device or FIFO: written as it comes.
        meter.start(local::base_name(remote), size, 0);
        let got = if target == Path::new(STDIO) {
            client.download_to_stream(remote, &mut std::io::stdout().lock(), &target, &mut |n| meter.advance(n)).await
        } else {
            let mut f =
                std::fs::OpenOptions::new().write(true).open(&target).map_err(|source| Error::Local { path: target.clone(), source })?;
            client.download_to_stream(remote, &mut f, &target, &mut |n| meter.advance(n)).await
        };
        meter.finish();
        let bytes = got?;
        return Ok(Fetched {
            local: target,
            bytes,
            renamed: false,
            skipped: false,
            resumed_at: None,
            streamed: true,
            elapsed: started.elapsed(),
        });
    }
    let exists = std::fs::symlink_metadata(&target).is_ok();
    let name = local::base_name(remote).to_owned();
    let done = |local: PathBuf, bytes, renamed, resumed_at, skipped| Fetched {
        local,
        bytes,
        renamed,
        skipped,
        resumed_at,
        streamed: false,
        elapsed: started.elapsed(),
    };
    let policy = match common.clobber() {
        Clobber::Ask => Clobber::NewName,
        p => p,
    };
    if exists && policy == Clobber::Skip {
        return Ok(done(target, 0, false, None, true));
    }
    if exists && policy == Clobber::Resume {
        // Continue the file itself, after what it holds.
        let have = std::fs::metadata(&target).map_err(|source| Error::Local { path: target.clone(), source })?.len();
        if size.is_some_and(|s| have > s) {
            return Err(Error::Local {
                path: target.clone(),
                source: std::io::Error::other(format!(
                    "it is longer than {remote} ({} bytes): not a partial copy of it",
                    size.unwrap_or(0)
                )),
            });
        }
        let file = std::fs::OpenOptions::new().write(true).open(&target).map_err(|source| Error::Local { path: target.clone(), source })?;
        meter.start(&name, size, have);
        let got = client.download(remote, &file, &target, have, &mut |n| meter.advance(n)).await;
        meter.finish();
        return Ok(done(target, got?, false, Some(have), false));
    }
    let (dest, replace) = match policy {
        _ if !exists => (target.clone(), false),
        Clobber::Overwrite => (target.clone(), true),
        _ => {
            (partial::first_free(local::parent_dir(&target), &name).map_err(|source| Error::Local { path: target.clone(), source })?, false)
        }
    };
    // Into `.ferry-part` first; a part left by an earlier attempt is
    // continued (by its size).
    let part = partial::part_name(&dest);
    let at = std::fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
    let at = if size.is_some_and(|s| at > s) { 0 } else { at };
    let file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(at == 0)
        .open(&part)
        .map_err(|source| Error::Local { path: part.clone(), source })?;
    meter.start(&name, size, at);
    let got = client.download(remote, &file, &part, at, &mut |n| meter.advance(n)).await;
    meter.finish();
    let bytes = match got {
        Ok(n) => n,
        Err(e) => {
            if std::fs::metadata(&part).is_ok_and(|m| m.len() > 0) {
                eprintln!("ferry: kept what arrived in {}; the same `ferry get` continues it", part.display());
            } else {
                let _ = std::fs::remove_file(&part);
            }
            return Err(e);
        }
    };
    file.sync_all().map_err(|source| Error::Local { path: part.clone(), source })?;
    drop(file);
    let placed = partial::move_into_place(&part, &dest, &name, replace).map_err(|source| Error::Local { path: dest.clone(), source })?;
    let renamed = placed != target;
    Ok(done(placed, bytes, renamed, (at > 0).then_some(at), false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_are_absolute_and_tilde_is_the_home() {
        let path = |url: &str| remote_path(&ferry_client::target::parse_url(url).unwrap());
        assert_eq!(path("sftp://h"), ".");
        assert_eq!(path("sftp://h/"), ".");
        assert_eq!(path("sftp://h/~"), ".");
        assert_eq!(path("sftp://h/~/in/a.csv"), "in/a.csv");
        assert_eq!(path("sftp://h/srv/in/a.csv"), "/srv/in/a.csv");
        assert_eq!(path("sftp://h/dir/"), "/dir/");
    }
}
