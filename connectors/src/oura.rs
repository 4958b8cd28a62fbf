//! Oura (API v2): the ring's daily activity, sleep periods, heart rate, SpO2,
//! skin-temperature deviation and workouts.
//!
//! Policy: Oura documents its payloads (OpenAPI "Oura API Documentation" 2.0,
//! `https://cloud.ouraring.com/v2/docs`), so a record that breaks the documented
//! shape fails the page with a [`ParseError`] naming the field path; a null metric,
//! a deleted or rejected sleep period, or a period that ends before it starts is left
//! out and listed in [`Page::skipped`]. Numbers keep the text Oura sent; seconds
//! become minutes by exact decimal division (module `decimal`). Every time keeps the offset
//! Oura wrote; a daily value spans the local midnights of its `day` at the offset of
//! the record's `timestamp` (Oura gives no IANA zone, so the offset at 04:00 of that
//! day stands for both midnights: on a DST-change day one of the two instants is off
//! by the change, but the day itself never moves).
//!
//! The data API: `GET {api_base}/v2/usercollection/{endpoint}` with a bearer token,
//! `start_date`/`end_date` (`YYYY-MM-DD`; `start_datetime`/`end_datetime` for
//! heart rate) and `next_token` as the cursor, answering
//! `{"data": [...], "next_token": "…" | null}`.
//!
//! Notifications are per vendor APP, not per member: see [`push`] and
//! [`Oura::app_subscription_requests`].

mod decimal;
mod parse;
pub mod push;
mod records;
pub mod subscription;
#[cfg(test)]
mod tests;

use crate::connector::{
    ClientAuth, Connector, ConnectorError, DataTypeSpec, Delivery, HttpRequest, Manifest, Page,
    ParseError, PushAuth, RateLimits, TimeWindow, TokenStyle,
};
use crate::push::{PushError, PushNotice};
use crate::registry::Endpoints;
use crate::sample::{DataType, Metric};
use crate::AppCall;
use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};

pub use subscription::{AppRequest, AppSubscription};

/// The vendor id.
pub const VENDOR: &str = "oura";

/// How a data type's endpoint takes its time range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Range {
    /// `start_date`/`end_date`, the member's local days.
    Dates,
    /// `start_datetime`/`end_datetime`, instants.
    Datetimes,
}

/// One data type: what it is called, what it needs, where it is read.
struct TypeInfo {
    /// The metrics its samples carry.
    metrics: &'static [Metric],
    id: &'static str,
    label: &'static str,
    description: &'static str,
    scope: &'static str,
    /// The `usercollection` endpoint that serves it.
    endpoint: &'static str,
    range: Range,
    /// The webhook `data_type` that announces its changes (`None`: heart rate has no
    /// webhook; it is only polled).
    webhook: Option<&'static str>,
    /// Reads one record of the response's `data` array.
    record: records::RecordFn,
}

/// Scopes from Oura's authentication page (`cloud.ouraring.com/docs/authentication`,
/// "Scopes"): `daily` covers the daily summaries of sleep, activity and readiness
/// (sleep periods and readiness included), `heartrate` the time series, `workout`,
/// `spo2` the nightly average.
const TYPES: [TypeInfo; 6] = [
    TypeInfo {
        id: "daily_activity",
        metrics: &[
            Metric::StepsDaily,
            Metric::ActiveEnergy,
            Metric::EnergyBurnedDaily,
        ],
        label: "Daily activity",
        description: "Daily steps, active calories and total calories burned",
        scope: "daily",
        endpoint: "daily_activity",
        range: Range::Dates,
        webhook: Some("daily_activity"),
        record: records::daily_activity,
    },
    TypeInfo {
        id: "sleep",
        metrics: &[
            Metric::SleepDuration,
            Metric::SleepDeep,
            Metric::SleepLight,
            Metric::SleepRem,
            Metric::HeartRate,
            Metric::HrvRmssd,
        ],
        label: "Sleep",
        description: "Each sleep period: total, deep, light and REM sleep, with the average \
                      heart rate and heart-rate variability while asleep",
        scope: "daily",
        endpoint: "sleep",
        range: Range::Dates,
        webhook: Some("sleep"),
        record: records::sleep,
    },
    TypeInfo {
        id: "heartrate",
        metrics: &[Metric::HeartRate],
        label: "Heart rate",
        description: "Heart rate readings through the day and night",
        scope: "heartrate",
        endpoint: "heartrate",
        range: Range::Datetimes,
        webhook: None,
        record: records::heartrate,
    },
    TypeInfo {
        id: "daily_spo2",
        metrics: &[Metric::Spo2],
        label: "Blood oxygen",
        description: "Average blood oxygen (SpO2) during each night's sleep",
        scope: "spo2",
        endpoint: "daily_spo2",
        range: Range::Dates,
        webhook: Some("daily_spo2"),
        record: records::daily_spo2,
    },
    // Oura has no temperature endpoint: the nightly deviation from the member's
    // baseline is a field of the daily readiness (one per day). The readiness
    // embedded in each sleep period carries it too, but per period, so a day with a
    // nap would yield two values for one day.
    TypeInfo {
        id: "temperature",
        metrics: &[Metric::SkinTemperatureDeviation],
        label: "Skin temperature",
        description: "Nightly skin temperature difference from your usual baseline",
        scope: "daily",
        endpoint: "daily_readiness",
        range: Range::Dates,
        webhook: Some("daily_readiness"),
        record: records::temperature,
    },
    TypeInfo {
        id: "workout",
        metrics: &[Metric::Workout],
        label: "Workouts",
        description: "Workouts: activity type, duration, calories and distance",
        scope: "workout",
        endpoint: "workout",
        range: Range::Dates,
        webhook: Some("workout"),
        record: records::workout,
    },
];

