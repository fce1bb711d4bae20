//! Information and options: RFC 959 §4.1.3 (HELP), RFC 2389 (FEAT, OPTS),
//! RFC 3659 §7.9 (OPTS MLST) and draft-bryan-ftpext-hash §3.2 (OPTS HASH).

use ferry_proto::Reply;
use ferry_proto::command::{ChecksumAlgo, Opts, VERBS};
use ferry_proto::listing::MLSX_FACTS;
use ferry_proto::reply::code;

use crate::session::Session;
use crate::session::answer::{Handled, reply};

impl Session {
    /// The `MLSx` facts this storage can fill in truthfully: no
    /// `UNIX.mode` where there are no modes (object storage).
    pub(crate) fn available_facts(&self) -> impl Iterator<Item = &'static str> {
        let modes = self.capabilities().set_mode;
        MLSX_FACTS.into_iter().filter(move |f| modes || *f != "unix.mode")
    }

    fn mlst_feature(&self) -> String {
        let mut s = String::from("MLST ");
        for fact in self.available_facts() {
            s.push_str(if fact == "unix.mode" { "UNIX.mode" } else { fact });
            if self.facts().contains(&fact) {
                s.push('*');
            }
            s.push(';');
        }
        s
    }

    fn hash_feature(&self) -> String {
        let names: Vec<String> = ChecksumAlgo::ALL
            .iter()
            .map(|a| if *a == self.hash_algo { format!("{}*", a.hash_name()) } else { a.hash_name().to_owned() })
            .collect();
        format!("HASH {}", names.join(";"))
    }

    /// RFC 2389 §3.2: one feature per line, each indented by one space.
    pub(crate) async fn feat(&mut self) -> Handled {
        let mut lines = vec!["Features:".to_owned()];
        if self.shared.tls().is_some() {
            // RFC 4217 §6.
            lines.extend([" AUTH TLS".to_owned(), " PBSZ".to_owned(), " PROT".to_owned()]);
        }
        // Advertise exactly what this storage does: clients such as rclone
        // trust FEAT, and an advertised MFMT that then fails fails their
        // whole copy.
        let can = self.capabilities();
        for f in ["EPRT", "EPSV", "HOST", "MDTM"] {
            lines.push(format!(" {f}"));
        }
        if can.set_modified {
            lines.push(" MFMT".into());
        }
        lines.push(format!(" {}", self.mlst_feature()));
        lines.push(" PASV".into());
        lines.push(" REST STREAM".into());
        lines.push(" SIZE".into());
        lines.push(" TVFS".into());
        lines.push(" UTF8".into());
        lines.push(format!(" {}", self.hash_feature()));
        lines.push(" RANG STREAM".into());
        for a in ChecksumAlgo::ALL {
            lines.push(format!(" {}", a.verb()));
        }
        lines.push("End".into());
        Ok(Reply::multi(code::SYSTEM_STATUS, lines).into())
    }

    pub(crate) async fn help(&mut self, topic: Option<String>) -> Handled {
        if let Some(topic) = topic {
            let t = topic.trim().to_ascii_uppercase();
            return if VERBS.contains(&t.as_str()) {
                reply(code::HELP, format!("{t} is supported; see RFC 959, 2389, 2428, 3659."))
            } else {
                reply(code::ARG_SYNTAX_ERROR, format!("Unknown command {t}."))
            };
        }
        let mut lines = vec!["The following commands are recognized:".to_owned()];
        for chunk in VERBS.chunks(10) {
            lines.push(format!(" {}", chunk.join(" ")));
        }
        lines.push("Help OK.".into());
        Ok(Reply::multi(code::HELP, lines).into())
    }

    pub(crate) async fn opts(&mut self, opts: Opts) -> Handled {
        match opts {
            Opts::Utf8(true) => reply(code::OK, "UTF8 mode is always on."),
            Opts::Utf8(false) => reply(code::PARAM_NOT_IMPLEMENTED, "UTF8 cannot be turned off."),
            Opts::Mlst(facts) => {
                // RFC 3659 §7.9: unknown facts are ignored; reply lists the result.
                let available: Vec<&str> = self.available_facts().collect();
                self.mlst_facts = MLSX_FACTS
                    .iter()
                    .enumerate()
                    .filter(|(_, f)| available.contains(f) && facts.iter().any(|g| g == *f))
                    .fold(0, |m, (i, _)| m | 1 << i);
                let list: String = self.facts().iter().map(|f| format!("{};", if *f == "unix.mode" { "UNIX.mode" } else { f })).collect();
                reply(code::OK, format!("MLST OPTS {list}"))
            }
            Opts::Hash(None) => reply(code::OK, self.hash_algo.hash_name()),
            Opts::Hash(Some(name)) => match ChecksumAlgo::from_hash_name(&name) {
                Some(a) => {
                    self.hash_algo = a;
                    reply(code::OK, a.hash_name())
                }
                None => reply(code::ARG_SYNTAX_ERROR, format!("Unknown hash algorithm {name}.")),
            },
            Opts::Other(o) => reply(code::ARG_SYNTAX_ERROR, format!("Option not understood: {o}.")),
        }
    }
}
