//! One account as an administrator sees it: a [`UserRecord`], everything
//! about the account except its secret, in one shape for every store.
//!
//! A record is what the admin API sends and receives, so it is checked
//! here, once, with a [`FieldError`] per field that says what to write
//! instead ([`UserRecord::validate`]); the stores then keep only checked,
//! canonical values (ranges in their canonical text, each permission
//! once).
//!
//! Two kinds of field, because `users.toml` has `[defaults]`:
//!
//! - the optional ones (`home`, `permissions`, quotas, rates, `expires`):
//!   `None` is "not set for this user", and the `[defaults]` value
//!   applies;
//! - `enabled`, `read_only` and `allowed_networks`: the value in force for
//!   the user (their own, else the defaults', else enabled, writable,
//!   from anywhere). In users.toml each is written only where it differs
//!   from what the defaults give, so a record equal to the defaults leaves
//!   no table behind; in a database row, where no defaults are known,
//!   each is written out.

use serde::{Deserialize, Serialize};

use super::date::Date;
use super::network::Network;
use super::settings::{Bytes, Permission, UserSettings};
use super::store::{NAME_RULE, valid_name};

/// One account, without its secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserRecord {
    /// The user name (see [`valid_name`]).
    pub name: String,
    /// False: `disabled = true` in users.toml; the account may not log in.
    pub enabled: bool,
    /// Home folder below the root; `None`: the `[defaults]`, or the root.
    pub home: Option<String>,
    /// What the user may do; `None`: the defaults.
    pub permissions: Option<Vec<Permission>>,
    /// List and read only, whatever `permissions` say.
    pub read_only: bool,
    /// Bytes the home may hold.
    pub quota_bytes: Option<u64>,
    /// Files the home may hold.
    pub quota_files: Option<u64>,
    /// Upload cap, bytes per second.
    pub upload_rate: Option<u64>,
    /// Download cap, bytes per second.
    pub download_rate: Option<u64>,
    /// CIDR ranges logins may come from (`"10.0.0.0/8"`, `"2001:db8::/32"`;
    /// a bare address is that address); empty: anywhere.
    pub allowed_networks: Vec<String>,
    /// `"YYYY-MM-DD"` (UTC): the last day the account may log in.
    pub expires: Option<String>,
}

/// One field of a record that cannot be used, and what to write instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The field's name, as in [`UserRecord`] (`"home"`), or `"password"`.
    pub field: &'static str,
    /// What is wrong and what would do.
    pub message: String,
}

impl FieldError {
    /// `field` is wrong: `message`.
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field, message: message.into() }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// What the non-optional fields of a record are compared with when it
/// becomes settings (see the module doc).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Baseline<'a> {
    /// A users.toml `[users.NAME]` table: write only what differs from
    /// these `[defaults]`.
    Defaults(&'a UserSettings),
    /// A database row: write every one.
    Explicit,
}

/// The biggest number a store can hold (TOML integers are signed 64-bit).
const MAX: u64 = i64::MAX as u64;

impl UserRecord {
    /// An enabled account named `name`, with the defaults for everything.
    pub fn new(name: impl Into<String>) -> UserRecord {
        UserRecord {
            name: name.into(),
            enabled: true,
            home: None,
            permissions: None,
            read_only: false,
            quota_bytes: None,
            quota_files: None,
            upload_rate: None,
            download_rate: None,
            allowed_networks: Vec::new(),
            expires: None,
        }
    }

