//! The web admin in a real browser: headless Chromium over WebDriver
//! (Python's selenium with Debian's chromedriver), against the real
//! binary. The steps are in `browser.py`; screenshots of each page land
//! in the test's folder, or in `FERRY_SCREENSHOTS` when set (the README's
//! are made so: `FERRY_SCREENSHOTS=docs/admin cargo nextest run -E 'test(browser)'`).

use std::path::Path;
use std::process::Command;

use ferry_testkit::have;

use super::{ADMIN, ADMIN_PASSWORD, Node, Start};

const SCRIPT: &str = include_str!("browser.py");

fn selenium() -> bool {
    Command::new("python3").args(["-c", "import selenium"]).output().is_ok_and(|o| o.status.success())
}

#[test]
fn browser_signs_in_creates_a_user_watches_a_live_session_kicks_it_and_unbans() {
    let ready = have("curl") && Path::new("/usr/bin/chromium").exists() && Path::new("/usr/bin/chromedriver").exists() && selenium();
    if !ready {
        assert!(std::env::var_os("CI").is_none(), "chromium, chromium-driver, curl and selenium are required under CI");
        eprintln!("skipping: chromium, chromedriver or python3-selenium missing");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let node = Node::start(dir.path(), Start { args: &["--ban-after", "3"], ..Start::default() });
    let script = dir.path().join("browser.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let shots = std::env::var_os("FERRY_SCREENSHOTS").map(std::path::PathBuf::from).unwrap_or_else(|| dir.path().join("shots"));
    let out = Command::new("timeout")
        .args(["300", "python3"])
        .arg(&script)
        .args([node.base(), node.ftp.to_string(), ADMIN.to_owned(), ADMIN_PASSWORD.to_owned()])
        .arg(&shots)
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stdout}\n{stderr}\nferryd log:\n{}", node.log());
    assert!(stdout.contains("all steps passed"), "{stdout}");
    for page in ["signin", "user-form-error", "users", "dashboard", "kicked", "bans", "events"] {
        let png = std::fs::read(shots.join(format!("{page}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG") && png.len() > 5_000, "{page}.png is a real screenshot");
    }
}
