//! One integration-test binary for ferry-client: the library and the
//! `ferry` program against ferryd (in-process), pyftpdlib and vsftpd.

mod daily;
mod ftps;
mod library;
mod listings;
mod peers;
mod policy;
mod program;
mod pty;
mod pty_daily;
mod sftp;
mod sftp_hostile;
mod sftp_program;
mod sftp_shell;
mod stdout;
mod sync;
mod to_file;
