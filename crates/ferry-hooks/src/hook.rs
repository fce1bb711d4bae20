//! A hook once its config is checked: the events it wants as a set, its
//! filters compiled, its target parsed. [`Hook::wants`] is what the
//! dispatcher asks of every event on the emitting thread, so it does no
//! allocation-heavy work: a set lookup and a glob match.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

use crate::config::{Digest, HookConfig, HookConfigError, OnError};
use crate::event_name::HookEvent;
use crate::payload::Payload;
use crate::url::WebhookUrl;

/// Where a hook's events go.
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// POSTed to a URL, signed when there is a key.
    Webhook { url: WebhookUrl, secret: Option<String> },
    /// Given to a program on its standard input.
    Command { argv: Vec<String> },
}

/// A checked hook.
#[derive(Debug, Clone)]
pub(crate) struct Hook {
    pub(crate) name: String,
    pub(crate) events: BTreeSet<HookEvent>,
    users: Option<HashSet<String>>,
    paths: Option<PathFilter>,
    pub(crate) target: Target,
    pub(crate) timeout: Duration,
    pub(crate) digest: Option<Digest>,
    pub(crate) on_error: OnError,
    pub(crate) cache: Option<Duration>,
}

/// Globs split by what they match: the whole path, or the file name.
#[derive(Debug, Clone)]
struct PathFilter {
    whole: GlobSet,
    name: GlobSet,
}

impl PathFilter {
    fn matches(&self, path: &str) -> bool {
        let name = path.rsplit('/').next().unwrap_or(path);
        self.whole.is_match(path) || self.name.is_match(name)
    }
}

impl Hook {
    pub(crate) fn new(c: &HookConfig) -> Result<Hook, HookConfigError> {
        let fail = |field, problem: String| HookConfigError { hook: c.name.clone(), field, problem };
        if c.name.trim().is_empty() {
            return Err(fail("name", "a hook needs a name (for logs, metrics and the spool)".into()));
        }
        if c.events.is_empty() {
            return Err(fail("events", "no events listed: the hook would never run".into()));
        }
        let mut events = BTreeSet::new();
        for name in &c.events {
            let e = HookEvent::from_name(name).ok_or_else(|| {
                let known: Vec<_> = HookEvent::ALL.iter().map(|e| e.as_str()).collect();
                fail("events", format!("unknown event {name:?} (known: {})", known.join(", ")))
            })?;
            events.insert(e);
        }
        let paths = match &c.paths {
            None => None,
            Some(globs) => {
                let (mut whole, mut name) = (GlobSetBuilder::new(), GlobSetBuilder::new());
                for g in globs {
                    // `*` stops at `/`, so `/incoming/*` is one level and
                    // `/incoming/**` all of them, as in a shell.
                    let glob =
                        GlobBuilder::new(g).literal_separator(true).build().map_err(|e| fail("paths", format!("bad glob {g:?}: {e}")))?;
                    if g.contains('/') {
                        whole.add(glob)
                    } else {
                        name.add(glob)
                    };
                }
                let build = |b: GlobSetBuilder| b.build().map_err(|e| fail("paths", e.to_string()));
                Some(PathFilter { whole: build(whole)?, name: build(name)? })
            }
        };
        let target = match (&c.url, &c.command) {
            (Some(_), Some(_)) => return Err(fail("url", "give either `url` or `command`, not both".into())),
            (None, None) => return Err(fail("command", "give a `url` to POST to or a `command` to run".into())),
            (Some(url), None) => {
                Target::Webhook { url: WebhookUrl::parse(url).map_err(|e| fail("url", e))?, secret: c.secret.as_ref().map(|s| s.0.clone()) }
            }
            (None, Some(argv)) => {
                if argv.first().is_none_or(|p| p.is_empty()) {
                    return Err(fail(
                        "command",
                        "the command is empty: give the program and its arguments, e.g. [\"/usr/local/bin/ingest\", \"--queue\", \"ftp\"]"
                            .into(),
                    ));
                }
                if c.secret.is_some() {
                    return Err(fail("secret", "a `secret` signs webhook requests; a command hook has none".into()));
                }
                Target::Command { argv: argv.clone() }
            }
        };
        if events.contains(&HookEvent::PreLogin)
            && let Target::Webhook { url, .. } = &target
            && !url.tls
            && !is_loopback(&url.host)
        {
            return Err(fail(
                "url",
                "a pre-login hook is sent passwords: use https:// or a loopback address (127.0.0.1, ::1, localhost)".into(),
            ));
        }
        if c.timeout.is_zero() {
            return Err(fail("timeout", "a zero timeout would fail every delivery".into()));
        }
        Ok(Hook {
            name: c.name.clone(),
            events,
            users: c.users.as_ref().map(|u| u.iter().cloned().collect()),
            paths,
            target,
            timeout: c.timeout,
            digest: c.digest,
            on_error: c.on_error,
            cache: c.cache,
        })
    }

    /// This hook wants to hear of `event`: its kind is listed, and its user
    /// and path (where it has them) pass the filters.
    pub(crate) fn wants(&self, event: &Payload) -> bool {
        if !self.events.contains(&event.event) {
            return false;
        }
        if let (Some(users), Some(user)) = (&self.users, &event.user)
            && !users.contains(user)
        {
            return false;
        }
        if let Some(filter) = &self.paths {
            let paths = [&event.path, &event.from, &event.to];
            let mut given = paths.iter().filter_map(|p| p.as_deref()).peekable();
            if given.peek().is_some() && !given.any(|p| filter.matches(p)) {
                return false;
            }
        }
        true
    }
}

