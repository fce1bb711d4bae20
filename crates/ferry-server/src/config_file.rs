//! `ferryd --config ferryd.toml`: every command-line flag as a key. The
//! command line wins over the file, the file over the defaults. Unknown
//! keys are errors that name the key and its line, so a typo cannot
//! silently leave a default in force.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::auth::settings::Bytes;

/// The config file as written; every key optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
#[allow(missing_docs)] // each key is the flag of the same name; see `ferryd --help`
pub struct ConfigFile {
    pub port: Option<u16>,
    pub bind: Option<Vec<IpAddr>>,
    pub root: Option<PathBuf>,
    pub s3_bucket: Option<String>,
    pub s3_prefix: Option<String>,
    pub s3_endpoint: Option<String>,
    pub s3_region: Option<String>,
    pub postgres: Option<String>,
    pub users: Option<PathBuf>,
    pub passive_ports: Option<String>,
    pub passive_address: Option<String>,
    pub idle_timeout: Option<u64>,
    pub login_timeout: Option<u64>,
    pub max_sessions: Option<usize>,
    pub max_sessions_per_ip: Option<u32>,
    pub failure_delay_ms: Option<u64>,
    pub ban_after: Option<u32>,
    pub ban_window: Option<u64>,
    pub ban_time: Option<u64>,
    pub upload_rate: Option<Bytes>,
    pub download_rate: Option<Bytes>,
    pub tls: Option<bool>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub require_tls: Option<bool>,
    pub tls_reuse: Option<bool>,
    pub ftps_port: Option<u16>,
    pub log_level: Option<String>,
    pub log_format: Option<String>,
    pub xferlog: Option<PathBuf>,
    pub shutdown_grace: Option<u64>,
    pub proxy_protocol_from: Option<Vec<IpAddr>>,
    pub metrics_listen: Option<std::net::SocketAddr>,
}

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct ConfigError {
    /// Which file.
    pub path: String,
    /// What is wrong (for TOML errors: line, column and key).
    pub message: String,
}

impl ConfigFile {
    /// Parse TOML text.
    pub fn parse(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError { path: path.display().to_string(), message: e.to_string().trim_end().to_owned() })
    }

    /// Read and parse a file.
    pub fn load(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError { path: path.display().to_string(), message: e.to_string() })?;
        Self::parse(&text, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../ferryd.example.toml");
        let c = ConfigFile::parse(text, Path::new("ferryd.example.toml")).unwrap();
        assert_eq!(c.port, Some(2121));
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let e = ConfigFile::parse("port = 21\nidle-timout = 5\n", Path::new("f.toml")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("idle-timout") && msg.contains("line 2"), "{msg}");
        let e = ConfigFile::parse("port = \"x\"\n", Path::new("f.toml")).unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
    }
}
