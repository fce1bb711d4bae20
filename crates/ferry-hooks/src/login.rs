//! Hooks that decide who gets in: `pre-login` hooks as an
//! [`Authenticator`] in front of the server's own accounts.
//!
//! A login whose user a `pre-login` hook covers (its `users` filter, or
//! everyone) is decided by the hook alone: it gets the JSON of version 1
//! with `event = "pre-login"`, `user`, `protocol`, `peer` and `password`
//! (commands on standard input only — never in the environment or on the
//! command line; URLs only over `https://` or to a loopback address). A
//! command's exit 0 or an HTTP 2xx lets the user in; its standard output
//! (or the response body's first line) may be a JSON object of the user's
//! settings, with the keys of `users.toml` (`home`, `permissions`,
//! `read_only`, `quota_bytes`, `quota_files`, `upload_rate`,
//! `download_rate`); without one, the defaults of `users.toml` apply. Any
//! other answer is a wrong password (it counts towards a ban, as one). A
//! hook that cannot be asked is an outage: the login is not decided,
//! FTP answers `421`, and nothing counts towards a ban. With `cache`, an
//! allowed answer is reused for the same user and password for that long
//! (the password kept only as a salted SHA-256, as the login cache does).

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use ferry_core::auth::settings::{SettingsFile, UserSettings};
use ferry_core::auth::{Account, AuthError, Authenticator, BoxFuture, LoginContext, Standing, StoreError};
use sha2::{Digest as _, Sha256};

use crate::config::{HookConfig, HookConfigError};
use crate::event_name::HookEvent;
use crate::hook::{self, Hook, Target};
use crate::payload::{Payload, new_id};
use crate::webhook::WebhookRequest;

/// The `pre-login` hooks in front of `accounts` (the users file or
/// PostgreSQL), which still decide for users no hook covers.
pub struct PreLoginAuth {
    hooks: Vec<Hook>,
    accounts: Arc<dyn Authenticator>,
    /// `users.toml`: the defaults for hook-admitted users that get none.
    settings: SettingsFile,
    tls: Arc<rustls::ClientConfig>,
    salt: String,
    cache: Mutex<HashMap<String, Cached>>,
    /// Users a hook let in, whose standing the hook (not `accounts`) owns.
    admitted: Mutex<HashSet<String>>,
}

/// A recent yes: the salted hash of the password it was for, the
/// account, and when.
type Cached = ([u8; 32], Account, Instant);

/// How a hook answered.
enum Answer {
    /// In, with these settings (if it gave any).
    Allow(Option<UserSettings>),
    Deny,
    Unreachable(String),
}

impl PreLoginAuth {
    /// `accounts` behind the `pre-login` hooks of `configs`; `accounts`
    /// itself when there are none.
    pub fn wrap(
        configs: &[HookConfig],
        accounts: Arc<dyn Authenticator>,
        settings: SettingsFile,
    ) -> Result<Arc<dyn Authenticator>, HookConfigError> {
        let hooks: Vec<Hook> = hook::compile_all(configs)?.into_iter().filter(|h| h.events.contains(&HookEvent::PreLogin)).collect();
        if hooks.is_empty() {
            return Ok(accounts);
        }
        Ok(Arc::new(PreLoginAuth {
            hooks,
            accounts,
            settings,
            tls: crate::webhook::default_tls(),
            salt: new_id(SystemTime::now()),
            cache: Mutex::default(),
            admitted: Mutex::default(),
        }))
    }

    fn fingerprint(&self, user: &str, password: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        for part in [self.salt.as_bytes(), user.as_bytes(), b"\0", password.as_bytes()] {
            h.update(part);
        }
        h.finalize().into()
    }

