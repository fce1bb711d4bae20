//! Command-line arguments of `ferry`.

use clap::{Args, Parser, Subcommand};

use ferry_client::local::Clobber;

/// ferry: an FTP client. Opens an interactive shell, runs commands from
/// -c or standard input, or does one transfer (get, put, ls).
#[derive(Parser, Debug)]
#[command(name = "ferry", version, after_help = super::exit::HELP)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Option<OneShot>,
    /// HOST or ftp://user[:pass]@host[:port]/path
    pub(crate) target: Option<String>,
    /// Port (with HOST; default 21)
    pub(crate) port: Option<u16>,
    /// Commands to run, separated by ';' (then exit)
    #[arg(short = 'c', long = "commands", value_name = "CMDS")]
    pub(crate) commands: Option<String>,
    #[command(flatten)]
    pub(crate) common: Common,
}

/// Options shared by the shell and one-shot modes.
#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// User name (else from the URL, ~/.netrc, or a prompt)
    #[arg(short, long, global = true)]
    pub(crate) user: Option<String>,
    /// Use active mode (the server connects back: EPRT/PORT)
    #[arg(long, global = true)]
    pub(crate) active: bool,
    /// Never try EPSV/EPRT; use PASV/PORT
    #[arg(long, global = true)]
    pub(crate) no_epsv: bool,
    /// Limit transfer speed, e.g. 500K, 2M (bytes per second), or by time of day: "07:00,1M 23:00,off"
    #[arg(long, value_name = "RATE", global = true)]
    pub(crate) limit_rate: Option<ferry_client::rate::RateLimit>,
    /// Seconds to wait for a connection or a reply
    #[arg(long, value_name = "SECS", default_value_t = 30, global = true)]
    pub(crate) timeout: u64,
    /// Use explicit FTPS (AUTH TLS); refuses to go on in clear text
    #[arg(long, global = true)]
    pub(crate) tls: bool,
    /// Trust the CA certificates in this PEM file too
    #[arg(long, value_name = "FILE", global = true)]
    pub(crate) ca_file: Option<std::path::PathBuf>,
    /// Accept only the certificate with this SHA-256 fingerprint
    #[arg(long, value_name = "SHA256", global = true)]
    pub(crate) fingerprint: Option<String>,
    /// Accept any certificate (DANGEROUS: anyone in the path can read everything)
    #[arg(long, global = true)]
    pub(crate) insecure: bool,
    /// When a downloaded file exists locally: replace it
    #[arg(long, global = true, group = "clobber")]
    pub(crate) overwrite: bool,
    /// When a downloaded file exists locally: resume it (after checking it matches)
    #[arg(long, global = true, group = "clobber")]
    pub(crate) resume: bool,
    /// When a downloaded file exists locally: skip it
    #[arg(long, global = true, group = "clobber")]
    pub(crate) skip: bool,
    /// When a downloaded file exists locally: ask
    #[arg(long, global = true, group = "clobber")]
    pub(crate) ask: bool,
    /// No progress bars
    #[arg(long, global = true)]
    pub(crate) no_progress: bool,
    /// SFTP: log in with this private key (repeat for several; default:
    /// the ssh-agent, then ~/.ssh/id_ed25519, id_ecdsa, id_rsa)
    #[arg(short = 'i', long, value_name = "FILE", global = true)]
    pub(crate) identity: Vec<std::path::PathBuf>,
    /// Connect through a proxy: socks5://[user:pass@]host:port, socks5h:// (the proxy resolves names) or http:// (CONNECT)
    // A String, read in main: clap's own error would repeat the value,
    // and with it a proxy password.
    #[arg(long, value_name = "URL", global = true)]
    pub(crate) proxy: Option<String>,
}

impl Common {
    pub(crate) fn clobber(&self) -> Clobber {
        if self.overwrite {
            Clobber::Overwrite
        } else if self.resume {
            Clobber::Resume
        } else if self.skip {
            Clobber::Skip
        } else if self.ask {
            Clobber::Ask
        } else {
            Clobber::NewName
        }
    }
}

/// One-shot commands.
#[derive(Subcommand, Debug)]
pub(crate) enum OneShot {
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell).
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `ferry man > ferry.1`.
    Man,
    /// Download a file: ferry get ftp://host/path [LOCAL]
    Get {
        /// ftp://[user[:pass]@]host[:port]/path
        url: String,
        /// Local file or folder (default: the remote name, here)
        local: Option<String>,
        /// Download over N connections at once (large files)
        #[arg(long, value_name = "N", default_value_t = 1)]
        segments: usize,
        /// Retry network failures N times, with backoff
        #[arg(long, value_name = "N", default_value_t = 0)]
        retries: u32,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// Upload a file: ferry put LOCAL ftp://host/path
    Put {
        /// Local file
        local: String,
        /// ftp://[user[:pass]@]host[:port]/path (a path ending in / keeps the local name)
        url: String,
        /// Retry network failures N times, with backoff
        #[arg(long, value_name = "N", default_value_t = 0)]
        retries: u32,
        /// Print the result as JSON
        #[arg(long)]
        json: bool,
    },
    /// List a folder: ferry ls ftp://host/path
    Ls {
        /// ftp://[user[:pass]@]host[:port]/path
        url: String,
        /// Retry network failures N times, with backoff
        #[arg(long, value_name = "N", default_value_t = 0)]
        retries: u32,
        /// Print the listing as JSON
        #[arg(long)]
        json: bool,
    },
}
