//! Changing one user's table in `users.toml` the way a careful person
//! would with an editor: the operator's comments, blank lines, key order
//! and spelling (`"2G"` stays `"2G"`) and every other table stay as they
//! were; only the keys whose value changed are touched, and a key that is
//! rewritten keeps the comments around it. `toml_edit` keeps the layout
//! that a plain TOML serializer would throw away.
//!
//! A table that would be empty (the user has the defaults for everything)
//! is removed rather than left as `[users.NAME]` clutter.

use toml_edit::{Array, DocumentMut, Item, Table, TableLike, Value};

use super::settings::{Bytes, Permission, UserSettings};

/// `text` with user `name`'s table saying `new`, where `old` is what it
/// says now (as parsed from `text`; `None`: no table). The text must have
/// parsed as a settings file already; the error is toml_edit's otherwise.
pub(crate) fn set_user(text: &str, name: &str, old: Option<&UserSettings>, new: &UserSettings) -> Result<String, String> {
    let mut doc: DocumentMut = text.parse().map_err(|e: toml_edit::TomlError| e.to_string())?;
    let nothing = UserSettings::default();
    if new == &nothing {
        if let Some(users) = doc.get_mut("users").and_then(Item::as_table_like_mut) {
            users.remove(name);
        }
        // `[users.NAME]` headers make an implicit `users` table: gone with
        // its last user. One the operator wrote (`[users]`) stays.
        if doc.get("users").and_then(Item::as_table).is_some_and(|t| t.is_implicit() && t.is_empty()) {
            doc.remove("users");
        }
        return Ok(doc.to_string());
    }
    let users = doc.entry("users").or_insert_with(|| {
        let mut t = Table::new();
        t.set_implicit(true);
        Item::Table(t)
    });
    let users = users.as_table_like_mut().ok_or("`users` in the settings file is not a table")?;
    match users.get_mut(name) {
        // `alice = { … }` holds no comments: its spacing is made even.
        Some(item) if item.is_inline_table() => {
            let table = item.as_inline_table_mut().expect("an inline table");
            edit(table, old.unwrap_or(&nothing), new);
            table.fmt();
        }
        Some(item) if item.is_table_like() => edit(item.as_table_like_mut().expect("a table"), old.unwrap_or(&nothing), new),
        _ => {
            let mut table = Table::new();
            edit(&mut table, &nothing, new);
            users.insert(name, Item::Table(table));
        }
    }
    Ok(doc.to_string())
}

/// Make `t` say `new` where it said `old`, key by key, in the order of
/// the settings file's documentation.
fn edit(t: &mut dyn TableLike, old: &UserSettings, new: &UserSettings) {
    let text = |s: &String| Value::from(s.as_str());
    let flag = |b: &bool| Value::from(*b);
    field(t, "home", &old.home, &new.home, text);
    field(t, "permissions", &old.permissions, &new.permissions, |list: &Vec<Permission>| {
        Value::Array(list.iter().map(|p| p.name()).collect::<Array>())
    });
    field(t, "read_only", &old.read_only, &new.read_only, flag);
    field(t, "quota_bytes", &old.quota_bytes, &new.quota_bytes, bytes);
    field(t, "quota_files", &old.quota_files, &new.quota_files, |n: &u64| Value::from(i64::try_from(*n).unwrap_or(i64::MAX)));
    field(t, "upload_rate", &old.upload_rate, &new.upload_rate, bytes);
    field(t, "download_rate", &old.download_rate, &new.download_rate, bytes);
    field(t, "authorized_keys", &old.authorized_keys, &new.authorized_keys, |list: &Vec<String>| {
        Value::Array(list.iter().map(String::as_str).collect::<Array>())
    });
    field(t, "disabled", &old.disabled, &new.disabled, flag);
    field(t, "allowed_networks", &old.allowed_networks, &new.allowed_networks, |list: &Vec<_>| {
        Value::Array(list.iter().map(ToString::to_string).collect::<Array>())
    });
    field(t, "expires", &old.expires, &new.expires, |d: &super::date::Date| Value::from(d.to_string()));
}

/// One key: left as written when its value did not change, removed when
/// it is no longer set, written (keeping the comments around it) when it
/// changed.
fn field<T: PartialEq>(t: &mut dyn TableLike, key: &str, old: &Option<T>, new: &Option<T>, to_value: impl Fn(&T) -> Value) {
    if old == new && new.is_some() == t.contains_key(key) {
        return;
    }
    let Some(v) = new else {
        t.remove(key);
        return;
    };
    let mut value = to_value(v);
    match t.get_mut(key).and_then(Item::as_value_mut) {
        Some(current) => {
            *value.decor_mut() = current.decor().clone();
            *current = value;
        }
        None => {
            t.insert(key, Item::Value(value));
        }
    }
}

