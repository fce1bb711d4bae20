//! The frame every page shares: head, navigation, main landmark.
//!
//! Pages are plain HTML that reads and works without JavaScript; the
//! script (`/assets/admin.js`) only keeps the live tables current. The
//! CSRF token is in a `<meta>` for the script and in every form.

use maud::{DOCTYPE, Markup, html};

use crate::auth::WebAdmin;

/// The pages in the navigation: path, label.
const NAV: [(&str, &str); 5] =
    [("/", "Dashboard"), ("/users", "Users"), ("/sessions", "Sessions"), ("/bans", "Bans"), ("/events", "Events")];

/// A whole page: `title`, the signed-in admin (none on the sign-in
/// page), which navigation entry is current, and the content.
pub(crate) fn page(title: &str, admin: Option<&WebAdmin>, current: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(a) = admin { meta name="csrf-token" content=(a.csrf); }
                title { (title) " · ferryd admin" }
                link rel="stylesheet" href="/assets/admin.css";
                script src="/assets/admin.js" defer {}
            }
            body {
                a.skip href="#main" { "Skip to content" }
                header.top {
                    span.brand { "ferryd admin" }
                    @if let Some(a) = admin {
                        nav aria-label="Main" {
                            ul {
                                @for (href, label) in NAV {
                                    li { a href=(href) aria-current=[(href == current).then_some("page")] { (label) } }
                                }
                            }
                        }
                        form.signout method="post" action="/logout" {
                            input type="hidden" name="csrf" value=(a.csrf);
                            span { "Signed in as " strong { (a.identity.name) } }
                            " "
                            button type="submit" { "Sign out" }
                        }
                    }
                }
                main #main tabindex="-1" {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A notice at the top of a page (`role=status`, read out by screen readers).
pub(crate) fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(t) = text { p.notice role="status" { (t) } }
    }
}

/// A one-button form that posts to `action` (kick, unban, delete, …).
pub(crate) fn button_form(action: &str, csrf: &str, label: &str, accessible_label: &str) -> Markup {
    html! {
        form.inline method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            button type="submit" aria-label=(accessible_label) { (label) }
        }
    }
}
