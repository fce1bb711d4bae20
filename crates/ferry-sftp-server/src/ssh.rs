//! One SSH connection: logins on the core's accounts, then SFTP channels.
//!
//! Passwords go through the same authenticator as FTP (the users file,
//! PostgreSQL, `pre-login` hooks), and a wrong one counts towards the
//! same per-address ban and closes the connection after the same number
//! of failures; russh answers every refusal after the same delay
//! (`failure-delay`), so timing tells nothing. Public keys are checked
//! against the account's `authorized_keys`; keys a client merely offers
//! are not failures (clients try every key they hold). Keyboard-
//! interactive logins are refused. After the login, only the `sftp`
//! subsystem is served: shells, commands and port forwarding are refused.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use ferry_core::auth::{Account, AuthError, LoginContext};
use ferry_core::events::LoginFailure;
use ferry_core::sessions::SessionHandle;
use ferry_core::userfs::UserFs;
use russh::keys::Algorithm;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, MethodKind, MethodSet};

use crate::{Core, SftpSettings};

/// SSH channels one connection may hold open, SFTP sessions running on
/// them included (each may hold 256 open files).
const MAX_CHANNELS: usize = 4;

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SshError {
    /// The SSH layer failed (the client left, a protocol error).
    #[error(transparent)]
    Ssh(#[from] russh::Error),
    /// Ended by us, for this reason.
    #[error("{0}")]
    Closed(&'static str),
}

/// The state of one connection.
pub(crate) struct Connection {
    core: Arc<Core>,
    settings: Arc<SftpSettings>,
    peer: SocketAddr,
    registration: Arc<SessionHandle>,
    /// Set at the login, for the login deadline.
    pub(crate) authenticated: Arc<AtomicBool>,
    failures: u32,
    login: Option<(Account, UserFs, u64)>,
    /// Channels opened and not yet serving SFTP.
    channels: HashMap<ChannelId, Channel<Msg>>,
    /// SFTP sessions running on this connection.
    running: Arc<AtomicUsize>,
    /// The server's budget of open files, shared by every session.
    budget: Arc<crate::sftp::Budget>,
    /// The connection's span (session, peer, user): russh runs these
    /// callbacks in a task of its own, outside it.
    span: tracing::Span,
}

impl Connection {
    pub(crate) fn new(
        core: Arc<Core>,
        settings: Arc<SftpSettings>,
        peer: SocketAddr,
        registration: Arc<SessionHandle>,
        budget: Arc<crate::sftp::Budget>,
        span: tracing::Span,
    ) -> Connection {
        Connection {
            core,
            settings,
            peer,
            registration,
            authenticated: Arc::new(AtomicBool::new(false)),
            failures: 0,
            login: None,
            channels: HashMap::new(),
            running: Arc::default(),
            budget,
            span,
        }
    }

    fn methods() -> MethodSet {
        MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..])
    }

    fn reject() -> Auth {
        Auth::Reject { proceed_with_methods: Some(Self::methods()), partial_success: false }
    }

    fn context(&self) -> LoginContext {
        LoginContext { peer: self.peer, protocol: "sftp" }
    }

    /// A login the authenticator decided: in, or refused (and how).
    async fn decided(
        &mut self,
        user: &str,
        decision: Result<Option<Account>, AuthError>,
        generation: u64,
        by_password: bool,
    ) -> Result<Auth, SshError> {
        let events = self.core.services.events().clone();
        match decision {
            Ok(Some(account)) => self.logged_in(account, generation).await,
            Ok(None) if !by_password => Ok(Self::reject()),
            Ok(None) => {
                self.failures += 1;
                tracing::warn!(parent: &self.span, user = %user.escape_debug(), failures = self.failures, "login failed");
                events.login_failed(&self.registration.info(), user, LoginFailure::Incorrect);
                let banned = self.core.defender.failed_login(self.peer.ip(), std::time::Instant::now());
                if banned {
                    return Err(SshError::Closed("too many failed logins from this address"));
                }
                if self.failures >= self.settings.max_login_failures {
                    return Err(SshError::Closed("too many failed logins"));
                }
                Ok(Self::reject())
            }
            Err(e) => {
                // Neither right nor wrong: not a guess, never counted.
                let reason = match e {
                    AuthError::Disabled => LoginFailure::Disabled,
                    AuthError::Expired => LoginFailure::Expired,
                    AuthError::NetworkNotAllowed => LoginFailure::NotAllowed,
                    AuthError::Store(_) | AuthError::Busy => LoginFailure::Unavailable,
                };
                tracing::warn!(parent: &self.span, user = %user.escape_debug(), error = %e, "login refused");
                events.login_failed(&self.registration.info(), user, reason);
                Ok(Self::reject())
            }
        }
    }

    async fn logged_in(&mut self, account: Account, generation: u64) -> Result<Auth, SshError> {
        let (services, info, a) = (self.core.services.clone(), self.registration.info(), account.clone());
        let open = move || UserFs::open(&services, &a, info);
        let view = if account.policy.home.is_root() { Ok(open()) } else { tokio::task::spawn_blocking(open).await };
        let fs = match view {
            Ok(Ok(fs)) => fs,
            Ok(Err(e)) => {
                tracing::error!(parent: &self.span, user = %account.name, home = %account.policy.home, error = %e, "home folder unavailable");
                return Ok(Self::reject());
            }
            Err(_) => return Ok(Self::reject()),
        };
        self.span.record("user", tracing::field::display(account.name.escape_debug()));
        tracing::info!(parent: &self.span, "login ok");
        self.core.services.events().login_ok(&self.registration.info(), &account.name);
        self.registration.logged_in(fs.actor().user.clone());
        self.authenticated.store(true, Ordering::Release);
        self.login = Some((account, fs, generation));
        Ok(Auth::Accept)
    }

    /// The login's account for a key, if it opens one (not a failure when
    /// it does not).
    async fn key_login(&self, user: &str, key: &russh::keys::PublicKey) -> (Result<Option<Account>, AuthError>, u64) {
        let generation = self.core.auth.generation();
        let Some(blob) = crate::host_key::key_blob(key) else { return (Ok(None), generation) };
        let ctx = self.context();
        (self.core.auth.get().login_with_key(user, &blob, &ctx).await, generation)
    }

    /// Answer a shell or command request: this server runs neither.
    fn refuse_command(channel: ChannelId, session: &mut Session) -> Result<(), SshError> {
        let text = "ferryd serves files over SFTP only: use sftp, or scp (OpenSSH 9 and later use SFTP; older ones need scp -s)\r\n";
        session.channel_success(channel)?;
        session.extended_data(channel, 1, text.as_bytes().to_vec())?;
        session.exit_status_request(channel, 1)?;
        session.eof(channel)?;
        session.close(channel)?;
        Ok(())
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        if let Some((account, _, _)) = self.login.take() {
            self.core.services.events().logout(&self.registration.info(), &account.name);
            self.registration.logged_out();
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = SshError;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Self::reject())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        // The generation first: a reload in between shows at the next batch.
        let generation = self.core.auth.generation();
        let ctx = self.context();
        let decision = self.core.auth.get().login_from(user, password, &ctx).await;
        self.decided(user, decision, generation, true).await
    }

    async fn auth_publickey_offered(&mut self, user: &str, offer: PublicKeyOffer<'_>) -> Result<Auth, Self::Error> {
        // RSA signatures over SHA-1 (`ssh-rsa`) are not taken.
        if matches!(offer.algorithm, Algorithm::Rsa { hash: None }) {
            return Ok(Self::reject());
        }
        match self.key_login(user, offer.public_key).await.0 {
            Ok(Some(_)) => Ok(Auth::Accept),
            _ => Ok(Self::reject()),
        }
    }

    async fn auth_publickey(&mut self, user: &str, key: VerifiedPublicKey<'_>) -> Result<Auth, Self::Error> {
        if matches!(key.algorithm, Algorithm::Rsa { hash: None }) {
            return Ok(Self::reject());
        }
        let (decision, generation) = self.key_login(user, key.public_key).await;
        self.decided(user, decision, generation, false).await
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        _user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        Ok(Self::reject())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.login.is_none() || self.channels.len() + self.running.load(Ordering::Acquire) >= MAX_CHANNELS {
            // Dropping the handle refuses the channel.
            return Ok(());
        }
        self.channels.insert(channel.id(), channel);
        reply.accept().await;
        Ok(())
    }

    async fn subsystem_request(&mut self, channel: ChannelId, name: &str, session: &mut Session) -> Result<(), Self::Error> {
        let (Some((account, fs, generation)), true) = (&self.login, name == "sftp") else {
            tracing::info!(parent: &self.span, subsystem = %name.escape_debug(), "refused a subsystem other than sftp");
            session.channel_failure(channel)?;
            return Ok(());
        };
        let Some(ch) = self.channels.remove(&channel) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        let parts = crate::sftp::SessionParts {
            fs: fs.clone(),
            account: account.clone(),
            registration: self.registration.clone(),
            auth: self.core.auth.clone(),
            auth_generation: *generation,
            services: self.core.services.clone(),
            timeouts: self.settings.timeouts,
            disk: self.settings.disk.clone(),
            budget: self.budget.clone(),
        };
        let running = self.running.clone();
        running.fetch_add(1, Ordering::AcqRel);
        let serve = async move {
            crate::sftp::serve(ch, parts).await;
            running.fetch_sub(1, Ordering::AcqRel);
        };
        tokio::spawn(tracing::Instrument::instrument(serve, self.span.clone()));
        Ok(())
    }

    async fn exec_request(&mut self, channel: ChannelId, data: &[u8], session: &mut Session) -> Result<(), Self::Error> {
        tracing::info!(parent: &self.span, command = %String::from_utf8_lossy(data).escape_debug(), "refused a command");
        Self::refuse_command(channel, session)
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        tracing::info!(parent: &self.span, "refused a shell");
        Self::refuse_command(channel, session)
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _col_width: u32,
        _row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn env_request(&mut self, channel: ChannelId, _name: &str, _value: &str, session: &mut Session) -> Result<(), Self::Error> {
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}
