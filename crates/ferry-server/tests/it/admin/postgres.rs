//! The admin API on PostgreSQL: two nodes share users, admins and tokens.

use ferry_testkit::peers::PgServer;
use ferry_testkit::require;

use super::{Node, Start, curl_ftp};

/// A user made over one node's API logs in on the other at once; a token
/// issued by one node works on the other; paging and search run in SQL;
/// a delete on one node refuses logins on both.
#[test]
fn two_nodes_on_postgres_share_users_admins_and_tokens() {
    if !require("curl") {
        return;
    }
    let Some(pg) = PgServer::start() else {
        assert!(std::env::var_os("CI").is_none(), "PostgreSQL is required under CI");
        eprintln!("skipping: PostgreSQL server binaries not installed");
        return;
    };
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Node::start(a_dir.path(), Start { postgres: Some(&pg.conninfo), ..Start::default() });
    let b = Node::start(b_dir.path(), Start { postgres: Some(&pg.conninfo), no_admin: true, ..Start::default() });
    assert!(!b.stdout().contains("created the admin account"), "node b sees node a's admin: {}", b.stdout());
    let token = a.login();
    b.api_json("GET", "/api/v1/status", &token, None, 200);

    a.api_json("POST", "/api/v1/users", &token, Some(r#"{"name":"carol","password":"carol-pw","home":"carol"}"#), 201);
    let login = |node: &Node, pw: &str| curl_ftp(&["-u", &format!("carol:{pw}"), "-l", &format!("ftp://127.0.0.1:{}/", node.ftp)]).0;
    assert_eq!(login(&b, "carol-pw"), 0, "node b knows carol at once");
    assert!(b_dir.path().join("root/carol").is_dir(), "with the home from the database's settings");
    b.api_json("PUT", "/api/v1/users/carol", &token, Some(r#"{"enabled":false}"#), 200);
    assert_eq!(login(&a, "carol-pw"), 67, "disabled on b, refused on a");
    b.api_json("PUT", "/api/v1/users/carol", &token, Some(r#"{"enabled":true}"#), 200);
    assert_eq!(login(&a, "carol-pw"), 0);

    for i in 0..8 {
        a.api_json("POST", "/api/v1/users", &token, Some(&format!(r#"{{"name":"n_{i}","password":"p"}}"#)), 201);
    }
    a.api_json("POST", "/api/v1/users", &token, Some(r#"{"name":"n%x","password":"p"}"#), 422);
    let page = b.api_json("GET", "/api/v1/users?search=N_&offset=2&limit=3", &token, None, 200);
    assert_eq!(page["total"], 8, "{page}");
    let names: Vec<&str> = page["users"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["n_2", "n_3", "n_4"]);
    let page = b.api_json("GET", "/api/v1/users?search=_", &token, None, 200);
    assert_eq!(page["total"], 8, "`_` is searched for, not a wildcard: {page}");

    b.api_json("DELETE", "/api/v1/users/carol", &token, None, 204);
    assert_eq!(login(&a, "carol-pw"), 67);
    a.api_json("GET", "/api/v1/users/carol", &token, None, 404);
    b.api_json("POST", "/api/v1/logout", &token, None, 204);
    let (status, _) = a.api("GET", "/api/v1/status", Some(&token), None);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let (later, _) = a.api("GET", "/api/v1/status", Some(&token), None);
    assert!(status == 401 || later == 401, "a token revoked on b stops on a within the cache time");
}
