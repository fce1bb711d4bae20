//! Tab completion: command names, local paths, and remote names from a
//! cache of the remote working directory that the async side refreshes.

use std::sync::{Arc, Mutex};

use rustyline::completion::{FilenameCompleter, Pair};
use rustyline::{Context, Helper, Highlighter, Hinter, Validator};

use super::shell::{COMMANDS, LOCAL_ARG_COMMANDS};

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

impl rustyline::completion::Completer for Completer {
    type Candidate = Pair;

    fn complete(&self, line: &str, pos: usize, ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let word_start = before.rfind(' ').map_or(0, |i| i + 1);
        let word = &before[word_start..];
        let pair = |s: &str| Pair { display: s.to_owned(), replacement: s.to_owned() };
        if word_start == 0 {
            let names = COMMANDS.iter().filter(|c| c.starts_with(word)).map(|c| pair(c)).collect();
            return Ok((0, names));
        }
        let command = before.split_whitespace().next().unwrap_or("");
        if LOCAL_ARG_COMMANDS.contains(&command) {
            return self.files.complete(line, pos, ctx);
        }
        let names =
            self.remote.lock().map(|r| r.names.iter().filter(|n| n.starts_with(word)).map(|n| pair(n)).collect()).unwrap_or_default();
        Ok((word_start, names))
    }
}
