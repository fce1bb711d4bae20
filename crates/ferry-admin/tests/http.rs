//! The HTTP layer against an in-memory backend: routing, authentication,
//! CSRF, validation answers, headers and the OpenAPI document. (The whole
//! server, with real account stores and real FTP clients, is tested in
//! ferry-server's integration tests.)

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Method, Request, StatusCode, header};
use ferry_admin::backend::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;

#[derive(Default)]
struct Memory {
    users: Mutex<BTreeMap<String, User>>,
    tokens: Mutex<BTreeMap<String, AdminIdentity>>,
    failures: AtomicU32,
    /// Another request's failure bans the address while this one's
    /// password is being checked.
    ban_while_verifying: std::sync::atomic::AtomicBool,
    recorded: Mutex<Vec<(String, AdminAction, Option<String>)>>,
}

impl Backend for Memory {
    fn verify_admin<'a>(&'a self, name: &'a str, password: &'a str) -> BoxFuture<'a, Result<bool, BackendError>> {
        Box::pin(async move {
            if self.ban_while_verifying.load(Ordering::SeqCst) {
                self.failures.store(3, Ordering::SeqCst);
            }
            Ok(name == "root" && password == "secret")
        })
    }
    fn issue_token<'a>(&'a self, admin: &'a str, kind: TokenKind) -> BoxFuture<'a, Result<IssuedToken, BackendError>> {
        Box::pin(async move {
            let token = format!("tok{}", self.tokens.lock().unwrap().len());
            self.tokens.lock().unwrap().insert(token.clone(), AdminIdentity { name: admin.into(), kind });
            Ok(IssuedToken { token, expires: None })
        })
    }
    fn check_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<Option<AdminIdentity>, BackendError>> {
        Box::pin(async move { Ok(self.tokens.lock().unwrap().get(token).cloned()) })
    }
    fn revoke_token<'a>(&'a self, token: &'a str) -> BoxFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            self.tokens.lock().unwrap().remove(token);
            Ok(())
        })
    }
    fn csrf_token(&self, session_token: &str) -> String {
        format!("csrf-{session_token}")
    }
    fn is_banned(&self, _ip: IpAddr) -> bool {
        self.failures.load(Ordering::SeqCst) >= 3
    }
    fn failed_login(&self, _ip: IpAddr) -> bool {
        self.failures.fetch_add(1, Ordering::SeqCst) + 1 >= 3
    }
    fn failure_delay(&self) -> Duration {
        Duration::from_millis(10)
    }
    fn record(&self, admin: &str, action: AdminAction, target: Option<&str>, _peer: SocketAddr) {
        self.recorded.lock().unwrap().push((admin.into(), action, target.map(str::to_owned)));
    }
    fn list_users<'a>(&'a self, q: &'a UserQuery) -> BoxFuture<'a, Result<UserPage, BackendError>> {
        Box::pin(async move {
            let users = self.users.lock().unwrap();
            let all: Vec<User> = users.values().filter(|u| q.search.as_deref().is_none_or(|s| u.name.contains(s))).cloned().collect();
            Ok(UserPage { total: all.len(), users: all.into_iter().skip(q.offset).take(q.limit).collect() })
        })
    }
    fn get_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<Option<User>, BackendError>> {
        Box::pin(async move { Ok(self.users.lock().unwrap().get(name).cloned()) })
    }
    fn create_user<'a>(&'a self, user: &'a User, _password: &'a str) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            if user.home.as_deref().is_some_and(|h| h.contains("..")) {
                return Err(UserError::Invalid(vec![FieldError::new("home", "must stay below the root")]));
            }
            let mut users = self.users.lock().unwrap();
            if users.contains_key(&user.name) {
                return Err(UserError::Exists(user.name.clone()));
            }
            users.insert(user.name.clone(), user.clone());
            Ok(())
        })
    }
    fn update_user<'a>(&'a self, user: &'a User, _password: Option<&'a str>) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move {
            self.users.lock().unwrap().insert(user.name.clone(), user.clone());
            Ok(())
        })
    }
    fn delete_user<'a>(&'a self, name: &'a str) -> BoxFuture<'a, Result<(), UserError>> {
        Box::pin(async move { self.users.lock().unwrap().remove(name).map(|_| ()).ok_or_else(|| UserError::NotFound(name.into())) })
    }
    fn sessions(&self) -> Vec<SessionInfo> {
        vec![SessionInfo {
            id: 7,
            user: Some("alice".into()),
            protocol: "ftp".into(),
            peer: "127.0.0.1:4000".into(),
            since: "2026-01-01T00:00:00Z".into(),
            transfer: None,
        }]
    }
    fn kick(&self, id: u64) -> bool {
        id == 7
    }
    fn bans(&self) -> Vec<BanInfo> {
        Vec::new()
    }
    fn unban(&self, _ip: IpAddr) -> bool {
        false
    }
    fn events_since(&self, since: u64, limit: usize) -> Vec<EventItem> {
        (since + 1..=3).take(limit).map(|seq| EventItem { seq, event: json!({"event": "login", "user": "alice"}) }).collect()
    }
    fn latest_event(&self) -> u64 {
        3
    }
    fn subscribe_events(&self) -> Box<dyn Feed> {
        Box::new(tokio::sync::broadcast::channel::<EventItem>(4).1)
    }
    fn reload(&self) -> BoxFuture<'_, Result<(), BackendError>> {
        Box::pin(async { Ok(()) })
    }
    fn status(&self) -> Status {
        Status { version: "0.1.0".into(), uptime_seconds: 5, listeners: Vec::new(), sessions: 1, counters: Default::default() }
    }
}

