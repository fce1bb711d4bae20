//! Who to log in as: the user name and password from, in order, the URL
//! (`ftp://user:pass@host/`), the `--user` option, and the `machine` (or
//! `default`) entry of `~/.netrc` for the host.
//!
//! What is still missing after that is the program's to settle: the shell
//! asks for it; a one-shot command logs in anonymously when no user is
//! named anywhere ([`Credentials::or_anonymous`]) and otherwise asks on a
//! terminal or gives up.

use std::path::PathBuf;

use crate::target;

/// The password sent for anonymous logins (RFC 1635 asks for an address;
/// servers accept any token).
pub const ANONYMOUS_PASSWORD: &str = "ferry@";

/// A user name and password, as far as they are known.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// The user name.
    pub user: Option<String>,
    /// The password.
    pub password: Option<String>,
}

/// Shows the user name only.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials").field("user", &self.user).field("password", &self.password.as_ref().map(|_| "****")).finish()
    }
}

impl Credentials {
    /// Look up the login for `host`: the URL's user and password first,
    /// then `flag_user` (`--user`), then the `.netrc` text `netrc` (its
    /// login only when no user was given; its password whenever the URL
    /// had none).
    pub fn lookup(
        host: &str,
        url_user: Option<&str>,
        url_password: Option<&str>,
        flag_user: Option<&str>,
        netrc: Option<&str>,
    ) -> Credentials {
        let entry = netrc.and_then(|text| target::netrc_lookup(text, host));
        let (netrc_user, netrc_password) = entry.map_or((None, None), |(u, p)| (Some(u), p));
        let user = url_user.or(flag_user).map(str::to_owned).or(netrc_user);
        let password = url_password.map(str::to_owned).or(netrc_password);
        Credentials { user, password }
    }

    /// Look up the login for `host` with the user's own `.netrc`
    /// ([`netrc_path`]), if there is one.
    pub fn lookup_with_netrc(host: &str, url_user: Option<&str>, url_password: Option<&str>, flag_user: Option<&str>) -> Credentials {
        let text = netrc_path().and_then(|p| std::fs::read_to_string(p).ok());
        Credentials::lookup(host, url_user, url_password, flag_user, text.as_deref())
    }

    /// No user named anywhere means `anonymous`; an anonymous user (`anonymous`
    /// or `ftp`) without a password gets [`ANONYMOUS_PASSWORD`].
    pub fn or_anonymous(self) -> Credentials {
        let user = self.user.unwrap_or_else(|| "anonymous".into());
        let password = self.password.or_else(|| is_anonymous(&user).then(|| ANONYMOUS_PASSWORD.to_owned()));
        Credentials { user: Some(user), password }
    }
}

/// True for the user names servers take as an anonymous login.
pub fn is_anonymous(user: &str) -> bool {
    user == "anonymous" || user == "ftp"
}

/// The `.netrc` to read: `$NETRC`, else `~/.netrc`.
pub fn netrc_path() -> Option<PathBuf> {
    std::env::var_os("NETRC").map(PathBuf::from).or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".netrc")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NETRC: &str = "machine h login netrc-user password netrc-pass\ndefault login anon password anon-pass\n";

    fn c(user: Option<&str>, password: Option<&str>) -> Credentials {
        Credentials { user: user.map(Into::into), password: password.map(Into::into) }
    }

    #[test]
    fn the_url_comes_first_then_the_flag_then_netrc() {
        assert_eq!(Credentials::lookup("h", Some("u"), Some("p"), Some("flag"), Some(NETRC)), c(Some("u"), Some("p")));
        assert_eq!(Credentials::lookup("h", None, None, Some("flag"), Some(NETRC)), c(Some("flag"), Some("netrc-pass")));
        assert_eq!(Credentials::lookup("h", None, None, None, Some(NETRC)), c(Some("netrc-user"), Some("netrc-pass")));
        assert_eq!(Credentials::lookup("other", None, None, None, Some(NETRC)), c(Some("anon"), Some("anon-pass")));
        assert_eq!(Credentials::lookup("h", Some("u"), None, None, None), c(Some("u"), None));
        assert_eq!(Credentials::lookup("h", None, None, None, None), Credentials::default());
    }

    #[test]
    fn anonymous_when_nobody_is_named() {
        assert_eq!(Credentials::default().or_anonymous(), c(Some("anonymous"), Some("ferry@")));
        assert_eq!(c(Some("ftp"), None).or_anonymous(), c(Some("ftp"), Some("ferry@")));
        assert_eq!(c(Some("anna"), None).or_anonymous(), c(Some("anna"), None), "a named user's password is never made up");
        assert_eq!(c(None, Some("p")).or_anonymous(), c(Some("anonymous"), Some("p")));
    }

    #[test]
    fn passwords_stay_out_of_debug_output() {
        let shown = format!("{:?}", c(Some("anna"), Some("secret")));
        assert!(shown.contains("anna") && !shown.contains("secret"), "{shown}");
    }
}
