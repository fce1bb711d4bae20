//! Event hooks for `ferryd`: the `[[hooks]]` of the config file, spooled in
//! `hook-spool` and delivered by [`ferry_hooks::Dispatcher`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use ferry_hooks::{Dispatcher, HooksSettings, PreLoginAuth, PreUploadGate};
use ferry_server::auth::Authenticator;
use ferry_server::auth::settings::SettingsFile;
use ferry_server::auth::users_file;

use super::options::Options;

/// The spool folder: `hook-spool`, or `hook-spool` beside the users file.
fn spool(args: &Options) -> PathBuf {
    args.hook_spool.clone().unwrap_or_else(|| {
        let dir = args.users.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
        dir.join("hook-spool")
    })
}

/// `accounts` behind the `pre-login` hooks, if there are any: they decide
/// for the users they cover (with the defaults of `users.toml`).
pub(crate) fn wrap_accounts(args: &Options, accounts: Arc<dyn Authenticator>) -> anyhow::Result<Arc<dyn Authenticator>> {
    let settings = SettingsFile::load_optional(&users_file::settings_path(&args.users)).unwrap_or_default();
    PreLoginAuth::wrap(&args.hooks, accounts, settings).context("the pre-login hooks")
}

/// The configured hooks, started (on the current runtime): the dispatcher
/// that delivers events, and the gate of the `pre-upload` hooks; `None`s
/// when there are no hooks.
pub(crate) struct Hooks {
    pub(crate) dispatcher: Option<Arc<Dispatcher>>,
    pub(crate) gate: Option<Arc<PreUploadGate>>,
}

pub(crate) fn start(args: &Options) -> anyhow::Result<Hooks> {
    if args.hooks.is_empty() {
        return Ok(Hooks { dispatcher: None, gate: None });
    }
    let mut settings = HooksSettings::new(spool(args));
    settings.max_age = ferry_hooks::duration::parse(&args.hook_max_age).context("hook-max-age")?;
    // Commands get FERRY_FS_PATH on local storage: the root, the user's
    // home (from users.toml, read now), then the virtual path.
    if args.s3_bucket.is_none() {
        let root = std::fs::canonicalize(&args.root).unwrap_or_else(|_| args.root.clone());
        let homes = SettingsFile::load_optional(&users_file::settings_path(&args.users)).unwrap_or_default();
        settings.fs_paths = Some(Arc::new(move |user: &str, path: &str| {
            let home = homes.policy(user).home;
            let mut on_disk = root.clone();
            for part in home.components().chain(path.split('/').filter(|c| !c.is_empty())) {
                on_disk.push(part);
            }
            Some(on_disk)
        }));
    }
    let gate = PreUploadGate::new(&args.hooks, settings.fs_paths.clone()).context("the pre-upload hooks")?;
    let dispatcher = Dispatcher::start(settings, &args.hooks).context("starting the event hooks")?;
    tracing::info!(hooks = args.hooks.len(), spool = %spool(args).display(), "event hooks on");
    Ok(Hooks { dispatcher: Some(dispatcher), gate })
}
