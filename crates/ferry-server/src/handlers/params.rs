//! Transfer parameters: RFC 959 §4.1.2 (TYPE, MODE, STRU, PORT, PASV),
//! RFC 2428 (EPRT, EPSV, EPSV ALL), RFC 3659 §5 (REST in stream mode) and
//! draft-bryan-ftp-range (RANG).

use std::net::{IpAddr, SocketAddr};

use ferry_proto::addr;
use ferry_proto::command::{EpsvArg, TransferType};
use ferry_proto::reply::code;

use crate::session::Session;
use crate::session::answer::{Handled, Refusal, refuse, reply};
use crate::session::data::{self, DataSetup, canonical_ip};

impl Session {
    pub(crate) async fn type_cmd(&mut self, t: TransferType) -> Handled {
        Ok(self.state.set_type(t).into())
    }

    pub(crate) async fn mode(&mut self, m: char) -> Handled {
        if m == 'S' {
            reply(code::OK, "Mode set to S.")
        } else {
            reply(code::PARAM_NOT_IMPLEMENTED, format!("Mode {m} not supported; use S."))
        }
    }

    pub(crate) async fn stru(&mut self, s: char) -> Handled {
        if s == 'F' {
            reply(code::OK, "Structure set to F.")
        } else {
            reply(code::PARAM_NOT_IMPLEMENTED, format!("Structure {s} not supported; use F."))
        }
    }

    pub(crate) async fn rest_cmd(&mut self, offset: u64) -> Handled {
        Ok(self.state.restart_at(offset).into())
    }

    pub(crate) async fn rang_cmd(&mut self, start: u64, end: u64) -> Handled {
        Ok(self.state.range(start, end).into())
    }

    async fn open_passive(&mut self) -> Result<SocketAddr, Refusal> {
        self.data = DataSetup::None;
        let local_ip = canonical_ip(self.local.ip());
        match data::bind_passive(local_ip, self.shared.config.passive_ports.as_ref()).await {
            Ok(listener) => {
                let addr = listener.local_addr()?;
                self.data = DataSetup::Passive(listener);
                Ok(addr)
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open passive port");
                Err(refuse(code::CANT_OPEN_DATA, format!("Can't open passive connection: {e}.")))
            }
        }
    }

    pub(crate) async fn pasv(&mut self) -> Handled {
        self.state.data_setup_allowed()?;
        let configured = *crate::sync::read(&self.shared.passive_ip);
        let announce = match (configured, canonical_ip(self.local.ip())) {
            (Some(IpAddr::V4(a)), _) | (None, IpAddr::V4(a)) => a,
            _ => {
                return reply(code::CANT_OPEN_DATA, "PASV needs IPv4; use EPSV on IPv6 connections.");
            }
        };
        let bound = self.open_passive().await?;
        let text = addr::format_pasv_reply(std::net::SocketAddrV4::new(announce, bound.port()));
        reply(code::PASSIVE, text)
    }

    pub(crate) async fn epsv(&mut self, arg: EpsvArg) -> Handled {
        let ours = if canonical_ip(self.local.ip()).is_ipv4() { 1 } else { 2 };
        match arg {
            EpsvArg::All => {
                self.state.epsv_all = true;
                reply(code::OK, "EPSV ALL ok.")
            }
            EpsvArg::Protocol(p) if p != ours => {
                reply(code::NET_PROTOCOL_NOT_SUPPORTED, format!("Network protocol not supported, use ({ours})."))
            }
            EpsvArg::Protocol(_) | EpsvArg::Any => {
                let bound = self.open_passive().await?;
                reply(code::EXTENDED_PASSIVE, addr::format_epsv_reply(bound.port()))
            }
        }
    }

    /// `PORT` and `EPRT`. The target must be the control peer, on an
    /// unprivileged port (RFC 2577 §3, the bounce attack).
    pub(crate) async fn port(&mut self, target: SocketAddr, extended: bool) -> Handled {
        self.state.data_setup_allowed()?;
        let peer_ip = canonical_ip(self.peer.ip());
        let target_ip = canonical_ip(target.ip());
        if extended && peer_ip.is_ipv4() != target_ip.is_ipv4() {
            let ours = if peer_ip.is_ipv4() { 1 } else { 2 };
            return reply(code::NET_PROTOCOL_NOT_SUPPORTED, format!("Network protocol not supported, use ({ours})."));
        }
        if target_ip != peer_ip || target.port() < 1024 {
            tracing::warn!(%target, "refused data connection target (bounce protection)");
            let verb = if extended { "EPRT" } else { "PORT" };
            return reply(code::SYNTAX_ERROR, format!("Illegal {verb}: only your own address and ports >= 1024."));
        }
        self.data = DataSetup::Active(SocketAddr::new(target_ip, target.port()));
        let verb = if extended { "EPRT" } else { "PORT" };
        reply(code::OK, format!("{verb} command successful."))
    }
}
