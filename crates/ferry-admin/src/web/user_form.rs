//! The form that creates or edits a user, with each error beside its
//! field (`aria-describedby`, `aria-invalid`) and a summary at the top.

use maud::{Markup, html};

use crate::backend::{FieldError, PERMISSIONS, User};

/// What the form shows: the values, and the errors of the last attempt.
pub(crate) struct FormView<'a> {
    /// The values (as last entered, or as stored).
    pub(crate) user: &'a User,
    /// Per-field errors.
    pub(crate) errors: &'a [FieldError],
    /// A new user (name editable, password required) or an edit.
    pub(crate) creating: bool,
    /// The session's CSRF token.
    pub(crate) csrf: &'a str,
}

fn error_of<'a>(errors: &'a [FieldError], field: &str) -> Option<&'a str> {
    errors.iter().find(|e| e.field == field).map(|e| e.message.as_str())
}

fn text_field(label: &str, name: &str, value: &str, hint: Option<&str>, input_type: &str, errors: &[FieldError]) -> Markup {
    let error = error_of(errors, name);
    let described = match (error.is_some(), hint.is_some()) {
        (true, _) => Some(format!("err-{name}")),
        (false, true) => Some(format!("hint-{name}")),
        _ => None,
    };
    html! {
        p.field {
            label for=(format!("f-{name}")) { (label) }
            input id=(format!("f-{name}")) type=(input_type) name=(name) value=(value)
                aria-invalid=[error.map(|_| "true")] aria-describedby=[described];
            @if let Some(h) = hint { span.hint id=(format!("hint-{name}")) { (h) } }
            @if let Some(e) = error { span.error id=(format!("err-{name}")) data-error-for=(name) { (e) } }
        }
    }
}

fn opt(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// The form.
pub(crate) fn render(v: &FormView<'_>) -> Markup {
    let u = v.user;
    let action = if v.creating { "/users/new".to_owned() } else { format!("/users/{}", u.name) };
    // The defaults are not known here (they may grant less than all):
    // a user who has them has the "defaults" box ticked, not all six.
    let allowed = |p: &str| u.permissions.as_ref().is_some_and(|list| list.iter().any(|x| x == p));
    let perm_error = error_of(v.errors, "permissions");
    let nets_error = error_of(v.errors, "allowed_networks");
    html! {
        @if !v.errors.is_empty() {
            div.error-summary role="alert" #error-summary {
                p { "The user was not saved:" }
                ul { @for e in v.errors { li { a href=(format!("#f-{}", e.field)) { (e.field) ": " (e.message) } } } }
            }
        }
        form.user method="post" action=(action) novalidate {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="permissions_set" value="1";
            @if v.creating {
                (text_field("Name", "name", &u.name, Some("Letters, digits, '.', '_', '-' or '@'."), "text", v.errors))
                (text_field("Password", "password", "", None, "password", v.errors))
            } @else {
                input type="hidden" name="name" value=(u.name);
                (text_field("New password", "password", "", Some("Leave empty to keep the current password."), "password", v.errors))
            }
            p.field.check {
                input #f-enabled type="checkbox" name="enabled" checked[u.enabled];
                label for="f-enabled" { "Enabled (may log in)" }
            }
            (text_field("Home folder", "home", u.home.as_deref().unwrap_or(""), Some("Below the server root; empty for the default."), "text", v.errors))
            fieldset #f-permissions aria-describedby=[perm_error.map(|_| "err-permissions")] {
                legend { "Permissions" }
                span.check {
                    input #perm-defaults type="checkbox" name="permissions_default" checked[u.permissions.is_none()];
                    label for="perm-defaults" { "The defaults (users.toml [defaults]; all if none), whatever is ticked below" }
                }
                @for p in PERMISSIONS {
                    span.check {
                        input id=(format!("perm-{p}")) type="checkbox" name="permissions" value=(p) checked[allowed(p)];
                        label for=(format!("perm-{p}")) { (p) }
                    }
                }
                @if let Some(e) = perm_error { span.error #err-permissions data-error-for="permissions" { (e) } }
            }
            p.field.check {
                input #f-read_only type="checkbox" name="read_only" checked[u.read_only];
                label for="f-read_only" { "Read-only (list and read only, whatever the permissions say)" }
            }
            (text_field("Quota, bytes", "quota_bytes", &opt(u.quota_bytes), Some("Such as 2G or 500M; empty for none."), "text", v.errors))
            (text_field("Quota, files", "quota_files", &opt(u.quota_files), None, "text", v.errors))
            (text_field("Upload rate, bytes per second", "upload_rate", &opt(u.upload_rate), Some("Such as 1M; empty for no limit."), "text", v.errors))
            (text_field("Download rate, bytes per second", "download_rate", &opt(u.download_rate), None, "text", v.errors))
            p.field {
                label for="f-allowed_networks" { "Allowed client networks" }
                textarea #f-allowed_networks name="allowed_networks" rows="3"
                    aria-invalid=[nets_error.map(|_| "true")]
                    aria-describedby=(if nets_error.is_some() { "err-allowed_networks" } else { "hint-allowed_networks" }) {
                    (u.allowed_networks.join("\n"))
                }
                span.hint #hint-allowed_networks { "One CIDR per line, such as 10.0.0.0/8; empty for anywhere." }
                @if let Some(e) = nets_error { span.error #err-allowed_networks data-error-for="allowed_networks" { (e) } }
            }
            (text_field("Expires after", "expires", u.expires.as_deref().unwrap_or(""), Some("The last day the account may log in (UTC); empty for never."), "date", v.errors))
            button type="submit" { @if v.creating { "Create user" } @else { "Save changes" } }
        }
    }
}
