//! Admin tokens: what one is made of, and how its text is written.
//!
//! A token's text is `fy_<id>_<secret>`: `id` is 16 hex digits (8 random
//! bytes) that name the token in lists, logs and revocations, and `secret`
//! 64 hex digits (32 bytes from the OS's random source). Stores keep only
//! the SHA-256 of the secret: a copy of `admin-tokens.txt` or of the
//! database table opens nothing, and the secret is too random for a
//! lookup table, so a fast hash is enough (argon2 is for passwords people
//! choose). Splitting id and secret lets a store find the record by id and
//! compare the digests in constant time, instead of searching by the
//! secret, which would leak through timing how much of it matched.

use std::time::{Duration, SystemTime};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// How long a token from `POST /api/v1/login` lasts unless told otherwise.
pub const LOGIN_TTL: Duration = Duration::from_secs(60 * 60);
/// How long a web sign-in lasts unless told otherwise.
pub const BROWSER_TTL: Duration = Duration::from_secs(12 * 60 * 60);

/// Where a token came from, which decides its default lifetime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Made by `ferryd admin token`, for scripts: lasts until revoked,
    /// unless it was given a `--ttl`.
    Api,
    /// Made by `POST /api/v1/login`: short-lived ([`LOGIN_TTL`]).
    Login,
    /// The web admin's sign-in cookie ([`BROWSER_TTL`]).
    Browser,
}

impl TokenKind {
    /// The name stores write: `api`, `login`, `browser`.
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Api => "api",
            TokenKind::Login => "login",
            TokenKind::Browser => "browser",
        }
    }

    /// The kind a store wrote, or `None` for anything else.
    pub fn parse(text: &str) -> Option<TokenKind> {
        match text {
            "api" => Some(TokenKind::Api),
            "login" => Some(TokenKind::Login),
            "browser" => Some(TokenKind::Browser),
            _ => None,
        }
    }

    /// The lifetime of a token of this kind issued without one: none for
    /// [`Api`](Self::Api), [`LOGIN_TTL`] and [`BROWSER_TTL`] for the others.
    pub fn default_ttl(self) -> Option<Duration> {
        match self {
            TokenKind::Api => None,
            TokenKind::Login => Some(LOGIN_TTL),
            TokenKind::Browser => Some(BROWSER_TTL),
        }
    }
}

impl std::fmt::Display for TokenKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A token as stored: everything but its secret, of which only the
/// SHA-256 is kept.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenRecord {
    /// 16 lowercase hex digits, unique: the token's name.
    pub id: String,
    /// The admin it acts as.
    pub admin: String,
    /// Where it came from.
    pub kind: TokenKind,
    /// SHA-256 of the secret.
    pub hash: [u8; 32],
    /// When it was issued (whole seconds).
    pub created: SystemTime,
    /// When it stops working; `None`: when revoked.
    pub expires: Option<SystemTime>,
}

impl TokenRecord {
    /// True if it has expired by `now` (a token is good up to, not
    /// including, its expiry time).
    pub fn expired(&self, now: SystemTime) -> bool {
        self.expires.is_some_and(|e| e <= now)
    }

    /// True if `secret` is this token's: its digest compared with the
    /// stored one in constant time.
    pub fn matches(&self, secret: &[u8; SECRET_LEN]) -> bool {
        digests_equal(&digest(secret), &self.hash)
    }
}

/// The digest is left out: even a hash of a secret has no business in a
/// log line.
impl std::fmt::Debug for TokenRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRecord")
            .field("id", &self.id)
            .field("admin", &self.admin)
            .field("kind", &self.kind)
            .field("created", &self.created)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// Bytes in a token's secret.
pub const SECRET_LEN: usize = 32;
/// Hex digits in a token's id.
pub const ID_LEN: usize = 16;
const PREFIX: &str = "fy_";

/// A token's text taken apart: its id, and its secret's bytes.
#[derive(PartialEq, Eq)]
pub(crate) struct Parsed {
    pub(crate) id: String,
    pub(crate) secret: [u8; SECRET_LEN],
}

/// A new random id and secret.
pub(crate) fn generate() -> Parsed {
    let mut id = [0u8; ID_LEN / 2];
    OsRng.fill_bytes(&mut id);
    let mut secret = [0u8; SECRET_LEN];
    OsRng.fill_bytes(&mut secret);
    Parsed { id: hex(&id), secret }
}

/// `fy_<id>_<secret>`.
pub(crate) fn format(parsed: &Parsed) -> String {
    format!("{PREFIX}{}_{}", parsed.id, hex(&parsed.secret))
}

