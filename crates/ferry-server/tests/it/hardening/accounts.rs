//! Issue 10 hardening tests: accounts.
