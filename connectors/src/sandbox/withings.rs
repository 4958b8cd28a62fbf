//! The Withings twin: the Public Health Data API's `getmeas`, `getactivity` and
//! `getsummary`, and `/notify` subscriptions, in Withings' payload shapes.
//!
//! Policy: every data request is a `POST` whose `action` parameter names the
//! service (`/measure action=getmeas`, `/v2/measure action=getactivity`,
//! `/v2/sleep action=getsummary`); a known path with an action the twin does not
//! know is refused as invalid parameters (envelope status 503), an unknown path is
//! not found. The shared machinery wraps every answer in `{"status": 0, "body": …}`.
//! Records are ordered oldest first and paged statelessly by `offset` (the number of
//! records before the page) while `more` is set, so any page can be fetched again
//! and yields the same bytes, and records that appear later (at `now`) only ever
//! join the end. Record ids (`grpid`, sleep `id`) are derived from the user, the
//! local day and the kind, so they are stable and unique per user. The member lives
//! in an IANA zone whose offset is [`person::utc_offset`] at every instant since
//! 1970 ([`zone_name`]). Notifications are unsigned form bodies, one per data type
//! (`appli` 1, 16 or 44), as Withings sends them.

mod activity;
mod measures;
mod revoke;
mod sleep;

use super::person;
use super::twin::{single, DataEndpoint, DataError, Notification, ScopeInfo, Style, Twin};
use crate::withings::{ACTIVITY, BODY_MEASURES, SLEEP_SUMMARY};
use chrono::{DateTime, Duration, FixedOffset, NaiveDate, TimeZone, Utc};

pub(crate) struct WithingsTwin;

const SCOPES: [ScopeInfo; 3] = [
    ScopeInfo {
        name: "user.metrics",
        description: "Body measurements: weight, body fat, blood pressure, SpO2, temperature",
    },
    ScopeInfo {
        name: "user.activity",
        description: "Daily activity and sleep",
    },
    ScopeInfo {
        name: "user.info",
        description: "Your profile, and notice when you unlink an app",
    },
];

/// The data endpoint of a known path whose action the twin does not serve: any
/// grant reaches it, and it answers invalid parameters.
const UNKNOWN_ACTION: &str = "(unknown action)";

/// Path, action, data type, scope.
const SERVICES: [(&str, &str, &str, &str); 3] = [
    ("/measure", "getmeas", BODY_MEASURES, "user.metrics"),
    ("/v2/measure", "getactivity", ACTIVITY, "user.activity"),
    ("/v2/sleep", "getsummary", SLEEP_SUMMARY, "user.activity"),
];

/// Paths the twin knows besides the data services (`/notify` takes
/// `action=subscribe` only).
const NOTIFY_PATH: &str = "/notify";

/// The notification categories a subscription may name.
const APPLIS: [u32; 6] = [1, 2, 4, 16, 44, 46];

