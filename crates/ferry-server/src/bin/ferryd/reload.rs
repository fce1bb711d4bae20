//! Reloading a running server: accounts and their settings, the storage's
//! counts, the certificate. `SIGHUP` and the admin API's `POST /reload`
//! (and every account change made through the API on the users file)
//! come here, so they cannot differ.

use std::sync::Arc;

use ferry_server::Server;

use super::accounts::Accounts;
use super::options::Options;

/// What a reload needs, kept for the server's life.
#[derive(Clone)]
pub(crate) struct Reloader {
    pub(crate) server: Server,
    pub(crate) settings: Options,
    pub(crate) accounts: Arc<Accounts>,
    /// One reload at a time: a SIGHUP during an API reload waits.
    running: Arc<tokio::sync::Mutex<()>>,
}

impl Reloader {
    pub(crate) fn new(server: Server, settings: Options, accounts: Arc<Accounts>) -> Reloader {
        Reloader { server, settings, accounts, running: Arc::default() }
    }

    /// Read the accounts again and put them in force (sessions logged in
    /// look their account up again at their next command). The old
    /// accounts stay when the new ones cannot be read; the error says why.
    pub(crate) async fn accounts(&self) -> Result<(), String> {
        let accounts = self.accounts.clone();
        let loaded = tokio::task::spawn_blocking(move || accounts.load(true)).await;
        let result = match loaded {
            Ok(Ok(u)) => match super::hooks::wrap_accounts(&self.settings, u) {
                // In force before it is logged (tests wait for the line).
                Ok(u) => {
                    self.server.set_authenticator(u);
                    tracing::info!("reloaded the accounts from {}", self.accounts.describe());
                    Ok(())
                }
                Err(e) => Err(format!("{e:#}")),
            },
            Ok(Err(e)) => Err(format!("{e:#}")),
            Err(e) => Err(e.to_string()),
        };
        if let Err(e) = &result {
            tracing::error!("keeping the old accounts: {e}");
        }
        result
    }

    /// Everything SIGHUP reloads. Errors are logged and the old state kept
    /// for that part; the first error is returned.
    pub(crate) async fn all(&self) -> Result<(), String> {
        let _one = self.running.lock().await;
        let accounts = self.accounts().await;
        // Files changed behind ferryd's back are counted again, and a
        // crash's leftover upload files are removed.
        self.server.refresh_storage();
        // Renewed certificates (e.g. from Let's Encrypt) take effect for
        // new sessions.
        let mut tls = Ok(());
        if self.settings.tls {
            match super::run::tls_settings(&self.settings) {
                Ok(t) => {
                    tracing::info!("reloaded the TLS certificate");
                    self.server.set_tls(Arc::new(t));
                }
                Err(e) => {
                    tracing::error!("keeping the old TLS certificate: {e:#}");
                    tls = Err(format!("keeping the old TLS certificate: {e:#}"));
                }
            }
        }
        accounts.map_err(|e| format!("keeping the old accounts: {e}")).and(tls)
    }

    /// Reload on every SIGHUP, until the process ends.
    pub(crate) async fn on_sighup(self) {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while hup.recv().await.is_some() {
            let _ = self.all().await;
        }
    }
}
