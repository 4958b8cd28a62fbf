//! How the vendors have been answering this process: every call the hub makes to
//! a vendor (sync pages, webhook subscriptions, token exchanges and refreshes,
//! revocations) reports its outcome here, and each monitor round takes the state of
//! each vendor from what happened since the last round. Vendor outages are recorded
//! per vendor and are never the hub's downtime (issue 10).
//!
//! Policy:
//! - A call **failed at the vendor** when it got no answer (connection refused or
//!   reset, DNS, timeout), the answer broke off mid-body, or the vendor answered 408
//!   or 5xx (for vendors that wrap errors in a 2xx body: the status the connector
//!   says the body stands for; at token endpoints: `server_error` /
//!   `temporarily_unavailable` or an answer that is not OAuth). Every other answer
//!   means the vendor is up — it answered — including 401 (a member's token, not a
//!   vendor outage), 404, 409 and 429.
//! - A round's state of a vendor: **up** when at least one call since the last
//!   round was answered; **down** when calls were made, none was answered and at
//!   least one failed at the vendor.
//! - A round with no call to a vendor keeps its last known state for
//!   [`KEEP_KNOWN`] (ten minutes): a vendor that was down stays down until a call
//!   gets an answer (retries back off, so rounds without calls are normal during an
//!   outage), one that was up stays up. After that the state is unknown and the
//!   vendor is left out of the sample (not recorded, neither up nor down).
//! - Only vendor ids (the connector registry's names) are kept: no member, no
//!   token, no response.

use crate::connect::oauth::OAuthError;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long a vendor's last known state stands through rounds without calls.
pub const KEEP_KNOWN: Duration = Duration::from_secs(600);

/// What one call to a vendor says about the vendor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The vendor answered (whatever it said).
    Answered,
    /// No answer, a broken answer, 408 or 5xx.
    Failed,
}

impl Outcome {
    /// The outcome of an HTTP answer with `status`.
    pub fn of_status(status: u16) -> Self {
        if status == 408 || (500..=599).contains(&status) {
            Outcome::Failed
        } else {
            Outcome::Answered
        }
    }
}

#[derive(Default, Clone, Copy)]
struct Counts {
    answered: u32,
    failed: u32,
}

struct Known {
    up: bool,
    at: Instant,
}

#[derive(Default)]
struct Inner {
    round: BTreeMap<String, Counts>,
    known: BTreeMap<String, Known>,
}

/// The per-vendor tracker of one process, shared by everything that calls vendors
/// (through [`crate::vendors::Vendors::health`]) and the monitor.
#[derive(Default)]
pub struct VendorHealth {
    inner: Mutex<Inner>,
}

impl VendorHealth {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves only counters behind: keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn record(&self, vendor: &str, outcome: Outcome) {
        let mut inner = self.lock();
        let counts = inner.round.entry(vendor.to_owned()).or_default();
        match outcome {
            Outcome::Answered => counts.answered = counts.answered.saturating_add(1),
            Outcome::Failed => counts.failed = counts.failed.saturating_add(1),
        }
    }

    /// The vendor answered with HTTP `status`.
    pub fn status(&self, vendor: &str, status: u16) {
        self.record(vendor, Outcome::of_status(status));
    }

    /// No answer (unreachable, timed out) or an answer that broke off.
    pub fn failed(&self, vendor: &str) {
        self.record(vendor, Outcome::Failed);
    }

    /// The result of a call to an OAuth endpoint (token, revocation). A bad URL in
    /// a manifest is not the vendor's doing and counts for nothing.
    pub fn oauth<T>(&self, vendor: &str, result: &Result<T, OAuthError>) {
        match result {
            Ok(_) | Err(OAuthError::InvalidGrant | OAuthError::Refused(_)) => {
                self.record(vendor, Outcome::Answered)
            }
            Err(OAuthError::Unavailable(_)) => self.record(vendor, Outcome::Failed),
            Err(OAuthError::BadUrl(_)) => {}
        }
    }

    /// Each vendor's state for the round ending now: `true` up, `false` down;
    /// vendors whose state is unknown are left out.
    pub fn take_round(&self) -> BTreeMap<String, bool> {
        self.take_round_at(Instant::now())
    }

    fn take_round_at(&self, now: Instant) -> BTreeMap<String, bool> {
        let mut inner = self.lock();
        let round = std::mem::take(&mut inner.round);
        for (vendor, c) in round {
            let up = if c.answered > 0 {
                true
            } else if c.failed > 0 {
                false
            } else {
                continue;
            };
            inner.known.insert(vendor, Known { up, at: now });
        }
        inner
            .known
            .retain(|_, k| now.saturating_duration_since(k.at) <= KEEP_KNOWN);
        inner.known.iter().map(|(v, k)| (v.clone(), k.up)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_is_up_when_anything_was_answered_down_when_only_failures() {
        let h = VendorHealth::default();
        let t0 = Instant::now();
        h.status("withings", 503);
        h.status("withings", 200);
        h.failed("oura");
        h.status("oura", 500);
        h.status("garmin", 401); // a member's token: the vendor answered
        h.status("dexcom", 429);
        let r = h.take_round_at(t0);
        assert!(r["withings"]);
        assert!(!r["oura"]);
        assert!(r["garmin"]);
        assert!(r["dexcom"]);
        assert_eq!(Outcome::of_status(408), Outcome::Failed);
        assert_eq!(Outcome::of_status(404), Outcome::Answered);
    }

    #[test]
    fn without_calls_the_last_state_stands_for_ten_minutes() {
        let h = VendorHealth::default();
        let t0 = Instant::now();
        h.failed("oura");
        assert!(!h.take_round_at(t0)["oura"]);
        let later = t0 + Duration::from_secs(300);
        assert!(!h.take_round_at(later)["oura"], "still down");
        h.status("oura", 200);
        assert!(h.take_round_at(later)["oura"], "answered: up");
        let gone = later + KEEP_KNOWN + Duration::from_secs(1);
        assert!(
            h.take_round_at(gone).is_empty(),
            "unknown after ten quiet minutes"
        );
    }

    #[test]
    fn oauth_results_count_as_answers_unless_the_vendor_is_unavailable() {
        let h = VendorHealth::default();
        let t0 = Instant::now();
        h.oauth::<()>("withings", &Err(OAuthError::InvalidGrant));
        h.oauth::<()>("oura", &Err(OAuthError::Unavailable("server_error".into())));
        h.oauth::<()>("garmin", &Err(OAuthError::BadUrl("token")));
        let r = h.take_round_at(t0);
        assert_eq!(r.get("withings"), Some(&true));
        assert_eq!(r.get("oura"), Some(&false));
        assert_eq!(r.get("garmin"), None);
    }
}
