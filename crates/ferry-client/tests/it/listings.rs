//! LIST parsing of real listings from the peers (fixtures captured from
//! vsftpd 3.0.3, pyftpdlib 2.x, ProFTPD and IIS output).

use std::time::SystemTime;

use ferry_client::client::parse_list_output;
use ferry_proto::listing::Kind;

#[test]
fn vsftpd_listing() {
    let now = ferry_proto::time::parse_timeval("20261126000000").unwrap();
    let text = "drwxr-xr-x    2 102      105          4096 Nov 26 05:12 d\r\n-rw-r--r--    1 102      105             3 Nov 26 05:12 up.txt\r\n-rw-r--r--    1 0        0       104857600 Jan 02  2025 big file.bin\r\n";
    let e = parse_list_output(text, now);
    assert_eq!(e.len(), 3);
    assert_eq!((e[0].name.as_str(), e[0].kind), ("d", Kind::Dir));
    assert_eq!((e[1].name.as_str(), e[1].size), ("up.txt", 3));
    assert_eq!((e[2].name.as_str(), e[2].size), ("big file.bin", 104_857_600));
    assert_eq!(e[2].modified, ferry_proto::time::parse_timeval("20250102000000"));
}

#[test]
fn pyftpdlib_and_proftpd_listings() {
    let now = SystemTime::now();
    let text = "total 8\r\n-rw-r--r--   1 root     root            5 Nov 26 05:20 a.txt\r\ndrwxr-xr-x   2 root     root         4096 Nov 26 05:20 sub\r\nlrwxrwxrwx   1 ftp      ftp            10 Mar  3  2024 link -> target.txt\r\n";
    let e = parse_list_output(text, now);
    assert_eq!(e.iter().map(|e| e.name.as_str()).collect::<Vec<_>>(), ["a.txt", "sub", "link"]);
    assert_eq!(e[2].link_target.as_deref(), Some("target.txt"));
}

#[test]
fn iis_dos_listing() {
    let text = "11-26-26  05:12AM       <DIR>          Reports 2026\r\n11-25-26  11:59PM                 1234 notes.txt\r\n";
    let e = parse_list_output(text, SystemTime::now());
    assert_eq!((e[0].name.as_str(), e[0].kind), ("Reports 2026", Kind::Dir));
    assert_eq!((e[1].name.as_str(), e[1].size, e[1].kind), ("notes.txt", 1234, Kind::File));
    assert_eq!(e[1].modified, ferry_proto::time::parse_timeval("20261125235900"));
}
