//! Reading a TOML config file against the type that defines its keys
//! (for `ferryd --config ferryd.toml`, the options of
//! `src/bin/ferryd/options.rs`).
//!
//! The file is checked by deserializing it into that type, so unknown
//! keys (with `#[serde(deny_unknown_fields)]`) and values of the wrong
//! type are errors that name the key and its line: a typo cannot silently
//! leave a default in force. What is kept is the set of keys the file
//! *sets*, so that the caller can layer them between the command line and
//! the defaults.

use std::path::Path;

use serde::de::DeserializeOwned;

/// A config file that was read and checked: the keys it sets.
#[derive(Debug, Clone, Default)]
pub struct ConfigFile {
    keys: toml::Table,
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
    /// Parse TOML text, checked against `T` (a struct whose fields are the
    /// keys; it must accept a file that leaves keys out, e.g. with
    /// `#[serde(default)]`).
    pub fn parse<T: DeserializeOwned>(text: &str, path: &Path) -> Result<ConfigFile, ConfigError> {
        let error = |e: toml::de::Error| ConfigError { path: path.display().to_string(), message: e.to_string().trim_end().to_owned() };
        toml::from_str::<T>(text).map_err(error)?;
        Ok(ConfigFile { keys: toml::from_str(text).map_err(error)? })
    }

    /// Read and parse a file, checked against `T`.
    pub fn load<T: DeserializeOwned>(path: &Path) -> Result<ConfigFile, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError { path: path.display().to_string(), message: e.to_string() })?;
        Self::parse::<T>(&text, path)
    }

    /// The keys the file sets, with their values as written.
    pub fn keys(&self) -> &toml::Table {
        &self.keys
    }

    /// The keys the file sets, to move into another table.
    pub fn into_keys(self) -> toml::Table {
        self.keys
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    /// Two keys of ferryd's, enough to show the errors.
    #[derive(Debug, Default, Deserialize)]
    #[serde(deny_unknown_fields, rename_all = "kebab-case", default)]
    struct Keys {
        port: Option<u16>,
        idle_timeout: Option<u64>,
    }

    #[test]
    fn the_keys_set_are_kept() {
        let c = ConfigFile::parse::<Keys>("port = 2121\n", Path::new("f.toml")).unwrap();
        assert_eq!(c.keys().get("port").and_then(|v| v.as_integer()), Some(2121));
        assert_eq!(c.keys().len(), 1, "idle-timeout is not set");
    }

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let e = ConfigFile::parse::<Keys>("port = 21\nidle-timout = 5\n", Path::new("f.toml")).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("idle-timout") && msg.contains("line 2"), "{msg}");
        let e = ConfigFile::parse::<Keys>("port = \"x\"\n", Path::new("f.toml")).unwrap_err();
        assert!(e.to_string().contains("port"), "{e}");
    }
}
