//! Transfer progress as the program shows it: an indicatif bar on a
//! terminal, `#` marks for the ftp(1) `hash` habit, nothing at all in
//! scripts. The library reports through `ferry_client::Progress`; this is
//! the one that draws.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use ferry_client::Progress;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

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
            // Rate and time left count only what moves now: a resumed
            // transfer starts its bar at `offset`, which indicatif's own
            // estimate would take for bytes moved in no time at all.
            let moved = move |s: &ProgressState| s.pos().saturating_sub(offset);
            let style = ProgressStyle::with_template("{msg:20!} {bar:30} {bytes:>10}/{total_bytes:<10} {now_rate:>12} ETA {now_eta}")
                .map(|st| {
                    st.with_key("now_rate", move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                        // Over at least a second: the first chunk goes at
                        // once (the limiter's burst), which over a few
                        // milliseconds would read as a wild rate.
                        let rate = moved(s) as f64 / s.elapsed().as_secs_f64().max(1.0);
                        let _ = write!(w, "{}/s", HumanBytes(rate as u64));
                    })
                    .with_key("now_eta", move |s: &ProgressState, w: &mut dyn std::fmt::Write| {
                        let (secs, done) = (s.elapsed().as_secs_f64(), moved(s));
                        match s.len() {
                            Some(len) if done > 0 && secs > 0.0 => {
                                let left = len.saturating_sub(s.pos()) as f64 * secs / done as f64;
                                let _ = write!(w, "{}", clock(Duration::from_secs_f64(left.min(1e7))));
                            }
                            _ => {
                                let _ = w.write_str("-");
                            }
                        }
                    })
                })
                .unwrap_or_else(|_| ProgressStyle::default_bar());
            bar.set_style(style);
            bar.set_message(super::listing::printable(label));
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

/// `1:05` or `1:02:05`.
fn clock(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 { format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60) } else { format!("{}:{:02}", s / 60, s % 60) }
}

/// A size as people read it: `1 byte`, `22 bytes`, `500.0 MiB (524288000 bytes)`.
pub(crate) fn size(n: u64) -> String {
    match n {
        1 => "1 byte".to_owned(),
        0..1024 => format!("{n} bytes"),
        _ => format!("{} ({n} bytes)", HumanBytes(n)),
    }
}

/// What a finished transfer moved, in how long, at what rate:
/// `500.0 MiB (524288000 bytes) in 1.31 s, 381.68 MiB/s`.
pub(crate) fn summary(bytes: u64, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    if bytes < 1024 || secs < 0.001 {
        return format!("{} in {secs:.2} s", size(bytes));
    }
    format!("{} in {secs:.2} s, {}/s", size(bytes), HumanBytes((bytes as f64 / secs) as u64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_summaries() {
        assert_eq!(size(1), "1 byte");
        assert_eq!(size(22), "22 bytes");
        assert_eq!(size(524_288_000), "500.00 MiB (524288000 bytes)");
        assert_eq!(summary(1, Duration::from_millis(20)), "1 byte in 0.02 s");
        assert_eq!(summary(10 * 1024 * 1024, Duration::from_secs(2)), "10.00 MiB (10485760 bytes) in 2.00 s, 5.00 MiB/s");
        assert_eq!(clock(Duration::from_secs(65)), "1:05");
        assert_eq!(clock(Duration::from_secs(3725)), "1:02:05");
    }
}
