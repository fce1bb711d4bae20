//! Access control: RFC 959 §4.1.1 (USER, PASS, ACCT, REIN, QUIT) and
//! RFC 7151 (HOST).

use std::io;

use ferry_proto::VirtualPath;
use ferry_proto::command::Password;
use ferry_proto::reply::code;

use crate::auth::recheck::{self, Ending, Recheck};
use crate::auth::{Account, AuthError};
use crate::session::answer::{Handled, reply};
use crate::session::data::DataSetup;
use crate::session::{Login, Phase, Session};
use ferry_core::events::LoginFailure;
use ferry_core::userfs::UserFs;

impl Session {
    pub(crate) async fn user(&mut self, user: String) -> Handled {
        // Changing user mid-session is allowed (RFC 959): it logs out first.
        if self.account().is_some() {
            self.reset();
        }
        Ok(self.state.user(user).1.into())
    }

    pub(crate) async fn pass(&mut self, password: Password) -> Handled {
        let user = self.state.pass_for()?;
        // The generation first: a reload in between shows at the next command.
        let generation = self.shared.auth.generation();
        let auth = self.shared.auth.get();
        // The store lookup holds nothing another login needs; the hash
        // waits its turn on the hashing service (a login storm queues
        // there instead of exhausting memory or threads). A login verified
        // moments ago skips the hash.
        let from = crate::auth::LoginContext { peer: self.peer, protocol: "ftp" };
        let account = match auth.login_from(&user, &password.0, &from).await {
            Ok(account) => account,
            Err(e) => return self.login_refused(&user, e),
        };
        match account {
            Some(account) => {
                // The user's view of the files: their home becomes their `/`
                // (opened on the blocking pool unless it is the root, which
                // needs no I/O).
                let (services, info, a) = (self.shared.services.clone(), self.info(), account.clone());
                let open = move || UserFs::open(&services, &a, info);
                let view = if account.policy.home.is_root() { Ok(open()) } else { tokio::task::spawn_blocking(open).await };
                let fs = match view {
                    Ok(Ok(fs)) => fs,
                    Ok(Err(e)) => {
                        tracing::error!(user = %account.name, home = %account.policy.home, error = %e, "home folder unavailable");
                        return reply(code::NOT_LOGGED_IN, "Home folder unavailable; ask the administrator.");
                    }
                    Err(_) => return reply(code::NOT_LOGGED_IN, "Login failed."),
                };
                tracing::Span::current().record("user", account.name.as_str());
                tracing::info!("login ok");
                self.shared.services.events().login_ok(&self.info(), &account.name);
                // One copy of the name, shared; the policy stays in the view.
                let name = fs.actor().user.clone();
                self.registration.logged_in(name.clone());
                if let Some(tls) = &self.tls {
                    tls.logged_in(&account.name);
                }
                self.fs = Some(fs);
                self.state.phase = Phase::LoggedIn(Login { name, anonymous: account.anonymous });
                self.auth_generation = generation;
                self.cwd = VirtualPath::root();
                reply(code::LOGGED_IN, "Login successful.")
            }
            None => {
                self.login_failures += 1;
                tracing::warn!(user = %user, failures = self.login_failures, "login failed");
                self.state.phase = Phase::Fresh;
                self.shared.services.events().login_failed(&self.info(), &user, LoginFailure::Incorrect);
                // The defender tells the events of a ban it decides.
                let banned = self.shared.defender.failed_login(self.peer.ip(), std::time::Instant::now());
                // Slow guessing down; the reply waits too, so a client
                // cannot simply pipeline more attempts.
                tokio::time::sleep(self.shared.config.failure_delay).await;
                if banned {
                    self.quit = true;
                    return reply(code::NOT_AVAILABLE, "Too many failed logins from your address; try again later.");
                }
                if self.login_failures >= self.shared.config.max_login_failures {
                    self.quit = true;
                    return reply(code::NOT_AVAILABLE, "Too many failed logins; closing connection.");
                }
                reply(code::NOT_LOGGED_IN, "Login incorrect.")
            }
        }
    }

