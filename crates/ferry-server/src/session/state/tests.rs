//! The session's state machine driven command by command, with no
//! socket: each test is a short FTP conversation and the replies the
//! state machine gives.

use super::*;

const PLAIN: Transport = Transport { tls: false, tls_required: false };
const TLS: Transport = Transport { tls: true, tls_required: false };

fn cmd(line: &str) -> Command {
    Command::parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?} does not parse: {e:?}"))
}

fn account(name: &str) -> Login {
    Login { name: name.into(), anonymous: false }
}

fn logged_in() -> State {
    let mut s = State::new(false);
    s.phase = Phase::LoggedIn(account("alice"));
    s
}

fn code_of(r: Result<Admitted, Reply>) -> u16 {
    match r {
        Ok(_) => 0,
        Err(reply) => reply.code,
    }
}

#[test]
fn before_login_only_the_public_commands_are_admitted() {
    let mut s = State::new(false);
    for line in ["LIST", "RETR a", "STOR a", "CWD /", "MKD x", "DELE a", "SIZE a", "PASV", "REST 5", "STAT /"] {
        let refused = s.admit(&cmd(line), PLAIN).unwrap_err();
        assert_eq!((refused.code, refused.text()), (530, "Please log in with USER and PASS first.".to_owned()), "{line}");
    }
    for line in [
        "USER a",
        "PASS b",
        "QUIT",
        "NOOP",
        "SYST",
        "FEAT",
        "HELP",
        "HOST h",
        "OPTS UTF8 ON",
        "ABOR",
        "REIN",
        "STAT",
        "AUTH TLS",
        "PBSZ 0",
        "PROT P",
        "CCC",
        "XYZZY",
    ] {
        assert_eq!(code_of(s.admit(&cmd(line), PLAIN)), 0, "{line}");
    }
}

#[test]
fn user_then_pass_logs_in_and_out_of_turn_passes_are_503() {
    let mut s = State::new(false);
    let early = s.pass_for().unwrap_err();
    assert_eq!((early.code, early.text()), (503, "Login with USER first.".to_owned()));
    let (ended, r) = s.user("alice".into());
    assert!(!ended);
    assert_eq!((r.code, r.text()), (331, "Password required.".to_owned()));
    assert_eq!(s.pass_for().unwrap(), "alice");
    s.phase = Phase::LoggedIn(account("alice"));
    let again = s.pass_for().unwrap_err();
    assert_eq!((again.code, again.text()), (503, "Already logged in.".to_owned()));
}

#[test]
fn user_while_logged_in_logs_out_and_forgets_the_transfer_parameters() {
    let mut s = logged_in();
    s.set_type(TransferType::Ascii);
    s.restart_at(10);
    s.epsv_all = true;
    let (ended, r) = s.user("bob".into());
    assert!(ended);
    assert_eq!(r.code, 331);
    assert!(matches!(&s.phase, Phase::NeedPassword { user } if user == "bob"));
    assert!(s.account().is_none());
    assert!(!s.ascii && s.rest.is_none() && !s.epsv_all);
    assert_eq!(code_of(s.admit(&cmd("LIST"), PLAIN)), 530);
}

#[test]
fn host_and_auth_only_before_user() {
    let mut s = State::new(false);
    assert!(s.before_user("HOST").is_ok());
    s.user("alice".into());
    let r = s.before_user("HOST").unwrap_err();
    assert_eq!((r.code, r.text()), (503, "HOST must come before USER.".to_owned()));
}

#[test]
fn a_server_that_requires_tls_refuses_clear_text_logins() {
    let strict = Transport { tls: false, tls_required: true };
    let mut s = State::new(false);
    for line in ["USER alice", "PASS secret"] {
        let r = s.admit(&cmd(line), strict).unwrap_err();
        assert_eq!((r.code, r.text()), (534, "Policy requires TLS: send AUTH TLS before logging in.".to_owned()));
    }
    assert_eq!(code_of(s.admit(&cmd("AUTH TLS"), strict)), 0);
    assert_eq!(code_of(s.admit(&cmd("USER alice"), Transport { tls: true, tls_required: true })), 0);
}

#[test]
fn rnto_gets_the_source_only_straight_after_rnfr() {
    let mut s = logged_in();
    let from = (VirtualPath::root().resolve("a.txt").unwrap(), Kind::File);
    // The RNFR handler records its source after checking it.
    s.admit(&cmd("RNFR a.txt"), PLAIN).unwrap();
    s.rename_from = Some(from.clone());
    assert_eq!(s.admit(&cmd("RNTO b.txt"), PLAIN).unwrap().rename_from, Some(from.clone()));
    // Used once.
    assert_eq!(s.admit(&cmd("RNTO c.txt"), PLAIN).unwrap().rename_from, None);
    // Any command in between forgets it, NOOP included.
    s.rename_from = Some(from);
    s.admit(&cmd("NOOP"), PLAIN).unwrap();
    assert_eq!(s.admit(&cmd("RNTO b.txt"), PLAIN).unwrap().rename_from, None);
}

#[test]
fn rest_and_rang_replace_each_other_and_are_used_once() {
    let mut s = logged_in();
    let r = s.restart_at(100);
    assert_eq!((r.code, r.text()), (350, "Restarting at 100. Send STOR or RETR.".to_owned()));
    let r = s.range(5, 9);
    assert_eq!((r.code, r.text()), (350, "Restarting at 5. Ending byte 9.".to_owned()));
    assert_eq!(s.rest, None, "RANG replaces REST");
    assert_eq!(s.take_download_span(), (5, Some(5)));
    assert_eq!(s.take_download_span(), (0, None), "used by one RETR only");
    s.range(5, 9);
    s.restart_at(7);
    assert_eq!(s.rang, None, "REST replaces RANG");
    assert_eq!(s.take_download_span(), (7, None));
}

