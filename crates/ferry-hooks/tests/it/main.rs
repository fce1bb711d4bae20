//! ferry-hooks against real receivers: an in-process HTTP server, real
//! shell scripts run by argv. Loopback only; every wait has a deadline.

mod commands;
mod filters;
mod https;
mod receiver;
mod support;
mod webhooks;
