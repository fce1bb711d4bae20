//! The settings in force: the command line (and the environment variables
//! it names) over the config file over the built-in defaults, and how
//! `check-config` prints them back.
//!
//! Layering needs no list of options: clap says which values the command
//! line gave ([`clap::parser::ValueSource`]); everything clap produced
//! becomes a TOML table, the file's keys replace the ones the command line
//! did not give, and the table is read back into [`Options`].

use std::collections::BTreeSet;
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::parser::ValueSource;
use clap::{ArgMatches, Args, Command, FromArgMatches};
use ferry_server::config_file::ConfigFile;

use super::options::{self, Options};
use super::{accounts, validate};

/// `ferryd [FLAGS]` and `ferryd check-config [FLAGS]`: the options, a
/// config file, and which options the command line gave.
#[derive(Debug, Clone)]
pub(crate) struct ServeArgs {
    config: Option<PathBuf>,
    options: Options,
    given: BTreeSet<String>,
}

/// The flags as clap sees them; [`ServeArgs`] adds what was given.
#[derive(Args, Debug)]
struct ServeFlags {
    /// Read settings from this TOML file (see ferryd.example.toml); flags
    /// override it.
    #[arg(short, long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Port to listen on (same as --port; the seed's `ferryd PORT` form).
    #[arg(value_name = "PORT", conflicts_with = "port")]
    port_positional: Option<u16>,
    #[command(flatten)]
    options: Options,
}

impl Args for ServeArgs {
    fn augment_args(cmd: Command) -> Command {
        ServeFlags::augment_args(cmd)
    }

    fn augment_args_for_update(cmd: Command) -> Command {
        ServeFlags::augment_args_for_update(cmd)
    }
}

impl FromArgMatches for ServeArgs {
    fn from_arg_matches(matches: &ArgMatches) -> Result<ServeArgs, clap::Error> {
        let ServeFlags { config, port_positional, mut options } = ServeFlags::from_arg_matches(matches)?;
        let mut given = given(matches, &options::arguments());
        if let Some(port) = port_positional {
            options.port = port;
            given.insert("port".to_owned());
        }
        Ok(ServeArgs { config, options, given })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = ServeArgs::from_arg_matches(matches)?;
        Ok(())
    }
}

/// The config keys of `arguments` that the command line, or an environment
/// variable such as `FERRYD_POSTGRES`, gave: a config file does not
/// override them.
pub(crate) fn given(matches: &ArgMatches, arguments: &[clap::Arg]) -> BTreeSet<String> {
    arguments
        .iter()
        .filter(|a| matches!(matches.value_source(a.get_id().as_str()), Some(ValueSource::CommandLine | ValueSource::EnvVariable)))
        .map(options::key_of)
        .collect()
}

/// `from_command_line` with the keys of the file at `config` in place of
/// the values the command line did not give (see [`given`]).
pub(crate) fn layered(from_command_line: Options, given: &BTreeSet<String>, config: Option<&std::path::Path>) -> anyhow::Result<Options> {
    let Some(path) = config else { return Ok(from_command_line) };
    let file = ConfigFile::load::<Options>(path)?;
    let mut table = toml::Table::try_from(&from_command_line).context("the command line's settings as TOML")?;
    for (key, value) in file.into_keys() {
        if !given.contains(&key) {
            table.insert(key, value);
        }
    }
    table.try_into().with_context(|| format!("layering {} under the command line", path.display()))
}

/// The settings in force, checked: every problem is reported at once.
pub(crate) fn resolve(args: ServeArgs) -> anyhow::Result<Options> {
    let options = layered(args.options, &args.given, args.config.as_deref())?;
    let mut problems = validate::problems(&options);
    let text = args.config.as_deref().and_then(|p| std::fs::read_to_string(p).ok()).unwrap_or_default();
    for (i, problem) in validate::hook_problems(&options) {
        // The line of the table's `[[hooks]]` header in the file.
        let line = text.lines().enumerate().filter(|(_, l)| l.trim() == "[[hooks]]").nth(i).map(|(n, _)| n + 1);
        problems.push(match (line, args.config.as_deref()) {
            (Some(n), Some(path)) => format!("{}, line {n}: [[hooks]] {problem}", path.display()),
            _ => format!("[[hooks]] {problem}"),
        });
    }
    match problems.as_slice() {
        [] => Ok(options),
        [one] => bail!("{one}"),
        many => bail!("{} problems with the settings:\n  {}", many.len(), many.join("\n  ")),
    }
}

/// The settings as a config file that would give them, for `ferryd
/// check-config`: every key in the definition's order, unset ones as
/// comments, the PostgreSQL password replaced by `***`.
pub(crate) fn to_toml(options: &Options) -> anyhow::Result<String> {
    let mut table = toml::Table::try_from(options).context("the settings as TOML")?;
    // The one secret among the options.
    if let Some(toml::Value::String(conninfo)) = table.get_mut("postgres") {
        *conninfo = accounts::shown_conninfo(conninfo);
    }
    let lines: Vec<String> = options::arguments()
        .iter()
        .map(options::key_of)
        .map(|key| match table.get(&key) {
            Some(value) => format!("{key} = {}", inline(value)),
            None => format!("# {key} (not set)"),
        })
        .collect();
    let mut out = lines.join("\n");
    for hook in &options.hooks {
        out.push_str("\n\n");
        out.push_str(&hook_table(hook));
    }
    Ok(out)
}

