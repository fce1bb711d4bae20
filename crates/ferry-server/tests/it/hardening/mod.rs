//! Regression tests for issue 10 ("Hardening: what a hostile user and an
//! unlucky operator found"). Each test is named after the item it covers
//! (`i01_…` for item 1) and reproduces the attack against a real ferryd on
//! loopback, then checks the fix and that a normal session from the same
//! address still works while the attack runs.

mod accounts;
mod control;
mod listings;
mod nodes;
mod tls;
mod uploads;
