//! Hooks that decide: `pre-upload` hooks are asked before an upload
//! starts, and may refuse it.
//!
//! The hook gets the same JSON (version 1) as any event, with `event` =
//! `"pre-upload"`, the user, session, peer, the virtual `path` and, when
//! the client announced it (FTP's `ALLO`), the `size`. A command's exit 0
//! or an HTTP 2xx lets the upload start; anything else refuses it, with the
//! first line of the hook's output (standard error, else standard output;
//! or the response body) as the message the user is shown. A hook that
//! cannot be asked — it cannot run, the URL does not answer, the timeout
//! passes — answers as its `on-error` says: `"deny"` (the default) or
//! `"allow"`. Every matching hook must allow.

use std::sync::Arc;
use std::time::SystemTime;

use ferry_core::gate::{UploadGate, UploadRequest};

use crate::config::{FsPaths, HookConfig, HookConfigError, OnError};
use crate::event_name::HookEvent;
use crate::hook::{self, Hook, Target};
use crate::payload::Payload;
use crate::webhook::WebhookRequest;

/// The `pre-upload` hooks, as an [`UploadGate`] for the core.
pub struct PreUploadGate {
    hooks: Vec<Hook>,
    runtime: tokio::runtime::Handle,
    tls: Arc<rustls::ClientConfig>,
    fs_paths: Option<FsPaths>,
}

impl std::fmt::Debug for PreUploadGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreUploadGate").field("hooks", &self.hooks.len()).finish_non_exhaustive()
    }
}

/// How one hook answered.
enum Answer {
    Allow,
    Deny(String),
    /// It could not be asked; why.
    Unreachable(String),
}

impl PreUploadGate {
    /// The gate of the `pre-upload` hooks among `configs`, or `None` when
    /// there are none. Must be called inside a tokio runtime, which the
    /// checks run on (from the blocking thread that asks).
    pub fn new(configs: &[HookConfig], fs_paths: Option<FsPaths>) -> Result<Option<Arc<PreUploadGate>>, HookConfigError> {
        let hooks: Vec<Hook> = hook::compile_all(configs)?.into_iter().filter(|h| h.events.contains(&HookEvent::PreUpload)).collect();
        if hooks.is_empty() {
            return Ok(None);
        }
        let runtime = tokio::runtime::Handle::current();
        Ok(Some(Arc::new(PreUploadGate { hooks, runtime, tls: crate::webhook::default_tls(), fs_paths })))
    }

    async fn ask(&self, hook: &Hook, payload: &Payload, body: &[u8]) -> Answer {
        let asked = async {
            match &hook.target {
                Target::Command { argv } => match crate::command::execute(argv, payload, body, self.fs_paths.as_ref()).await {
                    Ok(out) if out.status.success() => Answer::Allow,
                    Ok(out) => Answer::Deny(crate::command::first_line(&out).unwrap_or_default()),
                    Err(e) => Answer::Unreachable(e.0),
                },
                Target::Webhook { url, secret } => {
                    let req = WebhookRequest { url, secret: secret.as_deref(), event: "pre-upload", id: &payload.id, body };
                    match crate::webhook::exchange(req, &self.tls).await {
                        Ok((status, _)) if status.is_success() => Answer::Allow,
                        Ok((_, text)) => Answer::Deny(text),
                        Err(e) => Answer::Unreachable(e.0),
                    }
                }
            }
        };
        match tokio::time::timeout(hook.timeout, asked).await {
            Ok(answer) => answer,
            Err(_) => Answer::Unreachable(format!("no answer within {:?}", hook.timeout)),
        }
    }
}

impl UploadGate for PreUploadGate {
    fn check(&self, r: &UploadRequest<'_>) -> Result<(), String> {
        let payload = Payload {
            user: Some(r.actor.user.to_string()),
            protocol: Some(r.actor.session.protocol.to_owned()),
            peer: Some(r.actor.session.peer.to_string()),
            session: Some(r.actor.session.id),
            path: Some(r.path.as_str().to_owned()),
            size: r.size,
            ..Payload::bare(HookEvent::PreUpload, SystemTime::now())
        };
        let body = payload.to_json();
        for hook in self.hooks.iter().filter(|h| h.wants(&payload)) {
            // On the blocking thread that opens the upload: wait here.
            match self.runtime.block_on(self.ask(hook, &payload, &body)) {
                Answer::Allow => {}
                Answer::Deny(said) => {
                    tracing::info!(hook = %hook.name, path = %r.path, "upload refused by a pre-upload hook");
                    return Err(if said.is_empty() { format!("refused by the {} check", hook.name) } else { said });
                }
                Answer::Unreachable(why) => {
                    tracing::warn!(hook = %hook.name, error = %why, on_error = ?hook.on_error, "pre-upload hook could not be asked");
                    if hook.on_error == OnError::Deny {
                        return Err("the upload check is unavailable; try again later".into());
                    }
                }
            }
        }
        Ok(())
    }
}
