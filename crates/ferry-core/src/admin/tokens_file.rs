//! `admin-tokens.txt`, the tokens of the admins in `admins.txt`, beside it.
//!
//! ferryd writes this file; it is not meant to be edited, but it is text
//! so that it can be read and a line deleted by hand in an emergency
//! (that revokes the token at once). One token per line, six fields
//! separated by spaces:
//!
//! ```text
//! # id               kind    admin  created    expires    sha256(secret)
//! 5f0c1e9a2b3d4c6e   api     alice  1767225600 -          9f86d081884c7d65…
//! 0a1b2c3d4e5f6071   login   alice  1767225600 1767229200 2c26b46b68ffc68f…
//! ```
//!
//! `created` and `expires` are Unix seconds (`-`: no expiry; finer parts
//! of a time are dropped, which is why tokens are issued on whole
//! seconds), the last
//! field the 64 hex digits of the SHA-256 of the token's secret — never
//! the secret. Blank lines and `#` lines are ignored (and replaced by
//! ferryd's own header when it rewrites the file). A line that does not
//! parse makes every token check fail, naming the line, rather than
//! guessing which tokens still count.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::auth::StoreError;
use crate::auth::store::valid_name;

use super::token::{TokenKind, TokenRecord, hex, unhex, valid_id};

/// What ferryd writes at the top of the file.
const HEADER: &str = "# Ferry admin tokens, written by ferryd (`ferryd admin token|tokens|revoke`).\n\
                      # One per line: id kind admin created expires sha256(secret);\n\
                      # times in Unix seconds, `-` for none. Deleting a line revokes its token.\n";

/// The tokens of one file, by id.
pub(crate) type Tokens = HashMap<String, TokenRecord>;

/// Parse the file's text; `path` names it in errors.
pub(crate) fn parse(text: &str, path: &Path) -> Result<Tokens, StoreError> {
    let mut tokens = Tokens::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fail = |why: &str| StoreError::Failed(format!("{}:{}: {why}", path.display(), i + 1));
        let fields: Vec<&str> = line.split_whitespace().collect();
        let &[id, kind, admin, created, expires, hash] = fields.as_slice() else {
            return Err(fail("expected `id kind admin created expires sha256`"));
        };
        if !valid_id(id) {
            return Err(fail("the id is not 16 lowercase hex digits"));
        }
        let kind = TokenKind::parse(kind).ok_or_else(|| fail("the kind is not api, login or browser"))?;
        if !valid_name(admin) {
            return Err(fail("the admin name is not valid"));
        }
        let created = seconds(created).ok_or_else(|| fail("`created` is not a number of seconds"))?;
        let expires = match expires {
            "-" => None,
            s => Some(seconds(s).ok_or_else(|| fail("`expires` is neither `-` nor a number of seconds"))?),
        };
        let hash: [u8; 32] =
            unhex(hash).and_then(|b| b.try_into().ok()).ok_or_else(|| fail("the digest is not 64 lowercase hex digits"))?;
        let record = TokenRecord { id: id.to_owned(), admin: admin.to_owned(), kind, hash, created, expires };
        if tokens.insert(id.to_owned(), record).is_some() {
            return Err(fail("this token id is already on an earlier line"));
        }
    }
    Ok(tokens)
}

fn seconds(text: &str) -> Option<SystemTime> {
    UNIX_EPOCH.checked_add(Duration::from_secs(text.parse().ok()?))
}

fn unix(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The file's text: the header, then the tokens oldest first (so that the
/// same tokens always make the same bytes).
pub(crate) fn render(tokens: &Tokens) -> String {
    let mut sorted: Vec<&TokenRecord> = tokens.values().collect();
    sorted.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
    let mut out = String::from(HEADER);
    for t in sorted {
        let expires = t.expires.map_or_else(|| "-".to_owned(), |e| unix(e).to_string());
        out.push_str(&format!("{} {} {} {} {expires} {}\n", t.id, t.kind, t.admin, unix(t.created), hex(&t.hash)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, kind: TokenKind, created: u64, expires: Option<u64>) -> TokenRecord {
        TokenRecord {
            id: id.into(),
            admin: "alice".into(),
            kind,
            hash: [0x5a; 32],
            created: UNIX_EPOCH + Duration::from_secs(created),
            expires: expires.map(|e| UNIX_EPOCH + Duration::from_secs(e)),
        }
    }

    #[test]
    fn renders_the_documented_lines_and_reads_them_back() {
        let mut tokens = Tokens::new();
        for r in [record("00000000000000b2", TokenKind::Login, 200, Some(3800)), record("00000000000000a1", TokenKind::Api, 100, None)] {
            tokens.insert(r.id.clone(), r);
        }
        let text = render(&tokens);
        let digest = "5a".repeat(32);
        assert_eq!(text, format!("{HEADER}00000000000000a1 api alice 100 - {digest}\n00000000000000b2 login alice 200 3800 {digest}\n"));
        assert_eq!(parse(&text, Path::new("t.txt")).unwrap(), tokens);
        assert_eq!(parse(&format!("\n  # note\n{text}\n"), Path::new("t.txt")).unwrap(), tokens, "blank and comment lines");
    }

    #[test]
    fn a_bad_line_is_an_error_naming_it() {
        let ok = format!("00000000000000a1 api alice 100 - {}", "5a".repeat(32));
        let cases: [(&str, &str); 8] = [
            ("00000000000000a1 api alice 100 -", "expected `id kind admin created expires sha256`"),
            (&ok.replace(" api ", " root "), "the kind is not api, login or browser"),
            (&ok.replace("a1 ", "A1 "), "the id is not 16 lowercase hex digits"),
            (&ok.replace(" alice ", " a:b "), "the admin name is not valid"),
            (&ok.replace(" 100 ", " soon "), "`created` is not a number of seconds"),
            (&ok.replace(" - ", " never "), "`expires` is neither `-` nor a number of seconds"),
            (&ok[..ok.len() - 2], "the digest is not 64 lowercase hex digits"),
            (&format!("{ok}\n{ok}"), "this token id is already on an earlier line"),
        ];
        for (text, why) in cases {
            let line = text.lines().count();
            let e = parse(&format!("# header\n{text}\n"), Path::new("dir/t.txt")).unwrap_err();
            assert_eq!(e, StoreError::Failed(format!("dir/t.txt:{}: {why}", line + 1)), "{text}");
        }
    }
}
