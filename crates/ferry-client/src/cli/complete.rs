//! Tab completion: command names, then each command's arguments as the
//! command table says — local paths, remote names from a cache of the
//! remote working directory that the async side refreshes, command names
//! for `help`, or nothing.

use std::sync::{Arc, Mutex};

use rustyline::completion::{FilenameCompleter, Pair};
use rustyline::{Context, Helper, Highlighter, Hinter, Validator};

use super::commands::{self, Args};

/// Names in the remote working directory, for completion.
#[derive(Debug, Default)]
pub(crate) struct RemoteNames {
    /// Entries (folders end with `/`).
    pub(crate) names: Vec<String>,
    /// False when the cache needs a refresh.
    pub(crate) fresh: bool,
}

/// The rustyline helper.
#[derive(Helper, Highlighter, Hinter, Validator)]
pub(crate) struct Completer {
    files: FilenameCompleter,
    remote: Arc<Mutex<RemoteNames>>,
}

impl Completer {
    pub(crate) fn new(remote: Arc<Mutex<RemoteNames>>) -> Completer {
        Completer { files: FilenameCompleter::new(), remote }
    }
}

/// The names among `names` that start with `word`.
fn starting_with<'a>(names: impl IntoIterator<Item = &'a str>, word: &str) -> Vec<Pair> {
    names.into_iter().filter(|n| n.starts_with(word)).map(|n| Pair { display: n.to_owned(), replacement: n.to_owned() }).collect()
}

impl rustyline::completion::Completer for Completer {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let word_start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = &before[word_start..];
        if word_start == 0 {
            return Ok((0, starting_with(commands::WORDS.iter().copied(), word)));
        }
        let command = before.split_whitespace().next().unwrap_or("");
        // An unknown or ambiguous command still gets remote names, the
        // likeliest thing to be typed after it.
        match commands::find(command).map_or(Args::Remote, |s| s.args) {
            Args::Local => self.files.complete(line, pos, ctx),
            Args::Remote => {
                let names = self.remote.lock().map(|r| starting_with(r.names.iter().map(String::as_str), word)).unwrap_or_default();
                Ok((word_start, names))
            }
            Args::Command => Ok((word_start, starting_with(commands::WORDS.iter().copied(), word))),
            Args::None | Args::Words => Ok((word_start, Vec::new())),
        }
    }
}
