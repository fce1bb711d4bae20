//! Every setting of `ferryd`, written once.
//!
//! [`Options`] is the one definition. Each field is a command-line flag
//! (clap reads the field's doc comment as its help text and its
//! `default_value` as its default) and a key of the `--config` TOML file
//! (serde, the same name in kebab-case, unknown keys refused). From it
//! come:
//!
//! - the command line, `--help` and the man page (`ferryd man`);
//! - the config file, read by [`ferry_server::config_file`];
//! - what `ferryd check-config` prints back ([`settings::to_toml`]);
//! - `ferryd user`'s `--users` and `--postgres`;
//! - the flags table in README.md, which a test (`docs.rs`) renders from
//!   this definition, and `ferryd.example.toml`, which a test checks lists
//!   every key.
//!
//! How the command line, the file and the defaults are layered is in
//! [`settings`]; what values make sense is in [`validate`](super::validate).
//!
//! A flag that turns something off (`--no-tls`) is the key that turns it
//! on (`tls = true`): the field is the key, `ArgAction::SetFalse` makes the
//! flag.
//!
//! [`settings`]: super::settings
//! [`settings::to_toml`]: super::settings::to_toml

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{ArgAction, Args, FromArgMatches};
use ferry_server::auth::settings::{Bytes, parse_bytes};
use serde::{Deserialize, Serialize};

