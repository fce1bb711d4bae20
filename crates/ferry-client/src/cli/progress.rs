//! Transfer progress as the program shows it: an indicatif bar on a
//! terminal, `#` marks for the ftp(1) `hash` habit, nothing at all in
//! scripts. The library reports through `ferry_client::Progress`; this is
//! the one that draws.

use std::io::{IsTerminal, Write};

use ferry_client::Progress;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown.
#[derive(Debug, Clone, Copy)]
pub(crate) struct View {
    /// A bar, when standard error is a terminal.
    pub(crate) bar: bool,
    /// A `#` every this many bytes, on standard output.
    pub(crate) hash: Option<u64>,
}

/// Draws the progress of one transfer at a time.
pub(crate) struct Meter {
    view: View,
    bar: Option<ProgressBar>,
    offset: u64,
    marks: u64,
}

impl Meter {
    pub(crate) fn new(view: View) -> Meter {
        Meter { view, bar: None, offset: 0, marks: 0 }
    }
}

impl Progress for Meter {
    fn start(&mut self, label: &str, total: Option<u64>, offset: u64) {
        self.offset = offset;
        self.marks = 0;
        self.bar = (self.view.bar && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
            let style =
                ProgressStyle::with_template("{msg:20!} {bar:30} {bytes:>10}/{total_bytes:<10} {binary_bytes_per_sec:>12} ETA {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(label.to_owned());
            bar.set_position(offset);
            bar
        });
    }

    fn advance(&mut self, done: u64) {
        if let Some(b) = &self.bar {
            b.set_position(self.offset + done);
        }
        if let Some(every) = self.view.hash.filter(|e| *e > 0) {
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
    fn finish(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
        if self.view.hash.is_some() && self.marks > 0 {
            println!();
        }
        self.marks = 0;
    }
}