impl Twin for WithingsTwin {
    fn vendor(&self) -> &'static str {
        crate::withings::VENDOR
    }

    fn display_name(&self) -> &'static str {
        "Withings"
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        &SCOPES
    }

    fn style(&self) -> Style {
        Style::WithingsEnvelope
    }

    fn token_user_field(&self) -> Option<&'static str> {
        Some("userid")
    }

    fn data_types(&self) -> &'static [&'static str] {
        &[BODY_MEASURES, ACTIVITY, SLEEP_SUMMARY]
    }

    fn data_endpoint(&self, path: &str, params: &[(String, String)]) -> Option<DataEndpoint> {
        let action = params
            .iter()
            .find(|(k, _)| k == "action")
            .map(|(_, v)| v.as_str());
        if let Some(&(_, _, data_type, scope)) =
            SERVICES.iter().find(|s| s.0 == path && Some(s.1) == action)
        {
            return Some(DataEndpoint {
                data_type,
                scope: Some(scope),
                method: "POST",
            });
        }
        (path == NOTIFY_PATH || SERVICES.iter().any(|s| s.0 == path)).then_some(DataEndpoint {
            data_type: UNKNOWN_ACTION,
            scope: None,
            method: "POST",
        })
    }

    fn subscription(
        &self,
        method: &str,
        path: &str,
        params: &[(String, String)],
    ) -> Option<Result<String, DataError>> {
        let subscribe = method == "POST"
            && path == NOTIFY_PATH
            && params
                .iter()
                .any(|(k, v)| k == "action" && v == "subscribe");
        subscribe.then(|| {
            if single(params, "action")? != Some("subscribe") {
                return Err(bad("action", "not subscribe"));
            }
            let appli = single(params, "appli")?.ok_or_else(|| bad("appli", "missing"))?;
            if !appli
                .parse::<u32>()
                .is_ok_and(|a| APPLIS.contains(&a) && a.to_string() == appli)
            {
                return Err(bad("appli", "not 1, 2, 4, 16, 44 or 46"));
            }
            single(params, "callbackurl")?
                .filter(|url| !url.is_empty())
                .map(str::to_owned)
                .ok_or_else(|| bad("callbackurl", "missing"))
        })
    }

    /// `getnonce` and the signed `revoke` ([`revoke`]).
    fn app_request(
        &self,
        ctx: &mut super::Ctx<'_>,
        state: &mut super::state::State,
    ) -> Option<super::SandboxResponse> {
        revoke::request(ctx, state)
    }

    fn subscribed(&self, _callback_url: &str) -> (u16, serde_json::Value) {
        (200, serde_json::json!({}))
    }

    /// Withings signs nothing: `secret` and `at` play no part.
    fn notification(
        &self,
        user: &str,
        data_types: &[&str],
        window: crate::TimeWindow,
        _secret: &str,
        _at: DateTime<Utc>,
    ) -> Vec<Notification> {
        // `enddate` is the last second of the changed data (the connector reads
        // `[startdate, enddate]`), so the notified window is exactly `window`.
        let start = window.start.timestamp();
        let end = window.end.timestamp() + i64::from(window.end.timestamp_subsec_nanos() > 0) - 1;
        data_types
            .iter()
            .filter_map(|t| appli_of(t))
            .map(|appli| {
                let body = crate::withings::push::body(user, appli, start, end.max(start));
                let headers = vec![(
                    "content-type".to_owned(),
                    "application/x-www-form-urlencoded".to_owned(),
                )];
                (headers, body.into_bytes())
            })
            .collect()
    }

    fn data(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, DataError> {
        let action = single(query, "action")?.ok_or_else(|| bad("action", "missing"))?;
        let served = SERVICES
            .iter()
            .find(|s| s.2 == endpoint.data_type && s.1 == action);
        let body = match served.map(|s| s.2) {
            Some(BODY_MEASURES) => serde_json::to_vec(&measures::answer(user, query, now)?),
            Some(ACTIVITY) => serde_json::to_vec(&activity::answer(user, query, now)?),
            Some(SLEEP_SUMMARY) => serde_json::to_vec(&sleep::answer(user, query, now)?),
            _ => return Err(bad("action", "not an action of this service")),
        };
        body.map_err(|e| DataError::Internal(e.to_string()))
    }
}

/// The notification category of new data of `data_type`.
fn appli_of(data_type: &str) -> Option<u32> {
    match data_type {
        BODY_MEASURES => Some(1),
        ACTIVITY => Some(16),
        SLEEP_SUMMARY => Some(44),
        _ => None,
    }
}

fn bad(name: &'static str, problem: &str) -> DataError {
    DataError::BadParam {
        name,
        problem: problem.to_owned(),
    }
}

/// An IANA zone whose offset is `offset` at every instant since 1970 (no DST,
/// no change of standard time): a city for the sandbox's offsets, else
/// `Etc/GMT±N` (whose sign is inverted: `Etc/GMT+5` is UTC−05:00).
pub(crate) fn zone_name(offset: FixedOffset) -> Option<String> {
    let secs = offset.local_minus_utc();
    let city = match secs {
        3600 => Some("Africa/Lagos"),
        -18_000 => Some("America/Panama"),
        19_800 => Some("Asia/Kolkata"),
        0 => Some("Atlantic/Reykjavik"),
        32_400 => Some("Asia/Tokyo"),
        _ => None,
    };
    if let Some(city) = city {
        return Some(city.to_owned());
    }
    let hours = secs / 3600;
    (secs % 3600 == 0 && (-12..=14).contains(&hours)).then(|| format!("Etc/GMT{:+}", -hours))
}

/// The member's zone, or why the answer cannot be made.
fn zone(user: &str) -> Result<(FixedOffset, String), DataError> {
    let offset = person::utc_offset(user);
    let name = zone_name(offset)
        .ok_or_else(|| DataError::Internal("no time-zone name for the member".to_owned()))?;
    Ok((offset, name))
}

/// Which records a request asks for.
#[derive(Debug, Clone, Copy)]
enum Span {
    /// Records dated in `[start, end)` (epoch seconds).
    Instants(i64, i64),
    /// Records of the member's local days `first..=last`.
    Days(NaiveDate, NaiveDate),
    /// Records modified at or after (epoch seconds).
    Since(i64),
}

/// The first local day the twin generates: the person was born with the epoch.
fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(1970, 1, 2).unwrap_or_default()
}