#[test]
fn rang_resets_with_1_0_and_refuses_a_backward_range() {
    let mut s = logged_in();
    s.range(5, 9);
    let r = s.range(1, 0);
    assert_eq!((r.code, r.text()), (350, "Resetting range.".to_owned()));
    assert_eq!(s.rang, None);
    let r = s.range(9, 5);
    assert_eq!((r.code, r.text()), (501, "End byte must not precede start byte.".to_owned()));
    assert_eq!(s.rang, None);
}

#[test]
fn uploads_turn_rest_into_their_write_mode() {
    let mut s = logged_in();
    assert_eq!(s.take_upload_mode(false), WriteMode::Replace);
    s.restart_at(0);
    assert_eq!(s.take_upload_mode(false), WriteMode::Replace, "REST 0 keeps nothing: a plain STOR");
    s.restart_at(10);
    s.allo = NonZeroU64::new(99);
    assert_eq!(s.take_upload_mode(false), WriteMode::At(10));
    assert_eq!(s.allo, None, "ALLO's size is not the part's");
    assert_eq!(s.take_upload_mode(false), WriteMode::Replace, "REST is used once");
    s.restart_at(10);
    assert_eq!(s.take_upload_mode(true), WriteMode::Append);
    assert_eq!(s.rest, None);
    s.range(1, 5);
    s.take_upload_mode(false);
    assert_eq!(s.rang, None, "an upload drops a range");
}

#[test]
fn allo_lasts_through_the_uploads_set_up_commands_only() {
    let mut s = logged_in();
    s.allo = NonZeroU64::new(1000);
    for line in ["TYPE I", "MODE S", "STRU F", "PASV", "EPSV", "REST 0", "NOOP", "ALLO 1000"] {
        s.admit(&cmd(line), PLAIN).unwrap();
        assert_eq!(s.allo, NonZeroU64::new(1000), "{line} keeps ALLO");
    }
    s.admit(&cmd("LIST"), PLAIN).unwrap();
    assert_eq!(s.allo, None, "LIST forgets it");
}

#[test]
fn pbsz_must_come_before_prot_and_both_need_tls() {
    let mut s = State::new(false);
    let r = s.pbsz(false);
    assert_eq!((r.code, r.text()), (503, "PBSZ needs AUTH TLS first.".to_owned()));
    let r = s.prot('P', TLS);
    assert_eq!((r.code, r.text()), (503, "PROT needs AUTH TLS and PBSZ first.".to_owned()));
    assert!(!s.prot_private);
    let r = s.pbsz(true);
    assert_eq!((r.code, r.text()), (200, "PBSZ=0".to_owned()));
    assert_eq!(s.prot('P', TLS).code, 200);
    assert!(s.prot_private);
    assert_eq!(s.prot('C', TLS).code, 200);
    assert!(!s.prot_private);
    assert_eq!(s.prot('S', TLS).code, 536);
    assert_eq!(s.prot('E', TLS).code, 536);
    assert_eq!(s.prot('X', TLS).code, 504);
}

#[test]
fn a_server_that_requires_tls_refuses_prot_c_and_clear_transfers() {
    let strict = Transport { tls: true, tls_required: true };
    let mut s = logged_in();
    assert_eq!(s.transfer_allowed(strict).unwrap_err().code, 521);
    s.pbsz(true);
    let r = s.prot('C', strict);
    assert_eq!((r.code, r.text()), (534, "Policy requires protected data connections.".to_owned()));
    s.prot('P', strict);
    assert!(s.transfer_allowed(strict).is_ok());
    assert!(logged_in().transfer_allowed(TLS).is_ok(), "clear transfers are fine where TLS is optional");
}

#[test]
fn implicit_tls_starts_protected() {
    let s = State::new(true);
    assert!(s.pbsz && s.prot_private);
    let s = State::new(false);
    assert!(!s.pbsz && !s.prot_private);
}

#[test]
fn abor_answers_226_after_what_it_interrupted_and_nothing_otherwise() {
    let mut s = logged_in();
    assert!(s.abort_reply().is_none(), "nothing ran: the session answers 225");
    s.aborted(true);
    let r = s.abort_reply().unwrap();
    assert_eq!((r.code, r.text()), (226, "ABOR successful.".to_owned()));
    assert!(s.abort_reply().is_none(), "one ABOR, one 226");
    s.aborted(false);
    assert_eq!(s.abort_reply().unwrap().text(), "ABOR: the transfer had already completed.");
}

#[test]
fn epsv_all_refuses_other_data_setups_until_reset() {
    let mut s = logged_in();
    assert!(s.data_setup_allowed().is_ok());
    s.epsv_all = true;
    let r = s.data_setup_allowed().unwrap_err();
    assert_eq!((r.code, r.text()), (503, "EPSV ALL in effect; only EPSV is allowed.".to_owned()));
    s.reset();
    assert!(s.data_setup_allowed().is_ok());
}

#[test]
fn type_accepts_a_and_i_only() {
    let mut s = logged_in();
    assert_eq!(s.set_type(TransferType::Ascii).text(), "Type set to A.");
    assert!(s.ascii);
    assert_eq!(s.set_type(TransferType::Image).code, 200);
    assert!(!s.ascii);
}

#[test]
fn type_e_and_local_bytes_are_504() {
    let mut s = logged_in();
    assert_eq!(s.set_type(TransferType::Ebcdic).text(), "Type E not supported; use A or I.");
    assert_eq!(s.set_type(TransferType::Local(7)).code, 504);
}
