//! Transfer parameters: RFC 959 §4.1.2 (TYPE, MODE, STRU, PORT, PASV),
//! RFC 2428 (EPRT, EPSV, EPSV ALL), RFC 3659 §5 (REST in stream mode) and
//! draft-bryan-ftp-range (RANG).

use std::io;
use std::net::{IpAddr, SocketAddr};

use ferry_proto::addr;
use ferry_proto::command::{EpsvArg, TransferType};
use ferry_proto::reply::code;

use crate::session::Session;
use crate::session::data::{self, DataSetup, canonical_ip};

impl Session {
    pub(crate) async fn type_cmd(&mut self, t: TransferType) -> io::Result<()> {
        match t {
            TransferType::Ascii | TransferType::Image => {
                self.ascii = t == TransferType::Ascii;
                self.ctl.reply(code::OK, format!("Type set to {t}.")).await
            }
            _ => self.ctl.reply(code::PARAM_NOT_IMPLEMENTED, format!("Type {t} not supported; use A or I.")).await,
        }
    }

    pub(crate) async fn mode(&mut self, m: char) -> io::Result<()> {
        if m == 'S' {
            self.ctl.reply(code::OK, "Mode set to S.").await
        } else {
            self.ctl.reply(code::PARAM_NOT_IMPLEMENTED, format!("Mode {m} not supported; use S.")).await
        }
    }

    pub(crate) async fn stru(&mut self, s: char) -> io::Result<()> {
        if s == 'F' {
            self.ctl.reply(code::OK, "Structure set to F.").await
        } else {
            self.ctl.reply(code::PARAM_NOT_IMPLEMENTED, format!("Structure {s} not supported; use F.")).await
        }
    }

    pub(crate) async fn rest_cmd(&mut self, offset: u64) -> io::Result<()> {
        self.rest = Some(offset);
        self.rang = None;
        self.ctl.reply(code::PENDING, format!("Restarting at {offset}. Send STOR or RETR.")).await
    }

    pub(crate) async fn rang_cmd(&mut self, start: u64, end: u64) -> io::Result<()> {
        // draft-bryan-ftp-range §3: "RANG 1 0" clears the range.
        if (start, end) == (1, 0) {
            self.rang = None;
            return self.ctl.reply(code::PENDING, "Resetting range.").await;
        }
        if end < start {
            return self.ctl.reply(code::ARG_SYNTAX_ERROR, "End byte must not precede start byte.").await;
        }
        self.rang = Some((start, end));
        self.rest = None;
        self.ctl.reply(code::PENDING, format!("Restarting at {start}. Ending byte {end}.")).await
    }

    /// Refuse when `EPSV ALL` is in force (RFC 2428 §4).
    async fn epsv_all_refuses(&mut self) -> io::Result<bool> {
        if self.epsv_all {
            self.ctl.reply(code::BAD_SEQUENCE, "EPSV ALL in effect; only EPSV is allowed.").await?;
        }
        Ok(self.epsv_all)
    }

    async fn open_passive(&mut self) -> io::Result<Option<SocketAddr>> {
        self.data = DataSetup::None;
        let local_ip = canonical_ip(self.local.ip());
        match data::bind_passive(local_ip, self.shared.config.passive_ports.as_ref()).await {
            Ok(listener) => {
                let addr = listener.local_addr()?;
                self.data = DataSetup::Passive(listener);
                Ok(Some(addr))
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot open passive port");
                self.ctl.reply(code::CANT_OPEN_DATA, format!("Can't open passive connection: {e}.")).await?;
                Ok(None)
            }
        }
    }

    pub(crate) async fn pasv(&mut self) -> io::Result<()> {
        if self.epsv_all_refuses().await? {
            return Ok(());
        }
        let configured = *crate::sync::read(&self.shared.passive_ip);
        let announce = match (configured, canonical_ip(self.local.ip())) {
            (Some(IpAddr::V4(a)), _) | (None, IpAddr::V4(a)) => a,
            _ => {
                return self.ctl.reply(code::CANT_OPEN_DATA, "PASV needs IPv4; use EPSV on IPv6 connections.").await;
            }
        };
        let Some(bound) = self.open_passive().await? else { return Ok(()) };
        let text = addr::format_pasv_reply(std::net::SocketAddrV4::new(announce, bound.port()));
        self.ctl.reply(code::PASSIVE, text).await
    }

    pub(crate) async fn epsv(&mut self, arg: EpsvArg) -> io::Result<()> {
        let ours = if canonical_ip(self.local.ip()).is_ipv4() { 1 } else { 2 };
        match arg {
            EpsvArg::All => {
                self.epsv_all = true;
                self.ctl.reply(code::OK, "EPSV ALL ok.").await
            }
            EpsvArg::Protocol(p) if p != ours => {
                self.ctl.reply(code::NET_PROTOCOL_NOT_SUPPORTED, format!("Network protocol not supported, use ({ours}).")).await
            }
            EpsvArg::Protocol(_) | EpsvArg::Any => {
                let Some(bound) = self.open_passive().await? else { return Ok(()) };
                self.ctl.reply(code::EXTENDED_PASSIVE, addr::format_epsv_reply(bound.port())).await
            }
        }
    }

    /// `PORT` and `EPRT`. The target must be the control peer, on an
    /// unprivileged port (RFC 2577 §3, the bounce attack).
    pub(crate) async fn port(&mut self, target: SocketAddr, extended: bool) -> io::Result<()> {
        if self.epsv_all_refuses().await? {
            return Ok(());
        }
        let peer_ip = canonical_ip(self.peer.ip());
        let target_ip = canonical_ip(target.ip());
        if extended && peer_ip.is_ipv4() != target_ip.is_ipv4() {
            let ours = if peer_ip.is_ipv4() { 1 } else { 2 };
            return self.ctl.reply(code::NET_PROTOCOL_NOT_SUPPORTED, format!("Network protocol not supported, use ({ours}).")).await;
        }
        if target_ip != peer_ip || target.port() < 1024 {
            tracing::warn!(%target, "refused data connection target (bounce protection)");
            let verb = if extended { "EPRT" } else { "PORT" };
            return self.ctl.reply(code::SYNTAX_ERROR, format!("Illegal {verb}: only your own address and ports >= 1024.")).await;
        }
        self.data = DataSetup::Active(SocketAddr::new(target_ip, target.port()));
        let verb = if extended { "EPRT" } else { "PORT" };
        self.ctl.reply(code::OK, format!("{verb} command successful.")).await
    }
}
