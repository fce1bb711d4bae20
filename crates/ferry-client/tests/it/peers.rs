//! The servers the client is tested against.

use std::path::PathBuf;

use ferry_testkit::peers::{self, ExternalServer};
use ferry_testkit::{PASSWORD, TestServer, USER};

/// A server to test against.
pub(crate) enum Peer {
    Ferryd(TestServer),
    External(ExternalServer),
}

impl Peer {
    pub(crate) fn name(&self) -> &str {
        match self {
            Peer::Ferryd(_) => "ferryd",
            Peer::External(e) => e.name,
        }
    }
    pub(crate) fn port(&self) -> u16 {
        match self {
            Peer::Ferryd(s) => s.port(),
            Peer::External(e) => e.port,
        }
    }
    pub(crate) fn user(&self) -> &str {
        match self {
            Peer::Ferryd(_) => USER,
            Peer::External(e) => &e.user,
        }
    }
    pub(crate) fn password(&self) -> &str {
        match self {
            Peer::Ferryd(_) => PASSWORD,
            Peer::External(e) => &e.password,
        }
    }
    /// The writable folder on disk.
    pub(crate) fn root(&self) -> PathBuf {
        match self {
            Peer::Ferryd(s) => s.root(),
            Peer::External(e) => e.root(),
        }
    }
    /// Remote path of `p` inside the writable folder.
    pub(crate) fn remote(&self, p: &str) -> String {
        match self {
            Peer::Ferryd(_) => p.trim_start_matches('/').to_owned(),
            Peer::External(e) => e.remote(p),
        }
    }
    /// The server with credentials and no path (the shell starts at the
    /// login folder).
    pub(crate) fn server_url(&self) -> String {
        format!("ftp://{}:{}@127.0.0.1:{}/", self.user(), self.password(), self.port())
    }

    pub(crate) fn url(&self, p: &str) -> String {
        format!("ftp://{}:{}@127.0.0.1:{}/{}", self.user(), self.password(), self.port(), self.remote(p))
    }
}

/// Under CI every peer must start; elsewhere a missing one is skipped
/// with a note.
pub(crate) fn required(name: &str) {
    if std::env::var_os("CI").is_some() {
        panic!("{name} must be available under CI (.ci/run installs it)");
    }
    eprintln!("note: {name} is not available here; skipping it");
}

/// ferryd, plus pyftpdlib and vsftpd when they can be started.
pub(crate) fn all() -> Vec<Peer> {
    let mut v = vec![Peer::Ferryd(TestServer::start())];
    match peers::start_pyftpdlib() {
        Some(p) => v.push(Peer::External(p)),
        None => required("pyftpdlib"),
    }
    match peers::start_vsftpd() {
        Some(p) => v.push(Peer::External(p)),
        None => required("vsftpd"),
    }
    v
}

/// ferryd (started with `adjust`) and pyftpdlib (with the handler
/// `setup` lines of [`peers::start_pyftpdlib_with`]): the two servers the
/// shell's terminal tests run against.
pub(crate) fn ferryd_and_pyftpdlib(adjust: impl FnOnce(&mut ferry_testkit::Config), setup: &str) -> Vec<Peer> {
    let mut v = vec![Peer::Ferryd(TestServer::start_with(adjust))];
    match peers::start_pyftpdlib_with(setup) {
        Some(p) => v.push(Peer::External(p)),
        None => required("pyftpdlib"),
    }
    v
}

/// Local scratch space for a test.
pub(crate) fn scratch() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}