    async fn ask(&self, hook: &Hook, payload: &Payload) -> Answer {
        let body = payload.to_json();
        let asked = async {
            let (ok, said) = match &hook.target {
                Target::Command { argv } => match crate::command::execute(argv, payload, &body, None).await {
                    Ok(out) => (out.status.success(), String::from_utf8_lossy(&out.stdout).trim().to_owned()),
                    Err(e) => return Answer::Unreachable(e.0),
                },
                Target::Webhook { url, secret } => {
                    let req = WebhookRequest { url, secret: secret.as_deref(), event: "pre-login", id: &payload.id, body: &body };
                    match crate::webhook::exchange(req, &self.tls).await {
                        Ok((status, text)) => (status.is_success(), text),
                        Err(e) => return Answer::Unreachable(e.0),
                    }
                }
            };
            if !ok {
                return Answer::Deny;
            }
            if said.is_empty() {
                return Answer::Allow(None);
            }
            match serde_json::from_str::<UserSettings>(&said) {
                Ok(s) if s.home.as_deref().is_some_and(|h| h.split('/').any(|c| c == "..") || h.contains('\0')) => {
                    Answer::Unreachable(format!("the hook gave a home outside the root: {:?}", s.home))
                }
                Ok(s) => Answer::Allow(Some(s)),
                Err(e) => Answer::Unreachable(format!("the hook's answer is not the user's settings as JSON: {e}")),
            }
        };
        match tokio::time::timeout(hook.timeout, asked).await {
            Ok(a) => a,
            Err(_) => Answer::Unreachable(format!("no answer within {:?}", hook.timeout)),
        }
    }

    async fn decide(&self, hook: &Hook, user: &str, password: &str, from: &LoginContext) -> Result<Option<Account>, AuthError> {
        let fingerprint = self.fingerprint(user, password);
        if let Some(ttl) = hook.cache
            && let Some((fp, account, at)) = ferry_core::sync::lock(&self.cache).get(user).cloned()
            && fp == fingerprint
            && at.elapsed() < ttl
        {
            return Ok(Some(account));
        }
        let payload = Payload {
            user: Some(user.to_owned()),
            protocol: Some(from.protocol.to_owned()),
            peer: Some(from.peer.to_string()),
            password: Some(password.to_owned()),
            ..Payload::bare(HookEvent::PreLogin, SystemTime::now())
        };
        match self.ask(hook, &payload).await {
            Answer::Allow(settings) => {
                let policy = match settings {
                    Some(s) => {
                        let mut file = self.settings.clone();
                        file.users.insert(user.to_owned(), s);
                        file.policy(user)
                    }
                    None => self.settings.policy(user),
                };
                let account = Account { name: user.to_owned(), policy, anonymous: false };
                ferry_core::sync::lock(&self.admitted).insert(user.to_owned());
                if hook.cache.is_some() {
                    ferry_core::sync::lock(&self.cache).insert(user.to_owned(), (fingerprint, account.clone(), Instant::now()));
                }
                Ok(Some(account))
            }
            Answer::Deny => {
                ferry_core::sync::lock(&self.cache).remove(user);
                Ok(None)
            }
            Answer::Unreachable(why) => {
                tracing::warn!(hook = %hook.name, error = %why, "pre-login hook could not be asked; the login is not decided");
                Err(AuthError::Store(StoreError::Unavailable(format!("the {} login check: {why}", hook.name))))
            }
        }
    }

    /// The hook that decides for `user`, if one does.
    fn hook_for(&self, user: &str) -> Option<&Hook> {
        let probe = Payload { user: Some(user.to_owned()), ..Payload::bare(HookEvent::PreLogin, SystemTime::UNIX_EPOCH) };
        self.hooks.iter().find(|h| h.wants(&probe))
    }
}

impl Authenticator for PreLoginAuth {
    fn login<'a>(&'a self, user: &'a str, password: &'a str) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        self.accounts.login(user, password)
    }

    fn login_from<'a>(
        &'a self,
        user: &'a str,
        password: &'a str,
        from: &'a LoginContext,
    ) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        Box::pin(async move {
            match self.hook_for(user) {
                Some(hook) => self.decide(hook, user, password, from).await,
                None => self.accounts.login_from(user, password, from).await,
            }
        })
    }

    /// A hook decides by password: users it covers cannot log in by key
    /// (their SFTP clients fall back to the password). Everyone else's
    /// keys are the accounts' to check.
    fn login_with_key<'a>(
        &'a self,
        user: &'a str,
        key: &'a str,
        from: &'a LoginContext,
    ) -> BoxFuture<'a, Result<Option<Account>, AuthError>> {
        Box::pin(async move {
            match self.hook_for(user) {
                Some(_) => Ok(None),
                None => self.accounts.login_with_key(user, key, from).await,
            }
        })
    }

    fn standing<'a>(&'a self, account: &'a Account) -> BoxFuture<'a, Result<Standing, StoreError>> {
        Box::pin(async move {
            if ferry_core::sync::lock(&self.admitted).contains(&account.name) {
                // The hook decides at each login; a reload keeps the session.
                return Ok(Standing::Active(account.policy.clone()));
            }
            self.accounts.standing(account).await
        })
    }
}
