//! Per-user settings, kept beside the users file in TOML (`users.toml`
//! next to `users.txt`): home folder, permissions, quotas, bandwidth, and
//! optional anonymous read-only access.
//!
//! ```toml
//! [defaults]                  # for every user without their own value
//! permissions = ["list", "read", "write", "delete", "rename", "mkdir"]
//!
//! [users.alice]
//! home = "alice"              # below the server root; created if missing
//! quota_bytes = "2G"          # 552 beyond it; the upload leaves nothing
//! quota_files = 10000
//! upload_rate = "1M"          # bytes per second
//! download_rate = "4M"
//!
//! [users.viewer]
//! read_only = true            # list and read only
//!
//! [users.mallory]
//! disabled = true             # cannot log in; open sessions end on reload
//!
//! [users.contractor]
//! allowed_networks = ["10.0.0.0/8", "2001:db8::/32"]  # CIDR; a bare address is one address
//! expires = "2026-12-31"      # the last day (UTC) the account may log in
//!
//! [users.partner]
//! authorized_keys = [         # SFTP logins by key, as in a .pub file
//!   "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl partner@laptop",
//! ]
//!
//! [anonymous]                 # off unless enabled
//! enabled = true
//! home = "pub"
//! ```

use std::collections::HashMap;
use std::path::Path;

use ferry_proto::VirtualPath;
use serde::{Deserialize, Serialize};

use super::date::Date;
use super::network::{self, Network};

/// One permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Permission {
    /// LIST, NLST, MLSD, MLST, STAT, SIZE, MDTM, CWD.
    List,
    /// RETR and checksums.
    Read,
    /// STOR, APPE, STOU, MFMT, SITE CHMOD.
    Write,
    /// DELE, RMD.
    Delete,
    /// RNFR/RNTO.
    Rename,
    /// MKD.
    Mkdir,
}

impl Permission {
    /// Every permission.
    pub const ALL: [Permission; 6] =
        [Permission::List, Permission::Read, Permission::Write, Permission::Delete, Permission::Rename, Permission::Mkdir];

    fn bit(self) -> u8 {
        1 << self as u8
    }

    /// Lower-case name, as in the settings file.
    pub fn name(self) -> &'static str {
        match self {
            Permission::List => "list",
            Permission::Read => "read",
            Permission::Write => "write",
            Permission::Delete => "delete",
            Permission::Rename => "rename",
            Permission::Mkdir => "mkdir",
        }
    }
}

/// A byte count written as a number or with a unit: `1048576`, `"512K"`,
/// `"2G"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bytes(pub u64);

/// Written as the plain number (the admin API's JSON, the database).
impl Serialize for Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Bytes, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(Bytes(n)),
            Raw::S(s) => parse_bytes(&s).map(Bytes).map_err(serde::de::Error::custom),
        }
    }
}

/// Parse `512`, `64K`, `10M`, `2G`, `1T` (powers of 1024).
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let (num, mult) = match s.chars().last() {
        Some(c) if c.is_ascii_alphabetic() => {
            let m: u64 = match c.to_ascii_uppercase() {
                'K' => 1 << 10,
                'M' => 1 << 20,
                'G' => 1 << 30,
                'T' => 1 << 40,
                _ => return Err(format!("unknown unit in {s:?}: use K, M, G or T")),
            };
            (&s[..s.len() - 1], m)
        }
        _ => (s, 1),
    };
    let n: u64 = num.trim().parse().map_err(|_| format!("not a byte count: {s:?}"))?;
    n.checked_mul(mult).ok_or_else(|| format!("too large: {s:?}"))
}

/// Settings for one user as written (every field optional: a missing one
/// takes the `[defaults]` value). Also the JSON of a database row's
/// `settings` column (see `postgres`), where missing fields are left out.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserSettings {
    /// Home folder below the root.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    /// Allowed operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub permissions: Option<Vec<Permission>>,
    /// Shorthand for `permissions = ["list", "read"]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
    /// Bytes the home folder may hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_bytes: Option<Bytes>,
    /// Files the home folder may hold.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_files: Option<u64>,
    /// Upload speed cap, bytes per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upload_rate: Option<Bytes>,
    /// Download speed cap, bytes per second.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_rate: Option<Bytes>,
    /// The account exists but may not log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Where logins may come from (empty: anywhere). Checked after the
    /// password, so a refusal tells a guesser nothing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_networks: Option<Vec<Network>>,
    /// The last day (UTC) the account may log in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires: Option<Date>,
    /// Public keys that log this user in over SFTP, one OpenSSH
    /// `authorized_keys` line each (`ssh-ed25519 AAAA… comment`). Only a
    /// user's own: a key in `[defaults]` would open every account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorized_keys: Option<Vec<String>>,
}

