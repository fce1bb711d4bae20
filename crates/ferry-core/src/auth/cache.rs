//! A short-lived memory of logins that succeeded, so that a client logging
//! in again and again (a sync tool, a monitoring probe, a benchmark) does
//! not pay the deliberately slow password hash each time.
//!
//! The key is SHA-256 over a random per-process secret, the user name and
//! the password: the cache never holds a password or anything from which
//! one could be checked offline without the secret. Only successes are
//! remembered, so a wrong guess always pays the full hash.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::Digest;

/// How long a verified login is remembered.
pub const TTL: Duration = Duration::from_secs(300);
/// Entries kept at most; past it the cache starts over.
const MAX_ENTRIES: usize = 10_000;

/// Remembered successful logins.
#[derive(Debug)]
pub struct LoginCache {
    secret: [u8; 32],
    entries: Mutex<HashMap<[u8; 32], Instant>>,
}

impl Default for LoginCache {
    fn default() -> Self {
        let mut secret = [0u8; 32];
        OsRng.fill_bytes(&mut secret);
        LoginCache { secret, entries: Mutex::new(HashMap::new()) }
    }
}

impl LoginCache {
    fn key(&self, user: &str, password: &str) -> [u8; 32] {
        let mut h = sha2::Sha256::new();
        h.update(self.secret);
        h.update((user.len() as u64).to_le_bytes());
        h.update(user.as_bytes());
        h.update(password.as_bytes());
        h.finalize().into()
    }

    /// True if this pair was verified within the last [`TTL`].
    pub fn hit(&self, user: &str, password: &str, now: Instant) -> bool {
        let key = self.key(user, password);
        let entries = crate::sync::lock(&self.entries);
        entries.get(&key).is_some_and(|t| now.duration_since(*t) < TTL)
    }

    /// Remember a pair that just verified.
    pub fn remember(&self, user: &str, password: &str, now: Instant) {
        let key = self.key(user, password);
        let mut entries = crate::sync::lock(&self.entries);
        if entries.len() >= MAX_ENTRIES {
            entries.retain(|_, t| now.duration_since(*t) < TTL);
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
        }
        entries.insert(key, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_successes_for_a_while() {
        let c = LoginCache::default();
        let t = Instant::now();
        assert!(!c.hit("a", "pw", t));
        c.remember("a", "pw", t);
        assert!(c.hit("a", "pw", t + Duration::from_secs(10)));
        assert!(!c.hit("a", "other", t), "a different password misses");
        assert!(!c.hit("b", "pw", t), "a different user misses");
        assert!(!c.hit("a", "pw", t + TTL), "entries expire");
        // "ab"+"c" and "a"+"bc" do not collide.
        c.remember("ab", "c", t);
        assert!(!c.hit("a", "bc", t));
    }
}