    /// Every field that cannot be used, each with what to write instead.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        self.to_settings(Baseline::Explicit).map(drop)
    }

    /// The record as the stores keep it: checked, with each range in its
    /// canonical text (`2001:DB8::/32` → `2001:db8::/32`, `192.0.2.7` →
    /// `192.0.2.7/32`, duplicates dropped) and each permission once.
    pub fn canonical(&self) -> Result<UserRecord, Vec<FieldError>> {
        let settings = self.to_settings(Baseline::Explicit)?;
        Ok(UserRecord::from_settings(&self.name, Some(&settings), &UserSettings::default()))
    }

    /// The record of user `name` whose own settings are `own` (none: the
    /// defaults for everything), under `defaults`.
    pub fn from_settings(name: &str, own: Option<&UserSettings>, defaults: &UserSettings) -> UserRecord {
        let none = UserSettings::default();
        let u = own.unwrap_or(&none);
        let bytes = |b: Option<Bytes>| b.map(|b| b.0);
        UserRecord {
            name: name.to_owned(),
            enabled: !u.disabled.or(defaults.disabled).unwrap_or(false),
            home: u.home.clone(),
            permissions: u.permissions.clone(),
            read_only: u.read_only.or(defaults.read_only).unwrap_or(false),
            quota_bytes: bytes(u.quota_bytes),
            quota_files: u.quota_files,
            upload_rate: bytes(u.upload_rate),
            download_rate: bytes(u.download_rate),
            allowed_networks: u
                .allowed_networks
                .as_ref()
                .or(defaults.allowed_networks.as_ref())
                .map(|list| list.iter().map(Network::to_string).collect())
                .unwrap_or_default(),
            expires: u.expires.map(|d| d.to_string()),
        }
    }

    /// The settings that say this record, checked: every field in error is
    /// reported, not only the first.
    pub(crate) fn to_settings(&self, baseline: Baseline<'_>) -> Result<UserSettings, Vec<FieldError>> {
        let mut errors = Vec::new();
        if !valid_name(&self.name) {
            errors.push(FieldError::new("name", format!("{:?} cannot be a user name: {NAME_RULE}", self.name)));
        }
        if let Some(home) = &self.home
            && let Err(message) = check_home(home)
        {
            errors.push(FieldError::new("home", message));
        }
        let mut networks: Vec<Network> = Vec::new();
        for text in &self.allowed_networks {
            match Network::parse(text) {
                Ok(n) if !networks.contains(&n) => networks.push(n),
                Ok(_) => {}
                Err(message) => errors.push(FieldError::new("allowed_networks", message)),
            }
        }
        let expires = self
            .expires
            .as_deref()
            .and_then(|text| Date::parse(text).map_err(|message| errors.push(FieldError::new("expires", message))).ok());
        let mut count = |field: &'static str, value: Option<u64>, unset: &str| {
            match value {
                Some(0) => errors.push(FieldError::new(field, format!("0 is not allowed: {unset}"))),
                Some(n) if n > MAX => errors.push(FieldError::new(field, format!("{n} is too large: at most {MAX}"))),
                _ => {}
            }
            value
        };
        let quota_bytes = count("quota_bytes", self.quota_bytes, "leave it unset for no quota, or give the bytes the home may hold");
        let quota_files = count("quota_files", self.quota_files, "leave it unset for no limit, or give how many files the home may hold");
        let upload_rate = count("upload_rate", self.upload_rate, "leave it unset for no cap, or give bytes per second");
        let download_rate = count("download_rate", self.download_rate, "leave it unset for no cap, or give bytes per second");
        if !errors.is_empty() {
            return Err(errors);
        }
        // Each permission once, in the usual order.
        let permissions = self.permissions.as_ref().map(|list| Permission::ALL.into_iter().filter(|p| list.contains(p)).collect());
        let (disabled, read_only, allowed_networks) = match baseline {
            Baseline::Explicit => (Some(!self.enabled), Some(self.read_only), Some(networks)),
            Baseline::Defaults(d) => {
                let differs = |mine: bool, theirs: Option<bool>| (mine != theirs.unwrap_or(false)).then_some(mine);
                let theirs = d.allowed_networks.as_deref().unwrap_or_default();
                (differs(!self.enabled, d.disabled), differs(self.read_only, d.read_only), (networks != theirs).then_some(networks))
            }
        };
        Ok(UserSettings {
            home: self.home.clone(),
            permissions,
            read_only,
            quota_bytes: quota_bytes.map(Bytes),
            quota_files,
            upload_rate: upload_rate.map(Bytes),
            download_rate: download_rate.map(Bytes),
            disabled,
            allowed_networks,
            expires,
            // Not a field of the record: the stores keep a user's keys
            // through an update.
            authorized_keys: None,
        })
    }
}