/// Key types an `authorized_keys` line may start with (OpenSSH's names).
const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ssh-rsa",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com",
    "sk-ecdsa-sha2-nistp256@openssh.com",
];

/// The base64 key of an `authorized_keys` line (`type key [comment]`), or
/// what is wrong with it.
pub fn authorized_key_blob(line: &str) -> Result<&str, String> {
    let mut parts = line.split_whitespace();
    let (Some(kind), Some(blob)) = (parts.next(), parts.next()) else {
        return Err(format!("{line:?} is not a public key line: write it as in a .pub file, \"ssh-ed25519 AAAA… comment\""));
    };
    if !KEY_TYPES.contains(&kind) {
        return Err(format!(
            "{kind:?} is not a key type Ferry accepts (one of {}); key options such as from= are not supported",
            KEY_TYPES.join(", ")
        ));
    }
    let base64 = |c: char| c.is_ascii_alphanumeric() || "+/=".contains(c);
    if blob.len() < 16 || !blob.chars().all(base64) {
        return Err(format!("the key after {kind:?} is not base64: copy the whole line of the .pub file"));
    }
    Ok(blob)
}

impl UserSettings {
    /// What deserializing cannot check: the home stays below the root.
    /// (Ranges and dates are checked as they are read.) The text says what
    /// is wrong, without naming the file.
    pub fn check(&self) -> Result<(), String> {
        for key in self.authorized_keys.iter().flatten() {
            authorized_key_blob(key).map_err(|e| format!("authorized_keys: {e}"))?;
        }
        match &self.home {
            Some(h) => home_path(h).map(drop),
            None => Ok(()),
        }
    }

    /// Whether `blob` (a public key, base64 as in a `.pub` file) is one
    /// of the user's `authorized_keys`.
    pub fn authorizes_key(&self, blob: &str) -> bool {
        self.authorized_keys.iter().flatten().any(|line| authorized_key_blob(line) == Ok(blob))
    }
}

/// The `[anonymous]` table.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnonymousSettings {
    /// Allow `anonymous`/`ftp` logins (read-only).
    #[serde(default)]
    pub enabled: bool,
    /// Their home folder.
    pub home: Option<String>,
    /// Download speed cap.
    pub download_rate: Option<Bytes>,
}

/// The whole settings file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsFile {
    /// Values for users that do not set their own.
    #[serde(default)]
    pub defaults: UserSettings,
    /// Per-user values.
    #[serde(default)]
    pub users: HashMap<String, UserSettings>,
    /// Anonymous access.
    #[serde(default)]
    pub anonymous: AnonymousSettings,
}

/// A problem with the settings file.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct SettingsError {
    /// Which file.
    pub path: String,
    /// What is wrong (TOML errors name the line and key).
    pub message: String,
}

/// What one logged-in user may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// Home folder; the user's `/`.
    pub home: VirtualPath,
    pub(crate) perms: u8,
    /// Bytes the home may hold.
    pub quota_bytes: Option<u64>,
    /// Files the home may hold.
    pub quota_files: Option<u64>,
    /// Upload cap, bytes per second.
    pub upload_rate: Option<u64>,
    /// Download cap, bytes per second.
    pub download_rate: Option<u64>,
    /// Where logins may come from; empty: anywhere.
    pub allowed_networks: Vec<Network>,
    /// The last day (UTC) logins are allowed.
    pub expires: Option<Date>,
}

impl Default for Policy {
    /// Everything allowed, at the root, no limits.
    fn default() -> Self {
        Policy {
            home: VirtualPath::root(),
            perms: Permission::ALL.iter().fold(0, |a, p| a | p.bit()),
            quota_bytes: None,
            quota_files: None,
            upload_rate: None,
            download_rate: None,
            allowed_networks: Vec::new(),
            expires: None,
        }
    }
}

impl Policy {
    /// True if `p` is allowed.
    pub fn allows(&self, p: Permission) -> bool {
        self.perms & p.bit() != 0
    }