    /// Answer a login that was neither right nor wrong: the account store
    /// is down, the account is disabled, expired or not to be used from
    /// this address, or the hashing service is swamped. None of these is a
    /// guess, so none counts towards a ban; the session goes on and may try
    /// again.
    fn login_refused(&mut self, user: &str, e: AuthError) -> Handled {
        self.state.phase = Phase::Fresh;
        let reason = match e {
            AuthError::Disabled => LoginFailure::Disabled,
            AuthError::Expired => LoginFailure::Expired,
            AuthError::NetworkNotAllowed => LoginFailure::NotAllowed,
            AuthError::Store(_) | AuthError::Busy => LoginFailure::Unavailable,
        };
        self.shared.services.events().login_failed(&self.info(), user, reason);
        match e {
            AuthError::Disabled => {
                tracing::warn!(user, "login refused: account disabled");
                reply(code::NOT_LOGGED_IN, "Login refused: account disabled.")
            }
            AuthError::Expired => {
                tracing::warn!(user, "login refused: account expired");
                reply(code::NOT_LOGGED_IN, "Login refused: account expired.")
            }
            AuthError::NetworkNotAllowed => {
                tracing::warn!(user, "login refused: not allowed from this address");
                reply(code::NOT_LOGGED_IN, "Login refused: not allowed from your address.")
            }
            AuthError::Store(e) => {
                tracing::error!(user, error = %e, "login not checked: account database unavailable");
                reply(code::NOT_AVAILABLE, "Account database unavailable; try again later.")
            }
            AuthError::Busy => {
                tracing::warn!(user, "login not checked: password hashing overloaded");
                reply(code::NOT_AVAILABLE, "Server busy; try again later.")
            }
        }
    }

    /// After a reload (the authenticator's generation moved on), look the
    /// logged-in account up again: new settings apply at once; a deleted,
    /// disabled or expired account, one no longer allowed from this
    /// address, or a moved home, ends the session. Returns
    /// false when the session was ended. An unreachable store keeps the
    /// session as it was (and asks again at the next command).
    pub(crate) async fn refresh_account(&mut self) -> io::Result<bool> {
        if self.auth_recheck.is_some_and(|t| std::time::Instant::now() < t) {
            return Ok(true);
        }
        let generation = self.shared.auth.generation();
        let (Phase::LoggedIn(login), Some(fs)) = (&self.state.phase, &self.fs) else { return Ok(true) };
        let account = Account { name: login.name.to_string(), policy: fs.policy(), anonymous: login.anonymous };
        let standing = self.shared.auth.get().standing(&account).await;
        let Some(fs) = &self.fs else { return Ok(true) };
        let reason = match recheck::judge(standing, &fs.home(), self.peer.ip()) {
            Recheck::Unknown(e) => {
                tracing::warn!(error = %e, "cannot check the account after a reload; keeping the session");
                self.auth_recheck = Some(std::time::Instant::now() + recheck::AFTER_OUTAGE);
                return Ok(true);
            }
            Recheck::Keep { policy, confirmed } => {
                self.shared.services.apply_policy(&account.name, &policy);
                fs.set_policy(policy);
                if confirmed {
                    self.auth_generation = generation;
                    self.auth_recheck = None;
                } else {
                    // Not every command of every session may wait on a
                    // store that is down: ask again in a while.
                    self.auth_recheck = Some(std::time::Instant::now() + recheck::AFTER_OUTAGE);
                }
                return Ok(true);
            }
            Recheck::End(Ending::NotAllowedFrom) => {
                ("not allowed from this address", "Your account may no longer be used from your address; closing connection.")
            }
            Recheck::End(Ending::HomeMoved) => ("home folder changed", "Your home folder changed; log in again."),
            Recheck::End(Ending::Disabled) => ("account disabled", "Your account was disabled; closing connection."),
            Recheck::End(Ending::Expired) => ("account expired", "Your account expired; closing connection."),
            Recheck::End(Ending::Gone) => ("account removed", "Your account was removed; closing connection."),
        };
        tracing::info!(user = %account.name, "session ended after a reload: {}", reason.0);
        self.ctl.reply(code::NOT_AVAILABLE, reason.1).await?;
        self.quit = true;
        Ok(false)
    }

    /// Forget the login and all transfer parameters.
    pub(crate) fn reset(&mut self) {
        if let Some(fs) = self.fs.take() {
            self.shared.services.events().logout(&self.info(), fs.user());
        }
        self.registration.logged_out();
        self.state.reset();
        self.cwd = VirtualPath::root();
        self.data = DataSetup::None;
    }

    pub(crate) async fn rein(&mut self) -> Handled {
        self.reset();
        reply(code::READY, "Session reset; log in again.")
    }

    pub(crate) async fn quit_cmd(&mut self) -> Handled {
        self.quit = true;
        reply(code::CLOSING, "Goodbye.")
    }

    pub(crate) async fn host(&mut self, host: String) -> Handled {
        // RFC 7151 §3: HOST is only valid before login.
        self.state.before_user("HOST")?;
        tracing::debug!(%host, "virtual host");
        reply(code::READY, "Host accepted.")
    }
}