/// A home the admin API accepts: a folder below the root, in plain text.
fn check_home(home: &str) -> Result<(), String> {
    if home.is_empty() {
        return Err("an empty home is not a folder: leave home unset for the default, or write one such as \"alice\"".into());
    }
    if home.chars().any(char::is_control) {
        return Err(format!("{home:?} holds control characters (tabs, line breaks, NUL): write a plain folder name such as \"alice\""));
    }
    if home.split('/').any(|c| c == "..") {
        return Err(format!("{home:?} would leave the root: write a folder below it without \"..\", such as \"alice\" or \"teams/alice\""));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(r: &UserRecord) -> Vec<(&'static str, String)> {
        r.validate().err().unwrap_or_default().into_iter().map(|e| (e.field, e.message)).collect()
    }

    #[test]
    fn a_new_record_is_valid_and_has_the_defaults() {
        let r = UserRecord::new("alice");
        assert_eq!(r.validate(), Ok(()));
        assert!(r.enabled && !r.read_only && r.home.is_none() && r.allowed_networks.is_empty() && r.expires.is_none());
        let s = r.to_settings(Baseline::Defaults(&UserSettings::default())).unwrap();
        assert_eq!(s, UserSettings::default(), "no clutter: nothing differs from the defaults");
    }

    #[test]
    fn each_field_says_what_to_write_instead() {
        let bad = |edit: fn(&mut UserRecord)| {
            let mut r = UserRecord::new("alice");
            edit(&mut r);
            errors(&r)
        };
        assert_eq!(bad(|r| r.name = "two words".into()), [("name", format!("\"two words\" cannot be a user name: {NAME_RULE}"))]);
        assert_eq!(
            bad(|r| r.home = Some("a/../../etc".into())),
            [(
                "home",
                "\"a/../../etc\" would leave the root: write a folder below it without \"..\", such as \"alice\" or \"teams/alice\"".into()
            )]
        );
        assert_eq!(
            bad(|r| r.home = Some("a\nb".into())),
            [("home", "\"a\\nb\" holds control characters (tabs, line breaks, NUL): write a plain folder name such as \"alice\"".into())]
        );
        assert!(bad(|r| r.home = Some("x\0".into()))[0].1.contains("control characters"));
        assert!(bad(|r| r.home = Some(String::new()))[0].1.contains("leave home unset"));
        assert_eq!(
            bad(|r| r.allowed_networks = vec!["10.0.0.0/8".into(), "10.0.0.1/8".into()]),
            [(
                "allowed_networks",
                "\"10.0.0.1/8\" has bits set past its first 8: write 10.0.0.0/8 for the range, or 10.0.0.1/32 for the one address".into()
            )]
        );
        assert_eq!(
            bad(|r| r.expires = Some("2026-02-29".into())),
            [("expires", "\"2026-02-29\" is not a day: February 2026 has 28 days".into())]
        );
        assert_eq!(
            bad(|r| r.quota_bytes = Some(0)),
            [("quota_bytes", "0 is not allowed: leave it unset for no quota, or give the bytes the home may hold".into())]
        );
        assert_eq!(bad(|r| r.quota_files = Some(0))[0].0, "quota_files");
        assert_eq!(
            bad(|r| r.upload_rate = Some(0)),
            [("upload_rate", "0 is not allowed: leave it unset for no cap, or give bytes per second".into())]
        );
        assert_eq!(bad(|r| r.download_rate = Some(u64::MAX)), [("download_rate", format!("{} is too large: at most {MAX}", u64::MAX))]);
        // Every wrong field at once, in field order.
        let mut r = UserRecord::new("");
        r.home = Some("..".into());
        r.expires = Some("tomorrow".into());
        r.quota_files = Some(0);
        assert_eq!(errors(&r).iter().map(|e| e.0).collect::<Vec<_>>(), ["name", "home", "expires", "quota_files"]);
    }

    #[test]
    fn canonical_text_and_round_trip() {
        let mut r = UserRecord::new("bob");
        r.allowed_networks = vec!["2001:DB8::/32".into(), "192.0.2.7".into(), "2001:db8::/32".into()];
        r.permissions = Some(vec![Permission::Write, Permission::List, Permission::Write]);
        r.expires = Some("2026-12-31".into());
        r.quota_bytes = Some(2 << 30);
        let c = r.canonical().unwrap();
        assert_eq!(c.allowed_networks, ["2001:db8::/32", "192.0.2.7/32"]);
        assert_eq!(c.permissions, Some(vec![Permission::List, Permission::Write]));
        assert_eq!((c.expires.as_deref(), c.quota_bytes), (Some("2026-12-31"), Some(2 << 30)));
        assert_eq!(c.canonical().unwrap(), c, "canonical text is a fixed point");
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(
            json,
            r#"{"name":"bob","enabled":true,"home":null,"permissions":["list","write"],"read_only":false,"quota_bytes":2147483648,"quota_files":null,"upload_rate":null,"download_rate":null,"allowed_networks":["2001:db8::/32","192.0.2.7/32"],"expires":"2026-12-31"}"#
        );
        assert_eq!(serde_json::from_str::<UserRecord>(&json).unwrap(), c);
    }

    #[test]
    fn against_defaults_only_differences_are_written() {
        let defaults = UserSettings {
            read_only: Some(true),
            allowed_networks: Some(vec![Network::parse("10.0.0.0/8").unwrap()]),
            ..UserSettings::default()
        };
        // Read back under those defaults, a user without a table has them.
        let r = UserRecord::from_settings("carol", None, &defaults);
        assert!(r.read_only && r.enabled);
        assert_eq!(r.allowed_networks, ["10.0.0.0/8"]);
        assert_eq!(r.to_settings(Baseline::Defaults(&defaults)).unwrap(), UserSettings::default());
        // Writable from anywhere differs from them, so it is written.
        let mut open = r.clone();
        open.read_only = false;
        open.allowed_networks.clear();
        open.enabled = false;
        let s = open.to_settings(Baseline::Defaults(&defaults)).unwrap();
        assert_eq!((s.read_only, s.allowed_networks.as_deref(), s.disabled), (Some(false), Some(&[][..]), Some(true)));
        assert_eq!(UserRecord::from_settings("carol", Some(&s), &defaults), open);
        // A database row says everything.
        let s = UserRecord::new("dan").to_settings(Baseline::Explicit).unwrap();
        assert_eq!((s.read_only, s.disabled, s.allowed_networks), (Some(false), Some(false), Some(vec![])));
    }
}