/// The settings of a `ferryd` server: flags, config keys, defaults.
#[derive(Args, Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
pub(crate) struct Options {
    /// Port to listen on.
    #[arg(short, long, default_value_t = 2121)]
    pub(crate) port: u16,
    /// Address to listen on; repeat for several, IPv4 or IPv6 (`--bind ::1
    /// --bind 127.0.0.1`).
    #[arg(short, long = "bind", value_name = "ADDR", default_value = "127.0.0.1")]
    pub(crate) bind: Vec<IpAddr>,
    /// Also serve implicit FTPS (TLS from the first byte) on this port.
    #[arg(long, value_name = "PORT")]
    pub(crate) ftps_port: Option<u16>,
    /// Also serve SFTP (over SSH) on this port, on the same accounts,
    /// homes, permissions and quotas.
    #[arg(long, value_name = "PORT")]
    pub(crate) sftp_port: Option<u16>,
    /// SSH host key for SFTP (OpenSSH format, no passphrase, mode 0600)
    /// [default: `ssh_host_ed25519_key` beside the users file, made on the
    /// first start].
    #[arg(long, value_name = "FILE")]
    pub(crate) sftp_host_key: Option<PathBuf>,
    /// Folder to serve; created if missing; every user is confined beneath
    /// it.
    #[arg(short, long, value_name = "DIR", default_value = "ftp-root")]
    pub(crate) root: PathBuf,
    /// Serve this S3 bucket instead of --root.
    ///
    /// Needs a build with `--features s3`; credentials come from
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` in the environment,
    /// never from the config file.
    #[arg(long, value_name = "BUCKET")]
    pub(crate) s3_bucket: Option<String>,
    /// Key prefix in the bucket under which the served tree lives.
    #[arg(long, value_name = "PREFIX", default_value = "", hide_default_value = true)]
    pub(crate) s3_prefix: String,
    /// Endpoint URL of an S3-compatible server, e.g.
    /// `http://127.0.0.1:9000` [default: AWS].
    #[arg(long, value_name = "URL")]
    pub(crate) s3_endpoint: Option<String>,
    /// S3 region [default: us-east-1, or `AWS_REGION` in the environment].
    // The default is computed, so the help says it in words.
    #[arg(long, value_name = "REGION", default_value_t = default_s3_region(), hide_default_value = true)]
    pub(crate) s3_region: String,
    /// Users file (`name:secret` lines); created with one random account if
    /// missing. Per-user settings are in the `.toml` file beside it
    /// (`users.toml`).
    #[arg(short, long, value_name = "FILE", default_value = "users.txt")]
    pub(crate) users: PathBuf,
    /// Keep accounts in PostgreSQL instead of the users file, e.g. "host=127.0.0.1
    /// user=ferry dbname=ferry".
    ///
    /// Needs a build with `--features postgres`. Given in the environment
    /// instead, it keeps the password out of the process list and the
    /// config file. `check-config` and the logs show the string without
    /// its password.
    #[arg(long, value_name = "CONNINFO", env = "FERRYD_POSTGRES", hide_env_values = true)]
    pub(crate) postgres: Option<String>,
    /// Ports for passive (`PASV`/`EPSV`) data connections, 1024 or above,
    /// e.g. 50000-50100 [default: any free port].
    ///
    /// A pool whose ports return as soon as each data connection is
    /// accepted; when all are taken a `PASV` waits up to 2 s, then gets
    /// `425` and a log line.
    #[arg(long, value_name = "A-B")]
    pub(crate) passive_ports: Option<String>,
    /// Address to announce in `227` replies, for servers behind NAT
    /// [default: the address the client reached].
    ///
    /// A host name is re-resolved every minute.
    #[arg(long, value_name = "IP|HOST")]
    pub(crate) passive_address: Option<String>,
    /// Close control connections idle this many seconds (`421`).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    pub(crate) idle_timeout: u64,
    /// Close connections not logged in after this many seconds (`421`).
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    pub(crate) login_timeout: u64,
    /// Sessions at once; more are refused with `421`.
    #[arg(long, value_name = "N", default_value_t = 1024)]
    pub(crate) max_sessions: usize,
    /// Sessions from one address at once; more get `421 Too many
    /// connections from your address (limit 64: max-sessions-per-ip).`
    #[arg(long, value_name = "N", default_value_t = ferry_server::auth::defender::DEFAULT_MAX_SESSIONS_PER_IP)]
    pub(crate) max_sessions_per_ip: u32,
    /// Milliseconds to wait before answering a failed login.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    pub(crate) failure_delay_ms: u64,
    /// Ban an address after this many failed logins (any user names) within
    /// --ban-window.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub(crate) ban_after: u32,
    /// Seconds over which failed logins are counted.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub(crate) ban_window: u64,
    /// Seconds a ban lasts.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub(crate) ban_time: u64,
    /// Server-wide upload limit in bytes per second, e.g. 50M.
    #[arg(long, value_name = "RATE", value_parser = parse_bytes)]
    #[serde(deserialize_with = "byte_count")]
    pub(crate) upload_rate: Option<u64>,
    /// Server-wide download limit in bytes per second, e.g. 100M.
    #[arg(long, value_name = "RATE", value_parser = parse_bytes)]
    #[serde(deserialize_with = "byte_count")]
    pub(crate) download_rate: Option<u64>,
    /// Turn FTPS off entirely (config key: `tls = false`).
    #[arg(long = "no-tls", action = ArgAction::SetFalse, conflicts_with_all = ["tls_cert", "require_tls", "ftps_port"])]
    pub(crate) tls: bool,
    /// TLS certificate chain (PEM) for FTPS [default: self-signed].
    ///
    /// With neither this nor --tls-key, a self-signed certificate is made
    /// beside the users file on first run, and its fingerprint printed for
    /// clients to pin.
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) that goes with --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Refuse `USER`/`PASS` (`534`) and transfers (`521`) in clear text.
    #[arg(long)]
    pub(crate) require_tls: bool,
    /// Let data connections start a new TLS session instead of resuming the
    /// control connection's (weaker; for clients that cannot resume, such as
    /// stock Python `ftplib`; config key: `tls-reuse = false`).
    #[arg(long = "no-tls-reuse", action = ArgAction::SetFalse)]
    pub(crate) tls_reuse: bool,
    /// Log level: error, warn, info, debug or trace, or target=level pairs
    /// (`info,ferry_server=debug`); `RUST_LOG` overrides.
    #[arg(long, value_name = "LEVEL", default_value = "info")]
    pub(crate) log_level: String,
    /// Log format: text or json (one JSON object per line, with the
    /// session's id, peer and user).
    ///
    /// Control characters from clients (in user names, paths) are escaped
    /// in both, and in the xferlog.
    #[arg(long, value_name = "FORMAT", default_value = "text")]
    pub(crate) log_format: String,
    /// Append a line per file transfer to this file, in the xferlog format
    /// of wu-ftpd, ProFTPD and vsftpd.
    #[arg(long, value_name = "FILE")]
    pub(crate) xferlog: Option<PathBuf>,
    /// On SIGTERM/SIGINT, let running transfers go on this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub(crate) shutdown_grace: u64,
    /// A load balancer that sends PROXY protocol (v1/v2) headers; repeat for
    /// several.
    ///
    /// Its connections' headers give the real client's address to limits,
    /// bans, logs and the passive-connection check.
    #[arg(long, value_name = "IP")]
    pub(crate) proxy_protocol_from: Vec<IpAddr>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g.
    /// 127.0.0.1:9121).
    #[arg(long, value_name = "ADDR")]
    pub(crate) metrics_listen: Option<SocketAddr>,
    /// Serve the admin API (/api/v1) and web admin (/) on ADDR (e.g.
    /// 127.0.0.1:9180): plain HTTP on a loopback address, HTTPS with the
    /// server's certificate anywhere else. Admins are kept in `admins.txt`
    /// beside the users file (or in PostgreSQL with --postgres).
    #[arg(long, value_name = "ADDR")]
    pub(crate) admin_listen: Option<SocketAddr>,
    /// Serve the admin listener over HTTPS on a loopback address too
    /// (elsewhere it always is).
    #[arg(long)]
    pub(crate) admin_https: bool,
    /// Folder where hook events wait until delivered (`dead/` inside keeps
    /// what could not be) [default: `hook-spool` beside the users file].
    #[arg(long, value_name = "DIR")]
    pub(crate) hook_spool: Option<PathBuf>,
    /// Give up delivering a hook event this long after it happened (it goes
    /// to the spool's `dead/` with a log line), e.g. 24h, 90m.
    #[arg(long, value_name = "DURATION", default_value = "24h")]
    pub(crate) hook_max_age: String,
    /// Event hooks: the config file's `[[hooks]]` tables (README, "Hooks").
    /// No flag: a hook has too many parts for one.
    #[arg(skip)]
    #[serde(skip_serializing)]
    pub(crate) hooks: Vec<ferry_hooks::HookConfig>,
}

