//! The API's error rate, for the automatic incident: issue 10 opens one when the
//! core checks fail for longer than a threshold *or when the error rate passes a
//! threshold*.
//!
//! Policy:
//! - Counted: every response of the hub's own routes; an error is a 5xx. The
//!   sandbox's simulated vendors (`/sandbox/…`) are not the hub and are left out,
//!   and so are the monitor's own checks (user agent `tributary-monitor`).
//! - Each monitor round takes the counts since the last round; the rate is errors
//!   over responses within the last `monitor.error_rate_window_secs`, and only
//!   from `monitor.error_rate_min_requests` responses on (one failed request on a
//!   quiet hub is not an incident).
//! - A rate above `monitor.error_rate_percent` opens the automatic incident at
//!   once (the window already smooths it; severity 2: the hub answers, but badly),
//!   and it resolves when the rate is back at or under the threshold.
//! - Each instance judges the requests it served, and only while its own core
//!   checks pass (a failing instance's errors are that failure's, which the core
//!   rule judges together with the other instances). It is not downtime: downtime
//!   is the core checks failing on every instance.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Responses served since the monitor last looked (shared with the HTTP layer).
#[derive(Default)]
pub struct RequestTally {
    served: AtomicU64,
    errors: AtomicU64,
}

impl RequestTally {
    /// A response of `route` (the matched pattern) with `status`.
    pub fn response(&self, route: &str, status: u16) {
        if route.starts_with("/sandbox") {
            return;
        }
        self.served.fetch_add(1, Ordering::Relaxed);
        if status >= 500 {
            self.errors.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// (responses, errors) since the last call.
    pub fn take(&self) -> (u64, u64) {
        (
            self.served.swap(0, Ordering::Relaxed),
            self.errors.swap(0, Ordering::Relaxed),
        )
    }
}

/// The rounds within the window.
pub struct ErrorWindow {
    window: Duration,
    min_requests: u64,
    rounds: VecDeque<(Instant, u64, u64)>,
}

impl ErrorWindow {
    pub fn new(window: Duration, min_requests: u64) -> Self {
        Self {
            window,
            min_requests,
            rounds: VecDeque::new(),
        }
    }

    /// Add a round's counts at `now`; the rate over the window, in percent, once
    /// the window holds at least `min_requests` responses.
    pub fn push(&mut self, now: Instant, served: u64, errors: u64) -> Option<f64> {
        self.rounds.push_back((now, served, errors));
        while self
            .rounds
            .front()
            .is_some_and(|(at, _, _)| now.saturating_duration_since(*at) > self.window)
        {
            self.rounds.pop_front();
        }
        let (served, errors) = self
            .rounds
            .iter()
            .fold((0u64, 0u64), |(s, e), (_, rs, re)| (s + rs, e + re));
        (served >= self.min_requests.max(1)).then(|| 100.0 * errors as f64 / served as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sandbox_routes_do_not_count_and_5xx_are_errors() {
        let t = RequestTally::default();
        t.response("/fhir/r4/Observation/{id}", 500);
        t.response("/fhir/r4/Observation/{id}", 200);
        t.response("/v1/members", 404);
        t.response("/sandbox/demo/{tail:.*}", 503);
        assert_eq!(t.take(), (3, 1));
        assert_eq!(t.take(), (0, 0));
    }

    #[test]
    fn the_rate_needs_enough_requests_and_forgets_old_rounds() {
        let t0 = Instant::now();
        let mut w = ErrorWindow::new(Duration::from_secs(10), 20);
        assert_eq!(w.push(t0, 10, 5), None, "10 responses are too few");
        assert_eq!(w.push(t0 + Duration::from_secs(5), 10, 0), Some(25.0));
        // The first round leaves the window: 10 + 30 responses, 3 errors.
        let r = w.push(t0 + Duration::from_secs(12), 30, 3).unwrap();
        assert!((r - 7.5).abs() < 1e-9, "{r}");
    }
}
