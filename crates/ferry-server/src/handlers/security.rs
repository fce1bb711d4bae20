//! FTPS: RFC 4217 (AUTH TLS, PBSZ, PROT, CCC).

use ferry_proto::reply::code;

use crate::session::Session;
use crate::session::answer::{Handled, reply, sent};

impl Session {
    pub(crate) async fn auth(&mut self, mechanism: &str) -> Handled {
        let Some(settings) = self.shared.tls() else {
            return reply(code::NOT_IMPLEMENTED, "TLS is not configured on this server.");
        };
        if self.ctl.is_tls() {
            return reply(code::BAD_SEQUENCE, "Already using TLS.");
        }
        // RFC 4217 §4: "TLS" and the older "SSL" and "TLS-C" all mean TLS
        // on the control connection.
        if !matches!(mechanism, "TLS" | "SSL" | "TLS-C" | "TLS-P") {
            return reply(code::PARAM_NOT_IMPLEMENTED, format!("AUTH {mechanism} not supported; use AUTH TLS."));
        }
        self.state.before_user("AUTH")?;
        // Sent here: the handshake follows it at once.
        self.ctl.reply(code::AUTH_OK, "AUTH TLS successful; start the handshake.").await?;
        let acceptor = self.shared.tls_state.session(&settings, self.peer.ip());
        if let Err(e) = self.ctl.upgrade(&acceptor, self.shared.config.data_timeout).await {
            tracing::info!(error = %e, "TLS upgrade failed");
            self.quit = true;
            return sent();
        }
        tracing::Span::current().record("tls", true);
        self.tls = Some(acceptor);
        // "TLS-P" (draft) means protected data from the start.
        if mechanism == "TLS-P" {
            (self.state.pbsz, self.state.prot_private) = (true, true);
        }
        sent()
    }

    pub(crate) async fn pbsz_cmd(&mut self, _size: u64) -> Handled {
        Ok(self.state.pbsz(self.ctl.is_tls()).into())
    }

    pub(crate) async fn prot(&mut self, level: char) -> Handled {
        Ok(self.state.prot(level, self.transport()).into())
    }
}
