//! What a server says it can do (RFC 2389 `FEAT`): [`Features`], parsed in
//! `ferry-proto` beside the rest of the grammar.

pub use ferry_proto::feat::Features;
