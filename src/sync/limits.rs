//! Vendor rate limits: one bucket per vendor app (governor) and one per connection,
//! sized from the vendor's manifest, and a pause per bucket when the vendor answers
//! 429.
//!
//! Policy: calls are spread evenly (GCRA with a burst of one, at 99 % of the
//! published rate), so no window of the vendor's length ever holds more calls than
//! the quota, however the vendor aligns its windows. A short wait is slept; a
//! long one (a vendor's `Retry-After`, a drained per-minute bucket) is returned so
//! the job can be postponed without holding a worker.
//!
//! Two stages: governor buckets in this process gate the calls of its own jobs
//! (so many waiting jobs do not all ask the database), then the buckets in the
//! database ([`crate::store::rate_buckets`]) make every process on it share one
//! quota per vendor app and per connection, and one pause after a 429. A call is
//! made only when both stages allow it. If the shared buckets cannot be read, the
//! call waits rather than risk the vendor's quota.

use crate::db::Database;
use crate::store::rate_buckets::{self, Bucket};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};
use tributary_connectors::connector::RateLimits;

/// Waits longer than this are handed back to the job instead of slept.
pub const MAX_SLEEP: Duration = Duration::from_secs(5);

/// Who a call counts against.
#[derive(Debug, Clone)]
pub struct CallKey<'a> {
    pub vendor: &'a str,
    /// The portal's vendor app, or `None` for the hub's own (sandbox) client.
    pub vendor_app: Option<&'a str>,
    pub connection: &'a str,
}

impl CallKey<'_> {
    fn app(&self) -> String {
        format!("app/{}/{}", self.vendor, self.vendor_app.unwrap_or("-"))
    }
    fn user(&self) -> String {
        format!("user/{}", self.connection)
    }
}

#[derive(Default)]
struct Inner {
    /// Per vendor app.
    buckets: HashMap<String, Arc<DefaultDirectRateLimiter>>,
    /// Per connection: the earliest instant of its next call.
    next_user_call: HashMap<String, Instant>,
    paused_until: HashMap<String, Instant>,
}

/// How long a call waits when the shared buckets cannot be read.
const SHARED_UNAVAILABLE_WAIT: Duration = Duration::from_secs(10);

/// Every bucket of this process, and the shared ones.
#[derive(Default)]
pub struct VendorLimits {
    inner: Mutex<Inner>,
    shared: Option<Database>,
}

/// A quota of `per_minute` calls, spread evenly with a burst of one.
fn quota(per_minute: u32) -> Option<Quota> {
    let per_minute = per_minute.max(1);
    let period = Duration::from_secs(60).mul_f64(1.01) / per_minute;
    Quota::with_period(period)
}

impl VendorLimits {
    /// Buckets of this process only (tests of the local stage).
    pub fn new() -> Self {
        Self::default()
    }

