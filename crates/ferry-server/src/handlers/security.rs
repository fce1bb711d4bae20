//! FTPS: RFC 4217 (AUTH TLS, PBSZ, PROT, CCC).

use std::io;

use ferry_proto::reply::code;

use crate::session::{Phase, Session};

impl Session {
    pub(crate) async fn auth(&mut self, mechanism: &str) -> io::Result<()> {
        let Some(settings) = self.shared.tls() else {
            return self.ctl.reply(code::NOT_IMPLEMENTED, "TLS is not configured on this server.").await;
        };
        if self.ctl.is_tls() {
            return self.ctl.reply(code::BAD_SEQUENCE, "Already using TLS.").await;
        }
        // RFC 4217 §4: "TLS" and the older "SSL" and "TLS-C" all mean TLS
        // on the control connection.
        if !matches!(mechanism, "TLS" | "SSL" | "TLS-C" | "TLS-P") {
            return self.ctl.reply(code::PARAM_NOT_IMPLEMENTED, format!("AUTH {mechanism} not supported; use AUTH TLS.")).await;
        }
        if !matches!(self.phase, Phase::Fresh) {
            return self.ctl.reply(code::BAD_SEQUENCE, "AUTH must come before USER.").await;
        }
        self.ctl.reply(code::AUTH_OK, "AUTH TLS successful; start the handshake.").await?;
        let acceptor = self.shared.tls_state.session(&settings, self.peer.ip());
        if let Err(e) = self.ctl.upgrade(&acceptor, self.shared.config.data_timeout).await {
            tracing::info!(error = %e, "TLS upgrade failed");
            self.quit = true;
            return Ok(());
        }
        tracing::Span::current().record("tls", true);
        self.tls = Some(acceptor);
        // "TLS-P" (draft) means protected data from the start.
        if mechanism == "TLS-P" {
            (self.pbsz, self.prot_private) = (true, true);
        }
        Ok(())
    }

    pub(crate) async fn pbsz_cmd(&mut self, _size: u64) -> io::Result<()> {
        if !self.ctl.is_tls() {
            return self.ctl.reply(code::BAD_SEQUENCE, "PBSZ needs AUTH TLS first.").await;
        }
        self.pbsz = true;
        // RFC 4217 §9: for TLS the buffer size is always 0.
        self.ctl.reply(code::OK, "PBSZ=0").await
    }

    pub(crate) async fn prot(&mut self, level: char) -> io::Result<()> {
        if !self.ctl.is_tls() || !self.pbsz {
            return self.ctl.reply(code::BAD_SEQUENCE, "PROT needs AUTH TLS and PBSZ first.").await;
        }
        match level {
            'P' => {
                self.prot_private = true;
                self.ctl.reply(code::OK, "Protection level set to Private.").await
            }
            'C' if self.tls_required() => self.ctl.reply(code::POLICY_DENIED, "Policy requires protected data connections.").await,
            'C' => {
                self.prot_private = false;
                self.ctl.reply(code::OK, "Protection level set to Clear.").await
            }
            'S' | 'E' => self.ctl.reply(code::PROT_NOT_SUPPORTED, format!("Protection level {level} not supported; use P or C.")).await,
            _ => self.ctl.reply(code::PARAM_NOT_IMPLEMENTED, format!("Unknown protection level {level}.")).await,
        }
    }
}