fn type_info(data_type: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.id == data_type)
}

/// Oura, in production or as the sandbox's twin.
#[derive(Debug, Clone)]
pub struct Oura {
    manifest: Manifest,
}

impl Oura {
    pub fn new(endpoints: &Endpoints) -> Self {
        let (authorize_url, token_url, revoke_url, api_base_url) = match endpoints {
            // Authorize and token URLs: Oura's authentication page. Revocation: Oura
            // documents no RFC 7009 endpoint; clients call
            // `https://api.ouraring.com/oauth/revoke?access_token=…` (see the report:
            // the hub's form POST with `token` is not that dialect).
            Endpoints::Production => (
                "https://cloud.ouraring.com/oauth/authorize".to_owned(),
                "https://api.ouraring.com/oauth/token".to_owned(),
                "https://api.ouraring.com/oauth/revoke".to_owned(),
                "https://api.ouraring.com".to_owned(),
            ),
            Endpoints::Sandbox { base } => {
                let base = format!("{}/{VENDOR}", base.trim_end_matches('/'));
                (
                    format!("{base}/oauth/authorize"),
                    format!("{base}/oauth/token"),
                    format!("{base}/oauth/revoke"),
                    base,
                )
            }
        };
        let data_types = TYPES
            .iter()
            .filter_map(|t| {
                Some(DataTypeSpec {
                    id: DataType::parse(t.id)?,
                    label: t.label,
                    description: t.description,
                    // `personal` too: `personal_info` names the member's Oura
                    // account, which webhook notifications identify them by.
                    scopes: vec![t.scope.to_owned(), "personal".to_owned()],
                    metrics: t.metrics,
                })
            })
            .collect();
        Self {
            manifest: Manifest {
                vendor: VENDOR,
                display_name: "Oura",
                authorize_url,
                token_url,
                revoke_url: Some(revoke_url),
                api_base_url,
                // "Space separated list of permissions" (authentication page).
                scope_separator: " ",
                data_types,
                // The API reference's FAQ: "limited to 5000 requests per 5-minute
                // period", i.e. 1000 a minute on average. Its rate-limit section adds a
                // per-application layer over all of an app's tokens without a figure,
                // so the app quota is left unpublished.
                rate_limits: RateLimits {
                    per_app_per_minute: None,
                    per_user_per_minute: Some(1000),
                },
                // Polled on a schedule: heart rate has no webhook, and webhooks only
                // say a document changed (the hub fetches it), so they make a sync
                // come sooner.
                delivery: Delivery::Poll,
                // Oura documents no history limit (data goes back to the ring's
                // setup); two years, as third-party clients (ex_oura) state.
                max_history_days: 730,
                notifies: true,
                push_auth: PushAuth::Signature,
                token_style: TokenStyle::Standard,
                // The API reference's OAuth examples send `client_id` and
                // `client_secret` in the form body, never HTTP Basic.
                client_auth: ClientAuth::RequestBody,
            },
        }
    }

    /// The requests that subscribe the vendor APP to notifications at
    /// `callback_url`: one per webhook data type and event type (Oura wants a
    /// subscription for each pair). Sent with the app's credentials, not a
    /// member's token: see [`AppRequest::headers`].
    pub fn app_subscription_requests(
        &self,
        callback_url: &str,
        verification_token: &str,
    ) -> Vec<AppRequest> {
        subscription::create_requests(
            &self.manifest.api_base_url,
            TYPES.iter().filter_map(|t| t.webhook),
            callback_url,
            verification_token,
        )
    }

    /// The request that lists the app's subscriptions (to renew them before their
    /// `expiration_time`, or to see which exist).
    pub fn app_subscription_list_request(&self) -> AppRequest {
        subscription::list_request(&self.manifest.api_base_url)
    }

    /// The request that renews subscription `id`; `None` when `id` is not an id
    /// Oura issues (letters, digits and `-`).
    pub fn app_subscription_renew_request(&self, id: &str) -> Option<AppRequest> {
        subscription::renew_request(&self.manifest.api_base_url, id)
    }

    /// The subscriptions in an answer of the webhook API (a list, or the one
    /// subscription a create or renew call returns).
    pub fn parse_app_subscriptions(body: &[u8]) -> Result<Vec<AppSubscription>, ParseError> {
        subscription::parse(body)
    }