impl Span {
    /// `startdate` and `enddate`, or (for daily services) `startdateymd` and
    /// `enddateymd` first, or `lastupdate`.
    fn read(query: &[(String, String)], daily: bool) -> Result<Self, DataError> {
        if daily {
            let first = ymd(query, "startdateymd")?;
            let last = ymd(query, "enddateymd")?;
            match (first, last) {
                (Some(first), Some(last)) if last < first => {
                    return Err(bad("enddateymd", "before startdateymd"))
                }
                (Some(first), Some(last)) => return Ok(Span::Days(first, last)),
                (Some(_), None) => return Err(bad("enddateymd", "missing with startdateymd")),
                (None, Some(_)) => return Err(bad("startdateymd", "missing with enddateymd")),
                (None, None) => {}
            }
        }
        match (epoch(query, "startdate")?, epoch(query, "enddate")?) {
            (Some(start), Some(end)) if end < start => Err(bad("enddate", "before startdate")),
            (Some(start), Some(end)) => Ok(Span::Instants(start, end)),
            (Some(_), None) => Err(bad("enddate", "missing with startdate")),
            (None, Some(_)) => Err(bad("startdate", "missing with enddate")),
            (None, None) => match epoch(query, "lastupdate")? {
                Some(since) => Ok(Span::Since(since)),
                None if daily => Err(bad(
                    "startdateymd",
                    "missing (give startdateymd and enddateymd, or lastupdate)",
                )),
                None => Err(bad(
                    "startdate",
                    "missing (give startdate and enddate, or lastupdate)",
                )),
            },
        }
    }

    /// The member's local days that may hold a record the span keeps (a record
    /// may lie up to `reach` days from its day), never before 1970 nor after
    /// tomorrow, local time.
    fn days(self, offset: FixedOffset, now: DateTime<Utc>, reach: i64) -> Vec<NaiveDate> {
        let local = |secs: i64| {
            DateTime::from_timestamp(secs, 0)
                .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
                .with_timezone(&offset)
                .date_naive()
        };
        let today = now.with_timezone(&offset).date_naive();
        let (first, last) = match self {
            Span::Instants(start, end) => (local(start), local(end)),
            Span::Days(first, last) => (first, last),
            // Records are modified within a day of their own.
            Span::Since(since) => (local(since), today),
        };
        let widen =
            |d: NaiveDate, days: i64| d.checked_add_signed(Duration::days(days)).unwrap_or(d);
        let first = widen(first, -reach).max(first_day());
        let last = widen(last, reach).min(widen(today, 1));
        std::iter::successors(Some(first), |d| d.succ_opt())
            .take_while(|d| *d <= last)
            .collect()
    }

    /// Whether a record of local day `day`, dated `at`, modified at `modified`,
    /// is asked for.
    fn keeps(self, day: NaiveDate, at: i64, modified: i64) -> bool {
        match self {
            Span::Instants(start, end) => start <= at && at < end,
            Span::Days(first, last) => first <= day && day <= last,
            Span::Since(since) => modified >= since,
        }
    }
}

/// An epoch-seconds parameter.
fn epoch(query: &[(String, String)], name: &'static str) -> Result<Option<i64>, DataError> {
    single(query, name)?
        .map(|text| {
            text.parse::<i64>()
                .ok()
                .filter(|s| DateTime::from_timestamp(*s, 0).is_some())
                .ok_or_else(|| bad(name, "not a time in epoch seconds"))
        })
        .transpose()
}

/// A `YYYY-MM-DD` parameter.
fn ymd(query: &[(String, String)], name: &'static str) -> Result<Option<NaiveDate>, DataError> {
    single(query, name)?
        .map(|text| {
            NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map_err(|_| bad(name, "not a YYYY-MM-DD date"))
        })
        .transpose()
}

/// `offset`: how many records precede the page (default 0).
fn offset(query: &[(String, String)]) -> Result<usize, DataError> {
    single(query, "offset")?
        .map(|text| {
            text.parse::<usize>()
                .map_err(|_| bad("offset", "not a whole number"))
        })
        .transpose()
        .map(Option::unwrap_or_default)
}

/// `data_fields`: the fields asked for (`None`: every field).
fn data_fields(query: &[(String, String)]) -> Result<Option<Vec<String>>, DataError> {
    Ok(single(query, "data_fields")?.map(|text| {
        text.split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(str::to_owned)
            .collect()
    }))
}

