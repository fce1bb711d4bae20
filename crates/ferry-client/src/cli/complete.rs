//! Tab completion: command names, then each command's arguments as the
//! command table says — local paths, remote paths, command names for
//! `help`, or nothing.
//!
//! Remote paths are completed in any folder (`cd a/b<Tab>`), quoted or
//! escaped as the shell reads them back (`cd spaces\ in\ name/`). The
//! completer runs on the line editor's thread, which cannot use the
//! connection; it asks the async side for a folder it has not seen
//! ([`ListRequest`]), waits a little for the answer, and keeps it until a
//! command changes the remote side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustyline::completion::{FilenameCompleter, Pair};
use rustyline::{Context, Helper, Highlighter, Hinter, Validator};

use super::commands::{self, Args};
use super::words;

/// Remote folders' names, for completion: folder as typed (`""` for the
/// working folder, else ending in `/`) → names (folders end with `/`).
#[derive(Debug, Default)]
pub(crate) struct RemoteNames {
    pub(crate) folders: HashMap<String, Vec<String>>,
}

/// The completer asking the shell for a folder's names.
pub(crate) type ListRequest = (String, std::sync::mpsc::Sender<Vec<String>>);

/// How long Tab waits for a listing before offering nothing.
const LIST_WAIT: Duration = Duration::from_secs(3);

/// The rustyline helper.
#[derive(Helper, Highlighter, Hinter, Validator)]
pub(crate) struct Completer {
    files: FilenameCompleter,
    remote: Arc<Mutex<RemoteNames>>,
    ask: tokio::sync::mpsc::UnboundedSender<ListRequest>,
}

impl Completer {
    pub(crate) fn new(remote: Arc<Mutex<RemoteNames>>, ask: tokio::sync::mpsc::UnboundedSender<ListRequest>) -> Completer {
        Completer { files: FilenameCompleter::new(), remote, ask }
    }

    /// The names in remote `folder`, from the cache or asked for.
    fn names_in(&self, folder: &str) -> Vec<String> {
        if let Some(names) = self.remote.lock().ok().and_then(|r| r.folders.get(folder).cloned()) {
            return names;
        }
        let (tx, rx) = std::sync::mpsc::channel();
        if self.ask.send((folder.to_owned(), tx)).is_err() {
            return Vec::new();
        }
        rx.recv_timeout(LIST_WAIT).unwrap_or_default()
    }
}

/// The names among `names` that start with `word`, as they are.
fn starting_with<'a>(names: impl IntoIterator<Item = &'a str>, word: &str) -> Vec<Pair> {
    names.into_iter().filter(|n| n.starts_with(word)).map(|n| Pair { display: n.to_owned(), replacement: n.to_owned() }).collect()
}

impl rustyline::completion::Completer for Completer {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let typed = words::partial(&line[..pos]);
        let Some(command) = typed.before.first() else {
            return Ok((typed.start, starting_with(commands::WORDS.iter().copied(), &typed.value)));
        };
        // An unknown or ambiguous command still gets remote names, the
        // likeliest thing to be typed after it.
        match commands::find(command).map_or(Args::Remote, |s| s.args) {
            Args::Local => self.files.complete(line, pos, ctx),
            Args::Remote => {
                let (folder, stem) = match typed.value.rfind('/') {
                    Some(i) => typed.value.split_at(i + 1),
                    None => ("", typed.value.as_str()),
                };
                let names = self.names_in(folder);
                // A name with control characters is not offered: it would
                // reach the terminal raw.
                let pairs = names
                    .iter()
                    .filter(|n| n.starts_with(stem) && !n.chars().any(char::is_control))
                    .map(|n| {
                        let value = format!("{folder}{n}");
                        Pair { display: n.clone(), replacement: words::escape(&value, typed.quote, n.ends_with('/')) }
                    })
                    .collect();
                Ok((typed.start, pairs))
            }
            Args::Command => Ok((typed.start, starting_with(commands::WORDS.iter().copied(), &typed.value))),
            Args::None | Args::Words => Ok((typed.start, Vec::new())),
        }
    }
}
