//! The server's host key: read from a file, or made on the first start.
//!
//! Without `--sftp-host-key`, ferryd keeps an Ed25519 key beside the users
//! file (`ssh_host_ed25519_key`, mode 0600, OpenSSH's format) and makes it
//! the first time, printing its SHA-256 fingerprint, which is what clients
//! show when they first connect (`ssh-keygen -lf` prints the same).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use russh::keys::ssh_key::{LineEnding, private::Ed25519Keypair};
use russh::keys::{HashAlg, PrivateKey, PublicKey};

/// A host key that cannot be read or made.
#[derive(Debug, thiserror::Error)]
pub enum HostKeyError {
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file is not a private key in OpenSSH's format.
    #[error("{path}: not an OpenSSH private key ({why}); make one with `ssh-keygen -t ed25519 -N '' -f {path}`")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// The key is protected by a passphrase, which a server cannot type.
    #[error("{path}: the key has a passphrase; a server key must have none (`ssh-keygen -p -N '' -f {path}`)")]
    Encrypted {
        /// The file.
        path: PathBuf,
    },
    /// The file can be read by others.
    #[error("{path}: readable by other users (mode {mode:o}); `chmod 600 {path}`")]
    Exposed {
        /// The file.
        path: PathBuf,
        /// Its mode bits.
        mode: u32,
    },
}

/// Read the private key at `path`.
pub fn load(path: &Path) -> Result<PrivateKey, HostKeyError> {
    let io = |source| HostKeyError::Io { path: path.to_owned(), source };
    let meta = std::fs::metadata(path).map_err(io)?;
    let mode = std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o777;
    if mode & 0o077 != 0 {
        return Err(HostKeyError::Exposed { path: path.to_owned(), mode });
    }
    let text = std::fs::read_to_string(path).map_err(io)?;
    let key = PrivateKey::from_openssh(&text).map_err(|e| HostKeyError::Format { path: path.to_owned(), why: e.to_string() })?;
    if key.is_encrypted() {
        return Err(HostKeyError::Encrypted { path: path.to_owned() });
    }
    Ok(key)
}

/// Read the key at `path`, or make an Ed25519 key there when there is no
/// file. Returns the key and whether it was made now.
pub fn load_or_create(path: &Path) -> Result<(PrivateKey, bool), HostKeyError> {
    match std::fs::symlink_metadata(path) {
        Ok(_) => return load(path).map(|k| (k, false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(HostKeyError::Io { path: path.to_owned(), source }),
    }
    let io = |source| HostKeyError::Io { path: path.to_owned(), source };
    let mut seed = [0u8; 32];
    ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut seed)
        .map_err(|_| io(std::io::Error::other("the system's random number generator failed")))?;
    let mut key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
    seed.fill(0);
    key.set_comment("ferryd host key");
    let text = key.to_openssh(LineEnding::LF).map_err(|e| HostKeyError::Format { path: path.to_owned(), why: e.to_string() })?;
    // Created 0600 and never replaced: two servers starting at once keep
    // the first one's key.
    let mut file = std::fs::OpenOptions::new();
    std::os::unix::fs::OpenOptionsExt::mode(&mut file, 0o600);
    let mut f = match file.write(true).create_new(true).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return load(path).map(|k| (k, false)),
        Err(e) => return Err(io(e)),
    };
    f.write_all(text.as_bytes()).and_then(|()| f.sync_all()).map_err(io)?;
    let public = key.public_key().to_openssh().map_err(|e| HostKeyError::Format { path: path.to_owned(), why: e.to_string() })?;
    let mut pub_path = path.as_os_str().to_owned();
    pub_path.push(".pub");
    // The public half, for operators to hand to partners; losing it loses nothing.
    let _ = std::fs::write(pub_path, format!("{public}\n"));
    Ok((key, true))
}

/// The SHA-256 fingerprint clients show: `SHA256:` and unpadded base64.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// A public key as its `.pub` line's second field: the base64 that
/// `authorized_keys` entries are matched by.
pub fn key_blob(key: &PublicKey) -> Option<String> {
    let line = key.to_openssh().ok()?;
    line.split_whitespace().nth(1).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_made_once_private_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ssh_host_ed25519_key");
        let (made, fresh) = load_or_create(&path).unwrap();
        assert!(fresh);
        let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&path).unwrap().permissions()) & 0o777;
        assert_eq!(mode, 0o600);
        let (again, fresh) = load_or_create(&path).unwrap();
        assert!(!fresh);
        assert_eq!(made.public_key(), again.public_key());
        assert!(fingerprint(made.public_key()).starts_with("SHA256:"));
        let pub_line = std::fs::read_to_string(dir.path().join("ssh_host_ed25519_key.pub")).unwrap();
        assert!(pub_line.starts_with("ssh-ed25519 ") && pub_line.contains(&key_blob(made.public_key()).unwrap()));
    }

    #[test]
    fn an_exposed_or_broken_key_is_refused_with_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "not a key").unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        assert!(load(&path).unwrap_err().to_string().contains("ssh-keygen -t ed25519"));
    }
}