/// One `[[hooks]]` table as the config file writes it, its secret hidden.
fn hook_table(hook: &ferry_hooks::HookConfig) -> String {
    let list = |items: &[String]| inline(&toml::Value::Array(items.iter().map(|i| toml::Value::String(i.clone())).collect()));
    let mut lines = vec!["[[hooks]]".to_owned(), format!("name = {}", quoted(&hook.name)), format!("events = {}", list(&hook.events))];
    if let Some(users) = &hook.users {
        lines.push(format!("users = {}", list(users)));
    }
    if let Some(paths) = &hook.paths {
        lines.push(format!("paths = {}", list(paths)));
    }
    if let Some(url) = &hook.url {
        lines.push(format!("url = {}", quoted(url)));
    }
    if hook.secret.is_some() {
        lines.push("secret = \"***\"".to_owned());
    }
    if let Some(command) = &hook.command {
        lines.push(format!("command = {}", list(command)));
    }
    lines.push(format!("timeout = \"{}ms\"", hook.timeout.as_millis()));
    if hook.digest.is_some() {
        lines.push("digest = \"sha256\"".to_owned());
    }
    if hook.on_error == ferry_hooks::OnError::Allow {
        lines.push("on-error = \"allow\"".to_owned());
    }
    if let Some(cache) = hook.cache {
        lines.push(format!("cache = \"{}ms\"", cache.as_millis()));
    }
    lines.join("\n")
}

/// A value as TOML writes it on one line.
fn inline(value: &toml::Value) -> String {
    use toml::Value;
    match value {
        Value::String(s) => quoted(s),
        Value::Integer(n) => n.to_string(),
        Value::Float(x) => x.to_string(),
        Value::Boolean(b) => b.to_string(),
        Value::Datetime(d) => d.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Value::Table(t) => {
            format!("{{ {} }}", t.iter().map(|(k, v)| format!("{} = {}", quoted(k), inline(v))).collect::<Vec<_>>().join(", "))
        }
    }
}

/// A TOML basic string: quotes, backslashes and control characters
/// escaped.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(argv: &[&str]) -> ServeArgs {
        let cmd = ServeArgs::augment_args(Command::new("ferryd")).mut_args(|a| a.env(None));
        ServeArgs::from_arg_matches(&cmd.try_get_matches_from([&["ferryd"], argv].concat()).unwrap()).unwrap()
    }

    #[test]
    fn flags_over_the_file_over_the_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("ferryd.toml");
        std::fs::write(&conf, "port = 2999\nidle-timeout = 42\ntls = false\nbind = [\"::1\"]\nupload-rate = \"2M\"\n").unwrap();
        let conf = conf.to_str().unwrap();
        let o = resolve(args(&["--config", conf, "--port", "3001"])).unwrap();
        assert_eq!((o.port, o.idle_timeout, o.login_timeout, o.tls, o.upload_rate), (3001, 42, 60, false, Some(2 << 20)));
        assert_eq!(o.bind, ["::1".parse::<std::net::IpAddr>().unwrap()]);
        // A flag that says the default still wins over the file.
        let o = resolve(args(&["--config", conf, "2121", "--bind", "127.0.0.1"])).unwrap();
        assert_eq!((o.port, o.bind[0].to_string().as_str()), (2121, "127.0.0.1"));
        // The file cannot turn back on what a flag turned off.
        std::fs::write(conf, "tls-reuse = true\nrequire-tls = true\n").unwrap();
        let o = resolve(args(&["--config", conf, "--no-tls-reuse"])).unwrap();
        assert!(!o.tls_reuse && o.require_tls);
    }

    #[test]
    fn check_config_output_reads_back_as_the_same_settings() {
        let o =
            Options { postgres: Some("host=db user=ferry password=hunter2".into()), s3_prefix: "a \"b\"\\c".into(), ..Options::default() };
        let text = to_toml(&o).unwrap();
        assert!(text.starts_with("port = 2121\nbind = [\"127.0.0.1\"]\n# ftps-port (not set)\n"), "{text}");
        let shown = accounts::shown_conninfo("host=db user=ferry password=hunter2");
        assert!(text.contains(&format!("\npostgres = {}\n", quoted(&shown))) && !text.contains("hunter2"), "{text}");
        let back = ConfigFile::parse::<Options>(&text, std::path::Path::new("out.toml")).unwrap();
        let back: Options = back.into_keys().try_into().unwrap();
        assert_eq!(back, Options { postgres: Some(shown), ..o });
    }
}
