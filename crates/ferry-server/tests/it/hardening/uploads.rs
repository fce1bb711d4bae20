//! Issue 10 hardening tests: uploads.
