//! [`CoreBackend`]: the admin front door's port ([`ferry_admin::Backend`])
//! answered by the core. Nothing here decides anything: users are
//! validated and stored by the account store's directory, admins and
//! tokens by the admin store, sessions and bans by the registry and the
//! defender. This only converts between the two crates' types.

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use ferry_admin::backend::{
    self as api, AdminIdentity, BackendError, BanInfo, BoxFuture, EventItem, Feed, IssuedToken, ListenerInfo, SessionInfo, Status,
    TransferInfo, UserError, UserPage, UserQuery,
};
use ferry_admin::web::time::rfc3339;
use ferry_core::admin::{AdminAuth, TokenKind};
use ferry_core::auth::directory::{self, DirectoryError, UserDirectory};
use ferry_core::auth::record::UserRecord;
use ferry_core::auth::settings::Permission;
use ferry_core::events::ring::{EventRing, Numbered};
use ferry_core::events::{AdminAction, Event};
use ferry_core::limits::Direction;
use ferry_hooks::payload::Payload;
use tokio::sync::broadcast::error::RecvError;

use super::reload::Reloader;

/// The core, as the admin front door sees it.
pub(crate) struct CoreBackend {
    pub(crate) auth: AdminAuth,
    pub(crate) directory: Arc<dyn UserDirectory>,
    pub(crate) reload_after_change: bool,
    pub(crate) reloader: Reloader,
    pub(crate) ring: Arc<EventRing>,
    pub(crate) started: Instant,
    pub(crate) listeners: Mutex<Vec<ListenerInfo>>,
}

impl CoreBackend {
    pub(crate) fn add_listener(&self, protocol: &str, address: SocketAddr) {
        ferry_core::sync::lock(&self.listeners).push(ListenerInfo { protocol: protocol.into(), address: address.to_string() });
    }

    /// After a change to the users file, the running server reads it
    /// again (as on SIGHUP), so new logins see the change at once and open
    /// sessions of a disabled or deleted user end.
    async fn changed(&self) -> Result<(), UserError> {
        if self.reload_after_change {
            self.reloader.accounts().await.map_err(|e| UserError::Backend(BackendError(format!("the change was saved, but {e}"))))?;
        }
        Ok(())
    }
}

fn store_error(e: impl std::fmt::Display) -> BackendError {
    BackendError(e.to_string())
}

fn user_error(e: DirectoryError) -> UserError {
    match e {
        DirectoryError::Invalid(fields) => {
            UserError::Invalid(fields.into_iter().map(|f| api::FieldError::new(f.field, f.message)).collect())
        }
        DirectoryError::Exists(name) => UserError::Exists(name),
        DirectoryError::NotFound(name) => UserError::NotFound(name),
        DirectoryError::Store(e) => UserError::Backend(store_error(e)),
    }
}

fn to_api(r: UserRecord) -> api::User {
    api::User {
        name: r.name,
        enabled: r.enabled,
        home: r.home,
        permissions: r.permissions.map(|p| p.iter().map(|p| p.name().to_owned()).collect()),
        read_only: r.read_only,
        quota_bytes: r.quota_bytes,
        quota_files: r.quota_files,
        upload_rate: r.upload_rate,
        download_rate: r.download_rate,
        allowed_networks: r.allowed_networks,
        expires: r.expires,
    }
}

