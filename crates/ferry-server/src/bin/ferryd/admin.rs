//! `--admin-listen`: the admin front door (`ferry-admin`) started on the
//! running server, over the core's pieces — the account store's user
//! directory, the admin accounts and tokens, the session registry, the
//! defender, the event ring — through [`CoreBackend`].

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use ferry_admin::AdminListener;
use ferry_core::admin::{AdminAuth, AdminStore};
use ferry_core::auth::directory::UserDirectory;
use ferry_core::events::ring::EventRing;

use super::admin_backend::CoreBackend;
use super::reload::Reloader;

/// Events the admin API keeps for `GET /events` and late stream readers.
pub(crate) const EVENT_RING: usize = 10_000;

/// Where admins and users are managed for this server.
pub(crate) struct AdminStores {
    pub(crate) admins: Arc<dyn AdminStore>,
    pub(crate) directory: Arc<dyn UserDirectory>,
    /// The users file is read into memory by the running server: after a
    /// change through the directory, the accounts are reloaded. A database
    /// is asked at every login and needs no reload.
    pub(crate) reload_after_change: bool,
}

/// Bind the admin listener and serve it in the background; make the first
/// admin (and show its password once) if there is none.
pub(crate) async fn start(addr: SocketAddr, reloader: &Reloader, listeners: &[(&str, SocketAddr)]) -> anyhow::Result<()> {
    let stores = reloader.accounts.admin_stores().await?;
    if let Some((name, password)) = ferry_core::admin::ensure_first_admin(&*stores.admins).await.context("creating the first admin")? {
        println!("ferryd: created the admin account {name:?} (the password is shown only now):");
        println!("    admin:    {name}");
        println!("    password: {password}");
        println!("  Add admins with `ferryd admin add NAME`; sign in at the admin address.");
    }
    let ring = EventRing::new(EVENT_RING);
    let services = reloader.server.services();
    services.events().subscribe(ring.clone());
    let https = reloader.server.https_config();
    let backend = Arc::new(CoreBackend {
        auth: AdminAuth::new(stores.admins),
        directory: stores.directory,
        reload_after_change: stores.reload_after_change,
        reloader: reloader.clone(),
        ring,
        started: std::time::Instant::now(),
        listeners: std::sync::Mutex::new(Vec::new()),
    });
    let listener = AdminListener::bind(addr, https, reloader.settings.admin_https, backend.clone()).await?;
    let local = listener.local_addr()?;
    let scheme = if listener.is_https() { "https" } else { "http" };
    for (protocol, address) in listeners {
        backend.add_listener(protocol, *address);
    }
    backend.add_listener(if listener.is_https() { "admin-https" } else { "admin-http" }, local);
    tracing::info!("admin API and web admin at {scheme}://{local}/");
    let shutdown = reloader.server.stopping();
    tokio::spawn(listener.run(shutdown));
    Ok(())
}
