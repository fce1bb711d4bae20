//! The shell's commands, in one table: each command's name and aliases,
//! what its arguments are, its usage line and one-line help. The table
//! drives the dispatcher (a name resolves to a [`Cmd`]), tab completion
//! (names, then local or remote paths by [`Args`]), and `help`.
//!
//! Names may be abbreviated to any unique prefix, as ftp(1) allows; the
//! prefix is matched against every name and alias.

use std::sync::LazyLock;

/// What a shell command does; the dispatcher matches on this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cmd {
    Append,
    Ascii,
    Binary,
    Cd,
    Cdup,
    Chmod,
    Close,
    Delete,
    Dir,
    Exit,
    Get,
    Hash,
    Help,
    Lcd,
    Lls,
    Lpwd,
    Ls,
    Mdelete,
    Mget,
    Mirror,
    Mkdir,
    Modtime,
    Mput,
    Nlist,
    Open,
    Passive,
    Prompt,
    Put,
    Pwd,
    Quote,
    Reget,
    Rename,
    Reput,
    Rmdir,
    Set,
    ShellEscape,
    Size,
    Status,
    Type,
    Upload,
    User,
}

/// What a command's arguments are, for completion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Args {
    /// No arguments.
    None,
    /// Remote paths: completed from the remote folder's names.
    Remote,
    /// Local paths: completed from the local file system.
    Local,
    /// Command names (`help`).
    Command,
    /// Words of the command's own (`on`, `ascii`, a host name…): nothing
    /// to complete.
    Words,
}

/// The lines of the `help` overview.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Group {
    Files,
    Folders,
    Local,
    Session,
    Settings,
}

impl Group {
    const ALL: [Group; 5] = [Group::Files, Group::Folders, Group::Local, Group::Session, Group::Settings];

    fn label(self) -> &'static str {
        match self {
            Group::Files => "Files",
            Group::Folders => "Folders",
            Group::Local => "Local",
            Group::Session => "Session",
            Group::Settings => "Settings",
        }
    }
}

/// One row of the table.
#[derive(Debug)]
pub(crate) struct Spec {
    pub(crate) cmd: Cmd,
    pub(crate) name: &'static str,
    pub(crate) aliases: &'static [&'static str],
    pub(crate) args: Args,
    /// The usage line, without `usage: `.
    pub(crate) usage: &'static str,
    /// What it does, in one line.
    pub(crate) help: &'static str,
    /// The overview line it is listed on, if any.
    group: Option<Group>,
    /// What follows the names on that line (`HOST [PORT]`).
    shown_args: &'static str,
    /// Options listed on an overview line of their own.
    options: &'static str,
    /// One of the seed's three commands, listed first with its usage.
    seed: bool,
    /// More for `help COMMAND` and `COMMAND --help`: each option, and
    /// what the command does with files.
    details: &'static str,
}

impl Spec {
    /// The usage error for this command.
    pub(crate) fn usage_error(&self) -> String {
        format!("usage: {}", self.usage)
    }

    /// How many words may follow the command, as its usage line says
    /// (`cd DIR`: one; `rename FROM TO`: two), options aside; `None` for
    /// commands that take lists (`PATTERN...`, `ARGS`) or parse their own
    /// options (`[OPTIONS]`).
    pub(crate) fn max_args(&self) -> Option<usize> {
        let words: Vec<&str> = self.usage.split_whitespace().skip(1).collect();
        // A command with options of its own (`get --segments N`) counts
        // its own words.
        let own_options = !self.options.is_empty();
        if own_options
            || self.usage.starts_with('!')
            || words.iter().any(|w| w.contains("...") || w.contains("ARGS") || w.contains("OPTIONS"))
        {
            return None;
        }
        Some(words.iter().map(|w| w.trim_matches(|c| c == '[' || c == ']')).filter(|w| !w.is_empty() && !w.starts_with('-')).count())
    }

    /// How the overview lists it: `get/recv`, `open HOST [PORT]`, `!command`.
    fn shown(&self) -> String {
        let names = std::iter::once(self.name).chain(self.aliases.iter().copied()).collect::<Vec<_>>().join("/");
        match self.shown_args {
            "" => names,
            // `!` reads as a prefix of its argument.
            args if !names.ends_with(|c: char| c.is_ascii_alphanumeric()) => format!("{names}{args}"),
            args => format!("{names} {args}"),
        }
    }
}

/// A row with no overview entry; the builders below fill in the rest.
const fn row(cmd: Cmd, name: &'static str, args: Args, usage: &'static str, help: &'static str) -> Spec {
    Spec { cmd, name, aliases: &[], args, usage, help, group: None, shown_args: "", options: "", seed: false, details: "" }
}

