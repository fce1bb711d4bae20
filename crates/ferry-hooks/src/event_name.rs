//! The names hooks give events, in configs and in the JSON: kebab-case,
//! part of the stable interface (the core's own [`Event::name`] uses
//! snake case for logs and may change; these may not).
//!
//! [`Event::name`]: ferry_core::events::Event::name

use ferry_core::events::AdminAction;
use serde::{Deserialize, Serialize};

/// An event a hook can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HookEvent {
    /// A user logged in.
    Login,
    /// A login was refused.
    LoginFailed,
    /// A logged-in user left.
    Logout,
    /// An upload was committed under its final name.
    Upload,
    /// An upload ended without being committed.
    UploadFailed,
    /// A download ended (complete, or with a `reason`).
    Download,
    /// A file was deleted.
    Delete,
    /// A file or folder was renamed.
    Rename,
    /// A folder was created.
    Mkdir,
    /// A folder was removed.
    Rmdir,
    /// An address was banned.
    Ban,
    /// An administrator signed in.
    AdminLogin,
    /// An administrator's sign-in was refused.
    AdminLoginFailed,
    /// An administrator created a user.
    AdminUserCreate,
    /// An administrator changed a user.
    AdminUserUpdate,
    /// An administrator deleted a user.
    AdminUserDelete,
    /// An administrator ended a session.
    AdminSessionKick,
    /// An administrator lifted a ban.
    AdminUnban,
    /// An administrator reloaded the configuration.
    AdminReload,
    /// An administrator made an API token.
    AdminTokenCreate,
    /// An administrator revoked an API token.
    AdminTokenRevoke,
    /// Before an upload starts, to allow or refuse it. Parsed and kept;
    /// not delivered yet (a later step: such hooks decide, they are not told).
    PreUpload,
    /// Before a login, to decide it. Parsed and kept; not delivered yet.
    PreLogin,
}

impl HookEvent {
    /// Every name, in the order the docs list them.
    pub const ALL: [HookEvent; 23] = [
        HookEvent::Login,
        HookEvent::LoginFailed,
        HookEvent::Logout,
        HookEvent::Upload,
        HookEvent::UploadFailed,
        HookEvent::Download,
        HookEvent::Delete,
        HookEvent::Rename,
        HookEvent::Mkdir,
        HookEvent::Rmdir,
        HookEvent::Ban,
        HookEvent::AdminLogin,
        HookEvent::AdminLoginFailed,
        HookEvent::AdminUserCreate,
        HookEvent::AdminUserUpdate,
        HookEvent::AdminUserDelete,
        HookEvent::AdminSessionKick,
        HookEvent::AdminUnban,
        HookEvent::AdminReload,
        HookEvent::AdminTokenCreate,
        HookEvent::AdminTokenRevoke,
        HookEvent::PreUpload,
        HookEvent::PreLogin,
    ];

    /// The name as configs and the JSON write it.
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::Login => "login",
            HookEvent::LoginFailed => "login-failed",
            HookEvent::Logout => "logout",
            HookEvent::Upload => "upload",
            HookEvent::UploadFailed => "upload-failed",
            HookEvent::Download => "download",
            HookEvent::Delete => "delete",
            HookEvent::Rename => "rename",
            HookEvent::Mkdir => "mkdir",
            HookEvent::Rmdir => "rmdir",
            HookEvent::Ban => "ban",
            HookEvent::AdminLogin => "admin-login",
            HookEvent::AdminLoginFailed => "admin-login-failed",
            HookEvent::AdminUserCreate => "admin-user-create",
            HookEvent::AdminUserUpdate => "admin-user-update",
            HookEvent::AdminUserDelete => "admin-user-delete",
            HookEvent::AdminSessionKick => "admin-session-kick",
            HookEvent::AdminUnban => "admin-unban",
            HookEvent::AdminReload => "admin-reload",
            HookEvent::AdminTokenCreate => "admin-token-create",
            HookEvent::AdminTokenRevoke => "admin-token-revoke",
            HookEvent::PreUpload => "pre-upload",
            HookEvent::PreLogin => "pre-login",
        }
    }

    /// The event named `name`, if there is one.
    pub fn from_name(name: &str) -> Option<HookEvent> {
        HookEvent::ALL.into_iter().find(|e| e.as_str() == name)
    }

    /// The event of what an administrator did.
    pub fn of_admin(action: AdminAction) -> HookEvent {
        match action {
            AdminAction::Login => HookEvent::AdminLogin,
            AdminAction::LoginFailed => HookEvent::AdminLoginFailed,
            AdminAction::UserCreate => HookEvent::AdminUserCreate,
            AdminAction::UserUpdate => HookEvent::AdminUserUpdate,
            AdminAction::UserDelete => HookEvent::AdminUserDelete,
            AdminAction::SessionKick => HookEvent::AdminSessionKick,
            AdminAction::Unban => HookEvent::AdminUnban,
            AdminAction::Reload => HookEvent::AdminReload,
            AdminAction::TokenCreate => HookEvent::AdminTokenCreate,
            AdminAction::TokenRevoke => HookEvent::AdminTokenRevoke,
        }
    }

    /// A hook that decides (`pre-*`) rather than one that is told.
    pub fn is_decision(self) -> bool {
        matches!(self, HookEvent::PreUpload | HookEvent::PreLogin)
    }
}

impl std::fmt::Display for HookEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for e in HookEvent::ALL {
            assert_eq!(HookEvent::from_name(e.as_str()), Some(e));
            assert_eq!(serde_json::to_string(&e).unwrap(), format!("\"{e}\""));
        }
        assert_eq!(HookEvent::from_name("login_failed"), None, "snake case is the log's, not the hooks'");
    }

    #[test]
    fn each_admin_action_has_its_admin_event() {
        let names: Vec<&str> = AdminAction::ALL.into_iter().map(|a| HookEvent::of_admin(a).as_str()).collect();
        assert_eq!(
            names,
            [
                "admin-login",
                "admin-login-failed",
                "admin-user-create",
                "admin-user-update",
                "admin-user-delete",
                "admin-session-kick",
                "admin-unban",
                "admin-reload",
                "admin-token-create",
                "admin-token-revoke",
            ]
        );
        for a in AdminAction::ALL {
            // The hooks' kebab case of the core's snake-case name.
            assert_eq!(HookEvent::of_admin(a).as_str(), a.event_name().replace('_', "-"));
            assert!(!HookEvent::of_admin(a).is_decision());
        }
    }
}