fn from_api(u: &api::User) -> Result<UserRecord, UserError> {
    let permissions = match &u.permissions {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|p| {
                    Permission::ALL
                        .into_iter()
                        .find(|x| x.name() == p)
                        .ok_or_else(|| UserError::Invalid(vec![api::FieldError::new("permissions", format!("unknown permission {p:?}"))]))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(UserRecord {
        name: u.name.clone(),
        enabled: u.enabled,
        home: u.home.clone(),
        permissions,
        read_only: u.read_only,
        quota_bytes: u.quota_bytes,
        quota_files: u.quota_files,
        upload_rate: u.upload_rate,
        download_rate: u.download_rate,
        allowed_networks: u.allowed_networks.clone(),
        expires: u.expires.clone(),
    })
}

fn action(a: api::AdminAction) -> AdminAction {
    match a {
        api::AdminAction::Login => AdminAction::Login,
        api::AdminAction::LoginFailed => AdminAction::LoginFailed,
        api::AdminAction::UserCreate => AdminAction::UserCreate,
        api::AdminAction::UserUpdate => AdminAction::UserUpdate,
        api::AdminAction::UserDelete => AdminAction::UserDelete,
        api::AdminAction::SessionKick => AdminAction::SessionKick,
        api::AdminAction::Unban => AdminAction::Unban,
        api::AdminAction::Reload => AdminAction::Reload,
    }
}

/// An event as the API shows it: the hooks' JSON (version 1), whose id is
/// the ring's number, so the same event has the same id on every read.
fn item(seq: u64, event: &Event) -> EventItem {
    let payload = Payload::with_id(event, format!("{seq:032x}"));
    EventItem { seq, event: serde_json::to_value(&payload).unwrap_or_default() }
}

struct RingFeed(tokio::sync::broadcast::Receiver<Numbered>);

impl Feed for RingFeed {
    fn recv(&mut self) -> BoxFuture<'_, Result<EventItem, RecvError>> {
        Box::pin(async move { self.0.recv().await.map(|(seq, e)| item(seq, &e)) })
    }
}

fn counter(metrics: &ferry_core::events::metrics::Metrics) -> serde_json::Map<String, serde_json::Value> {
    let get = |family: &prometheus_client::metrics::family::Family<
        Vec<(&'static str, &'static str)>,
        prometheus_client::metrics::counter::Counter,
    >,
               labels: &[(&'static str, &'static str)]| family.get_or_create(&labels.to_vec()).get();
    let mut m = serde_json::Map::new();
    let mut put = |k: &str, v: u64| {
        m.insert(k.into(), v.into());
    };
    put("logins", get(&metrics.logins, &[("result", "ok")]));
    put("login_failures", get(&metrics.logins, &[("result", "failed")]));
    put("bans", metrics.bans.get());
    put("uploads", get(&metrics.transfers, &[("direction", "in"), ("result", "ok")]));
    put("upload_failures", get(&metrics.transfers, &[("direction", "in"), ("result", "error")]));
    put("downloads", get(&metrics.transfers, &[("direction", "out"), ("result", "ok")]));
    put("download_failures", get(&metrics.transfers, &[("direction", "out"), ("result", "error")]));
    put("bytes_in", get(&metrics.bytes, &[("direction", "in")]));
    put("bytes_out", get(&metrics.bytes, &[("direction", "out")]));
    put("data_connection_failures", metrics.data_connection_failures.get());
    m
}

impl ferry_admin::Backend for CoreBackend {
    fn verify_admin<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move { self.auth.login(name, password).await.map_err(store_error) })
    }

    fn issue_token<'a>(&'a self, admin: &'a str, kind: api::TokenKind) -> BoxFuture<'a, Result<IssuedToken, BackendError>> {
        Box::pin(async move {
            let kind = match kind {
                api::TokenKind::Login => TokenKind::Login,
                api::TokenKind::Browser => TokenKind::Browser,
                api::TokenKind::Api => TokenKind::Api,
            };
            let issued = self.auth.issue(admin, kind, kind.default_ttl()).await.map_err(store_error)?;
            Ok(IssuedToken { token: issued.token, expires: issued.record.expires })
        })
    }

    fn check_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<AdminIdentity>, BackendError>> {
        Box::pin(async move {
            let record = self.auth.check(token, SystemTime::now()).await.map_err(store_error)?;
            Ok(record.map(|r| AdminIdentity {
                name: r.admin,
                kind: match r.kind {
                    TokenKind::Login => api::TokenKind::Login,
                    TokenKind::Browser => api::TokenKind::Browser,
                    TokenKind::Api => api::TokenKind::Api,
                },
            }))
        })
    }

    fn revoke_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move { self.auth.revoke(token).await.map(drop).map_err(store_error) })
    }

    fn csrf_token(&self, session_token: &str) -> String {
        self.auth.csrf_token(session_token)
    }

    fn is_banned(&self, ip: IpAddr) -> bool {
        self.reloader.server.defender().is_banned(ip, Instant::now())
    }

    fn failed_login(&self, ip: IpAddr) -> bool {
        self.reloader.server.defender().failed_login(ip, Instant::now())
    }

    fn failure_delay(&self) -> Duration {
        self.reloader.server.failure_delay()
    }

    fn record(&self, admin: &str, a: api::AdminAction, target: Option<&str>, peer: SocketAddr) {
        self.reloader.server.services().events().admin(admin, action(a), target, Some(peer));
    }

    fn list_users<'a>(&'a self, q: &'a UserQuery) -> BoxFuture<'a, Result<UserPage, BackendError>> {
        Box::pin(async move {
            let query = directory::UserQuery { search: q.search.clone(), offset: q.offset, limit: q.limit };
            let page = self.directory.list(&query).await.map_err(store_error)?;
            Ok(UserPage { total: page.total, users: page.users.into_iter().map(to_api).collect() })
        })
    }

    fn get_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<api::User>, BackendError>> {
        Box::pin(async move { Ok(self.directory.get(name).await.map_err(store_error)?.map(to_api)) })
    }

    fn create_user<'a>(&'a self, user: &'a api::User, password: &'a str) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            self.directory.create(&from_api(user)?, password).await.map_err(user_error)?;
            self.changed().await
        })
    }

    fn update_user<'a>(&'a self, user: &'a api::User, password: Option<&'a str>) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            self.directory.update(&from_api(user)?, password).await.map_err(user_error)?;
            self.changed().await
        })
    }

    fn delete_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            self.directory.delete(name).await.map_err(user_error)?;
            self.changed().await
        })
    }

    fn sessions(&self) -> Vec<SessionInfo> {
        let services = self.reloader.server.services();
        services
            .sessions()
            .list()
            .into_iter()
            .map(|s| SessionInfo {
                id: s.id,
                user: s.user,
                protocol: s.protocol.to_owned(),
                peer: s.peer.to_string(),
                since: rfc3339(s.since),
                transfer: s.transfer.map(|t| TransferInfo {
                    path: t.path,
                    direction: if t.direction == Direction::Upload { "upload" } else { "download" }.to_owned(),
                    bytes: t.bytes,
                    rate: t.rate,
                    since: rfc3339(t.since),
                    size: t.size,
                }),
            })
            .collect()
    }

    fn kick(&self, id: u64) -> bool {
        self.reloader.server.services().sessions().kick(id)
    }

    fn bans(&self) -> Vec<BanInfo> {
        let defender = self.reloader.server.defender();
        defender.bans(Instant::now()).into_iter().map(|b| BanInfo { address: b.address.to_string(), until: rfc3339(b.until) }).collect()
    }

    fn unban(&self, ip: IpAddr) -> bool {
        self.reloader.server.defender().unban(ip)
    }

    fn events_since(&self, since: u64, limit: usize) -> Vec<EventItem> {
        self.ring.since(since, limit).iter().map(|(seq, e)| item(*seq, e)).collect()
    }

    fn latest_event(&self) -> u64 {
        self.ring.latest()
    }

    fn subscribe_events(&self) -> Box<dyn Feed> {
        Box::new(RingFeed(self.ring.subscribe()))
    }

    fn reload(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async move { self.reloader.all().await.map_err(BackendError) })
    }

    fn status(&self) -> Status {
        let services = self.reloader.server.services();
        Status {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            uptime_seconds: self.started.elapsed().as_secs(),
            listeners: ferry_core::sync::lock(&self.listeners).clone(),
            sessions: services.sessions().len(),
            counters: counter(&self.reloader.server.metrics()),
        }
    }
}
