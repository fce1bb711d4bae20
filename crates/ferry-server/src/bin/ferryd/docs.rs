//! The documents that describe the options, checked against their one
//! definition ([`Options`]): the flags table in README.md is rendered
//! from it, and `ferryd.example.toml` must list every key, each with a
//! value that parses.
//!
//! After changing an option, `FERRY_UPDATE_DOCS=1 cargo nextest run -p
//! ferry-server --bin ferryd docs` rewrites the README table.

use std::collections::BTreeSet;
use std::path::Path;

use clap::{ArgAction, Args, Command};
use ferry_server::config_file::ConfigFile;

use super::options::{self, Options};
use super::settings::ServeArgs;

const README: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../ferryd.example.toml");
const TABLE_START: &str = "<!-- flags: rendered from crates/ferry-server/src/bin/ferryd/options.rs by its docs test -->\n";
const TABLE_END: &str = "<!-- /flags -->\n";

/// The markdown table of `ferryd`'s flags: flag, config key, default,
/// meaning (the help text).
fn flags_table() -> String {
    let command = ServeArgs::augment_args(Command::new("ferryd"));
    let keys: BTreeSet<String> = options::arguments().iter().map(options::key_of).collect();
    let mut out = String::from("| flag | config key | default | meaning |\n|---|---|---|---|\n");
    for arg in command.get_arguments() {
        let mut help = arg.get_long_help().or(arg.get_help()).map(|h| h.to_string()).unwrap_or_default().replace("\n\n", " ");
        help = help.replace('\n', " ");
        // A default that is a description, not a value, is written in the help.
        let mut default = None;
        if let Some(start) = help.find(" [default: ") {
            let end = start + help[start..].find(']').expect("a closed [default: …]");
            default = Some(help[start + " [default: ".len()..end].to_owned());
            help.replace_range(start..=end, "");
        }
        let values: Vec<String> = arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
        let is_switch = matches!(arg.get_action(), ArgAction::SetTrue | ArgAction::SetFalse);
        let default = match default {
            Some(d) => d,
            None if is_switch => "off".to_owned(),
            None if values.iter().all(|v| v.is_empty()) => "none".to_owned(),
            None => format!("`{}`", values.join(", ")),
        };
        let value = arg.get_value_names().map(|names| names.iter().map(|n| n.to_string()).collect::<Vec<_>>().join(" "));
        let flag = match (arg.get_short(), arg.get_long(), &value) {
            (None, None, Some(v)) => format!("`{v}` (positional)"),
            (short, Some(long), value) => {
                let short = short.map(|s| format!("-{s}, ")).unwrap_or_default();
                let value = if is_switch {
                    String::new()
                } else {
                    format!(" {}", value.clone().unwrap_or_else(|| arg.get_id().to_string().to_uppercase()))
                };
                format!("`{short}--{long}{value}`")
            }
            _ => unreachable!("every argument is a flag or a positional"),
        };
        let key = options::key_of(arg);
        let key = match arg.get_action() {
            _ if !keys.contains(&key) => String::new(),
            ArgAction::SetFalse => format!("`{key} = false`"),
            ArgAction::SetTrue => format!("`{key} = true`"),
            _ => format!("`{key}`"),
        };
        let flag = match arg.get_env() {
            Some(env) => format!("{flag} or `{}` in the environment", env.to_string_lossy()),
            None => flag,
        };
        let cells = [flag, key, default, help].map(|c| c.replace('|', "\\|"));
        out.push_str(&format!("| {} |\n", cells.join(" | ")));
    }
    out
}

#[test]
fn readme_flags_table_is_the_definition() {
    let readme = std::fs::read_to_string(README).unwrap();
    let start = readme.find(TABLE_START).expect("README.md has the flags table's start marker") + TABLE_START.len();
    let end = start + readme[start..].find(TABLE_END).expect("README.md has the flags table's end marker");
    let want = format!("\n{}\n", flags_table());
    if readme[start..end] != want {
        if std::env::var_os("FERRY_UPDATE_DOCS").is_some() {
            std::fs::write(README, format!("{}{want}{}", &readme[..start], &readme[end..])).unwrap();
            return;
        }
        panic!("README.md's flags table differs from the options' definition; run with FERRY_UPDATE_DOCS=1 to rewrite it. Wanted:\n{want}");
    }
}

/// The example with its commented-out keys (`# ftps-port = 990`) turned on.
fn every_key_on(example: &str) -> String {
    example
        .lines()
        .map(|line| {
            let rest = line.trim_start_matches('#').trim_start();
            let is_key = line.starts_with('#') && rest.split_once('=').is_some_and(|(k, _)| is_key_name(k.trim()));
            let is_table = line.starts_with('#') && rest.starts_with("[[") && rest.ends_with("]]");
            let is_key = is_key || is_table;
            if is_key { rest } else { line }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_key_name(word: &str) -> bool {
    word.chars().next().is_some_and(|c| c.is_ascii_lowercase())
        && word.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// Every key of `table`, a nested table's keys as `table.key`.
fn key_paths(table: &toml::Table, prefix: &str, out: &mut BTreeSet<String>) {
    for (key, value) in table {
        let path = format!("{prefix}{key}");
        match value {
            toml::Value::Table(inner) => key_paths(inner, &format!("{path}."), out),
            // An array of tables (`[[hooks]]`): the keys of its tables.
            toml::Value::Array(items) if !items.is_empty() && items.iter().all(toml::Value::is_table) => {
                for item in items {
                    key_paths(item.as_table().expect("checked"), &format!("{path}."), out);
                }
            }
            _ => drop(out.insert(path)),
        }
    }
}

/// The keys of a `[[hooks]]` table (`ferry_hooks::HookConfig`).
const HOOK_KEYS: [&str; 11] = ["name", "events", "users", "paths", "url", "secret", "command", "timeout", "digest", "on-error", "cache"];

#[test]
fn example_config_lists_every_key_and_each_parses() {
    let example = std::fs::read_to_string(EXAMPLE).unwrap();
    // As shipped: no unknown keys, the documented defaults.
    let c = ConfigFile::parse::<Options>(&example, Path::new("ferryd.example.toml")).unwrap();
    assert_eq!(c.keys().get("port").and_then(|p| p.as_integer()), Some(2121));
    let shipped: Options = c.into_keys().try_into().unwrap();
    assert_eq!(shipped, Options::default(), "the keys set in the example are the defaults");
    // With the commented-out keys turned on: each parses, none is twice.
    let all = every_key_on(&example);
    let c = ConfigFile::parse::<Options>(&all, Path::new("ferryd.example.toml (every key on)")).unwrap_or_else(|e| panic!("{e}"));
    let mut listed = BTreeSet::new();
    key_paths(c.keys(), "", &mut listed);
    let mut defined: BTreeSet<String> = options::arguments().iter().map(options::key_of).collect();
    defined.extend(HOOK_KEYS.iter().map(|k| format!("hooks.{k}")));
    let missing: Vec<_> = defined.difference(&listed).collect();
    assert!(missing.is_empty(), "ferryd.example.toml does not list {missing:?}");
    assert_eq!(listed, defined);
}

#[test]
fn commented_keys_are_found() {
    let text = every_key_on("# a comment = not a key\n# ftps-port = 990   # note\nport = 1\n#  s3-prefix = \"\"\n");
    assert_eq!(text, "# a comment = not a key\nftps-port = 990   # note\nport = 1\ns3-prefix = \"\"");
}
