//! Issue 10 hardening tests: control.