    /// Buckets shared with every process on `db`.
    pub fn shared(db: Database) -> Self {
        Self {
            inner: Mutex::default(),
            shared: Some(db),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Take one call from both buckets, sleeping up to [`MAX_SLEEP`]. `Err(wait)`:
    /// the call must not be made for `wait`; nothing was taken.
    pub async fn acquire(&self, key: &CallKey<'_>, limits: RateLimits) -> Result<(), Duration> {
        loop {
            let wait = match self.try_acquire(key, limits) {
                None => self.take_shared(key, limits).await,
                local => local,
            };
            match wait {
                None => return Ok(()),
                Some(w) if w > MAX_SLEEP => return Err(w),
                Some(w) => tokio::time::sleep(w).await,
            }
        }
    }

    /// The buckets of a call in the database.
    fn shared_buckets(key: &CallKey<'_>, limits: RateLimits) -> [Bucket; 2] {
        let interval = |per_minute: Option<u32>| {
            per_minute
                .and_then(quota)
                .map(|q| i64::try_from(q.replenish_interval().as_micros()).unwrap_or(i64::MAX))
        };
        [
            Bucket {
                key: key.app(),
                interval_us: interval(limits.per_app_per_minute),
            },
            Bucket {
                key: key.user(),
                interval_us: interval(limits.per_user_per_minute),
            },
        ]
    }

    /// Take the call from the shared buckets: `None` when taken (or when there are
    /// none), else how long to wait.
    async fn take_shared(&self, key: &CallKey<'_>, limits: RateLimits) -> Option<Duration> {
        let db = self.shared.clone()?;
        let buckets = Self::shared_buckets(key, limits);
        let taken = tokio::task::spawn_blocking(move || {
            let mut conn = db.conn().map_err(|e| e.to_string())?;
            rate_buckets::take(&mut conn, &buckets, now_us).map_err(|e| e.to_string())
        })
        .await
        .unwrap_or_else(|e| Err(e.to_string()));
        match taken {
            Ok(None) => None,
            Ok(Some(wait_us)) => Some(Duration::from_micros(wait_us.unsigned_abs())),
            Err(e) => {
                tracing::warn!(error = %e, "vendor quota buckets unavailable; the call waits");
                Some(SHARED_UNAVAILABLE_WAIT)
            }
        }
    }

    /// `None` when a call was taken, else how long to wait before trying again.
    fn try_acquire(&self, key: &CallKey<'_>, limits: RateLimits) -> Option<Duration> {
        let now = Instant::now();
        let (app, user) = (key.app(), key.user());
        let mut inner = self.lock();
        let paused = [&app, &user]
            .iter()
            .filter_map(|k| inner.paused_until.get(*k))
            .filter(|until| **until > now)
            .max()
            .copied();
        if let Some(until) = paused {
            return Some(until - now);
        }
        // The user's quota is a spacing between calls (GCRA with a burst of one,
        // kept here so that it can be read without taking a call); the app's is a
        // governor bucket. The user's turn is checked first and taken last, so a
        // call refused by either takes nothing from the other: with many jobs
        // waiting on one app bucket, a user's turn is never used up by a refusal.
        let spacing = limits
            .per_user_per_minute
            .and_then(quota)
            .map(|q| q.replenish_interval());
        if let Some(next) = inner
            .next_user_call
            .get(&user)
            .filter(|_| spacing.is_some())
        {
            if *next > now {
                return Some(*next - now);
            }
        }
        let app_bucket = limits.per_app_per_minute.and_then(quota).map(|q| {
            inner
                .buckets
                .entry(app)
                .or_insert_with(|| Arc::new(RateLimiter::direct(q)))
                .clone()
        });
        if let Some(b) = &app_bucket {
            if let Err(not_until) = b.check() {
                return Some(not_until.wait_time_from(DefaultClock::default().now()));
            }
        }
        if let Some(spacing) = spacing {
            inner.next_user_call.insert(user, now + spacing);
        }
        None
    }

    /// The vendor answered 429: no calls on this connection's bucket (and, when the
    /// vendor says it is the app's quota, the app's) until `after` has passed.
    pub fn pause(&self, key: &CallKey<'_>, after: Duration, whole_app: bool) {
        let until = Instant::now() + after;
        let mut inner = self.lock();
        let mut set = |k: String| {
            let e = inner.paused_until.entry(k).or_insert(until);
            *e = (*e).max(until);
        };
        set(key.user());
        if whole_app {
            set(key.app());
        }
        drop(inner);
        if let Some(db) = self.shared.clone() {
            let mut keys = vec![key.user()];
            if whole_app {
                keys.push(key.app());
            }
            let until_us =
                now_us().saturating_add(i64::try_from(after.as_micros()).unwrap_or(i64::MAX));
            // Other processes learn of the pause; this one already holds it.
            tokio::task::spawn_blocking(move || {
                let paused = db.conn().map_err(|e| e.to_string()).and_then(|mut conn| {
                    keys.iter().try_for_each(|k| {
                        rate_buckets::pause(&mut conn, k, until_us).map_err(|e| e.to_string())
                    })
                });
                if let Err(e) = paused {
                    tracing::warn!(error = %e, "cannot share a vendor's pause");
                }
            });
        }
    }

    /// Forget a connection's bucket (it was revoked).
    pub fn forget(&self, connection: &str) {
        let mut inner = self.lock();
        let k = format!("user/{connection}");
        inner.next_user_call.remove(&k);
        inner.paused_until.remove(&k);
    }
}

/// Microseconds since the Unix epoch (the shared buckets' clock: every process's
/// wall clock, which NTP keeps within milliseconds of the others).
fn now_us() -> i64 {
    chrono::Utc::now().timestamp_micros()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> CallKey<'static> {
        CallKey {
            vendor: "demo",
            vendor_app: None,
            connection: "c1",
        }
    }

    #[test]
    fn a_quota_of_sixty_a_minute_allows_one_call_a_second() {
        let limits = VendorLimits::new();
        let l = RateLimits {
            per_app_per_minute: Some(600),
            per_user_per_minute: Some(60),
        };
        assert_eq!(limits.try_acquire(&key(), l), None);
        let wait = limits
            .try_acquire(&key(), l)
            .expect("the second call waits");
        assert!(
            wait > Duration::from_millis(900) && wait <= Duration::from_millis(1020),
            "{wait:?}"
        );
    }

    #[test]
    fn a_pause_holds_every_call_of_the_bucket() {
        let limits = VendorLimits::new();
        limits.pause(&key(), Duration::from_secs(30), false);
        let wait = limits
            .try_acquire(&key(), RateLimits::default())
            .expect("paused");
        assert!(wait > Duration::from_secs(29), "{wait:?}");
        let other = CallKey {
            connection: "c2",
            ..key()
        };
        assert_eq!(limits.try_acquire(&other, RateLimits::default()), None);
    }
}