impl HookConfig {
    /// Check what deserializing cannot: event names, globs, exactly one of
    /// `url` and `command`, an http(s) URL, a command to run.
    pub fn validate(&self) -> Result<(), HookConfigError> {
        Hook::new(self).map(drop)
    }

    /// Check a whole list: each hook, and that no two share a name (the
    /// spool finds a hook again by its name).
    pub fn validate_all(hooks: &[HookConfig]) -> Result<(), HookConfigError> {
        compile_all(hooks).map(drop)
    }
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// Check every hook and that their names are unique.
pub(crate) fn compile_all(configs: &[HookConfig]) -> Result<Vec<Hook>, HookConfigError> {
    let mut names = HashSet::new();
    let mut hooks = Vec::with_capacity(configs.len());
    for c in configs {
        if !names.insert(c.name.as_str()) {
            return Err(HookConfigError {
                hook: c.name.clone(),
                field: "name",
                problem: "two hooks have this name; each needs its own".into(),
            });
        }
        hooks.push(Hook::new(c)?);
    }
    Ok(hooks)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> HookConfig {
        toml::from_str(toml_text).unwrap()
    }

    fn error(toml_text: &str) -> String {
        config(toml_text).validate().unwrap_err().to_string()
    }

    #[test]
    fn a_full_config_parses_and_validates() {
        let c = config(
            r#"
            name = "ingest"
            events = ["upload", "rename", "pre-upload"]
            users = ["alice", "bob"]
            paths = ["/incoming/**", "*.csv"]
            url = "https://ingest.example.net/ferry"
            secret = "s3cret"
            timeout = "2m"
            digest = "sha256"
            "#,
        );
        assert_eq!(c.timeout, Duration::from_secs(120));
        assert_eq!(c.digest, Some(Digest::Sha256));
        assert!(!format!("{c:?}").contains("s3cret"), "the secret stays out of Debug");
        let h = Hook::new(&c).unwrap();
        assert_eq!(h.events.iter().map(|e| e.as_str()).collect::<Vec<_>>(), ["upload", "rename", "pre-upload"]);
        let c = config("name = \"x\"\nevents = [\"login\"]\ncommand = [\"/bin/true\"]");
        assert_eq!(c.timeout, Duration::from_secs(30), "the default timeout");
        c.validate().unwrap();
    }

    #[test]
    fn shape_errors_come_from_deserializing() {
        let e = toml::from_str::<HookConfig>("name = \"x\"\nevents = []\nurl = \"http://h/\"\nretries = 3").unwrap_err().to_string();
        assert!(e.contains("unknown field `retries`"), "{e}");
        let e = toml::from_str::<HookConfig>("name = \"x\"\nevents = []\nurl = \"http://h/\"\ntimeout = \"30\"").unwrap_err().to_string();
        assert!(e.contains("a unit must follow"), "{e}");
        let e = toml::from_str::<HookConfig>("name = \"x\"\nevents = []\nurl = \"http://h/\"\ndigest = \"md5\"").unwrap_err().to_string();
        assert!(e.contains("unknown variant `md5`"), "{e}");
    }

    #[test]
    fn validate_names_the_field() {
        let base = "name = \"h\"\n";
        for (rest, want) in [
            ("events = [\"uplaod\"]\nurl = \"http://h/\"", "hook \"h\": `events`: unknown event \"uplaod\" (known: login, login-failed,"),
            ("events = []\nurl = \"http://h/\"", "`events`: no events listed"),
            ("events = [\"upload\"]\npaths = [\"/a/[b\"]\nurl = \"http://h/\"", "`paths`: bad glob \"/a/[b\""),
            ("events = [\"upload\"]\nurl = \"http://h/\"\ncommand = [\"/bin/true\"]", "`url`: give either `url` or `command`, not both"),
            ("events = [\"upload\"]", "`command`: give a `url` to POST to or a `command` to run"),
            ("events = [\"upload\"]\ncommand = []", "`command`: the command is empty"),
            ("events = [\"upload\"]\ncommand = [\"\"]", "`command`: the command is empty"),
            ("events = [\"upload\"]\nurl = \"ftp://h/\"", "`url`: \"ftp://h/\" is not an http:// or https:// URL"),
            ("events = [\"upload\"]\ncommand = [\"/bin/true\"]\nsecret = \"k\"", "`secret`: a `secret` signs webhook requests"),
            ("events = [\"upload\"]\ncommand = [\"/bin/true\"]\ntimeout = \"0s\"", "`timeout`: a zero timeout"),
        ] {
            let e = error(&format!("{base}{rest}"));
            assert!(e.starts_with("hook \"h\": `"), "{e}");
            assert!(e.contains(want), "{rest}:\n{e}");
        }
        let e = error("name = \" \"\nevents = [\"upload\"]\nurl = \"http://h/\"");
        assert!(e.contains("`name`: a hook needs a name"), "{e}");
    }

    #[test]
    fn names_must_be_unique() {
        let a = config("name = \"a\"\nevents = [\"login\"]\nurl = \"http://h/\"");
        let e = HookConfig::validate_all(&[a.clone(), a.clone()]).unwrap_err().to_string();
        assert_eq!(e, "hook \"a\": `name`: two hooks have this name; each needs its own");
        let mut b = a.clone();
        b.name = "b".into();
        HookConfig::validate_all(&[a, b]).unwrap();
    }
}
