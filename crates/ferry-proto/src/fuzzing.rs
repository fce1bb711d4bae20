//! Entry points for the fuzz targets in `fuzz/` (kept outside the workspace).
//! Each must never panic, whatever the input.

use crate::{Command, LineDecoder, ReplyParser};

/// Feed arbitrary bytes through the line decoder and command parser, and
/// check that whatever parses prints back to something that parses the same.
pub fn command_lines(data: &[u8]) {
    let mut d = LineDecoder::new(512);
    d.feed(data);
    while let Some(line) = d.next_line() {
        if let Ok(line) = line
            && let Ok(cmd) = Command::parse(&line)
        {
            let printed = cmd.to_string();
            let again = Command::parse(printed.as_bytes());
            // Printing may normalise (XPWD -> PWD) but must stay parseable.
            assert!(again.is_ok(), "{printed:?} does not parse back");
        }
    }
}

/// Feed arbitrary bytes through the client's reply parser.
pub fn replies(data: &[u8]) {
    let mut p = ReplyParser::new();
    p.feed(data);
    while p.next_reply().is_some() {}
}
