//! Whose server is this: the host key checked against OpenSSH's
//! `known_hosts`, trusted on first use only when someone says so.
//!
//! A key the file knows is accepted silently; a different key for a known
//! host is refused, always, with the line to look at (the one case where
//! going on could hand a password to someone else); an unknown host is
//! put to a [`HostKeyPrompt`]: on a terminal the `ferry` program shows
//! the fingerprint and asks, in a script it refuses and says what to run.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use russh::keys::{HashAlg, PublicKey};

/// What to do with a host whose key `known_hosts` does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyDecision {
    /// Go on, and add the key to `known_hosts`.
    TrustAndRemember,
    /// Go on this once.
    TrustOnce,
    /// Do not connect.
    Refuse,
}

/// Asked about a host `known_hosts` does not know.
pub trait HostKeyPrompt: Send + Sync {
    /// `host:port` offers a key of `algorithm` with this SHA-256
    /// `fingerprint` (`SHA256:…`, as `ssh` shows it).
    fn unknown_host(&self, host: &str, port: u16, algorithm: &str, fingerprint: &str) -> HostKeyDecision;
}

/// The prompt of a program with no one to ask: refuse.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefuseUnknown;

impl HostKeyPrompt for RefuseUnknown {
    fn unknown_host(&self, _: &str, _: u16, _: &str, _: &str) -> HostKeyDecision {
        HostKeyDecision::Refuse
    }
}

/// `~/.ssh/known_hosts`, where OpenSSH keeps them.
pub fn default_known_hosts() -> Option<PathBuf> {
    std::env::var_os("HOME").filter(|h| !h.is_empty()).map(|h| PathBuf::from(h).join(".ssh").join("known_hosts"))
}

/// The outcome of a check, kept for the error message when the
/// connection is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    Known,
    Learned,
    TrustedOnce,
    Refused(String),
}

/// The check russh calls during the key exchange.
pub(crate) struct Checker {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) known_hosts: Option<PathBuf>,
    pub(crate) prompt: Arc<dyn HostKeyPrompt>,
    pub(crate) verdict: Arc<Mutex<Option<Verdict>>>,
}

/// The SHA-256 fingerprint of `key`, as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// How `host` and `port` are written in `known_hosts`.
fn host_entry(host: &str, port: u16) -> String {
    if port == 22 { host.to_owned() } else { format!("[{host}]:{port}") }
}

impl Checker {
    fn check(&self, key: &PublicKey) -> Verdict {
        let fp = fingerprint(key);
        let algorithm = key.algorithm().to_string();
        let entry = host_entry(&self.host, self.port);
        if let Some(path) = &self.known_hosts
            && path.exists()
        {
            match russh::keys::check_known_hosts_path(&self.host, self.port, key, path) {
                Ok(true) => return Verdict::Known,
                Ok(false) => {}
                Err(russh::keys::Error::KeyChanged { line }) => {
                    return Verdict::Refused(format!(
                        "the host key of {entry} has CHANGED ({algorithm} {fp}); {} line {line} has another. \
                         Someone may be intercepting the connection, or the server was reinstalled: check with its \
                         administrator, then remove that line (`ssh-keygen -R '{entry}'`)",
                        path.display()
                    ));
                }
                Err(e) => return Verdict::Refused(format!("cannot read {}: {e}", path.display())),
            }
        }
        match self.prompt.unknown_host(&self.host, self.port, &algorithm, &fp) {
            HostKeyDecision::TrustOnce => Verdict::TrustedOnce,
            HostKeyDecision::TrustAndRemember => match &self.known_hosts {
                Some(path) => match learn(path, &self.host, self.port, key) {
                    Ok(()) => Verdict::Learned,
                    Err(e) => Verdict::Refused(format!("cannot add the host key to {}: {e}", path.display())),
                },
                None => Verdict::TrustedOnce,
            },
            HostKeyDecision::Refuse => Verdict::Refused(format!(
                "the host key of {entry} is not known ({algorithm} {fp}); connect once from a terminal to check and \
                 remember it, or add it with `ssh-keyscan -p {} {} >> ~/.ssh/known_hosts` after checking the fingerprint",
                self.port, self.host
            )),
        }
    }
}

/// Add `host`'s key to `known_hosts` as OpenSSH writes it (one line,
/// the host name in clear), making the file and its folder if needed.
fn learn(path: &Path, host: &str, port: u16, key: &PublicKey) -> Result<(), String> {
    use std::io::Write as _;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    let existing = std::fs::read(path).unwrap_or_default();
    let gap = if existing.is_empty() || existing.ends_with(b"\n") { "" } else { "\n" };
    let line = format!("{gap}{} {}\n", host_entry(host, port), key.to_openssh().map_err(|e| e.to_string())?);
    let mut f = std::fs::OpenOptions::new().append(true).create(true).open(path).map_err(|e| e.to_string())?;
    f.write_all(line.as_bytes()).map_err(|e| e.to_string())
}

impl russh::client::Handler for Checker {
    type Error = russh::Error;

    async fn check_server_key(&mut self, key: &russh::keys::PublicKeyOrCertificate) -> Result<bool, Self::Error> {
        let verdict = match key {
            russh::keys::PublicKeyOrCertificate::PublicKey { key, .. } => self.check(key),
            russh::keys::PublicKeyOrCertificate::Certificate(_) => {
                Verdict::Refused("the server sent a host certificate; ferry checks plain host keys only".into())
            }
        };
        let ok = !matches!(verdict, Verdict::Refused(_));
        *self.verdict.lock().unwrap_or_else(|p| p.into_inner()) = Some(verdict);
        Ok(ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Says(HostKeyDecision);
    impl HostKeyPrompt for Says {
        fn unknown_host(&self, _: &str, _: u16, _: &str, _: &str) -> HostKeyDecision {
            self.0
        }
    }

    fn key(seed: u8) -> PublicKey {
        let pair = russh::keys::ssh_key::private::Ed25519Keypair::from_seed(&[seed; 32]);
        russh::keys::PrivateKey::from(pair).public_key().clone()
    }

    fn checker(path: &Path, decision: HostKeyDecision) -> Checker {
        Checker {
            host: "127.0.0.1".into(),
            port: 2222,
            known_hosts: Some(path.to_owned()),
            prompt: Arc::new(Says(decision)),
            verdict: Arc::default(),
        }
    }

    #[test]
    fn unknown_hosts_are_asked_about_remembered_and_a_changed_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".ssh/known_hosts");
        let refused = checker(&path, HostKeyDecision::Refuse).check(&key(1));
        assert!(matches!(&refused, Verdict::Refused(m) if m.contains("not known") && m.contains("ssh-keyscan -p 2222")), "{refused:?}");
        assert!(!path.exists());
        assert_eq!(checker(&path, HostKeyDecision::TrustOnce).check(&key(1)), Verdict::TrustedOnce);
        assert!(!path.exists(), "trusted once is not remembered");
        assert_eq!(checker(&path, HostKeyDecision::TrustAndRemember).check(&key(1)), Verdict::Learned);
        assert!(std::fs::read_to_string(&path).unwrap().starts_with("[127.0.0.1]:2222 ssh-ed25519 "));
        // Now known: no question asked, even by a refusing prompt.
        assert_eq!(checker(&path, HostKeyDecision::Refuse).check(&key(1)), Verdict::Known);
        // Another key for the same host: refused whatever the prompt says.
        let changed = checker(&path, HostKeyDecision::TrustAndRemember).check(&key(2));
        assert!(matches!(&changed, Verdict::Refused(m) if m.contains("CHANGED") && m.contains("ssh-keygen -R")), "{changed:?}");
    }
}
