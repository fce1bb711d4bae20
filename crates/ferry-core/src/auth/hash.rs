//! Password hashing with argon2id (RFC 9106), stored as PHC strings
//! (`$argon2id$v=19$m=19456,t=2,p=1$salt$hash`).
//!
//! Verification takes the caller's memory blocks ([`verify_with`]), so the
//! hashing threads of [`super::hasher`] reuse theirs instead of asking the
//! allocator for ~19 MiB per login (which per-thread allocator arenas keep
//! for good).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};

/// The most memory one verification may use (256 MiB): a stored hash that
/// asks for more is refused rather than allowed to exhaust the server.
pub const MAX_BLOCKS: usize = 256 * 1024;

/// A PHC string with the default parameters, verified (and its answer
/// ignored) for unknown users, so that "no such user" costs what "wrong
/// password" costs.
pub const DUMMY_PHC: &str = "$argon2id$v=19$m=19456,t=2,p=1$8houKI4KufOPFKW4/tI9+g$DOEbsNmPTZMGCFZOdRnz9I7h+or6OClMRl/0XrrgS7I";

/// Why a stored hash could not be checked (it then matches nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// Not a PHC string of a known argon2 variant.
    #[error("the stored password hash is not a valid argon2 PHC string")]
    Malformed,
    /// Asks for more memory than [`MAX_BLOCKS`].
    #[error("the stored password hash asks for more than {} MiB", MAX_BLOCKS / 1024)]
    TooCostly,
}

/// Hash a password for the users file or the database.
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default().hash_password(password.as_bytes(), &salt).expect("argon2 with default parameters cannot fail").to_string()
}

/// Check a password against a PHC string, using (and growing as needed)
/// `blocks` as argon2's working memory. The comparison is constant-time.
pub fn verify_with(password: &[u8], phc: &str, blocks: &mut Vec<Block>) -> Result<bool, HashError> {
    let parsed = PasswordHash::new(phc).map_err(|_| HashError::Malformed)?;
    let algorithm = Algorithm::try_from(parsed.algorithm).map_err(|_| HashError::Malformed)?;
    let version = match parsed.version {
        Some(v) => Version::try_from(v).map_err(|_| HashError::Malformed)?,
        None => Version::default(),
    };
    let params = Params::try_from(&parsed).map_err(|_| HashError::Malformed)?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else { return Err(HashError::Malformed) };
    let mut salt_buf = [0u8; 64];
    let salt = salt.decode_b64(&mut salt_buf).map_err(|_| HashError::Malformed)?;
    let needed = params.block_count();
    if needed > MAX_BLOCKS {
        return Err(HashError::TooCostly);
    }
    if blocks.len() < needed {
        blocks.resize(needed, Block::new());
    }
    let argon = Argon2::new(algorithm, version, params);
    let computed = Output::init_with(expected.len(), |out| {
        argon.hash_password_into_with_memory(password, salt, out, &mut blocks[..needed]).map_err(|_| argon2::password_hash::Error::Crypto)
    })
    .map_err(|_| HashError::Malformed)?;
    // `Output`'s equality is constant-time.
    Ok(computed == expected)
}

/// Check a password against a PHC string with freshly allocated memory
/// (for one-off checks; logins go through [`super::hasher::Hasher`]). A
/// malformed string never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    verify_with(password.as_bytes(), phc, &mut Vec::new()).unwrap_or(false)
}

/// Constant-time comparison for plain-text secrets from the seed's format.
pub fn plain_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut diff = (a.len() != b.len()) as u8;
    for i in 0..a.len().max(b.len()) {
        diff |= a.get(i).copied().unwrap_or(0) ^ b.get(i).copied().unwrap_or(0);
    }
    diff == 0
}

/// A random password of `len` characters from an unambiguous alphabet.
pub fn random_password(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        // Rejection sampling keeps the distribution uniform.
        let b = (OsRng.next_u32() & 0xff) as usize;
        if b < 256 - 256 % ALPHABET.len() {
            out.push(ALPHABET[b % ALPHABET.len()] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_and_verify() {
        let h = hash_password("s3cret");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("s3cret", &h));
        assert!(!verify("S3cret", &h));
        assert!(!verify("s3cret", "$argon2id$garbage"));
    }

    #[test]
    fn reused_memory_gives_the_same_answers() {
        let mut blocks = Vec::new();
        let h = hash_password("one");
        for _ in 0..2 {
            assert_eq!(verify_with(b"one", &h, &mut blocks), Ok(true));
            assert_eq!(verify_with(b"two", &h, &mut blocks), Ok(false));
        }
        assert_eq!(blocks.len(), Params::DEFAULT.block_count(), "grown once to what the hash needs");
        assert_eq!(verify_with(b"ferry-dummy-password", DUMMY_PHC, &mut blocks), Ok(true), "the dummy is a real hash");
        assert_eq!(
            verify_with(b"x", "$argon2id$v=19$m=4194304,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo", &mut blocks),
            Err(HashError::TooCostly)
        );
        assert_eq!(verify_with(b"x", "plain", &mut blocks), Err(HashError::Malformed));
    }

    #[test]
    fn plain() {
        assert!(plain_eq("abc", "abc"));
        assert!(!plain_eq("abc", "abd"));
        assert!(!plain_eq("abc", "abcd"));
        assert_eq!(random_password(20).len(), 20);
    }
}