/// A byte count as an operator would write it: with the largest unit
/// that divides it (`"2G"`), or as a number.
fn bytes(b: &Bytes) -> Value {
    let n = b.0;
    for (unit, shift) in [('T', 40), ('G', 30), ('M', 20), ('K', 10)] {
        if n != 0 && n.is_multiple_of(1 << shift) {
            return Value::from(format!("{}{unit}", n >> shift));
        }
    }
    match i64::try_from(n) {
        Ok(i) => Value::from(i),
        Err(_) => Value::from(n.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::super::settings::SettingsFile;
    use super::*;

    const FILE: &str = r#"# Ferry users — edited by hand and by the admin API.

[defaults]
permissions = ["list", "read"]   # everybody reads

# Alice runs the uploads.
[users.alice]
home = "homes/alice"        # her "/"
quota_bytes = "2G"          # keep it small
upload_rate = 1000

[users.bob]
read_only = true

[anonymous]
enabled = true
"#;

    fn parsed(text: &str) -> SettingsFile {
        SettingsFile::parse(text, Path::new("users.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"))
    }

    #[test]
    fn a_change_keeps_comments_other_users_and_other_tables() {
        let file = parsed(FILE);
        let old = file.users.get("alice");
        let new = UserSettings { upload_rate: Some(Bytes(4 << 20)), quota_files: Some(10), ..old.unwrap().clone() };
        let out = set_user(FILE, "alice", old, &new).unwrap();
        // The changed value in its place, the new key after the others.
        let want = FILE.replace("upload_rate = 1000\n", "upload_rate = \"4M\"\nquota_files = 10\n");
        assert_eq!(out, want);
        assert_eq!(parsed(&out).users.get("alice"), Some(&new));

        // A rewritten value keeps its trailing comment.
        let new = UserSettings { home: Some("homes/alice2".into()), ..old.unwrap().clone() };
        let out = set_user(FILE, "alice", old, &new).unwrap();
        assert_eq!(out, FILE.replace("home = \"homes/alice\"        # her", "home = \"homes/alice2\"        # her"));
    }

    #[test]
    fn new_users_get_a_table_and_default_users_none() {
        let file = parsed(FILE);
        let new = UserSettings {
            allowed_networks: Some(vec!["10.0.0.0/8".parse().unwrap()]),
            expires: Some("2026-12-31".parse().unwrap()),
            disabled: Some(true),
            ..UserSettings::default()
        };
        let out = set_user(FILE, "carol@example.com", None, &new).unwrap();
        // After the other users, nothing else touched.
        let table = "[users.\"carol@example.com\"]\ndisabled = true\nallowed_networks = [\"10.0.0.0/8\"]\nexpires = \"2026-12-31\"\n";
        assert_eq!(out, FILE.replace("[anonymous]", &format!("{table}\n[anonymous]")));
        assert_eq!(parsed(&out).users.get("carol@example.com"), Some(&new));

        // Back to the defaults: the table goes, with its comment.
        let out = set_user(FILE, "alice", file.users.get("alice"), &UserSettings::default()).unwrap();
        assert!(!out.contains("alice") && out.contains("[users.bob]\nread_only = true\n\n[anonymous]"), "{out}");
        // The last user's table goes, and the implicit `users` with it.
        let only = "[users.bob]\nread_only = true\n";
        assert_eq!(set_user(only, "bob", parsed(only).users.get("bob"), &UserSettings::default()).unwrap(), "");
        // A user that had no table and still has the defaults: no change.
        assert_eq!(set_user(FILE, "dan", None, &UserSettings::default()).unwrap(), FILE);
    }

    #[test]
    fn inline_and_dotted_tables_are_edited_where_they_are() {
        let text = "[users]\nalice = { home = \"a\" }\nbob.home = \"b\"\n";
        let file = parsed(text);
        let bump = |name: &str| UserSettings { quota_files: Some(5), ..file.users.get(name).unwrap().clone() };
        let out = set_user(text, "alice", file.users.get("alice"), &bump("alice")).unwrap();
        assert_eq!(parsed(&out).users.get("alice"), Some(&bump("alice")));
        assert!(out.contains("alice = { home = \"a\", quota_files = 5 }"), "{out}");
        let out = set_user(text, "bob", file.users.get("bob"), &bump("bob")).unwrap();
        assert_eq!(parsed(&out).users.get("bob"), Some(&bump("bob")));
        assert!(out.contains("bob.quota_files = 5"), "{out}");
    }

    #[test]
    fn byte_counts_in_the_operators_units() {
        let shown = |n| bytes(&Bytes(n)).to_string();
        assert_eq!(shown(2 << 30), "\"2G\"");
        assert_eq!(shown(1536 << 10), "\"1536K\"");
        assert_eq!(shown(1000), "1000");
        assert_eq!(shown(u64::MAX), "\"18446744073709551615\"");
    }
}