struct App {
    backend: std::sync::Arc<Memory>,
    router: axum::Router,
}

fn app() -> App {
    let backend = std::sync::Arc::new(Memory::default());
    App { router: ferry_admin::app(backend.clone(), false), backend }
}

struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: String,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

impl App {
    async fn send(&self, method: Method, path: &str, headers: &[(&str, &str)], body: &str) -> Answer {
        let mut request = Request::builder().method(method).uri(path);
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("host")) {
            request = request.header(header::HOST, "127.0.0.1:9000");
        }
        for (k, v) in headers {
            request = request.header(*k, *v);
        }
        let mut request = request.body(Body::from(body.to_owned())).unwrap();
        request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([127, 0, 0, 1], 5555))));
        let response = self.router.clone().oneshot(request).await.unwrap();
        let (parts, body) = response.into_parts();
        let bytes = body.collect().await.unwrap().to_bytes();
        Answer { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&bytes).into_owned() }
    }

    async fn token(&self) -> String {
        let a = self
            .send(Method::POST, "/api/v1/login", &[("content-type", "application/json")], r#"{"name":"root","password":"secret"}"#)
            .await;
        assert_eq!(a.status, StatusCode::OK, "{}", a.body);
        a.json()["token"].as_str().unwrap().to_owned()
    }
}

/// Every route of the API, as `METHOD path`.
const ROUTES: [&str; 18] = [
    "GET /api/v1/healthz",
    "GET /api/v1/status",
    "POST /api/v1/login",
    "POST /api/v1/logout",
    "POST /api/v1/reload",
    "GET /api/v1/openapi.json",
    "GET /api/v1/users",
    "POST /api/v1/users",
    "GET /api/v1/users/{name}",
    "PUT /api/v1/users/{name}",
    "DELETE /api/v1/users/{name}",
    "GET /api/v1/sessions",
    "GET /api/v1/sessions/stream",
    "DELETE /api/v1/sessions/{id}",
    "GET /api/v1/bans",
    "DELETE /api/v1/bans/{address}",
    "GET /api/v1/events",
    "GET /api/v1/events/stream",
];

#[tokio::test]
async fn the_openapi_document_lists_every_route_and_every_listed_route_is_served() {
    let app = app();
    let doc = app.send(Method::GET, "/api/v1/openapi.json", &[], "").await.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let mut listed = std::collections::BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            listed.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let expected: std::collections::BTreeSet<String> = ROUTES.iter().map(|s| s.to_string()).collect();
    assert_eq!(listed, expected);
    // And each is a real route: nothing answers 404 or 405 for lack of a handler.
    let token = app.token().await;
    let auth = format!("Bearer {token}");
    for route in &expected {
        if route.contains("/stream") {
            continue; // Streams never end; they are covered below.
        }
        let (method, path) = route.split_once(' ').unwrap();
        let path = path.replace("{name}", "nobody").replace("{id}", "7").replace("{address}", "192.0.2.1");
        let a = app.send(method.parse().unwrap(), &path, &[("authorization", &auth), ("content-type", "application/json")], "{}").await;
        assert_ne!(a.status, StatusCode::METHOD_NOT_ALLOWED, "{route}");
        assert!(a.status != StatusCode::NOT_FOUND || a.json()["error"].is_string(), "{route}: {}", a.body);
    }
}