impl Spec {
    const fn aka(mut self, aliases: &'static [&'static str]) -> Spec {
        self.aliases = aliases;
        self
    }
    const fn on(mut self, group: Group) -> Spec {
        self.group = Some(group);
        self
    }
    const fn showing(mut self, args: &'static str) -> Spec {
        self.shown_args = args;
        self
    }
    const fn options(mut self, options: &'static str) -> Spec {
        self.options = options;
        self
    }
    const fn seed(mut self) -> Spec {
        self.seed = true;
        self
    }
    const fn details(mut self, details: &'static str) -> Spec {
        self.details = details;
        self
    }
}

use Args::{Command as Names, Local, None as NoArgs, Remote, Words};
use Group as G;

const GET_DETAILS: &str = "  -f, --overwrite     replace an existing local file (atomically, once complete)
  -c, --resume        continue the existing local file, after checking it matches
      --skip          leave an existing local file alone
      --ask           ask what to do with an existing local file
  -n, --segments N    download over N connections at once (1 to 32; large files)
LOCAL may be a folder, - (standard output) or a special file such as /dev/null.
A download is written to NAME.ferry-part and takes its name when complete; one that
breaks off stays in NAME.ferry-part, and the same get checks and continues it.";

const MIRROR_DETAILS: &str = "  -R, --reverse       upload LOCAL to REMOTE instead of downloading
  -a, --all           send every file, even those up to date
  -n, --only-newer    also skip copies that are newer, whatever their size
  -c, --checksum      compare same-size copies by content (the server's HASH or XSHA256…)
  -x, --exclude GLOB  leave out what matches (gitignore syntax: /top/ only at the top, *.log anywhere)
  -i, --include GLOB  bring back what an earlier pattern left out; the last match decides
  -e, --delete        remove what the source no longer has (never what is excluded)
      --dry-run       print what would be created, sent and removed, and the tally
  -P, --parallel N    transfer N files at once over extra connections (1 to 16)
      --retries N     try a file that fails on the network again, N times, with backoff
      --state FILE    deploy mode (with -R): send what changed since the state FILE
                      records, without listing the server; checkpointed as files
                      complete; a copy goes to REMOTE/.ferry-state.json
A file is up to date when its copy has the same size and is at least as new;
downloads keep the remote times, and uploads set them where the server allows.
A .ferryignore at the top of the source tree (mirror -R) adds patterns first.
Files that still fail are listed at the end, and the exit status is 7.";

/// Every shell command, in the order the `help` overview lists them.
pub(crate) static TABLE: &[Spec] = &[
    row(Cmd::Get, "get", Remote, "get [REMOTE [LOCAL]]", "download a file; an existing local file is kept and the copy saved as new_NAME")
        .aka(&["recv"])
        .on(G::Files)
        .options("--overwrite --resume --skip --ask --segments N")
        .details(GET_DETAILS)
        .seed(),
    row(Cmd::Upload, "upload", Local, "upload [LOCAL]", "upload a file (asks for its name when none is given)").seed(),
    row(Cmd::Exit, "exit", NoArgs, "exit", "close the connection and leave").seed(),
    row(Cmd::Reget, "reget", Remote, "reget REMOTE [LOCAL]", "resume a download, after checking the partial file").on(G::Files),
    row(Cmd::Mget, "mget", Remote, "mget PATTERN...", "download every file matching the patterns").on(G::Files),
    row(Cmd::Put, "put", Local, "put [--resume] LOCAL [REMOTE]", "upload a file (--resume: continue a checked partial upload)")
        .aka(&["send"])
        .on(G::Files),
    row(Cmd::Reput, "reput", Local, "reput LOCAL [REMOTE]", "resume an upload, after checking the remote part").on(G::Files),
    row(Cmd::Mput, "mput", Local, "mput PATTERN...", "upload every local file matching the patterns").on(G::Files),
    row(Cmd::Append, "append", Local, "append LOCAL [REMOTE]", "append a local file to a remote one").on(G::Files),
    row(Cmd::Delete, "delete", Remote, "delete FILE", "delete a remote file").on(G::Files),
    row(Cmd::Mdelete, "mdelete", Remote, "mdelete PATTERN...", "delete every remote file matching the patterns").on(G::Files),
    row(Cmd::Rename, "rename", Remote, "rename FROM TO", "rename or move a remote file").on(G::Files),
    row(Cmd::Size, "size", Remote, "size FILE", "show a remote file's size").on(G::Files),
    row(Cmd::Modtime, "modtime", Remote, "modtime FILE", "show a remote file's modification time").on(G::Files),
    row(Cmd::Chmod, "chmod", Remote, "chmod MODE FILE", "change a remote file's permissions (SITE CHMOD)").on(G::Files),
    row(Cmd::Ls, "ls", Remote, "ls [-1] [DIR]", "list a remote folder: type, size, time, name (-1: names only)").on(G::Folders),
    row(Cmd::Nlist, "nlist", Remote, "nlist [DIR]", "list remote names only (NLST)").on(G::Folders),
    row(Cmd::Dir, "dir", Remote, "dir [DIR]", "show the server's own listing (LIST)").on(G::Folders),
    row(Cmd::Cd, "cd", Remote, "cd DIR", "change the remote folder").on(G::Folders),
    row(Cmd::Cdup, "cdup", NoArgs, "cdup", "go to the remote parent folder").on(G::Folders),
    row(Cmd::Pwd, "pwd", NoArgs, "pwd", "show the remote folder").on(G::Folders),
    row(Cmd::Mkdir, "mkdir", Remote, "mkdir DIR", "create a remote folder").on(G::Folders),
    row(Cmd::Rmdir, "rmdir", Remote, "rmdir DIR", "remove an empty remote folder").on(G::Folders),
    row(Cmd::Mirror, "mirror", Remote, "mirror [-R] [OPTIONS] SOURCE [DEST]", "copy a folder tree down (-R: up)")
        .on(G::Folders)
        .showing("[-R] [--all] [--only-newer] [--checksum] [--exclude GLOB] [--include GLOB] [--delete] [--dry-run] [--parallel N] [--retries N] [--state FILE]")
        .details(MIRROR_DETAILS),
    row(Cmd::Lcd, "lcd", Local, "lcd [DIR]", "change the local folder").on(G::Local),
    row(Cmd::Lpwd, "lpwd", NoArgs, "lpwd", "show the local folder").on(G::Local),
    row(Cmd::Lls, "lls", Local, "lls [DIR]", "list a local folder").on(G::Local),
    row(Cmd::ShellEscape, "!", Local, "!COMMAND", "run a local shell command").on(G::Local).showing("command"),
    row(Cmd::Open, "open", Words, "open HOST [PORT]", "connect and log in (HOST may be a URL: ftps://host, sftp://user@host/dir)")
        .on(G::Session)
        .showing("HOST [PORT]"),
    row(Cmd::Close, "close", NoArgs, "close", "log out and disconnect").on(G::Session),
    row(Cmd::User, "user", Words, "user NAME [PASSWORD]", "log in as another user").on(G::Session).showing("NAME"),
    row(Cmd::Status, "status", NoArgs, "status", "show the connection and settings").on(G::Session),
    row(Cmd::Quote, "quote", Words, "quote COMMAND [ARGS]", "send a raw FTP command and show the reply")
        .aka(&["literal"])
        .on(G::Session)
        .showing("CMD"),
    row(Cmd::Exit, "bye", NoArgs, "bye", "close the connection and leave").on(G::Session),
    row(Cmd::Exit, "quit", NoArgs, "quit", "close the connection and leave").on(G::Session),
    row(Cmd::Binary, "binary", NoArgs, "binary", "transfer files byte for byte").on(G::Settings),
    row(Cmd::Ascii, "ascii", NoArgs, "ascii", "transfer files as text, converting line ends").on(G::Settings),
    row(Cmd::Type, "type", Words, "type [a|i]", "show or set the transfer type").on(G::Settings).showing("[a|i]"),
    row(Cmd::Passive, "passive", Words, "passive [on|off]", "toggle passive data connections").on(G::Settings),
    row(Cmd::Hash, "hash", Words, "hash [SIZE]", "print # every SIZE bytes transferred (toggle)").on(G::Settings).showing("[SIZE]"),
    row(Cmd::Prompt, "prompt", NoArgs, "prompt", "toggle asking before each file of mget, mput, mdelete").on(G::Settings),
    row(Cmd::Set, "set", Words, "set clobber new|overwrite|resume|skip|ask", "what get does when the local file exists")
        .on(G::Settings)
        .showing("clobber new|overwrite|resume|skip|ask"),
    row(Cmd::Help, "help", Names, "help [COMMAND]", "list the commands, or show one's usage").aka(&["?"]),
];

/// True for commands that talk to the server (and so may reconnect a
/// lost session first); the local ones, settings and `open`/`close` do not.
pub(crate) fn needs_session(cmd: Cmd) -> bool {
    !matches!(
        cmd,
        Cmd::Exit
            | Cmd::Help
            | Cmd::ShellEscape
            | Cmd::Open
            | Cmd::Close
            | Cmd::User
            | Cmd::Status
            | Cmd::Lcd
            | Cmd::Lpwd
            | Cmd::Lls
            | Cmd::Passive
            | Cmd::Hash
            | Cmd::Prompt
            | Cmd::Set
    )
}

/// True when running `line` twice does no harm: what is re-run after a
/// `421` on a new connection (the server may have done part of it).
pub(crate) fn repeatable(line: &str) -> bool {
    let Some(word) = line.split_whitespace().next() else { return false };
    find(word).is_ok_and(|s| {
        matches!(
            s.cmd,
            Cmd::Ls
                | Cmd::Nlist
                | Cmd::Dir
                | Cmd::Cd
                | Cmd::Cdup
                | Cmd::Pwd
                | Cmd::Size
                | Cmd::Modtime
                | Cmd::Get
                | Cmd::Reget
                | Cmd::Mget
                | Cmd::Status
        )
    })
}

/// Every name and alias, sorted: what abbreviations and completion match.
pub(crate) static WORDS: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut words: Vec<&str> = TABLE.iter().flat_map(|s| std::iter::once(s.name).chain(s.aliases.iter().copied())).collect();
    words.sort_unstable();
    words.dedup();
    words
});