    /// The same policy, allowing exactly `permissions`.
    pub fn with_permissions(self, permissions: &[Permission]) -> Policy {
        Policy { perms: permissions.iter().fold(0, |a, p| a | p.bit()), ..self }
    }

    /// Read-only access at `home`.
    pub fn read_only(home: VirtualPath, download_rate: Option<u64>) -> Policy {
        Policy { home, perms: Permission::List.bit() | Permission::Read.bit(), download_rate, ..Policy::default() }
    }

    /// True if a login from `peer` is allowed (`None`: an address not
    /// known, which only an unrestricted account admits).
    pub fn admits(&self, peer: Option<std::net::IpAddr>) -> bool {
        network::admits(&self.allowed_networks, peer)
    }

    /// True if the account's last day is before `today`. The caller says
    /// what day it is (the clock stays out of the rule, so tests can say).
    pub fn expired_on(&self, today: Date) -> bool {
        self.expires.is_some_and(|last| last < today)
    }
}

fn home_path(h: &str) -> Result<VirtualPath, String> {
    if h.split('/').any(|c| c == "..") || h.contains('\0') {
        return Err(format!("home {h:?} must stay below the root (no ..)"));
    }
    Ok(VirtualPath::root().resolve(h).expect("checked for NUL"))
}

impl SettingsFile {
    /// Parse TOML text; `path` is for messages.
    pub fn parse(text: &str, path: &Path) -> Result<SettingsFile, SettingsError> {
        let shown = path.display().to_string();
        let file: SettingsFile = toml::from_str(text).map_err(|e| SettingsError { path: shown.clone(), message: e.to_string() })?;
        // Validate homes now, not at login. (Ranges and dates were checked
        // while reading, with the line.)
        let bad = |message| SettingsError { path: shown.clone(), message };
        for s in file.users.values().chain([&file.defaults]) {
            s.check().map_err(bad)?;
        }
        if file.defaults.authorized_keys.is_some() {
            return Err(bad("authorized_keys in [defaults] would let one key into every account: give each user their own".into()));
        }
        if let Some(h) = &file.anonymous.home {
            home_path(h).map_err(bad)?;
        }
        Ok(file)
    }