#[tokio::test]
async fn api_refuses_missing_wrong_and_cookie_without_csrf() {
    let app = app();
    let a = app.send(Method::GET, "/api/v1/users", &[], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.json()["error"].as_str().unwrap().contains("Authorization: Bearer"), "{}", a.body);
    assert!(a.headers.get(header::WWW_AUTHENTICATE).is_some());
    let a = app.send(Method::GET, "/api/v1/users", &[("authorization", "Bearer nope")], "").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.send(Method::GET, "/api/v1/healthz", &[], "").await.json(), json!({"status": "ok"}));

    // A login token is not a browser session.
    let token = app.token().await;
    let cookie = format!("ferry_admin={token}");
    assert_eq!(app.send(Method::GET, "/api/v1/users", &[("cookie", &cookie)], "").await.status, StatusCode::UNAUTHORIZED);

    let browser = app.backend.issue_token("root", TokenKind::Browser).await.unwrap().token;
    let cookie = format!("ferry_admin={browser}");
    assert_eq!(app.send(Method::GET, "/api/v1/users", &[("cookie", &cookie)], "").await.status, StatusCode::OK);
    let body = r#"{"name":"bob","password":"pw"}"#;
    let json = ("content-type", "application/json");
    let a = app.send(Method::POST, "/api/v1/users", &[("cookie", &cookie), json], body).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "a cookie alone cannot change anything");
    let csrf = format!("csrf-{browser}");
    let a = app
        .send(Method::POST, "/api/v1/users", &[("cookie", &cookie), ("x-csrf-token", &csrf), ("sec-fetch-site", "cross-site"), json], body)
        .await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "a cross-site request is refused even with the token");
    let a = app.send(Method::POST, "/api/v1/users", &[("cookie", &cookie), ("x-csrf-token", &csrf), json], body).await;
    assert_eq!(a.status, StatusCode::CREATED, "{}", a.body);
    assert!(app.backend.users.lock().unwrap().contains_key("bob"));
}

