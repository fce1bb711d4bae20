//! The SFTP front door's settings from ferryd's options: the host key
//! (read, or made beside the users file on the first start) and the same
//! deadlines, delays and limits as FTP.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ferry_sftp_server::{SftpSettings, Timeouts, host_key};

use super::options::Options;

/// Where the host key is: `--sftp-host-key`, or beside the users file.
pub(crate) fn host_key_path(args: &Options) -> PathBuf {
    match &args.sftp_host_key {
        Some(p) => p.clone(),
        None => args.users.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join("ssh_host_ed25519_key"),
    }
}

/// Read the host key; without `--sftp-host-key`, make one on the first
/// start and say its fingerprint (what clients will show and ask about).
pub(crate) fn load_host_key(args: &Options) -> anyhow::Result<ferry_sftp_server::PrivateKey> {
    let path = host_key_path(args);
    let key = if args.sftp_host_key.is_some() {
        host_key::load(&path)?
    } else {
        let (key, created) = host_key::load_or_create(&path)?;
        if created {
            println!("ferryd: created an SSH host key in {}", path.display());
            println!("    SHA-256 fingerprint: {}", host_key::fingerprint(key.public_key()));
        }
        key
    };
    tracing::info!("SFTP host key {} SHA-256 fingerprint {}", key.algorithm(), host_key::fingerprint(key.public_key()));
    Ok(key)
}

/// The SFTP settings: FTP's deadlines, delay, login limit and session cap
/// (from the FTP server's `config`, so that the two never differ).
pub(crate) fn settings(args: &Options, config: &ferry_server::Config) -> anyhow::Result<SftpSettings> {
    let key = load_host_key(args).context("loading the SFTP host key")?;
    Ok(SftpSettings {
        host_keys: vec![key],
        timeouts: Timeouts { login: config.login_timeout, idle: config.idle_timeout, data: config.data_timeout },
        failure_delay: config.failure_delay,
        max_login_failures: config.max_login_failures,
        max_sessions: config.max_sessions,
        disk: if args.s3_bucket.is_some() { None } else { Some(config.root.clone()) },
        shutdown_grace: config.shutdown_grace,
    })
}
