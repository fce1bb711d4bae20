//! Where shell commands come from: a line editor on a terminal, standard
//! input in scripts, or the `-c` list.
//!
//! rustyline is synchronous, so on a terminal it runs on its own thread;
//! the async shell sends it a prompt and awaits the line. That leaves the
//! async side free to send keepalive `NOOP`s while the user thinks.

use std::collections::VecDeque;
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};

use super::complete::{Completer, ListRequest, RemoteNames};

/// What the shell asks of the input thread.
pub(crate) enum Request {
    Line { prompt: String, record: bool, reply: oneshot::Sender<Option<String>> },
    Password { prompt: String, reply: oneshot::Sender<Option<String>> },
}

/// A source of lines.
pub(crate) enum Input {
    /// A person at a terminal.
    Terminal { tx: std::sync::mpsc::Sender<Request> },
    /// Lines from a pipe or file.
    Stdin { rx: mpsc::Receiver<String> },
    /// The `-c` list; nothing after it.
    List { lines: VecDeque<String> },
}

impl Input {
    /// Choose: `-c` commands, else a terminal editor, else stdin lines.
    pub(crate) fn new(
        commands: Option<Vec<String>>,
        remote: Arc<Mutex<RemoteNames>>,
        ask: tokio::sync::mpsc::UnboundedSender<ListRequest>,
    ) -> Input {
        if let Some(lines) = commands {
            return Input::List { lines: lines.into() };
        }
        if std::io::stdin().is_terminal() {
            let (tx, rx) = std::sync::mpsc::channel::<Request>();
            std::thread::spawn(move || editor_thread(rx, remote, ask));
            Input::Terminal { tx }
        } else {
            let (tx, rx) = mpsc::channel(16);
            std::thread::spawn(move || {
                for line in std::io::stdin().lock().lines() {
                    let Ok(line) = line else { break };
                    if tx.blocking_send(line).is_err() {
                        break;
                    }
                }
            });
            Input::Stdin { rx }
        }
    }

    /// True when a person is typing.
    pub(crate) fn interactive(&self) -> bool {
        matches!(self, Input::Terminal { .. })
    }

    /// Read a command line (recorded in history). `None` at end of input.
    pub(crate) async fn command(&mut self, prompt: &str) -> Option<String> {
        self.line(prompt, true, false).await
    }

    /// Ask a question (not recorded). In scripts the prompt is still
    /// printed, so a transcript reads like the interactive session.
    pub(crate) async fn ask(&mut self, prompt: &str) -> Option<String> {
        self.line(prompt, false, true).await
    }

    async fn line(&mut self, prompt: &str, record: bool, echo_prompt: bool) -> Option<String> {
        match self {
            Input::Terminal { tx } => {
                let (reply, rx) = oneshot::channel();
                tx.send(Request::Line { prompt: prompt.to_owned(), record, reply }).ok()?;
                rx.await.ok().flatten()
            }
            Input::Stdin { rx } => {
                if echo_prompt {
                    print!("{prompt}");
                    let _ = std::io::stdout().flush();
                }
                let line = rx.recv().await;
                if echo_prompt {
                    println!();
                }
                line
            }
            Input::List { lines } => lines.pop_front(),
        }
    }

    /// Read a password without echo on a terminal.
    pub(crate) async fn password(&mut self, prompt: &str) -> Option<String> {
        match self {
            Input::Terminal { tx } => {
                let (reply, rx) = oneshot::channel();
                tx.send(Request::Password { prompt: prompt.to_owned(), reply }).ok()?;
                rx.await.ok().flatten()
            }
            other => other.line(prompt, false, true).await,
        }
    }
}

/// History file: `$XDG_STATE_HOME/ferry/history` or `~/.local/state/ferry/history`.
fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("ferry").join("history"))
}

fn editor_thread(
    rx: std::sync::mpsc::Receiver<Request>,
    remote: Arc<Mutex<RemoteNames>>,
    ask: tokio::sync::mpsc::UnboundedSender<ListRequest>,
) {
    use rustyline::error::ReadlineError;
    let config = rustyline::Config::builder().auto_add_history(false).max_history_size(5000).map(|b| b.build());
    let Ok(config) = config else { return };
    let Ok(mut editor) = rustyline::Editor::<Completer, rustyline::history::FileHistory>::with_config(config) else {
        return;
    };
    editor.set_helper(Some(Completer::new(remote, ask)));
    let history = history_path();
    if let Some(h) = &history {
        let _ = editor.load_history(h);
    }
    while let Ok(req) = rx.recv() {
        match req {
            Request::Line { prompt, record, reply } => {
                let line = loop {
                    match editor.readline(&prompt) {
                        Ok(l) => break Some(l),
                        // Ctrl-C at the prompt clears the line, as in a
                        // shell; at a question it is the answer "stop".
                        Err(ReadlineError::Interrupted) if record => continue,
                        Err(ReadlineError::Interrupted) => break None,
                        Err(_) => break None,
                    }
                };
                if let (Some(l), true) = (&line, record)
                    && !l.trim().is_empty()
                {
                    let _ = editor.add_history_entry(l.as_str());
                    if let Some(h) = &history {
                        if let Some(dir) = h.parent() {
                            let _ = std::fs::create_dir_all(dir);
                        }
                        let _ = editor.append_history(h);
                    }
                }
                let _ = reply.send(line);
            }
            Request::Password { prompt, reply } => {
                let _ = reply.send(rpassword::prompt_password(prompt).ok());
            }
        }
    }
}