#[tokio::test]
async fn failed_logins_are_delayed_counted_and_banned() {
    let app = app();
    let bad = r#"{"name":"root","password":"wrong"}"#;
    let json = ("content-type", "application/json");
    for _ in 0..2 {
        let a = app.send(Method::POST, "/api/v1/login", &[json], bad).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED);
        assert_eq!(a.json()["error"], "wrong name or password");
    }
    let a = app.send(Method::POST, "/api/v1/login", &[json], bad).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "the third failure bans: {}", a.body);
    let good = r#"{"name":"root","password":"secret"}"#;
    assert_eq!(
        app.send(Method::POST, "/api/v1/login", &[json], good).await.status,
        StatusCode::FORBIDDEN,
        "banned, even with the right password"
    );
    let failed = app.backend.recorded.lock().unwrap().iter().filter(|r| r.1 == AdminAction::LoginFailed).count();
    assert_eq!(failed, 3);
    let a = app.send(Method::POST, "/api/v1/login", &[json], "not json").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_ban_that_falls_while_a_password_is_checked_refuses_it_right_or_wrong() {
    let json = ("content-type", "application/json");
    for password in ["secret", "wrong"] {
        let app = app();
        app.backend.ban_while_verifying.store(true, Ordering::SeqCst);
        let body = format!(r#"{{"name":"root","password":"{password}"}}"#);
        let a = app.send(Method::POST, "/api/v1/login", &[json], &body).await;
        assert_eq!(a.status, StatusCode::FORBIDDEN, "{password}: {}", a.body);
        assert_eq!(a.json()["error"], "too many failed logins from your address; try again later");
        assert!(app.backend.tokens.lock().unwrap().is_empty(), "no token issued");
        let recorded = app.backend.recorded.lock().unwrap();
        assert_eq!(recorded.iter().map(|r| r.1).collect::<Vec<_>>(), [AdminAction::LoginFailed]);
    }
}

#[tokio::test]
async fn user_validation_names_fields_and_paging_works() {
    let app = app();
    let auth = format!("Bearer {}", app.token().await);
    let h = [("authorization", auth.as_str()), ("content-type", "application/json")];
    let a = app.send(Method::POST, "/api/v1/users", &h, r#"{"home": 5}"#).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(a.json()["fields"][0]["field"], "home");
    let a = app.send(Method::POST, "/api/v1/users", &h, r#"{"home": "x"}"#).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    let body = a.json();
    let fields: Vec<&str> = body["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "password"]);
    let a = app.send(Method::POST, "/api/v1/users", &h, r#"{"name":"a","password":"p","home":"../x"}"#).await;
    assert_eq!(
        (a.status, a.json()["fields"][0]["field"].clone()),
        (StatusCode::UNPROCESSABLE_ENTITY, json!("home")),
        "the backend's verdict"
    );
    let a = app.send(Method::POST, "/api/v1/users", &h, "{oops").await;
    assert_eq!(a.status, StatusCode::BAD_REQUEST);
    for i in 0..25 {
        let a = app.send(Method::POST, "/api/v1/users", &h, &format!(r#"{{"name":"u{i:02}","password":"p"}}"#)).await;
        assert_eq!(a.status, StatusCode::CREATED);
    }
    let a = app.send(Method::POST, "/api/v1/users", &h, r#"{"name":"u00","password":"p"}"#).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    let page = app.send(Method::GET, "/api/v1/users?offset=20&limit=10", &h, "").await.json();
    assert_eq!(page["total"], 25);
    assert_eq!(page["users"].as_array().unwrap().len(), 5);
    assert_eq!(page["users"][0]["name"], "u20");
    assert!(page["users"][0].get("password").is_none(), "no password in any answer");
    assert_eq!(app.send(Method::GET, "/api/v1/users?limit=x", &h, "").await.status, StatusCode::BAD_REQUEST);
    let a = app.send(Method::PUT, "/api/v1/users/u01", &h, r#"{"enabled": false, "quota_bytes": "1G"}"#).await;
    assert_eq!((a.json()["enabled"].clone(), a.json()["quota_bytes"].clone()), (json!(false), json!(1u64 << 30)));
    let a = app.send(Method::PUT, "/api/v1/users/u01", &h, r#"{"name": "other"}"#).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(app.send(Method::DELETE, "/api/v1/users/u01", &h, "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.send(Method::DELETE, "/api/v1/users/u01", &h, "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send(Method::DELETE, "/api/v1/sessions/8", &h, "").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.send(Method::DELETE, "/api/v1/sessions/7", &h, "").await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.send(Method::DELETE, "/api/v1/bans/nonsense", &h, "").await.status, StatusCode::BAD_REQUEST);
    let events = app.send(Method::GET, "/api/v1/events?since=1", &h, "").await.json();
    assert_eq!((events["events"].as_array().unwrap().len(), events["latest"].clone()), (2, json!(3)));
}

#[tokio::test]
async fn pages_need_a_session_carry_strict_headers_and_forms_need_the_csrf_token() {
    let app = app();
    let a = app.send(Method::GET, "/users", &[], "").await;
    assert_eq!((a.status, a.headers[header::LOCATION].to_str().unwrap()), (StatusCode::SEE_OTHER, "/login"));
    let form = ("content-type", "application/x-www-form-urlencoded");
    let a = app.send(Method::POST, "/login", &[form], "name=root&password=wrong").await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert!(a.body.contains("Wrong name or password."), "{}", a.body);
    let a = app.send(Method::POST, "/login", &[form], "name=root&password=secret").await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    let set_cookie = a.headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
    let cookie = set_cookie.split(';').next().unwrap().to_owned();
    let token = cookie.trim_start_matches("ferry_admin=");
    let page = app.send(Method::GET, "/", &[("cookie", &cookie)], "").await;
    assert_eq!(page.status, StatusCode::OK);
    let csp = page.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!page.body.contains("<script>"), "no inline script");
    assert!(page.body.contains("data-session=\"7\""), "{}", page.body);

    let new_user = "name=carol&password=pw&enabled=on&permissions_set=1&permissions=list";
    let a = app.send(Method::POST, "/users/new", &[("cookie", &cookie), form], new_user).await;
    assert_eq!(a.status, StatusCode::FORBIDDEN, "no CSRF token");
    let a = app.send(Method::POST, "/users/new", &[("cookie", &cookie), form], &format!("{new_user}&csrf=csrf-{token}")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER, "{}", a.body);
    assert_eq!(app.backend.users.lock().unwrap()["carol"].permissions, Some(vec!["list".to_owned()]));
    let bad = format!("name=dave&password=pw&home=..%2Fetc&csrf=csrf-{token}");
    let a = app.send(Method::POST, "/users/new", &[("cookie", &cookie), form], &bad).await;
    assert_eq!(a.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(a.body.contains(r#"data-error-for="home""#) && a.body.contains("must stay below the root"), "{}", a.body);
    let list = app.send(Method::GET, "/users?search=car", &[("cookie", &cookie)], "").await;
    assert!(list.body.contains("Users 1–1 of 1"), "{}", list.body);
    let a = app.send(Method::POST, "/logout", &[("cookie", &cookie), form], &format!("csrf=csrf-{token}")).await;
    assert_eq!(a.status, StatusCode::SEE_OTHER);
    assert_eq!(app.send(Method::GET, "/", &[("cookie", &cookie)], "").await.status, StatusCode::SEE_OTHER, "signed out");
}

#[tokio::test]
async fn the_users_page_takes_any_offset() {
    let app = app();
    let form = ("content-type", "application/x-www-form-urlencoded");
    let a = app.send(Method::POST, "/login", &[form], "name=root&password=secret").await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    for offset in [u64::MAX, u64::MAX - 1] {
        let page = app.send(Method::GET, &format!("/users?offset={offset}"), &[("cookie", &cookie)], "").await;
        assert_eq!(page.status, StatusCode::OK, "{offset}: {}", page.body);
        assert!(page.body.contains("No users match."), "{}", page.body);
    }
}

/// DNS rebinding: a page of another site whose name now resolves to
/// 127.0.0.1 calls the plain-HTTP listener as that site. Its requests
/// name that site in `Host`, and are refused before anything counts.
#[tokio::test]
async fn plain_http_answers_only_to_its_address_or_localhost() {
    let app = app();
    let json = ("content-type", "application/json");
    let login = r#"{"name":"root","password":"wrong"}"#;
    for _ in 0..5 {
        let a = app.send(Method::POST, "/api/v1/login", &[json, ("host", "evil.example:9000")], login).await;
        assert_eq!(a.status, StatusCode::MISDIRECTED_REQUEST, "{}", a.body);
        assert!(a.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    }
    assert_eq!(app.backend.failures.load(Ordering::SeqCst), 0, "no guess was counted");
    let a = app.send(Method::GET, "/login", &[("host", "evil.example:9000")], "").await;
    assert_eq!(a.status, StatusCode::MISDIRECTED_REQUEST);
    for host in ["127.0.0.1:9000", "localhost:9000", "[::1]:9000"] {
        assert_eq!(app.send(Method::GET, "/api/v1/healthz", &[("host", host)], "").await.status, StatusCode::OK, "{host}");
    }
    let https = ferry_admin::app(app.backend.clone(), true);
    let mut request = Request::get("/api/v1/healthz").header(header::HOST, "admin.example.com").body(Body::empty()).unwrap();
    request.extensions_mut().insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 1], 5555))));
    assert_eq!(https.oneshot(request).await.unwrap().status(), StatusCode::OK, "HTTPS serves any name of its certificate");
}

/// A user on the defaults has the "defaults" box ticked, not all six
/// (the defaults may grant less than all).
#[tokio::test]
async fn the_user_form_does_not_show_the_defaults_as_every_permission() {
    let app = app();
    let form = ("content-type", "application/x-www-form-urlencoded");
    let a = app.send(Method::POST, "/login", &[form], "name=root&password=secret").await;
    let cookie = a.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    let page = app.send(Method::GET, "/users/new", &[("cookie", &cookie)], "").await;
    assert!(page.body.contains(r#"<input id="perm-defaults" type="checkbox" name="permissions_default" checked>"#), "{}", page.body);
    assert!(page.body.contains(r#"<input id="perm-write" type="checkbox" name="permissions" value="write">"#), "{}", page.body);
}

#[tokio::test]
async fn https_answers_carry_strict_transport_security() {
    let backend = std::sync::Arc::new(Memory::default());
    let app = App { router: ferry_admin::app(backend.clone(), true), backend };
    let a = app.send(Method::GET, "/api/v1/healthz", &[], "").await;
    assert_eq!(a.headers[header::STRICT_TRANSPORT_SECURITY], "max-age=31536000");
    let plain = self::app().send(Method::GET, "/api/v1/healthz", &[], "").await;
    assert!(plain.headers.get(header::STRICT_TRANSPORT_SECURITY).is_none(), "not over plain HTTP");
}