/// The region when none is given: `AWS_REGION`, as the AWS tools read it,
/// or `us-east-1`. A default, so a config file's `s3-region` wins over it.
fn default_s3_region() -> String {
    std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".to_owned())
}

/// A byte count in the file: `"50M"` or a number, as in `users.toml`.
fn byte_count<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Bytes::deserialize(d).map(|b| Some(b.0))
}

impl Default for Options {
    /// The built-in defaults: what clap makes of no flags, with the
    /// environment left out. (The config file's reader fills the keys a
    /// file leaves out with these; only the keys it sets are used.)
    fn default() -> Options {
        let command = Options::augment_args(clap::Command::new("ferryd")).mut_args(|a| a.env(None));
        let matches = command.try_get_matches_from(["ferryd"]).expect("every option has a default or is optional");
        Options::from_arg_matches(&matches).expect("the defaults fit the definition")
    }
}

/// The options' arguments as clap defines them (ids, flags, help,
/// defaults), in the definition's order.
pub(crate) fn arguments() -> Vec<clap::Arg> {
    Options::augment_args(clap::Command::new("ferryd")).get_arguments().cloned().collect()
}

/// The config key of an argument: its id in kebab-case.
pub(crate) fn key_of(arg: &clap::Arg) -> String {
    arg.get_id().as_str().replace('_', "-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let d = Options::default();
        assert_eq!((d.port, d.root.to_str(), d.users.to_str()), (2121, Some("ftp-root"), Some("users.txt")));
        assert_eq!(d.bind, [IpAddr::from([127, 0, 0, 1])]);
        assert_eq!((d.idle_timeout, d.login_timeout, d.max_sessions, d.max_sessions_per_ip), (300, 60, 1024, 64));
        assert_eq!((d.failure_delay_ms, d.ban_after, d.ban_window, d.ban_time, d.shutdown_grace), (1000, 10, 600, 900, 30));
        assert!(d.tls && d.tls_reuse && !d.require_tls);
        assert_eq!((d.log_level.as_str(), d.log_format.as_str(), d.s3_prefix.as_str()), ("info", "text", ""));
        assert_eq!((d.postgres, d.upload_rate, d.ftps_port, d.metrics_listen, d.admin_listen), (None, None, None, None, None));
        assert_eq!((d.sftp_port, d.sftp_host_key), (None, None), "the embedded default is FTP only");
        assert!(d.proxy_protocol_from.is_empty());
    }

    /// A typo in a config file cannot leave a default in force unnoticed.
    #[test]
    fn unknown_keys_and_wrong_types_name_the_key_and_line() {
        use ferry_server::config_file::ConfigFile;
        let parse = |text: &str| ConfigFile::parse::<Options>(text, std::path::Path::new("f.toml")).map(|_| ());
        let msg = parse("port = 21\nidle-timout = 5\n").unwrap_err().to_string();
        assert!(msg.starts_with("f.toml: ") && msg.contains("unknown field `idle-timout`") && msg.contains("line 2"), "{msg}");
        let msg = parse("no-tls = true\n").unwrap_err().to_string();
        assert!(msg.contains("unknown field `no-tls`") && msg.contains("`tls`"), "the key is tls: {msg}");
        let msg = parse("\nport = \"x\"\n").unwrap_err().to_string();
        assert!(msg.contains("port") && msg.contains("line 2"), "{msg}");
        let msg = parse("upload-rate = \"5Q\"\n").unwrap_err().to_string();
        assert!(msg.contains("unknown unit in \"5Q\""), "{msg}");
        parse("upload-rate = 1024\ndownload-rate = \"1K\"\n").unwrap();
    }

    /// Every field is both a flag and a key, under the same name (but
    /// `hooks`, the `[[hooks]]` tables, which have no flag).
    #[test]
    fn every_key_is_a_flag() {
        let keys: Vec<String> = arguments().iter().map(key_of).collect();
        let table = toml::Table::try_from(Options {
            ftps_port: Some(990),
            sftp_port: Some(2222),
            sftp_host_key: Some("h".into()),
            s3_bucket: Some("b".into()),
            s3_endpoint: Some("e".into()),
            postgres: Some("p".into()),
            passive_ports: Some("50000-50001".into()),
            passive_address: Some("a".into()),
            upload_rate: Some(1),
            download_rate: Some(1),
            tls_cert: Some("c".into()),
            tls_key: Some("k".into()),
            xferlog: Some("x".into()),
            metrics_listen: Some("127.0.0.1:9121".parse().unwrap()),
            admin_listen: Some("127.0.0.1:9180".parse().unwrap()),
            hook_spool: Some("h".into()),
            ..Options::default()
        })
        .unwrap();
        let serde_keys: Vec<&String> = table.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(sorted.iter().collect::<Vec<_>>(), serde_keys);
        // And what is written is read back the same.
        let back: Options = table.clone().try_into().unwrap();
        assert_eq!(toml::Table::try_from(back).unwrap(), table);
    }
}
