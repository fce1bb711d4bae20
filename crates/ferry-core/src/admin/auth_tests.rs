//! Issuing, checking and revoking tokens; CSRF tokens.

use super::*;
use crate::admin::FileAdminStore;
use crate::admin::token::{BROWSER_TTL, LOGIN_TTL};

fn block_on<T>(f: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn auth(dir: &std::path::Path) -> AdminAuth {
    let store = FileAdminStore::new(dir.join("admins.txt"));
    block_on(store.set_password("root", "pw")).unwrap();
    AdminAuth::new(Arc::new(store))
}

#[test]
fn issued_tokens_check_until_they_expire_and_each_kind_has_its_lifetime() {
    let dir = tempfile::tempdir().unwrap();
    let auth = auth(dir.path());
    block_on(async {
        let api = auth.issue("root", TokenKind::Api, None).await.unwrap();
        assert_eq!((api.record.admin.as_str(), api.record.kind, api.record.expires), ("root", TokenKind::Api, None));
        assert!(api.token.starts_with(&format!("fy_{}_", api.record.id)), "the id is in the text");
        assert_eq!(api.record.created.duration_since(UNIX_EPOCH).unwrap().subsec_nanos(), 0, "whole seconds");
        let login = auth.issue("root", TokenKind::Login, None).await.unwrap();
        assert_eq!(login.record.expires, Some(login.record.created + LOGIN_TTL));
        let browser = auth.issue("root", TokenKind::Browser, None).await.unwrap();
        assert_eq!(browser.record.expires, Some(browser.record.created + BROWSER_TTL));
        let short = auth.issue("root", TokenKind::Api, Some(Duration::from_secs(30))).await.unwrap();
        assert_eq!(short.record.expires, Some(short.record.created + Duration::from_secs(30)));

        let now = SystemTime::now();
        assert_eq!(auth.check(&api.token, now).await.unwrap(), Some(api.record.clone()));
        assert_eq!(auth.check(&api.token, now).await.unwrap(), Some(api.record.clone()), "again, from memory");
        let expiry = login.record.expires.unwrap();
        assert!(auth.check(&login.token, expiry - Duration::from_secs(1)).await.unwrap().is_some());
        assert_eq!(auth.check(&login.token, expiry).await.unwrap(), None, "expired, even while remembered");
        assert!(auth.check(&api.token, now + Duration::from_secs(100 * 365 * 86_400)).await.unwrap().is_some(), "no expiry");

        // A wrong secret for a real id, remembered or not, opens nothing.
        let (head, _) = api.token.rsplit_once('_').unwrap();
        let forged = format!("{head}_{}", "0".repeat(64));
        assert_eq!(auth.check(&forged, now).await.unwrap(), None);
        let fresh = AdminAuth::new(auth.store().clone());
        assert_eq!(fresh.check(&forged, now).await.unwrap(), None);
        let spaced = format!("{} ", api.token);
        let junk: [&str; 5] = ["", "Bearer x", &api.record.id, &api.token[..api.token.len() - 1], &spaced];
        for junk in junk {
            assert_eq!(auth.check(junk, now).await.unwrap(), None, "{junk:?}");
        }
        let e = auth.issue("nobody", TokenKind::Api, None).await.unwrap_err();
        assert_eq!(e, StoreError::NoSuchUser { name: "nobody".into(), place: crate::admin::file::PLACE });
        let e = auth.issue("root", TokenKind::Api, Some(Duration::MAX)).await.unwrap_err();
        assert!(e.to_string().contains("too long"), "{e}");
    });
}

#[test]
fn revocation_by_token_or_id_stops_the_token_here_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let auth = auth(dir.path());
    block_on(async {
        let now = SystemTime::now();
        let a = auth.issue("root", TokenKind::Browser, None).await.unwrap();
        let b = auth.issue("root", TokenKind::Api, None).await.unwrap();
        assert!(auth.check(&a.token, now).await.unwrap().is_some());
        assert!(auth.check(&b.token, now).await.unwrap().is_some());
        // The full text must be the token's own: a forged secret revokes nothing.
        let (head, _) = a.token.rsplit_once('_').unwrap();
        assert!(!auth.revoke(&format!("{head}_{}", "f".repeat(64))).await.unwrap());
        assert!(!auth.revoke("not a token").await.unwrap());
        assert!(auth.revoke(&a.token).await.unwrap(), "a sign-out");
        assert_eq!(auth.check(&a.token, now).await.unwrap(), None, "not answered from memory");
        assert!(auth.revoke(&b.record.id).await.unwrap(), "by id");
        assert_eq!(auth.check(&b.token, now).await.unwrap(), None);
        assert!(!auth.revoke(&b.record.id).await.unwrap());
        assert_eq!(auth.store().tokens("root").await.unwrap(), []);
    });
}

#[test]
fn csrf_tokens_belong_to_one_session_and_debug_hides_secrets() {
    let dir = tempfile::tempdir().unwrap();
    let auth = auth(dir.path());
    let one = block_on(auth.issue("root", TokenKind::Browser, None)).unwrap();
    let two = block_on(auth.issue("root", TokenKind::Browser, None)).unwrap();
    let csrf = auth.csrf_token(&one.token);
    assert_eq!(csrf.len(), 64);
    assert!(csrf.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()), "{csrf}");
    assert_eq!(auth.csrf_token(&one.token), csrf, "the same for the whole session, on every node");
    assert_ne!(auth.csrf_token(&two.token), csrf);
    assert!(!csrf.contains(&one.token[one.token.len() - 64..]), "the session's secret is not in it");
    assert!(auth.csrf_ok(&one.token, &csrf));
    assert!(!auth.csrf_ok(&two.token, &csrf));
    assert!(!auth.csrf_ok(&one.token, &csrf[..63]) && !auth.csrf_ok(&one.token, "") && !auth.csrf_ok(&one.token, &csrf.to_uppercase()));

    let shown = format!("{one:?} {auth:?}");
    let secret = &one.token[one.token.len() - 64..];
    let digest = token::hex(&one.record.hash);
    assert!(shown.contains(&one.record.id) && shown.contains("****"), "{shown}");
    assert!(!shown.contains(secret) && !shown.contains(&digest) && !shown.contains(&one.token), "{shown}");
}
