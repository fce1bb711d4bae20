//! The one place where settings are checked, for `ferryd` and `ferryd
//! check-config` alike: every value that would make a server that cannot
//! work (or works in a way nobody would want) is refused, with the setting
//! named and the reason given. All problems are reported at once.

use std::net::IpAddr;
use std::path::Path;

use super::options::Options;

/// The longest accepted time setting: a year (and no overflow when added
/// to a clock).
const MAX_SECONDS: u64 = 365 * 24 * 3600;

/// Sessions at once beyond this are more than one process can hold open
/// (each needs a file descriptor, two during a transfer).
const MAX_SESSIONS: usize = 1_000_000;

/// Parse a passive port range `A-B`: 1024 <= A <= B.
pub(super) fn parse_range(s: &str) -> Result<(u16, u16), String> {
    let (a, b) = s.split_once('-').ok_or("expected A-B, like 50000-50100")?;
    let port = |p: &str| p.trim().parse::<u16>().map_err(|e| format!("{:?} is not a port number: {e}", p.trim()));
    let (a, b) = (port(a)?, port(b)?);
    if b < a {
        return Err(format!("the range runs from {a} down to {b}; expected 1 <= A <= B"));
    }
    if a < 1024 {
        return Err(format!(
            "{a} is below 1024: those ports belong to system services and need root to bind; use ports from 1024 up, like 50000-50100"
        ));
    }
    Ok((a, b))
}

/// Every problem with `s`, each naming its setting and saying why.
pub(super) fn problems(s: &Options) -> Vec<String> {
    let mut out = Vec::new();
    let mut check = |ok: bool, problem: &dyn Fn() -> String| {
        if !ok {
            out.push(problem());
        }
    };
    check(s.port != 0, &|| "port must be from 1 to 65535 (0 would listen on a random port that no client can know)".into());
    if let Some(p) = s.ftps_port {
        check(p != 0, &|| "ftps-port must be from 1 to 65535 (0 would listen on a random port that no client can know)".into());
        check(p != s.port, &|| format!("ftps-port and port are both {p}: implicit FTPS needs a port of its own"));
    }
    if let Some(p) = s.sftp_port {
        check(p != 0, &|| "sftp-port must be from 1 to 65535 (0 would listen on a random port that no client can know)".into());
        check(p != s.port && Some(p) != s.ftps_port, &|| format!("sftp-port {p} is taken by FTP: SFTP needs a port of its own"));
    }
    if let Some(range) = &s.passive_ports
        && let Err(e) = parse_range(range)
    {
        check(false, &|| format!("passive-ports {range:?}: {e}"));
    }
    if let Some(addr) = s.admin_listen {
        let loopback = addr.ip().to_canonical().is_loopback();
        check(loopback || s.tls, &|| {
            format!(
                "admin-listen {addr} would carry admin passwords in clear text: use a loopback address (127.0.0.1 or ::1), \
                 or leave TLS on so that it serves HTTPS"
            )
        });
        check(s.tls || !s.admin_https, &|| "admin-https needs TLS: leave tls on (its certificate serves the admin listener)".into());
        check(addr.port() != 0, &|| "admin-listen needs a port from 1 to 65535".into());
    }
    check(!s.bind.is_empty(), &|| "bind needs at least one address (with none, nothing would listen)".into());
    if s.s3_bucket.is_none() {
        check(!s.root.exists() || s.root.is_dir(), &|| format!("root {} is not a folder: give the folder to serve", s.root.display()));
    }
    if s.postgres.is_none() {
        check(!s.users.is_dir(), &|| format!("users {} is a folder: give the users file (name:secret lines)", s.users.display()));
    }
    let seconds = [
        ("idle-timeout", s.idle_timeout, "0 would close every session before its first command"),
        ("login-timeout", s.login_timeout, "0 would close every connection before it could log in"),
        ("ban-window", s.ban_window, "0 would never count two failed logins together, so nobody would be banned"),
        ("ban-time", s.ban_time, "a ban of 0 seconds would not keep anyone out"),
    ];
    for (name, value, why) in seconds {
        check(value >= 1, &|| format!("{name} must be at least 1 second ({why})"));
        check(value <= MAX_SECONDS, &|| format!("{name} must be at most {MAX_SECONDS} seconds (a year), not {value}"));
    }
    check(s.shutdown_grace <= MAX_SECONDS, &|| format!("shutdown-grace must be at most {MAX_SECONDS} seconds (a year)"));
    check(s.failure_delay_ms <= 1000 * MAX_SECONDS, &|| "failure-delay-ms must be at most a year".into());
    check(s.max_sessions >= 1, &|| "max-sessions must be at least 1 (0 would refuse every connection)".into());
    check(s.max_sessions <= MAX_SESSIONS, &|| format!("max-sessions must be at most {MAX_SESSIONS}, not {}", s.max_sessions));
    check(s.max_sessions_per_ip >= 1, &|| "max-sessions-per-ip must be at least 1 (0 would refuse every connection)".into());
    check(s.ban_after >= 1, &|| "ban-after must be at least 1 (0 would ban an address at its first failed login)".into());
    for (name, rate) in [("upload-rate", s.upload_rate), ("download-rate", s.download_rate)] {
        check(rate != Some(0), &|| format!("{name} must be at least 1 byte per second; leave it out for no limit"));
    }
    if let Err(e) = ferry_hooks::duration::parse(&s.hook_max_age) {
        check(false, &|| format!("hook-max-age {:?}: {e}", s.hook_max_age));
    }
    if s.tls_cert.is_some() != s.tls_key.is_some() {
        out.push("tls-cert and tls-key go together: give both or neither".into());
    }
    if !s.tls && (s.require_tls || s.ftps_port.is_some()) {
        out.push("require-tls and ftps-port need TLS, which is turned off".into());
    }
    if !matches!(s.log_format.as_str(), "text" | "json") {
        out.push(format!("log-format must be text or json, not {:?}", s.log_format));
    }
    out.extend(log_level_problem(&s.log_level));
    if let Some(path) = &s.xferlog {
        out.extend(xferlog_problem(path));
    }
    if let Some(a) = s.passive_address.as_deref().filter(|a| a.parse::<IpAddr>().is_err()) {
        // A host name is resolved now so that a typo fails at start, not
        // at the first PASV.
        if let Err(e) = std::net::ToSocketAddrs::to_socket_addrs(&(a, 0)) {
            out.push(format!("cannot resolve passive-address {a:?}: {e}"));
        }
    }
    out
}

