//! Issue 10 hardening tests: nodes.