    /// Read the file if it exists; no file means defaults for everyone.
    pub fn load_optional(path: &Path) -> Result<SettingsFile, SettingsError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SettingsFile::default()),
            Err(e) => Err(SettingsError { path: path.display().to_string(), message: e.to_string() }),
        }
    }

    /// The effective policy for `user`.
    pub fn policy(&self, user: &str) -> Policy {
        self.policy_of(self.users.get(user))
    }

    /// The effective policy of a user whose own settings are `own` (their
    /// `[users.NAME]` table, or a database row's), over the `[defaults]`.
    /// `own` must have passed [`UserSettings::check`] (every source of
    /// settings checks them as it reads them).
    pub fn policy_of(&self, own: Option<&UserSettings>) -> Policy {
        let u = own.cloned().unwrap_or_default();
        let d = &self.defaults;
        let home = u.home.as_deref().or(d.home.as_deref()).map(|h| home_path(h).expect("checked")).unwrap_or_else(VirtualPath::root);
        let read_only = u.read_only.or(d.read_only).unwrap_or(false);
        let perms = if read_only {
            Permission::List.bit() | Permission::Read.bit()
        } else {
            match u.permissions.as_ref().or(d.permissions.as_ref()) {
                Some(list) => list.iter().fold(0, |a, p| a | p.bit()),
                None => Policy::default().perms,
            }
        };
        Policy {
            home,
            perms,
            quota_bytes: u.quota_bytes.or(d.quota_bytes).map(|b| b.0),
            quota_files: u.quota_files.or(d.quota_files),
            upload_rate: u.upload_rate.or(d.upload_rate).map(|b| b.0),
            download_rate: u.download_rate.or(d.download_rate).map(|b| b.0),
            allowed_networks: u.allowed_networks.or_else(|| d.allowed_networks.clone()).unwrap_or_default(),
            expires: u.expires.or(d.expires),
        }
    }

    /// True if `user`'s account is disabled.
    pub fn disabled(&self, user: &str) -> bool {
        self.disabled_of(self.users.get(user))
    }

    /// True if a user whose own settings are `own` is disabled.
    pub fn disabled_of(&self, own: Option<&UserSettings>) -> bool {
        own.and_then(|u| u.disabled).or(self.defaults.disabled).unwrap_or(false)
    }

    /// The anonymous policy, when anonymous access is on.
    pub fn anonymous_policy(&self) -> Option<Policy> {
        let a = &self.anonymous;
        a.enabled.then(|| {
            let home = a.home.as_deref().map(|h| home_path(h).expect("validated")).unwrap_or_else(VirtualPath::root);
            Policy::read_only(home, a.download_rate.map(|b| b.0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl me@host";

    #[test]
    fn authorized_keys_are_checked_and_matched_by_their_key() {
        let text = format!("[users.p]\nauthorized_keys = [{KEY:?}, \"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ\"]\n");
        let file = SettingsFile::parse(&text, Path::new("users.toml")).unwrap();
        let p = &file.users["p"];
        assert!(p.authorizes_key("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"));
        assert!(!p.authorizes_key("AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJm"));
        for (bad, says) in [
            ("from=\\\"10.0.0.1\\\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnk", "options such as from= are not supported"),
            ("ssh-ed25519", "is not a public key line"),
            ("ssh-ed25519 not*base64*at*all*here", "is not base64"),
        ] {
            let text = format!("[users.p]\nauthorized_keys = [\"{bad}\"]\n");
            let e = SettingsFile::parse(&text, Path::new("users.toml")).unwrap_err();
            assert!(e.to_string().contains(says), "{bad}: {e}");
        }
        let e = SettingsFile::parse(&format!("[defaults]\nauthorized_keys = [{KEY:?}]\n"), Path::new("u.toml")).unwrap_err();
        assert!(e.to_string().contains("every account"), "{e}");
    }

    const SAMPLE: &str = r#"
[defaults]
permissions = ["list", "read", "write"]
download_rate = "8M"

[users.alice]
home = "alice"
quota_bytes = "2K"
quota_files = 3
permissions = ["list", "read", "write", "delete", "rename", "mkdir"]

[users.viewer]
read_only = true

[anonymous]
enabled = true
home = "pub"
"#;

    #[test]
    fn policies_combine_user_and_defaults() {
        let f = SettingsFile::parse(SAMPLE, Path::new("users.toml")).unwrap();
        let a = f.policy("alice");
        assert_eq!(a.home.as_str(), "/alice");
        assert_eq!((a.quota_bytes, a.quota_files, a.download_rate), (Some(2048), Some(3), Some(8 << 20)));
        assert!(Permission::ALL.iter().all(|p| a.allows(*p)));
        let v = f.policy("viewer");
        assert!(v.allows(Permission::Read) && !v.allows(Permission::Write) && !v.allows(Permission::Delete));
        let other = f.policy("someone");
        assert!(other.allows(Permission::Write) && !other.allows(Permission::Delete));
        let anon = f.anonymous_policy().unwrap();
        assert_eq!(anon.home.as_str(), "/pub");
        assert!(anon.allows(Permission::List) && !anon.allows(Permission::Write));
        assert!(SettingsFile::default().anonymous_policy().is_none(), "anonymous is off by default");
        let some = Policy::default().with_permissions(&[Permission::List, Permission::Rename]);
        assert!(Permission::ALL.iter().all(|p| some.allows(*p) == matches!(p, Permission::List | Permission::Rename)));
        assert!(!f.disabled("alice"));
        let f = SettingsFile::parse("[users.mallory]\ndisabled = true\n", Path::new("users.toml")).unwrap();
        assert!(f.disabled("mallory") && !f.disabled("alice"));
    }

    #[test]
    fn errors_name_the_key() {
        let e = SettingsFile::parse("[users.a]\nhome = \"x\"\nquota = 5\n", Path::new("u.toml")).unwrap_err();
        assert!(e.to_string().contains("quota"), "{e}");
        let e = SettingsFile::parse("[users.a]\nhome = \"../etc\"\n", Path::new("u.toml")).unwrap_err();
        assert!(e.to_string().contains("below the root"), "{e}");
        let e = SettingsFile::parse("[users.a]\nupload_rate = \"5Q\"\n", Path::new("u.toml")).unwrap_err();
        assert!(e.to_string().contains("unit"), "{e}");
    }

    #[test]
    fn byte_counts() {
        assert_eq!(parse_bytes("512"), Ok(512));
        assert_eq!(parse_bytes("64k"), Ok(65536));
        assert_eq!(parse_bytes("2G"), Ok(2 << 30));
        assert!(parse_bytes("x").is_err());
    }
}