/// A level, or `target=level` pairs (`info,ferry_server=debug`). A bare
/// word that is not a level would be taken as a target to log everything
/// of, and nothing else: surely a typo.
fn log_level_problem(spec: &str) -> Option<String> {
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    let bad = spec.split(',').map(|d| d.rsplit('=').next().unwrap_or(d).trim()).find(|l| !LEVELS.iter().any(|k| k.eq_ignore_ascii_case(l)));
    let parsed = spec.parse::<tracing_subscriber::filter::Targets>().err().map(|e| e.to_string());
    match (bad, parsed) {
        (None, None) => None,
        (Some(word), _) => {
            Some(format!("log-level {spec:?}: {word:?} is not a level (use error, warn, info, debug or trace, or target=level pairs)"))
        }
        (None, Some(e)) => Some(format!("log-level {spec:?}: {e}")),
    }
}

fn xferlog_problem(path: &Path) -> Option<String> {
    if path.is_dir() {
        return Some(format!("xferlog {} is a folder: give the file to append transfer records to", path.display()));
    }
    let parent = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    (!parent.is_dir()).then(|| format!("xferlog {}: the folder {} does not exist", path.display(), parent.display()))
}

/// Every problem with the `[[hooks]]` tables: which table (counting from
/// 0, in the file's order) and what is wrong, naming the key.
pub(super) fn hook_problems(s: &Options) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut names = std::collections::BTreeSet::new();
    for (i, hook) in s.hooks.iter().enumerate() {
        if let Err(e) = hook.validate() {
            out.push((i, e.to_string()));
        }
        if !names.insert(hook.name.as_str()) {
            out.push((i, format!("hook {:?}: `name`: two hooks have this name; each needs its own", hook.name)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_levels() {
        for good in ["info", "DEBUG", "info,ferry_server=debug", "warn,rustls=off"] {
            assert_eq!(log_level_problem(good), None, "{good}");
        }
        for bad in ["loud", "info,ferry_server", "ferry_server=loud", ""] {
            assert!(log_level_problem(bad).is_some_and(|p| p.contains("is not a level")), "{bad}");
        }
    }

    #[test]
    fn passive_ranges() {
        assert_eq!(parse_range("50000-50100"), Ok((50000, 50100)));
        assert_eq!(parse_range(" 2000 - 2000 "), Ok((2000, 2000)));
        assert!(parse_range("9-1").unwrap_err().contains("1 <= A <= B"));
        assert!(parse_range("80-90").unwrap_err().contains("below 1024"));
        assert!(parse_range("0-10").unwrap_err().contains("below 1024"));
        assert!(parse_range("50000").unwrap_err().contains("A-B"));
        assert!(parse_range("5x-6").unwrap_err().contains("\"5x\" is not a port number"));
    }
}
