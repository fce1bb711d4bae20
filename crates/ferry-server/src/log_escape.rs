//! Logs that a client cannot forge. User names, paths and error texts come
//! from clients; written raw, a `USER evil\r2026-… INFO … login ok` puts a
//! line of the client's making into the log, and escape sequences reach the
//! operator's terminal. Every control character — C0, DEL and C1 — is
//! therefore written as an escape (`\r`, `\n`, `\t`, `\x1b`, `\u{9b}`), in
//! every log format:
//!
//! - text: [`EscapedFields`] formats every field of events and spans, the
//!   message included;
//! - JSON: serde escapes C0 in strings but leaves DEL and C1 as they are,
//!   so [`JsonControls`] rewrites those two (as `\u007f`, `\u009b`, which
//!   JSON reads back as the same characters);
//! - the xferlog: `crate::xferlog` escapes its path and user fields with
//!   [`write_escaped`].

use std::fmt::{self, Write as _};
use std::io;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FormatFields, MakeWriter};

// The escaping itself lives in the core, which writes log lines and the
// xferlog too; the server's formats below build on it.
pub use ferry_core::log_escape::{escape, is_escaped, write_escaped};

/// A `fmt::Write` that escapes what passes through it, so that `Debug` and
/// `Display` values are escaped without being collected first.
struct Escaping<'a, W: fmt::Write>(&'a mut W);

impl<W: fmt::Write> fmt::Write for Escaping<'_, W> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        write_escaped(self.0, s)
    }
}

/// The text format's field formatter: like tracing-subscriber's default
/// (`message`, then `name=value` separated by spaces, strings quoted),
/// with every value escaped.
#[derive(Debug, Clone, Copy, Default)]
pub struct EscapedFields;

impl<'writer> FormatFields<'writer> for EscapedFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = FieldVisitor { writer, first: true, result: Ok(()) };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct FieldVisitor<'writer> {
    writer: Writer<'writer>,
    first: bool,
    result: fmt::Result,
}

impl FieldVisitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        self.result = (|| {
            if !std::mem::take(&mut self.first) {
                self.writer.write_char(' ')?;
            }
            if field.name() != "message" {
                let name = field.name().strip_prefix("r#").unwrap_or(field.name());
                if self.writer.has_ansi_escapes() {
                    // Italic name, dimmed `=`, as the default formatter does.
                    write!(self.writer, "\x1b[3m{name}\x1b[0m\x1b[2m=\x1b[0m")?;
                } else {
                    write!(self.writer, "{name}=")?;
                }
            }
            Escaping(&mut self.writer).write_fmt(value)
        })();
    }
}

impl Visit for FieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

/// Wraps the JSON format's writer, escaping the control characters that
/// serde leaves raw (DEL and C1). They can only occur inside JSON strings,
/// where `\u00XX` stands for the same character.
#[derive(Debug, Clone)]
pub struct JsonControls<M>(pub M);

impl<'a, M: MakeWriter<'a>> MakeWriter<'a> for JsonControls<M> {
    type Writer = JsonControlsWriter<M::Writer>;

    fn make_writer(&'a self) -> Self::Writer {
        JsonControlsWriter { inner: self.0.make_writer(), lead: false }
    }
}

/// The writer of [`JsonControls`], for one event.
#[derive(Debug)]
pub struct JsonControlsWriter<W: io::Write> {
    inner: W,
    /// The previous write ended with 0xC2, the first byte of a C1
    /// character in UTF-8 (the layer writes each event at once, so this
    /// is only for safety).
    lead: bool,
}

impl<W: io::Write> io::Write for JsonControlsWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = Vec::with_capacity(buf.len() + 1);
        let mut bytes = buf.iter().copied().peekable();
        if std::mem::take(&mut self.lead) {
            match bytes.peek() {
                Some(b @ 0x80..=0x9f) => {
                    out.extend_from_slice(format!("\\u00{b:02x}").as_bytes());
                    bytes.next();
                }
                _ => out.push(0xc2),
            }
        }
        while let Some(b) = bytes.next() {
            match (b, bytes.peek()) {
                (0x7f, _) => out.extend_from_slice(b"\\u007f"),
                (0xc2, Some(c @ 0x80..=0x9f)) => {
                    out.extend_from_slice(format!("\\u00{c:02x}").as_bytes());
                    bytes.next();
                }
                (0xc2, None) => self.lead = true,
                _ => out.push(b),
            }
        }
        self.inner.write_all(&out)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if std::mem::take(&mut self.lead) {
            self.inner.write_all(&[0xc2])?;
        }
        self.inner.flush()
    }
}

impl<W: io::Write> Drop for JsonControlsWriter<W> {
    fn drop(&mut self) {
        let _ = io::Write::flush(self);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt;

    use super::*;

    const HOSTILE: &str = "evil\r2026-12-01T00:00:00Z  INFO login ok\n\t\x1b[31mred\x07\x7f\u{9b}2J\u{85}é☃";

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// Log one hostile event inside a hostile span.
    fn log_hostile() {
        let span = tracing::info_span!("session", user = tracing::field::Empty, tls = tracing::field::Empty);
        let _in = span.enter();
        span.record("user", HOSTILE);
        span.record("tls", true);
        let path = HOSTILE.to_owned();
        tracing::warn!(user = %HOSTILE, path, debug = ?HOSTILE, "login failed: {HOSTILE}");
    }

    /// Every character of `out` is printable, apart from the one newline
    /// at the end of each line.
    #[track_caller]
    fn assert_one_clean_line(out: &str) {
        assert_eq!(out.matches('\n').count(), 1, "{out:?}");
        assert!(out.ends_with('\n'));
        assert!(!out.trim_end_matches('\n').chars().any(char::is_control), "{out:?}");
    }

    #[test]
    fn text_fields_and_spans_are_escaped() {
        let buf = Buffer::default();
        let layer = tracing_subscriber::fmt::layer().fmt_fields(EscapedFields).with_ansi(false).with_writer(buf.clone());
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), log_hostile);
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_one_clean_line(&out);
        assert!(out.contains("session{user=\"evil\\r2026"), "{out}");
        assert_eq!(out.matches("tls=").count(), 1, "{out}");
        assert!(out.contains(": login failed: evil\\r2026-12-01T00:00:00Z  INFO login ok\\n\\t\\x1b[31mred"), "{out}");
        assert!(out.contains(" user=evil\\r2026"), "{out}");
        assert!(out.contains(" path=\"evil\\r2026"), "{out}");
    }

    #[test]
    fn json_strings_are_escaped_and_read_back_the_same() {
        let buf = Buffer::default();
        let layer = tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(JsonControls(buf.clone()));
        tracing::subscriber::with_default(tracing_subscriber::registry().with(layer), log_hostile);
        let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert_one_clean_line(&out);
        // The JSON still says exactly what was logged.
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(v["fields"]["user"], HOSTILE);
        assert_eq!(v["span"]["user"], HOSTILE);
        assert_eq!(v["fields"]["message"], format!("login failed: {HOSTILE}"));
    }

    #[test]
    fn json_writer_handles_a_c1_character_split_across_writes() {
        let buf = Buffer::default();
        {
            let mut w = JsonControls(buf.clone()).make_writer();
            io::Write::write_all(&mut w, b"{\"a\":\"x\xc2").unwrap();
            io::Write::write_all(&mut w, b"\x9b\xc2\xa0\"}").unwrap();
        }
        assert_eq!(&*buf.0.lock().unwrap(), "{\"a\":\"x\\u009b\u{a0}\"}".as_bytes());
    }
}
