//! A user's settings as a request writes them, checked field by field so
//! that every error names its field.
//!
//! Both the API (a JSON object) and the web forms (turned into the same
//! object) come through here. This checks only the shape — types, known
//! fields, units; what the values mean (a home below the root, a real
//! date, a valid network) is the core's to judge, and it names the field
//! too.

use serde_json::{Map, Value};

use crate::backend::{FieldError, PERMISSIONS, User};

/// A user to create or change, and the password if one was given.
#[derive(Clone, PartialEq, Eq)]
pub struct UserInput {
    /// The settings: the given fields over the base.
    pub user: User,
    /// The new password, if the request has one.
    pub password: Option<String>,
}

/// The password is left out.
impl std::fmt::Debug for UserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInput").field("user", &self.user).field("password", &self.password.as_ref().map(|_| "***")).finish()
    }
}

/// Every field a request may hold.
pub const FIELDS: [&str; 12] = [
    "name",
    "password",
    "enabled",
    "home",
    "permissions",
    "read_only",
    "quota_bytes",
    "quota_files",
    "upload_rate",
    "download_rate",
    "allowed_networks",
    "expires",
];

/// Apply the fields of `body` to `base`: the fields it names replace the
/// base's, the others stay. Errors name every bad field at once.
pub fn apply(base: User, body: &Value) -> Result<UserInput, Vec<FieldError>> {
    let Some(object) = body.as_object() else {
        return Err(vec![FieldError::new("body", "send a JSON object, such as {\"name\": \"alice\", \"password\": \"…\"}")]);
    };
    let mut errors = Vec::new();
    let mut user = base;
    let mut password = None;
    for (key, value) in object {
        let field = key.as_str();
        let result = match field {
            "name" => string(value).map(|s| user.name = s),
            "password" => string(value).and_then(|s| {
                if s.is_empty() {
                    return Err("must not be empty".to_owned());
                }
                password = Some(s);
                Ok(())
            }),
            "enabled" => boolean(value).map(|b| user.enabled = b),
            "read_only" => boolean(value).map(|b| user.read_only = b),
            "home" => optional(value, string).map(|h| user.home = h.filter(|h| !h.is_empty())),
            "expires" => optional(value, string).map(|e| user.expires = e.filter(|e| !e.is_empty())),
            "permissions" => optional(value, permissions).map(|p| user.permissions = p),
            "quota_bytes" => optional(value, bytes).map(|n| user.quota_bytes = n),
            "upload_rate" => optional(value, bytes).map(|n| user.upload_rate = n),
            "download_rate" => optional(value, bytes).map(|n| user.download_rate = n),
            "quota_files" => optional(value, count).map(|n| user.quota_files = n),
            "allowed_networks" => optional(value, strings).map(|n| user.allowed_networks = n.unwrap_or_default()),
            _ => Err(format!("unknown field; the fields are {}", FIELDS.join(", "))),
        };
        if let Err(message) = result {
            errors.push(FieldError::new(field, message));
        }
    }
    if errors.is_empty() { Ok(UserInput { user, password }) } else { Err(errors) }
}

fn optional<T>(value: &Value, parse: fn(&Value) -> Result<T, String>) -> Result<Option<T>, String> {
    if value.is_null() { Ok(None) } else { parse(value).map(Some) }
}

fn string(value: &Value) -> Result<String, String> {
    value.as_str().map(str::to_owned).ok_or_else(|| "must be a string".to_owned())
}

fn boolean(value: &Value) -> Result<bool, String> {
    value.as_bool().ok_or_else(|| "must be true or false".to_owned())
}

fn strings(value: &Value) -> Result<Vec<String>, String> {
    let list = value.as_array().ok_or("must be a list of strings")?;
    list.iter().map(|v| v.as_str().map(|s| s.trim().to_owned()).ok_or_else(|| "must be a list of strings".to_owned())).collect()
}

fn permissions(value: &Value) -> Result<Vec<String>, String> {
    let list = strings(value).map_err(|_| format!("must be a list of {}", PERMISSIONS.join(", ")))?;
    for p in &list {
        if !PERMISSIONS.contains(&p.as_str()) {
            return Err(format!("unknown permission {p:?}; use {}", PERMISSIONS.join(", ")));
        }
    }
    Ok(list)
}

fn count(value: &Value) -> Result<u64, String> {
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(|| "must be a whole number of 0 or more".to_owned()),
        Value::String(s) => s.trim().parse().map_err(|_| "must be a whole number of 0 or more".to_owned()),
        _ => Err("must be a whole number of 0 or more".to_owned()),
    }
}

/// A byte count: a number, or a string with a unit (`512K`, `10M`, `2G`,
/// `1T`, powers of 1024).
fn bytes(value: &Value) -> Result<u64, String> {
    const HINT: &str = "must be a number of bytes, or one with a unit: 512K, 10M, 2G, 1T";
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(|| HINT.to_owned()),
        Value::String(s) => {
            let s = s.trim();
            let (digits, shift) = match s.char_indices().last() {
                Some((i, c)) if c.is_ascii_alphabetic() => {
                    let shift = match c.to_ascii_uppercase() {
                        'K' => 10,
                        'M' => 20,
                        'G' => 30,
                        'T' => 40,
                        _ => return Err(HINT.to_owned()),
                    };
                    (&s[..i], shift)
                }
                _ => (s, 0),
            };
            let n: u64 = digits.trim().parse().map_err(|_| HINT.to_owned())?;
            n.checked_mul(1 << shift).ok_or_else(|| "too large".to_owned())
        }
        _ => Err(HINT.to_owned()),
    }
}

