//! FTPS: RFC 4217 (AUTH TLS, PBSZ, PROT, CCC).

use ferry_proto::reply::code;

use crate::session::answer::{Handled, reply, sent};
use crate::session::{Phase, Session};

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
        if !matches!(self.phase, Phase::Fresh) {
            return reply(code::BAD_SEQUENCE, "AUTH must come before USER.");
        }
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
            (self.pbsz, self.prot_private) = (true, true);
        }
        sent()
    }

    pub(crate) async fn pbsz_cmd(&mut self, _size: u64) -> Handled {
        if !self.ctl.is_tls() {
            return reply(code::BAD_SEQUENCE, "PBSZ needs AUTH TLS first.");
        }
        self.pbsz = true;
        // RFC 4217 §9: for TLS the buffer size is always 0.
        reply(code::OK, "PBSZ=0")
    }

    pub(crate) async fn prot(&mut self, level: char) -> Handled {
        if !self.ctl.is_tls() || !self.pbsz {
            return reply(code::BAD_SEQUENCE, "PROT needs AUTH TLS and PBSZ first.");
        }
        match level {
            'P' => {
                self.prot_private = true;
                reply(code::OK, "Protection level set to Private.")
            }
            'C' if self.tls_required() => reply(code::POLICY_DENIED, "Policy requires protected data connections."),
            'C' => {
                self.prot_private = false;
                reply(code::OK, "Protection level set to Clear.")
            }
            'S' | 'E' => reply(code::PROT_NOT_SUPPORTED, format!("Protection level {level} not supported; use P or C.")),
            _ => reply(code::PARAM_NOT_IMPLEMENTED, format!("Unknown protection level {level}.")),
        }
    }
}
