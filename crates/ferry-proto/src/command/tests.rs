use super::*;
use proptest::prelude::*;

fn p(s: &str) -> Result<Command, ParseError> {
    Command::parse(s.as_bytes())
}

#[test]
fn verbs_are_case_insensitive_and_x_variants_alias() {
    assert_eq!(p("user anna"), Ok(Command::User("anna".into())));
    assert_eq!(p("XPWD"), Ok(Command::Pwd));
    assert_eq!(p("xmkd d"), Ok(Command::Mkd("d".into())));
    assert_eq!(p("XCUP"), Ok(Command::Cdup));
    assert_eq!(p("PWD "), Ok(Command::Pwd));
}

#[test]
fn arguments_keep_spaces() {
    assert_eq!(p("RETR  my file "), Ok(Command::Retr(" my file ".into())));
    assert_eq!(p("PASS"), Ok(Command::Pass(Password(String::new()))));
}

#[test]
fn errors_map_to_codes() {
    assert_eq!(p("").unwrap_err().code(), 500);
    assert_eq!(p("R").unwrap_err().code(), 500);
    assert_eq!(p("RETR").unwrap_err().code(), 501);
    assert_eq!(p("REST abc").unwrap_err().code(), 501);
    assert_eq!(p("PORT 1,2,3").unwrap_err().code(), 501);
    assert_eq!(p("TYPE X").unwrap_err().code(), 501);
    assert_eq!(p("CDUP x").unwrap_err().code(), 501);
    assert_eq!(Command::parse(b"RETR \xff").unwrap_err(), ParseError::Encoding);
    assert!(matches!(p("SMNT x"), Ok(Command::Unknown { .. })));
}

#[test]
fn structured_arguments() {
    assert_eq!(p("TYPE A N"), Ok(Command::Type(TransferType::Ascii)));
    assert_eq!(p("TYPE L 8"), Ok(Command::Type(TransferType::Image)));
    assert_eq!(p("EPSV ALL"), Ok(Command::Epsv(EpsvArg::All)));
    assert_eq!(p("EPSV 2"), Ok(Command::Epsv(EpsvArg::Protocol(2))));
    assert_eq!(p("OPTS UTF8 ON"), Ok(Command::Opts(Opts::Utf8(true))));
    assert_eq!(p("OPTS MLST type;Size;"), Ok(Command::Opts(Opts::Mlst(vec!["type".into(), "size".into()]))));
    assert_eq!(p("OPTS HASH sha-1"), Ok(Command::Opts(Opts::Hash(Some("SHA-1".into())))));
    assert_eq!(p("RANG 0 99"), Ok(Command::Rang { start: 0, end: 99 }));
    assert_eq!(p("ALLO 512 R 80"), Ok(Command::Allo(512)));
    assert_eq!(p("MODE s"), Ok(Command::Mode('S')));
}

#[test]
fn checksum_arguments() {
    let c = |path: &str, start, end| Command::Checksum { algo: ChecksumAlgo::Crc32, path: path.into(), start, end };
    assert_eq!(p("XCRC file.bin"), Ok(c("file.bin", None, None)));
    assert_eq!(p("XCRC file.bin 0 100"), Ok(c("file.bin", Some(0), Some(100))));
    assert_eq!(p("XCRC \"a \"\"b\"\" c\" 5"), Ok(c("a \"b\" c", Some(5), None)));
    assert_eq!(p("XSHA256 x").unwrap().verb(), "XSHA256");
}

#[test]
fn mfmt() {
    let Ok(Command::Mfmt { time, path }) = p("MFMT 20231114221320 a b.txt") else { panic!() };
    assert_eq!(path, "a b.txt");
    assert_eq!(crate::time::format_timeval(time), "20231114221320");
    assert!(p("MFMT 2023 x").is_err());
}

#[test]
fn pass_is_redacted_in_debug() {
    let c = p("PASS hunter2").unwrap();
    assert!(!format!("{c:?}").contains("hunter2"));
    assert_eq!(c.to_string(), "PASS hunter2");
}

fn arg() -> impl Strategy<Value = String> {
    // Path-like arguments: no line ends, not all-blank.
    "[a-zA-Z0-9_.\\-/ äö\"]{0,20}[a-zA-Z0-9_.]".prop_map(|s| s)
}

