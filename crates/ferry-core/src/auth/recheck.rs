//! What a reload means for a session that is already logged in: the one
//! rule every front door applies when the accounts in force change
//! (`SIGHUP`, an admin edit seen by another node).

use std::net::IpAddr;

use ferry_proto::VirtualPath;

use super::settings::Policy;
use super::{Standing, StoreError};

/// After an account could not be checked (the store was down), how long a
/// session goes on before asking again: not every request of every
/// session may wait on a store that is down.
pub const AFTER_OUTAGE: std::time::Duration = std::time::Duration::from_secs(30);

/// The verdict on an open session after a reload.
#[derive(Debug)]
pub enum Recheck {
    /// Go on under this policy from the next request. `confirmed` is false
    /// when the account store could not say the account is still there
    /// (an outage): ask again in a while.
    Keep {
        /// The account's policy now.
        policy: Policy,
        /// Whether the store confirmed the account.
        confirmed: bool,
    },
    /// Nothing could be asked: keep the session as it is, ask again later.
    Unknown(StoreError),
    /// End the session, for this reason.
    End(Ending),
}

/// Why a reload ends a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The account's `allowed_networks` no longer admit the client.
    NotAllowedFrom,
    /// The home folder moved: the session's view is of the old one.
    HomeMoved,
    /// The account was disabled.
    Disabled,
    /// The account is past its last day.
    Expired,
    /// The account was removed.
    Gone,
}

/// Judge `standing` (the authenticator's answer for the session's
/// account) for a session whose view is of `home`, from `peer`.
pub fn judge(standing: Result<Standing, StoreError>, home: &VirtualPath, peer: IpAddr) -> Recheck {
    let (policy, confirmed) = match standing {
        Err(e) => return Recheck::Unknown(e),
        Ok(Standing::Active(p)) => (p, true),
        Ok(Standing::Unconfirmed(p)) => (p, false),
        Ok(Standing::Disabled) => return Recheck::End(Ending::Disabled),
        Ok(Standing::Expired) => return Recheck::End(Ending::Expired),
        Ok(Standing::Gone) => return Recheck::End(Ending::Gone),
    };
    // The ranges an account may log in from may have narrowed: a session
    // from outside them ends like a disabled account's.
    if !policy.admits(Some(peer)) {
        return Recheck::End(Ending::NotAllowedFrom);
    }
    if policy.home != *home {
        return Recheck::End(Ending::HomeMoved);
    }
    Recheck::Keep { policy, confirmed }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home() -> VirtualPath {
        VirtualPath::root()
    }

    #[test]
    fn every_standing_has_its_verdict() {
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        let policy = Policy::default();
        assert!(matches!(judge(Ok(Standing::Active(policy.clone())), &home(), peer), Recheck::Keep { confirmed: true, .. }));
        assert!(matches!(judge(Ok(Standing::Unconfirmed(policy.clone())), &home(), peer), Recheck::Keep { confirmed: false, .. }));
        assert!(matches!(judge(Ok(Standing::Disabled), &home(), peer), Recheck::End(Ending::Disabled)));
        assert!(matches!(judge(Ok(Standing::Expired), &home(), peer), Recheck::End(Ending::Expired)));
        assert!(matches!(judge(Ok(Standing::Gone), &home(), peer), Recheck::End(Ending::Gone)));
        let moved = Policy { home: VirtualPath::root().join("elsewhere").unwrap(), ..policy.clone() };
        assert!(matches!(judge(Ok(Standing::Active(moved)), &home(), peer), Recheck::End(Ending::HomeMoved)));
        let outage = StoreError::Unavailable("down".into());
        assert!(matches!(judge(Err(outage), &home(), peer), Recheck::Unknown(_)));
    }
}
