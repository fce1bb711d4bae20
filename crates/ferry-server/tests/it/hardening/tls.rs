//! Issue 10 hardening tests: tls.