/// The row named exactly `word` (a name or an alias).
fn exact(word: &str) -> Option<&'static Spec> {
    TABLE.iter().find(|s| s.name == word || s.aliases.contains(&word))
}

/// The row a typed word means: an exact name or alias, or a prefix of
/// exactly one. The error is the message to show.
pub(crate) fn find(word: &str) -> Result<&'static Spec, String> {
    let resolved = super::words::resolve(word, &WORDS)?;
    exact(resolved).ok_or_else(|| format!("?Invalid command: {word}. Type help for the list."))
}

/// The row for `cmd` (its first, for a command listed under several names).
/// Every `Cmd` has one: a variant without a row would never be constructed,
/// which the compiler reports.
pub(crate) fn spec(cmd: Cmd) -> &'static Spec {
    TABLE.iter().find(|s| s.cmd == cmd).unwrap_or(&TABLE[0])
}

/// The usage error for `cmd`.
pub(crate) fn usage(cmd: Cmd) -> String {
    spec(cmd).usage_error()
}

/// The `help` overview: the seed's commands, then each group on a line.
pub(crate) fn overview() -> String {
    let line = |label: &str, body: &str| format!("{:<16}{body}", format!("{label}:"));
    let mut out = Vec::new();
    let seed: Vec<&str> = TABLE.iter().filter(|s| s.seed).map(|s| s.usage).collect();
    out.push(line("Seed commands", &seed.join("   ")));
    for g in Group::ALL {
        let shown: Vec<String> = TABLE.iter().filter(|s| s.group == Some(g)).map(Spec::shown).collect();
        out.push(line(g.label(), &shown.join(" ")));
    }
    for s in TABLE.iter().filter(|s| !s.options.is_empty()) {
        out.push(line(&format!("{} options", s.name), s.options));
    }
    out.push("Commands may be abbreviated to any unique prefix (e.g. 'mk' for mkdir).".to_owned());
    out.join("\n")
}