/// A web form's fields as the JSON object [`apply`] takes. Check boxes
/// are present only when ticked; `permissions` may repeat, and
/// `permissions_default` ticked means the defaults whatever else is; networks are
/// one per line or separated by commas; empty text fields mean "not set".
pub fn from_form(form: &[(String, String)]) -> Value {
    let mut object = Map::new();
    let get = |k: &str| form.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
    for key in ["name", "home", "expires"] {
        if let Some(v) = get(key) {
            object.insert(key.into(), Value::String(v.trim().to_owned()));
        }
    }
    if let Some(p) = get("password").filter(|p| !p.is_empty()) {
        object.insert("password".into(), Value::String(p.to_owned()));
    }
    for key in ["quota_bytes", "quota_files", "upload_rate", "download_rate"] {
        if let Some(v) = get(key) {
            let v = v.trim();
            object.insert(key.into(), if v.is_empty() { Value::Null } else { Value::String(v.to_owned()) });
        }
    }
    object.insert("enabled".into(), Value::Bool(get("enabled").is_some()));
    object.insert("read_only".into(), Value::Bool(get("read_only").is_some()));
    // The defaults are a box of their own: they may grant less than all
    // six, so "all six ticked" must not stand for them.
    if get("permissions_set").is_some() {
        let chosen: Vec<Value> = form.iter().filter(|(k, _)| k == "permissions").map(|(_, v)| Value::String(v.clone())).collect();
        let defaults = get("permissions_default").is_some();
        object.insert("permissions".into(), if defaults { Value::Null } else { Value::Array(chosen) });
    }
    if let Some(v) = get("allowed_networks") {
        let list = v.split([',', '\n', ' ']).map(str::trim).filter(|s| !s.is_empty()).map(|s| Value::String(s.to_owned())).collect();
        object.insert("allowed_networks".into(), Value::Array(list));
    }
    Value::Object(object)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn fields_apply_over_the_base_and_errors_name_each_field() {
        let base = User { home: Some("old".into()), quota_files: Some(3), ..User::new("alice") };
        let got = apply(base.clone(), &json!({"home": "new", "quota_bytes": "2G", "password": "pw", "upload_rate": 1024})).unwrap();
        assert_eq!(got.password.as_deref(), Some("pw"));
        assert_eq!(got.user.home.as_deref(), Some("new"));
        assert_eq!(got.user.quota_bytes, Some(2 << 30));
        assert_eq!(got.user.upload_rate, Some(1024));
        assert_eq!(got.user.quota_files, Some(3), "a field not named is kept");
        let cleared = apply(base.clone(), &json!({"quota_files": null, "home": null})).unwrap().user;
        assert_eq!((cleared.quota_files, cleared.home), (None, None));

        let errors =
            apply(base, &json!({"enabled": "yes", "quota_bytes": "2Q", "permissions": ["read", "fly"], "colour": 1, "password": ""}))
                .unwrap_err();
        let mut fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(fields, ["colour", "enabled", "password", "permissions", "quota_bytes"]);
        let message = |f: &str| errors.iter().find(|e| e.field == f).unwrap().message.clone();
        assert_eq!(message("enabled"), "must be true or false");
        assert!(message("permissions").contains("\"fly\""), "{}", message("permissions"));
        assert!(message("colour").starts_with("unknown field"));
        assert_eq!(apply(User::new("a"), &json!([1])).unwrap_err()[0].field, "body");
    }

    #[test]
    fn forms_become_the_same_object() {
        let form: Vec<(String, String)> = [
            ("name", " bob "),
            ("password", ""),
            ("home", "bob"),
            ("quota_bytes", ""),
            ("upload_rate", "1M"),
            ("enabled", "on"),
            ("permissions_set", "1"),
            ("permissions", "list"),
            ("permissions", "read"),
            ("allowed_networks", "10.0.0.0/8\n192.0.2.1, ::1"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let value = from_form(&form);
        assert_eq!(
            value,
            json!({"name": "bob", "home": "bob", "expires": null, "quota_bytes": null, "upload_rate": "1M", "enabled": true,
                   "read_only": false, "permissions": ["list", "read"], "allowed_networks": ["10.0.0.0/8", "192.0.2.1", "::1"]})
            .as_object()
            .map(|o| {
                let mut o = o.clone();
                o.remove("expires");
                Value::Object(o)
            })
            .unwrap()
        );
        let user = apply(User::new("x"), &value).unwrap();
        assert_eq!(user.password, None, "an empty password field keeps the password");
        assert_eq!(user.user.upload_rate, Some(1 << 20));
    }

    #[test]
    fn debug_shows_no_password() {
        let input = apply(User::new("bob"), &json!({"password": "hunter2-pw"})).unwrap();
        let shown = format!("{input:?}");
        assert!(shown.contains("bob") && shown.contains("***") && !shown.contains("hunter2"), "{shown}");
    }

    /// `[defaults]` may grant less than every permission: ticking all six
    /// must grant all six, and only the "defaults" box means the defaults.
    #[test]
    fn all_six_permissions_are_all_six_and_the_defaults_are_asked_for() {
        let form = |extra: &[&str]| -> Vec<(String, String)> {
            let mut f: Vec<(String, String)> = vec![("permissions_set".into(), "1".into())];
            f.extend(PERMISSIONS.iter().map(|p| ("permissions".to_owned(), (*p).to_owned())));
            f.extend(extra.iter().map(|k| ((*k).to_owned(), "on".to_owned())));
            f
        };
        let all = apply(User::new("x"), &from_form(&form(&[]))).unwrap().user;
        assert_eq!(all.permissions, Some(PERMISSIONS.map(str::to_owned).to_vec()));
        let defaults = apply(User::new("x"), &from_form(&form(&["permissions_default"]))).unwrap().user;
        assert_eq!(defaults.permissions, None);
    }
}
