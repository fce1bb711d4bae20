//! Access control: RFC 959 §4.1.1 (USER, PASS, ACCT, REIN, QUIT) and
//! RFC 7151 (HOST).

use std::io;
use std::sync::Arc;

use ferry_proto::VirtualPath;
use ferry_proto::command::Password;
use ferry_proto::reply::code;

use crate::session::data::DataSetup;
use crate::session::{Phase, Session};

impl Session {
    pub(crate) async fn user(&mut self, user: String) -> io::Result<()> {
        // Changing user mid-session is allowed (RFC 959): it logs out first.
        if self.account().is_some() {
            self.reset();
        }
        self.phase = Phase::NeedPassword { user };
        self.ctl.reply(code::NEED_PASSWORD, "Password required.").await
    }

    pub(crate) async fn pass(&mut self, password: Password) -> io::Result<()> {
        let user = match &self.phase {
            Phase::NeedPassword { user } => user.clone(),
            Phase::LoggedIn(_) => return self.ctl.reply(code::BAD_SEQUENCE, "Already logged in.").await,
            Phase::Fresh => return self.ctl.reply(code::BAD_SEQUENCE, "Login with USER first.").await,
        };
        let auth = Arc::clone(&*self.shared.auth.read().expect("auth lock"));
        let name = user.clone();
        // Password hashes are slow and memory-hungry (argon2id: ~19 MiB
        // each) by design; at most one per core runs at a time, so a login
        // storm queues instead of exhausting memory or threads.
        // A login verified moments ago is answered here, without the hash
        // and without a trip to the blocking pool; anything else (wrong
        // passwords included) pays the full price there.
        let account = match auth.authenticate_quick(&name, &password) {
            Some(answer) => answer,
            None => {
                let _permit = self.shared.hash_permits.acquire().await;
                tokio::task::spawn_blocking(move || auth.authenticate(&name, &password)).await.ok().flatten()
            }
        };
        match account {
            Some(account) => {
                // The user's home becomes their `/`. (At the root the shared
                // storage serves as it is: no extra handle per session.)
                let (storage, home) = (self.shared.storage.clone(), account.policy.home.clone());
                let view = if home.is_root() { Ok(Ok(storage)) } else { tokio::task::spawn_blocking(move || storage.scoped(&home)).await };
                match view {
                    Ok(Ok(view)) => self.storage = view,
                    Ok(Err(e)) => {
                        tracing::error!(user = %account.name, home = %account.policy.home, error = %e, "home folder unavailable");
                        return self.ctl.reply(code::NOT_LOGGED_IN, "Home folder unavailable; ask the administrator.").await;
                    }
                    Err(_) => return self.ctl.reply(code::NOT_LOGGED_IN, "Login failed.").await,
                }
                tracing::Span::current().record("user", account.name.as_str());
                tracing::info!("login ok");
                self.shared.metrics.login(true);
                if let Some(tls) = &self.tls {
                    tls.logged_in(&account.name);
                }
                self.phase = Phase::LoggedIn(account);
                self.cwd = VirtualPath::root();
                self.ctl.reply(code::LOGGED_IN, "Login successful.").await
            }
            None => {
                self.login_failures += 1;
                tracing::warn!(user = %user, failures = self.login_failures, "login failed");
                self.phase = Phase::Fresh;
                self.shared.metrics.login(false);
                let banned = self.shared.defender.failed_login(self.peer.ip(), std::time::Instant::now());
                if banned {
                    self.shared.metrics.bans.inc();
                }
                // Slow guessing down; the reply waits too, so a client
                // cannot simply pipeline more attempts.
                tokio::time::sleep(self.shared.config.failure_delay).await;
                if banned {
                    tracing::warn!("address banned after repeated failed logins");
                    self.ctl.reply(code::NOT_AVAILABLE, "Too many failed logins from your address; try again later.").await?;
                    self.quit = true;
                    return Ok(());
                }
                if self.login_failures >= self.shared.config.max_login_failures {
                    self.ctl.reply(code::NOT_AVAILABLE, "Too many failed logins; closing connection.").await?;
                    self.quit = true;
                    return Ok(());
                }
                self.ctl.reply(code::NOT_LOGGED_IN, "Login incorrect.").await
            }
        }
    }

    /// Forget the login and all transfer parameters.
    fn reset(&mut self) {
        self.phase = Phase::Fresh;
        self.cwd = VirtualPath::root();
        self.ascii = false;
        self.rest = None;
        self.rang = None;
        self.data = DataSetup::None;
        self.epsv_all = false;
    }

    pub(crate) async fn rein(&mut self) -> io::Result<()> {
        self.reset();
        self.ctl.reply(code::READY, "Session reset; log in again.").await
    }

    pub(crate) async fn quit_cmd(&mut self) -> io::Result<()> {
        self.quit = true;
        self.ctl.reply(code::CLOSING, "Goodbye.").await
    }

    pub(crate) async fn host(&mut self, host: String) -> io::Result<()> {
        // RFC 7151 §3: HOST is only valid before login.
        if !matches!(self.phase, Phase::Fresh) {
            return self.ctl.reply(code::BAD_SEQUENCE, "HOST must come before USER.").await;
        }
        tracing::debug!(%host, "virtual host");
        self.ctl.reply(code::READY, "Host accepted.").await
    }
}
