//! Logging through tracing: JSON lines on standard error (standard output is kept
//! for command results such as `keys rotate`'s JSON).
//!
//! Policy: no PHI, tokens, secrets, query strings, bodies or headers in any log line.
//! `RUST_LOG`, when set, replaces `log.level`.

use crate::config::{LogFormat, LogSettings};
use tracing_subscriber::EnvFilter;

pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_env("RUST_LOG").unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    // A second init (tests calling into the library twice) is harmless: keep the first.
    let _ = match settings.format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
