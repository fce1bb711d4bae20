//! Transfer progress: an indicatif bar on a terminal, `#` marks for the
//! ftp(1) `hash` habit, nothing at all in scripts.

use std::io::{IsTerminal, Write};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Reports progress of one transfer.
pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    hash_every: Option<u64>,
    marks: u64,
}

impl Progress {
    /// A reporter for `total` bytes (if known) named `label`.
    pub(crate) fn new(label: &str, total: Option<u64>, show_bar: bool, hash_every: Option<u64>) -> Progress {
        let bar = (show_bar && std::io::stderr().is_terminal()).then(|| {
            let bar = match total {
                Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()),
                None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            };
            let style =
                ProgressStyle::with_template("{msg:20!} {bar:30} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(label.to_owned());
            bar
        });
        Progress { bar, hash_every, marks: 0 }
    }

    /// Start counting from `offset` (a resumed transfer).
    pub(crate) fn set_offset(&mut self, offset: u64) {
        if let Some(b) = &self.bar {
            b.set_position(offset);
        }
    }

    /// `done` bytes so far (of this transfer's own bytes, after `offset`).
    pub(crate) fn update(&mut self, offset: u64, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(offset + done);
        }
        if let Some(every) = self.hash_every {
            let due = done / every;
            if due > self.marks {
                let mut out = std::io::stdout();
                for _ in self.marks..due {
                    let _ = out.write_all(b"#");
                }
                let _ = out.flush();
                self.marks = due;
            }
        }
    }

    /// Remove the bar (and end the `#` line).
    pub(crate) fn finish(self) {
        if let Some(b) = self.bar {
            b.finish_and_clear();
        }
        if self.hash_every.is_some() && self.marks > 0 {
            println!();
        }
    }
}
