//! The SFTP front door of `ferryd`: SSH (russh) on the core's accounts,
//! and SFTP requests as the core's per-user calls.
//!
//! Like the FTP front door, it holds no policy: logins go through the
//! core's authenticator (passwords, and `authorized_keys` for keys), the
//! defender keeps the same bans, and every file request is one `UserFs`
//! call, so homes, permissions, quotas, rate limits, names, events (with
//! `protocol = "sftp"`), the xferlog and the admin API's session list
//! are the same as for FTP.
//!
//! - [`host_key`]: the server's key, read or made on the first start;
//! - `listener`: the accept loop, with the session cap, the defender and
//!   the deadlines of every connection;
//! - `ssh`: one connection's logins and channels;
//! - `sftp`: one SFTP session: requests in batches on the blocking pool
//!   (`sftp/ops.rs` maps each to the core; `sftp/handles.rs` keeps what
//!   is open).
//!
//! The protocol itself, sans-IO, is the `ferry-sftp` crate, which the
//! `ferry` client shares.

mod deadline;
pub mod host_key;
mod listener;
mod sftp;
mod ssh;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use ferry_core::auth::Current;
use ferry_core::auth::defender::Defender;
use ferry_core::services::Services;

pub use listener::SftpServer;
pub use russh::keys::PrivateKey;

/// What the SFTP front door shares with the others: the core's services,
/// the accounts in force (replaced on reload) and the defender.
#[derive(Clone)]
pub struct Core {
    /// Storage, quotas, claims, rates, events and the session registry.
    pub services: Arc<Services>,
    /// The authenticator in force.
    pub auth: Arc<Current>,
    /// Per-address limits and bans, shared with FTP.
    pub defender: Arc<Defender>,
    /// The server's metrics (SFTP sessions count in `sessions_open`; the
    /// transfers come through the events).
    pub metrics: Arc<ferry_core::events::metrics::Metrics>,
}

/// The deadlines of an SFTP session.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    /// From the connection to the login (and the SFTP handshake).
    pub login: Duration,
    /// Between two requests.
    pub idle: Duration,
    /// For each write to a client that has stopped reading.
    pub data: Duration,
}

/// How the SFTP front door runs.
#[derive(Clone)]
pub struct SftpSettings {
    /// The host keys (the first of each type the client accepts is used).
    pub host_keys: Vec<PrivateKey>,
    /// The deadlines.
    pub timeouts: Timeouts,
    /// The pause before every refused login.
    pub failure_delay: Duration,
    /// Failed passwords before the connection is closed.
    pub max_login_failures: u32,
    /// SFTP connections served at once.
    pub max_sessions: usize,
    /// The server's root on disk, for `statvfs` (`None`: object storage).
    pub disk: Option<PathBuf>,
    /// On shutdown, how long sessions may go on.
    pub shutdown_grace: Duration,
}

impl std::fmt::Debug for SftpSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SftpSettings").field("host_keys", &self.host_keys.len()).field("timeouts", &self.timeouts).finish_non_exhaustive()
    }
}

/// The algorithms offered, most preferred first: only modern ones (no
/// SHA-1, no CBC, no finite-field or NIST-curve key exchange, no
/// compression).
pub mod algorithms {
    use std::borrow::Cow;

    use russh::keys::{Algorithm, EcdsaCurve, HashAlg};
    use russh::{Preferred, cipher, kex, mac};

    /// Key exchange.
    pub const KEX: &[kex::Name] = &[
        kex::MLKEM768X25519_SHA256,
        kex::CURVE25519,
        kex::CURVE25519_PRE_RFC_8731,
        kex::EXTENSION_SUPPORT_AS_SERVER,
        kex::EXTENSION_OPENSSH_STRICT_KEX_AS_SERVER,
    ];
    /// Ciphers: authenticated encryption first; then AES-CTR, which
    /// OpenSSH still offers by default and Mozilla's "modern" profile
    /// keeps, because libssh2 before 1.11 (Debian 12's curl, PHP, many
    /// appliances) has nothing else. CTR goes with the SHA-2 MACs below.
    pub const CIPHERS: &[cipher::Name] = &[
        cipher::CHACHA20_POLY1305,
        cipher::AES_256_GCM,
        cipher::AES_128_GCM,
        cipher::AES_256_CTR,
        cipher::AES_192_CTR,
        cipher::AES_128_CTR,
    ];
    /// MACs, for the CTR ciphers: encrypt-then-MAC first; the plain SHA-2
    /// ones for libssh2, which has no ETM before 1.11.
    pub const MACS: &[mac::Name] = &[mac::HMAC_SHA512_ETM, mac::HMAC_SHA256_ETM, mac::HMAC_SHA512, mac::HMAC_SHA256];
    /// Host-key and user-key signatures: Ed25519, RSA with SHA-2, ECDSA
    /// (for users' keys).
    pub const KEYS: &[Algorithm] = &[
        Algorithm::Ed25519,
        Algorithm::Rsa { hash: Some(HashAlg::Sha512) },
        Algorithm::Rsa { hash: Some(HashAlg::Sha256) },
        Algorithm::Ecdsa { curve: EcdsaCurve::NistP256 },
        Algorithm::Ecdsa { curve: EcdsaCurve::NistP384 },
        Algorithm::Ecdsa { curve: EcdsaCurve::NistP521 },
    ];

    /// The whole list, for russh.
    pub fn preferred() -> Preferred {
        Preferred {
            kex: Cow::Borrowed(KEX),
            key: Cow::Borrowed(KEYS),
            host_key_certificates: Cow::Borrowed(&[]),
            cipher: Cow::Borrowed(CIPHERS),
            mac: Cow::Borrowed(MACS),
            compression: Cow::Borrowed(&[russh::compression::NONE]),
        }
    }
}
