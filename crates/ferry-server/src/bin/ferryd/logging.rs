//! Where `ferryd`'s log goes: standard error, as text or JSON, with
//! everything a client chose (user names, paths) escaped.

use anyhow::Context;

/// Log to standard error at `level` (`RUST_LOG` overrides it), as text or
/// as one JSON object per line.
pub(crate) fn init(level: &str, format: &str) -> anyhow::Result<()> {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| level.to_owned());
    let filter: tracing_subscriber::filter::Targets = spec.parse().with_context(|| format!("invalid log level {spec:?}"))?;
    use ferry_server::log_escape::{EscapedFields, JsonControls};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let registry = tracing_subscriber::registry().with(filter);
    // Clients choose user names and paths: both formats escape control
    // characters in them, so that no client can forge a line or send the
    // terminal an escape sequence.
    if format == "json" {
        // One JSON object per line for log collectors, with the session
        // span (id, peer, user) on every event.
        registry.with(tracing_subscriber::fmt::layer().json().with_current_span(true).with_writer(JsonControls(std::io::stderr))).init();
    } else {
        registry
            .with(
                tracing_subscriber::fmt::layer()
                    .fmt_fields(EscapedFields)
                    .with_writer(std::io::stderr)
                    .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
            )
            .init();
    }
    Ok(())
}