/// `help COMMAND`: its usage, other names, and what it does.
pub(crate) fn describe(word: &str) -> Result<String, String> {
    let s = find(word)?;
    let mut out = format!("usage: {}\n{}", s.usage, s.help);
    if !s.aliases.is_empty() {
        out.push_str(&format!("\nalso: {}", s.aliases.join(", ")));
    }
    if !s.details.is_empty() {
        out.push_str(&format!("\noptions:\n{}", s.details));
    } else if !s.options.is_empty() {
        out.push_str(&format!("\noptions: {}", s.options));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_command_help_lists_the_options() {
        let mirror = describe("mirror").unwrap();
        assert!(mirror.starts_with("usage: mirror [-R] [OPTIONS] SOURCE [DEST]"), "{mirror}");
        for o in ["--all", "--only-newer", "--delete", "--dry-run", "--parallel N"] {
            assert!(mirror.contains(o), "{o}: {mirror}");
        }
        assert!(describe("get").unwrap().contains("NAME.ferry-part"));
    }

    #[test]
    fn how_many_arguments_each_command_takes() {
        let max = |w: &str| find(w).unwrap().max_args();
        assert_eq!(max("cd"), Some(1));
        assert_eq!(max("pwd"), Some(0));
        assert_eq!(max("rename"), Some(2));
        assert_eq!(max("get"), None, "get parses its options and words itself");
        assert_eq!(max("put"), Some(2));
        assert_eq!(max("ls"), Some(1));
        assert_eq!(max("open"), Some(2));
        assert_eq!(max("mget"), None);
        assert_eq!(max("mirror"), None);
        assert_eq!(max("quote"), None);
        assert_eq!(max("!"), None);
    }

    /// The overview as it read before the table existed, word for word.
    const OLD_HELP: &str = "\
Seed commands:  get [REMOTE [LOCAL]]   upload [LOCAL]   exit
Files:          get/recv reget mget put/send reput mput append delete mdelete rename size modtime chmod
Folders:        ls nlist dir cd cdup pwd mkdir rmdir mirror [-R] [--all] [--only-newer] [--checksum] [--exclude GLOB] [--include GLOB] [--delete] [--dry-run] [--parallel N] [--retries N] [--state FILE]
Local:          lcd lpwd lls !command
Session:        open HOST [PORT] close user NAME status quote/literal CMD bye quit
Settings:       binary ascii type [a|i] passive hash [SIZE] prompt set clobber new|overwrite|resume|skip|ask
get options:    --overwrite --resume --skip --ask --segments N
Commands may be abbreviated to any unique prefix (e.g. 'mk' for mkdir).";

    #[test]
    fn the_overview_is_unchanged() {
        assert_eq!(overview(), OLD_HELP);
    }

    #[test]
    fn every_word_the_shell_knew_still_resolves() {
        let old = [
            "!", "?", "append", "ascii", "binary", "bye", "cd", "cdup", "chmod", "close", "delete", "dir", "exit", "get", "hash", "help",
            "lcd", "lls", "lpwd", "ls", "mdelete", "mget", "mirror", "mkdir", "modtime", "mput", "nlist", "open", "passive", "prompt",
            "put", "pwd", "quit", "quote", "literal", "recv", "reget", "rename", "reput", "rmdir", "send", "set", "size", "status", "type",
            "upload", "user",
        ];
        let mut sorted = old.to_vec();
        sorted.sort_unstable();
        assert_eq!(*WORDS, sorted);
        assert_eq!(find("recv").unwrap().cmd, Cmd::Get);
        assert_eq!(find("send").unwrap().cmd, Cmd::Put);
        assert_eq!(find("literal").unwrap().cmd, Cmd::Quote);
        assert_eq!(find("?").unwrap().cmd, Cmd::Help);
        for w in ["exit", "bye", "quit"] {
            assert_eq!(find(w).unwrap().cmd, Cmd::Exit);
        }
    }

    #[test]
    fn abbreviations_resolve_through_the_table() {
        assert_eq!(find("mk").unwrap().cmd, Cmd::Mkdir);
        assert_eq!(find("lpw").unwrap().cmd, Cmd::Lpwd);
        assert_eq!(find("ren").unwrap().cmd, Cmd::Rename);
        assert_eq!(find("rec").unwrap().cmd, Cmd::Get);
        let e = find("qu").unwrap_err();
        assert_eq!(e, "?Ambiguous command: qu could be quit, quote.");
        assert_eq!(find("bogus").unwrap_err(), "?Invalid command: bogus. Type help for the list.");
    }

    #[test]
    fn usage_lines_are_the_shells_usage_errors() {
        assert_eq!(usage(Cmd::Cd), "usage: cd DIR");
        assert_eq!(usage(Cmd::Open), "usage: open HOST [PORT]");
        assert_eq!(usage(Cmd::Rename), "usage: rename FROM TO");
        assert_eq!(usage(Cmd::Set), "usage: set clobber new|overwrite|resume|skip|ask");
        assert_eq!(usage(Cmd::Exit), "usage: exit");
    }

    #[test]
    fn help_for_one_command() {
        let d = describe("ge").unwrap();
        assert!(d.starts_with("usage: get [REMOTE [LOCAL]]\ndownload a file"), "{d}");
        assert!(d.contains("also: recv") && d.contains("options:\n  -f, --overwrite"), "{d}");
        assert!(describe("zz").is_err());
    }

    #[test]
    fn argument_kinds_for_completion() {
        for w in ["put", "send", "upload", "mput", "lcd", "lls", "reput", "append"] {
            assert_eq!(find(w).unwrap().args, Args::Local, "{w}");
        }
        for w in ["get", "recv", "cd", "delete", "ls", "dir", "mget", "rename"] {
            assert_eq!(find(w).unwrap().args, Args::Remote, "{w}");
        }
        assert_eq!(find("help").unwrap().args, Args::Command);
        assert_eq!(find("pwd").unwrap().args, Args::None);
    }
}
