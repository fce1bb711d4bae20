//! The client's reply parser: never panic on what a server sends.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| ferry_proto::fuzzing::replies(data));