/// One page of a daily endpoint (`getactivity` days, `getsummary` nights): each
/// local day's draft that is synced by `now` and selected by the query, in time
/// order, `per_page` from the query's `offset`, rendered in the member's zone with
/// the `data_fields` it asks for; with `more` and the offset of the next page.
/// `keys` tells of a draft its local day, the instant `startdate`/`enddate` select
/// it by (later days, later instants) and when it was synced.
fn daily_page<D, R>(
    user: &str,
    query: &[(String, String)],
    now: DateTime<Utc>,
    per_page: usize,
    draft: impl Fn(FixedOffset, NaiveDate) -> Option<D>,
    keys: impl Fn(&D) -> (NaiveDate, i64, i64),
    render: impl Fn(&str, &D, &dyn Fn(&str) -> bool) -> R,
) -> Result<(Vec<R>, bool, usize), DataError> {
    let span = Span::read(query, true)?;
    let fields = data_fields(query)?;
    let offset = offset(query)?;
    let (utc_offset, timezone) = zone(user)?;
    let mut drafts: Vec<D> = span
        .days(utc_offset, now, 1)
        .into_iter()
        .filter_map(|day| draft(utc_offset, day))
        .filter(|d| {
            let (day, at, modified) = keys(d);
            modified <= now.timestamp() && span.keeps(day, at, modified)
        })
        .collect();
    drafts.sort_by_key(|d| keys(d).1);
    let (drafts, more, next) = page(drafts, offset, per_page);
    let wanted = |name: &str| fields.as_ref().is_none_or(|f| f.iter().any(|x| x == name));
    let records = drafts
        .into_iter()
        .map(|d| render(&timezone, &d, &wanted))
        .collect();
    Ok((records, more, next))
}

/// One page of `records` from `offset`: the page, whether more follow, and the
/// offset of the next page (0 when none follows, as Withings sends it).
fn page<T>(mut records: Vec<T>, offset: usize, size: usize) -> (Vec<T>, bool, usize) {
    let start = offset.min(records.len());
    let end = start.saturating_add(size).min(records.len());
    let more = end < records.len();
    records.truncate(end);
    let page = records.split_off(start);
    (page, more, if more { end } else { 0 })
}

/// A local time: `minutes` after (or before) midnight starting `day`.
fn local(offset: FixedOffset, day: NaiveDate, minutes: i64) -> Option<DateTime<FixedOffset>> {
    offset
        .from_local_datetime(&day.and_hms_opt(0, 0, 0)?)
        .single()?
        .checked_add_signed(Duration::minutes(minutes))
}

/// Days since 1970-01-01 (the person's days are all after it).
fn day_number(day: NaiveDate) -> u64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    u64::try_from((day - epoch).num_days()).unwrap_or(0)
}

/// A record id unique per user: a 10-digit base per user and `series`, then
/// `slots` ids per day.
fn record_id(user: &str, series: &str, day: NaiveDate, slots: u64, slot: u64) -> u64 {
    // 60 000 days (to 2134) of up to 8 slots fit under 500 000 apart.
    let base = 1_000_000_000 + (person::hash(&[user, series, "id"]) % 17_000) * 500_000;
    base + day_number(day) * slots + slot
}

/// A 40-hex-digit device id, stable per user and device.
fn device_id(user: &str, device: &str) -> String {
    let part = |n: &str| person::hash(&[user, device, n]);
    format!(
        "{:016x}{:016x}{:08x}",
        part("1"),
        part("2"),
        part("3") >> 32
    )
}

/// A value from `lo` to `hi` (both included), picked by `seed`.
fn pick(seed: u64, lo: i64, hi: i64) -> i64 {
    let span = u64::try_from(hi - lo + 1).unwrap_or(1).max(1);
    lo + i64::try_from(seed % span).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_walk_the_records_and_say_where_the_next_starts() {
        let records: Vec<u32> = (0..25).collect();
        assert_eq!(
            page(records.clone(), 0, 10),
            ((0..10).collect::<Vec<_>>(), true, 10)
        );
        assert_eq!(
            page(records.clone(), 20, 10),
            ((20..25).collect::<Vec<_>>(), false, 0)
        );
        assert_eq!(page(records, 99, 10), (vec![], false, 0));
    }

    #[test]
    fn etc_zones_invert_the_sign() {
        let east = |h: i32| FixedOffset::east_opt(h * 3600).unwrap();
        assert_eq!(zone_name(east(-3)).as_deref(), Some("Etc/GMT+3"));
        assert_eq!(zone_name(east(2)).as_deref(), Some("Etc/GMT-2"));
        assert_eq!(zone_name(FixedOffset::east_opt(-1800).unwrap()), None);
    }

    #[test]
    fn record_ids_differ_per_day_and_slot() {
        let d = NaiveDate::from_ymd_opt(2026, 11, 19).unwrap();
        let next = d.succ_opt().unwrap();
        let a = record_id("alice", "meas", d, 4, 0);
        assert_eq!(record_id("alice", "meas", d, 4, 1), a + 1);
        assert_eq!(record_id("alice", "meas", next, 4, 0), a + 4);
        assert!((1_000_000_000..10_000_000_000).contains(&a));
    }
}