fn command() -> impl Strategy<Value = Command> {
    let time = (0u64..4_000_000_000).prop_map(|s| std::time::UNIX_EPOCH + std::time::Duration::from_secs(s));
    prop_oneof![
        arg().prop_map(Command::User),
        arg().prop_map(|a| Command::Pass(Password(a))),
        Just(Command::Quit),
        Just(Command::Pwd),
        Just(Command::Pasv),
        Just(Command::Abor),
        Just(Command::Feat),
        Just(Command::Ccc),
        prop_oneof![Just("TLS".to_owned()), Just("SSL".to_owned())].prop_map(Command::Auth),
        any::<u64>().prop_map(Command::Pbsz),
        prop_oneof![Just('C'), Just('P'), Just('S')].prop_map(Command::Prot),
        arg().prop_map(Command::Cwd),
        arg().prop_map(Command::Retr),
        arg().prop_map(Command::Stor),
        arg().prop_map(Command::Appe),
        arg().prop_map(Command::Rnfr),
        arg().prop_map(Command::Hash),
        proptest::option::of(arg()).prop_map(Command::List),
        proptest::option::of(arg()).prop_map(Command::Mlsd),
        proptest::option::of(arg()).prop_map(Command::Stou),
        any::<u64>().prop_map(Command::Rest),
        any::<u64>().prop_map(Command::Allo),
        (any::<[u8; 4]>(), any::<u16>()).prop_map(|(ip, port)| Command::Port(SocketAddrV4::new(ip.into(), port))),
        (any::<[u8; 16]>(), 1u16..).prop_map(|(ip, port)| Command::Eprt(SocketAddr::new(std::net::Ipv6Addr::from(ip).into(), port))),
        (any::<[u8; 4]>(), 1u16..).prop_map(|(ip, port)| Command::Eprt(SocketAddr::new(std::net::Ipv4Addr::from(ip).into(), port))),
        prop_oneof![Just(EpsvArg::Any), Just(EpsvArg::All), (1u8..3).prop_map(EpsvArg::Protocol)].prop_map(Command::Epsv),
        prop_oneof![
            Just(TransferType::Ascii),
            Just(TransferType::Image),
            Just(TransferType::Ebcdic),
            (1u8..7).prop_map(TransferType::Local)
        ]
        .prop_map(Command::Type),
        (any::<u64>(), any::<u64>()).prop_map(|(start, end)| Command::Rang { start, end }),
        (time, arg()).prop_map(|(time, path)| Command::Mfmt { time, path }),
        (arg(), proptest::option::of(any::<u64>())).prop_map(|(path, start)| Command::Checksum {
            algo: ChecksumAlgo::Md5,
            path,
            start,
            end: None
        }),
        prop_oneof![
            Just(Opts::Utf8(true)),
            Just(Opts::Hash(None)),
            Just(Opts::Hash(Some("MD5".into()))),
            Just(Opts::Mlst(vec!["type".into(), "size".into()]))
        ]
        .prop_map(Command::Opts),
    ]
}

proptest! {
    #[test]
    fn every_command_prints_and_parses_back(cmd in command()) {
        let printed = cmd.to_string();
        prop_assert_eq!(Command::parse(printed.as_bytes()), Ok(cmd));
    }

    #[test]
    fn parser_never_panics(line in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = Command::parse(&line);
    }

    #[test]
    fn replies_round_trip(code in 100u16..600, lines in proptest::collection::vec("[ -~]{0,30}", 1..5)) {
        // Middle lines that look like a final line are indented by the
        // encoder and restored by the parser; the first line keeps its text.
        let reply = crate::Reply { code, lines };
        let mut parser = crate::ReplyParser::new();
        parser.feed(&reply.encode());
        let back = parser.next_reply().unwrap().unwrap();
        prop_assert_eq!(back, reply);
    }

    #[test]
    fn paths_never_escape(cwd in "(/[a-z.]{0,3}){0,4}", input in "[a-z./]{0,24}") {
        let base = crate::VirtualPath::root().resolve(&cwd).unwrap();
        let p = base.resolve(&input).unwrap();
        prop_assert!(p.as_str().starts_with('/'));
        prop_assert!(!p.components().any(|c| c == ".." || c == "." || c.is_empty()));
    }
}