    /// The answer to Oura's verification GET at the callback URL: the JSON body
    /// `{"challenge": …}` when its `verification_token` is `expected_token`.
    pub fn answer_challenge(
        query: &[(String, String)],
        expected_token: &str,
    ) -> Result<String, PushError> {
        subscription::answer_challenge(query, expected_token)
    }
}

/// A call of the app-level webhook API with the app's credentials.
fn app_call(r: AppRequest, client_id: &str, client_secret: &str) -> AppCall {
    AppCall {
        headers: r.headers(client_id, client_secret),
        method: r.http.method,
        url: r.http.url,
        json_body: r.json_body,
    }
}

impl Connector for Oura {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// Oura's dialect: the access token in the query of its revoke URL, no client
    /// credentials.
    fn revoke_style(&self) -> crate::RevokeStyle {
        match &self.manifest.revoke_url {
            Some(url) => crate::RevokeStyle::AccessTokenQuery {
                url: url.clone(),
                param: "access_token",
            },
            None => crate::RevokeStyle::None,
        }
    }

    fn app_subscribe_requests(
        &self,
        callback_url: &str,
        verification_token: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Vec<AppCall> {
        self.app_subscription_requests(callback_url, verification_token)
            .into_iter()
            .map(|r| app_call(r, client_id, client_secret))
            .collect()
    }

    fn app_subscription_list(&self, client_id: &str, client_secret: &str) -> Option<AppCall> {
        Some(app_call(
            self.app_subscription_list_request(),
            client_id,
            client_secret,
        ))
    }

    fn app_subscription_renewals(
        &self,
        list_body: &[u8],
        callback_prefix: &str,
        before: DateTime<Utc>,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Vec<AppCall>, ParseError> {
        Ok(Oura::parse_app_subscriptions(list_body)?
            .into_iter()
            .filter(|s| s.callback_url.starts_with(callback_prefix) && s.expiration_time < before)
            .filter_map(|s| self.app_subscription_renew_request(&s.id))
            .map(|r| app_call(r, client_id, client_secret))
            .collect())
    }

    fn answer_challenge(
        &self,
        query: &[(String, String)],
        expected_token: &str,
    ) -> Option<Result<String, PushError>> {
        Some(Oura::answer_challenge(query, expected_token))
    }

    fn account_request(&self) -> Option<HttpRequest> {
        Some(HttpRequest {
            method: "GET",
            url: format!(
                "{}/v2/usercollection/personal_info",
                self.manifest.api_base_url
            ),
            query: Vec::new(),
            form: Vec::new(),
        })
    }

    fn parse_account(&self, body: &[u8]) -> Result<String, ParseError> {
        crate::connector::account_field(VENDOR, body, "id")
    }

    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError> {
        let Some(info) = type_info(data_type.as_str()) else {
            return Err(ConnectorError::UnknownDataType {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
            });
        };
        let mut query = match info.range {
            Range::Dates => date_range(window),
            Range::Datetimes => {
                // Whole seconds, widened: the start rounded down, the end up.
                let time = |t: DateTime<Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
                let end = match window.end.timestamp_subsec_nanos() {
                    0 => window.end,
                    _ => DateTime::from_timestamp(window.end.timestamp().saturating_add(1), 0)
                        .unwrap_or(window.end),
                };
                vec![
                    ("start_datetime".to_owned(), time(window.start)),
                    ("end_datetime".to_owned(), time(end)),
                ]
            }
        };
        if let Some(cursor) = cursor {
            query.push(("next_token".to_owned(), cursor.to_owned()));
        }
        Ok(HttpRequest {
            method: "GET",
            url: format!(
                "{}/v2/usercollection/{}",
                self.manifest.api_base_url, info.endpoint
            ),
            query,
            form: Vec::new(),
        })
    }

    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError> {
        match type_info(data_type.as_str()) {
            Some(info) => parse::page(info.id, info.record, body),
            None => Err(ParseError {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
                path: "$".to_owned(),
                problem: "Oura has no such data type here".to_owned(),
            }),
        }
    }

    // Subscriptions are per app (`app_subscription_requests`), so there is no
    // per-connection `subscribe_request`.

    fn verify_push(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), PushError> {
        push::verify(headers, body, secret, now)
    }

    fn parse_push(&self, body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
        push::parse(body)
    }
}

/// `start_date`/`end_date` for a window of instants. The dates are the member's
/// local days, which Oura does not tell us the zone of, and the endpoints disagree on
/// whether the bounds are inclusive (Oura's pages are silent; clients report that
/// `sleep` excludes its start date and that a date-only `end_date` reads as its
/// midnight). So the range is one UTC date wider on each side: every local day that
/// overlaps the window, in any zone, is asked for; a record fetched twice is the same
/// record (its id makes it one Observation).
fn date_range(window: TimeWindow) -> Vec<(String, String)> {
    let (first, last) = (window.start.date_naive(), window.end.date_naive());
    let first = first.checked_sub_days(Days::new(1)).unwrap_or(first);
    let last = last.checked_add_days(Days::new(1)).unwrap_or(last);
    let text = |d: NaiveDate| d.format("%Y-%m-%d").to_string();
    vec![
        ("start_date".to_owned(), text(first)),
        ("end_date".to_owned(), text(last)),
    ]
}
