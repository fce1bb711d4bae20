//! One integration-test binary for ferry-server (linking dominates build
//! time on two cores). Every test starts its own server on a port chosen by
//! the OS and talks to it over loopback.

mod accounts;
mod admin;
#[cfg(feature = "postgres")]
mod admin_postgres;
mod admins;
mod attack;
mod backends;
mod cli;
mod commands;
mod events;
mod ftps;
mod hardening;
mod hooks;
mod interop_curl;
mod interop_ftplib;
mod interop_lftp;
mod interop_tnftp;
mod jail;
mod options;
#[cfg(feature = "postgres")]
mod postgres_accounts;
#[cfg(feature = "postgres")]
mod postgres_users;
mod production;
mod session;
mod sessions;
mod sftp;
mod transfers;