/// Take a token's text apart; `None` unless it is exactly
/// `fy_<16 hex>_<64 hex>` (lowercase).
pub(crate) fn parse(text: &str) -> Option<Parsed> {
    let rest = text.strip_prefix(PREFIX)?;
    let (id, secret_hex) = rest.split_once('_')?;
    if !valid_id(id) || secret_hex.len() != 2 * SECRET_LEN {
        return None;
    }
    let mut secret = [0u8; SECRET_LEN];
    for (byte, pair) in secret.iter_mut().zip(secret_hex.as_bytes().chunks_exact(2)) {
        *byte = (nibble(pair[0])? << 4) | nibble(pair[1])?;
    }
    Some(Parsed { id: id.to_owned(), secret })
}

/// True if `id` has the form of a token id (16 lowercase hex digits).
pub fn valid_id(id: &str) -> bool {
    id.len() == ID_LEN && id.bytes().all(|b| nibble(b).is_some())
}

fn nibble(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    }
}

/// SHA-256 of a token's secret, as stores keep it.
pub(crate) fn digest(secret: &[u8]) -> [u8; 32] {
    Sha256::digest(secret).into()
}

/// Equality of two digests (or any two byte strings) that takes the same
/// time wherever they differ: `subtle`'s, which the optimiser cannot turn
/// back into an early exit.
pub(crate) fn digests_equal(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::with_capacity(2 * bytes.len()), |mut out, b| {
        let _ = write!(out, "{b:02x}");
        out
    })
}

/// The bytes of lowercase hex, or `None`.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    text.as_bytes().chunks_exact(2).map(|pair| Some((nibble(pair[0])? << 4) | nibble(pair[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_and_anything_else_is_refused() {
        let made = generate();
        let text = format(&made);
        assert_eq!(text.len(), 3 + ID_LEN + 1 + 2 * SECRET_LEN);
        assert!(text.starts_with("fy_") && text.as_bytes()[3 + ID_LEN] == b'_', "{text}");
        assert!(parse(&text) == Some(Parsed { id: made.id.clone(), secret: made.secret }));
        let other = generate();
        assert_ne!(made.id, other.id, "random ids");
        assert_ne!(made.secret, other.secret, "random secrets");

        let upper = format!("fy_{}_{}", made.id, hex(&made.secret).to_uppercase());
        let short = &text[..text.len() - 2];
        let long = format!("{text}00");
        let bad_id = format!("fy_{}_{}", "g".repeat(ID_LEN), hex(&made.secret));
        let no_prefix = text.replacen("fy_", "fx_", 1);
        for bad in ["", "fy_", "fy__", upper.as_str(), short, long.as_str(), bad_id.as_str(), no_prefix.as_str()] {
            assert!(parse(bad).is_none(), "{bad:?}");
        }
    }

    /// The check compares digests with `subtle`'s constant-time equality
    /// (timing cannot be asserted in a test; the answers can).
    #[test]
    fn digests_compare_equal_only_when_equal() {
        let secret = [7u8; SECRET_LEN];
        let record = TokenRecord {
            id: "0123456789abcdef".into(),
            admin: "root".into(),
            kind: TokenKind::Api,
            hash: digest(&secret),
            created: SystemTime::UNIX_EPOCH,
            expires: None,
        };
        assert!(record.matches(&secret));
        let mut last = secret;
        last[SECRET_LEN - 1] ^= 1;
        let mut first = secret;
        first[0] ^= 0x80;
        assert!(!record.matches(&last) && !record.matches(&first));
        assert!(digests_equal(b"abc", b"abc"));
        assert!(!digests_equal(b"abc", b"abd") && !digests_equal(b"abc", b"abcd") && !digests_equal(b"", b"a"));
    }

    #[test]
    fn debug_shows_no_digest_and_expiry_is_exclusive() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let record = TokenRecord {
            id: "00000000000000ff".into(),
            admin: "root".into(),
            kind: TokenKind::Login,
            hash: [0xab; 32],
            created: t,
            expires: Some(t + LOGIN_TTL),
        };
        let shown = format!("{record:?}");
        assert!(shown.contains("00000000000000ff") && shown.contains("Login"), "{shown}");
        assert!(!shown.contains("hash") && !shown.contains("171") && !shown.contains("ab"), "{shown}");
        assert!(!record.expired(t + LOGIN_TTL - Duration::from_secs(1)));
        assert!(record.expired(t + LOGIN_TTL));
        assert_eq!(TokenKind::Browser.default_ttl(), Some(Duration::from_secs(43_200)));
        assert_eq!(TokenKind::Api.default_ttl(), None);
        for kind in [TokenKind::Api, TokenKind::Login, TokenKind::Browser] {
            assert_eq!(TokenKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(unhex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!((unhex("0"), unhex("zz")), (None, None));
    }
}
