//! SFTP for the program: its settings from the command line, the login
//! (keys, then a password), and what an `sftp://` URL's path means. The
//! commands themselves are the same for both protocols (`one_shot`, the
//! shell), on a [`ferry_client::Session`].
//!
//! Host keys are checked against `~/.ssh/known_hosts`: an unknown host is
//! shown with its fingerprint and accepted only by a yes on a terminal; a
//! changed key is refused.

use std::sync::Arc;
use std::time::Duration;

use ferry_client::Error;
use ferry_client::session::{SftpLogin, SftpSession};
use ferry_client::sftp::{HostKeyDecision, HostKeyPrompt, SftpConfig};
use ferry_client::target::Target;
use ferry_proto::command::Password;

use super::args::Common;

/// Asks on the terminal, as `ssh` does; refuses when nobody is there.
struct TerminalPrompt;

impl HostKeyPrompt for TerminalPrompt {
    fn unknown_host(&self, host: &str, port: u16, algorithm: &str, fingerprint: &str) -> HostKeyDecision {
        use std::io::{BufRead, IsTerminal, Write};
        if !std::io::stdin().is_terminal() {
            return HostKeyDecision::Refuse;
        }
        let name = if port == 22 { host.to_owned() } else { format!("[{host}]:{port}") };
        eprint!(
            "The authenticity of host {name} can't be established.\n{algorithm} key fingerprint is {fingerprint}.\n\
             Are you sure you want to continue connecting (yes/no)? "
        );
        let _ = std::io::stderr().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().lock().read_line(&mut answer);
        match answer.trim().to_ascii_lowercase().as_str() {
            "yes" | "y" => HostKeyDecision::TrustAndRemember,
            _ => HostKeyDecision::Refuse,
        }
    }
}

/// The remote path a URL names: absolute, as `sftp://host/srv/x` means
/// `/srv/x` (curl's and OpenSSH's reading); `~/x` is from the home.
pub(crate) fn remote_path(t: &Target) -> String {
    match t.path.as_deref() {
        None | Some("" | "~") => ".".into(),
        Some(p) => match p.strip_prefix("~/") {
            Some(rest) => rest.to_owned(),
            None => format!("/{p}"),
        },
    }
}

/// SFTP settings from the command line: timeouts, `--identity`, and
/// host keys checked against `~/.ssh/known_hosts`, asking on a terminal.
pub(crate) fn config(common: &Common) -> SftpConfig {
    SftpConfig {
        connect_timeout: Duration::from_secs(common.timeout),
        reply_timeout: Duration::from_secs(common.timeout.max(60)),
        prompt: Arc::new(TerminalPrompt),
        identities: (!common.identity.is_empty()).then(|| common.identity.clone()),
        ..SftpConfig::default()
    }
}

/// Connect and log in: keys first; then the password given, or asked for
/// on a terminal when the keys were refused.
pub(crate) async fn connect(t: &Target, user: &str, password: Option<String>, common: &Common) -> Result<SftpSession, Error> {
    let mut login =
        SftpLogin { host: t.host.clone(), port: t.port, user: user.to_owned(), password: password.map(Password), config: config(common) };
    match login.open().await {
        Err(Error::SshLogin(_)) if login.password.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdin()) => {
            let pw = rpassword::prompt_password(format!("{user}@{}'s password: ", t.host)).map_err(Error::Io)?;
            login.password = Some(Password(pw));
            // The keys were refused already: not offered again.
            login.config = SftpConfig { agent: false, identities: Some(Vec::new()), ..login.config };
            login.open().await
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_paths_are_absolute_and_tilde_is_the_home() {
        let path = |url: &str| remote_path(&ferry_client::target::parse_url(url).unwrap());
        assert_eq!(path("sftp://h"), ".");
        assert_eq!(path("sftp://h/"), ".");
        assert_eq!(path("sftp://h/~"), ".");
        assert_eq!(path("sftp://h/~/in/a.csv"), "in/a.csv");
        assert_eq!(path("sftp://h/srv/in/a.csv"), "/srv/in/a.csv");
        assert_eq!(path("sftp://h/dir/"), "/dir/");
    }
}
