//! Line decoder + command parser: never panic, and what parses prints back
//! to something that parses.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_proto::fuzzing::command_lines(data));
