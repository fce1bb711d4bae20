//! The hooks' Prometheus metrics, for the server's registry:
//!
//! - `ferry_hook_deliveries_total{hook, result}`: `delivered` (the hook
//!   took the event), `retried` (a try failed; another will follow),
//!   `failed` (given up on at the maximum age: moved to `dead/`);
//! - `ferry_hook_spool_depth`: deliveries waiting in the spool;
//! - `ferry_hook_oldest_seconds`: the age of the oldest of them (0 when
//!   none waits).

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Labels = Vec<(&'static str, String)>;

/// How a delivery try ended, as the `result` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Delivered,
    Retried,
    Failed,
}

/// The hooks' counters and gauges. Cheap to clone: clones share values.
#[derive(Debug, Clone, Default)]
pub struct HookMetrics {
    deliveries: Family<Labels, Counter>,
    spool_depth: Gauge,
    oldest_seconds: Gauge,
}

impl HookMetrics {
    /// Add these metrics to `registry` (one with the `ferry` prefix, e.g.
    /// through `ferry_core::events::metrics::Metrics::register`).
    pub fn register(&self, registry: &mut Registry) {
        registry.register("hook_deliveries", "Hook deliveries by hook and result (delivered, retried, failed)", self.deliveries.clone());
        registry.register("hook_spool_depth", "Hook deliveries waiting in the spool", self.spool_depth.clone());
        registry.register("hook_oldest_seconds", "Age of the oldest undelivered hook event, seconds", self.oldest_seconds.clone());
    }

    pub(crate) fn count(&self, hook: &str, outcome: Outcome) {
        let result = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retried => "retried",
            Outcome::Failed => "failed",
        };
        self.deliveries.get_or_create(&vec![("hook", hook.to_string()), ("result", result.to_string())]).inc();
    }

    pub(crate) fn set_spool(&self, depth: usize, oldest_seconds: u64) {
        self.spool_depth.set(i64::try_from(depth).unwrap_or(i64::MAX));
        self.oldest_seconds.set(i64::try_from(oldest_seconds).unwrap_or(i64::MAX));
    }

    /// Deliveries of `hook` that ended with `result` (`delivered`,
    /// `retried`, `failed`): for tests and status pages.
    pub fn deliveries(&self, hook: &str, result: &str) -> u64 {
        self.deliveries.get_or_create(&vec![("hook", hook.to_string()), ("result", result.to_string())]).get()
    }

    /// Deliveries waiting now.
    pub fn spool_depth(&self) -> i64 {
        self.spool_depth.get()
    }
}
