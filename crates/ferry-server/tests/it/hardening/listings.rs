//! Issue 10 hardening tests: listings.
