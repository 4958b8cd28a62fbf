//! Garmin: the Garmin Connect Developer Program's Health API and Activity API.
//!
//! Policy: Garmin is push-first. Members' summaries reach the hub as push
//! notifications (the data itself, [`crate::PushEvent::Samples`]) or pings (a window to
//! pull, [`crate::PushEvent::NewData`]); history is requested with a backfill call and then
//! arrives by push as well. Garmin signs nothing: the hub puts a token in the
//! endpoint URL it configures at Garmin ([`PushAuth::CallbackToken`]). A ping's
//! `callbackURL` is never followed or kept: the hub pulls with its own requests.
//! Parsing keeps every number's text, every time's UTC offset, and fails a record of
//! the wrong shape with the path of the field at fault.
//!
//! Where the figures come from (read through public copies, since Garmin's own
//! specifications are behind the developer-program login):
//! - OAuth 2 with PKCE: the authorize and token URLs, client credentials in the form
//!   body, no `scope` parameter (members pick what they share on Garmin's consent
//!   screen, as app-level permissions `ACTIVITY_EXPORT`, `HEALTH_EXPORT`,
//!   `HISTORICAL_DATA_EXPORT`): Nango's "Garmin (OAuth2)" pages
//!   (nango.dev/docs/api-integrations/garmin-oauth2), the-momentum/open-wearables
//!   `backend/app/services/providers/garmin/oauth.py`, and a public summary of
//!   Garmin's OAuth2 PKCE spec and Health API 1.2.3 (a "Garmin Connect Developer
//!   Program — API Reference" markdown file). No RFC 7009 revocation endpoint is
//!   documented: a member is deregistered with
//!   `DELETE {api_base}/user/registration` (answers 204), and the member's id comes
//!   from `GET {api_base}/user/id` (`{"userId": …}`), not from the token response.
//! - Push and ping bodies, summary field names and units: the real push bodies in
//!   RADAR-base/RADAR-PushEndpoint's Garmin tests (shared/vendor-samples/garmin) and
//!   the API summary above; `userPermissionsChange` and `deregistrations` as
//!   open-wearables' `handlers/lifecycle.py` reads them.
//! - Pulls: `GET {api_base}/{summary}?uploadStartTimeInSeconds=…&uploadEndTimeInSeconds=…`,
//!   at most 86 400 s per call, answering a bare JSON array. Caution: Garmin now
//!   wants a pull token on pulls, the `token` parameter of a ping's `callbackURL`
//!   (open-wearables' `pull_token.py`; watt-mind/coach PR #268 saw
//!   `400 InvalidPullTokenException` without it). These pulls carry none, since the
//!   URL is not kept; push mode needs no pull at all.
//! - Backfill: `GET {api_base}/backfill/{summary}?summaryStartTimeInSeconds=…&summaryEndTimeInSeconds=…`
//!   answers 202 and delivers by push; a repeated window answers 409. At most 90 days
//!   per request for health summaries and 30 for activities (the API summary), and
//!   history reaches 30 days before the member first connected (the API summary's
//!   "1 month since first connection"; open-wearables PR #529 found requests beyond
//!   it answered 401), hence [`MAX_HISTORY_DAYS`].

mod decimal;
mod parse;
pub mod push;
mod read;
mod readings;
mod summaries;
#[cfg(test)]
mod tests;

use crate::connector::{
    ClientAuth, Connector, ConnectorError, DataTypeSpec, Delivery, HttpRequest, Manifest, Page,
    ParseError, PushAuth, RateLimits, TimeWindow, TokenStyle,
};
use crate::push::{PushError, PushNotice};
use crate::registry::Endpoints;
use crate::sample::{DataType, Metric};
use chrono::{DateTime, Utc};

/// The vendor id.
pub const VENDOR: &str = "garmin";

/// Production OAuth endpoints (Garmin's 2024+ OAuth 2.0 PKCE flow).
const AUTHORIZE_URL: &str = "https://connect.garmin.com/oauth2Confirm";
const TOKEN_URL: &str = "https://diauth.garmin.com/di-oauth2-service/oauth/token";
/// Production API: the Health and Activity APIs share this base.
const API_BASE: &str = "https://apis.garmin.com/wellness-api/rest";

/// The longest upload window one pull may ask for.
pub const PULL_CHUNK_SECS: i64 = 86_400;
/// How far back history reaches: 30 days before the member's first connection.
pub const MAX_HISTORY_DAYS: u32 = 30;
/// The longest window one backfill request may name (the activities limit; health
/// summaries allow 90 days, and no backfill window can exceed the 30-day history).
pub const BACKFILL_MAX_DAYS: u32 = 30;

/// How one data type's records read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dailies,
    Sleeps,
    BodyComps,
    PulseOx,
    Respiration,
    Hrv,
    BloodPressures,
    Activities,
}

/// The Garmin permission that shares health summaries.
const HEALTH_EXPORT: &str = "HEALTH_EXPORT";
/// The Garmin permission that shares activities.
const ACTIVITY_EXPORT: &str = "ACTIVITY_EXPORT";

/// One Garmin summary type offered as a data type.
struct TypeInfo {
    /// The metrics its samples carry.
    metrics: &'static [Metric],
    id: &'static str,
    label: &'static str,
    description: &'static str,
    /// Names of the type's list in push and ping bodies; the first is the one
    /// Garmin documents, the others are spellings seen in the field.
    push_keys: &'static [&'static str],
    /// The path segment under the API base, for pulls and backfill.
    path: &'static str,
    /// The Garmin permission a member grants to share it.
    permission: &'static str,
    kind: Kind,
}

const TYPES: [TypeInfo; 8] = [
    TypeInfo {
        id: "dailies",
        metrics: &[
            Metric::StepsDaily,
            Metric::Distance,
            Metric::ActiveEnergy,
            Metric::RestingHeartRateDaily,
            Metric::MaxHeartRate24h,
        ],
        label: "Daily activity",
        description: "Steps, distance, active calories and resting and maximum heart rate, per day",
        push_keys: &["dailies"],
        path: "dailies",
        permission: HEALTH_EXPORT,
        kind: Kind::Dailies,
    },
    TypeInfo {
        id: "sleeps",
        metrics: &[
            Metric::SleepDuration,
            Metric::SleepDeep,
            Metric::SleepLight,
            Metric::SleepRem,
        ],
        label: "Sleep",
        description: "Time asleep each night, with deep, light and REM sleep",
        push_keys: &["sleeps"],
        path: "sleeps",
        permission: HEALTH_EXPORT,
        kind: Kind::Sleeps,
    },
    TypeInfo {
        id: "body_compositions",
        metrics: &[Metric::BodyWeight, Metric::Bmi, Metric::BodyFat],
        label: "Body composition",
        description: "Weight, BMI and body fat from a scale or entered by hand",
        push_keys: &["bodyComps"],
        path: "bodyComps",
        permission: HEALTH_EXPORT,
        kind: Kind::BodyComps,
    },
    TypeInfo {
        id: "pulse_ox",
        metrics: &[Metric::Spo2],
        label: "Pulse oximetry",
        description: "Blood oxygen saturation (SpO2) readings",
        push_keys: &["pulseox", "pulseOx"],
        path: "pulseOx",
        permission: HEALTH_EXPORT,
        kind: Kind::PulseOx,
    },
    TypeInfo {
        id: "respiration",
        metrics: &[Metric::RespiratoryRate],
        label: "Respiration",
        description: "Breathing rate through the day and night",
        push_keys: &["allDayRespiration", "respiration"],
        path: "respiration",
        permission: HEALTH_EXPORT,
        kind: Kind::Respiration,
    },
    TypeInfo {
        id: "hrv",
        metrics: &[Metric::HrvRmssd],
        label: "Heart rate variability",
        description: "Average overnight heart rate variability (RMSSD)",
        push_keys: &["hrv"],
        path: "hrv",
        permission: HEALTH_EXPORT,
        kind: Kind::Hrv,
    },
    TypeInfo {
        id: "blood_pressures",
        metrics: &[Metric::BloodPressure, Metric::HeartRate],
        label: "Blood pressure",
        description: "Blood pressure and pulse readings",
        push_keys: &["bloodPressures"],
        path: "bloodPressures",
        permission: HEALTH_EXPORT,
        kind: Kind::BloodPressures,
    },
    TypeInfo {
        id: "activities",
        metrics: &[Metric::Workout],
        label: "Activities",
        description: "Workouts: type, duration, active calories and distance",
        // Activities a member edits by hand come as `manuallyUpdatedActivities`,
        // in the same shape.
        push_keys: &["activities", "manuallyUpdatedActivities"],
        path: "activities",
        permission: ACTIVITY_EXPORT,
        kind: Kind::Activities,
    },
];

fn type_info(data_type: &str) -> Option<&'static TypeInfo> {
    TYPES.iter().find(|t| t.id == data_type)
}

/// The data types a member shares while holding `permissions` (Garmin's names), in
/// manifest order; unknown permissions are ignored.
pub fn data_types_for_permissions<S: AsRef<str>>(permissions: &[S]) -> Vec<DataType> {
    TYPES
        .iter()
        .filter(|t| permissions.iter().any(|p| p.as_ref() == t.permission))
        .filter_map(|t| DataType::parse(t.id))
        .collect()
}

/// The Garmin connector.
#[derive(Debug, Clone)]
pub struct Garmin {
    manifest: Manifest,
}

impl Garmin {
    pub fn new(endpoints: &Endpoints) -> Self {
        let (authorize_url, token_url, api_base_url) = match endpoints {
            Endpoints::Production => (
                AUTHORIZE_URL.to_owned(),
                TOKEN_URL.to_owned(),
                API_BASE.to_owned(),
            ),
            Endpoints::Sandbox { base } => {
                let base = format!("{}/{VENDOR}", base.trim_end_matches('/'));
                (
                    format!("{base}/oauth/authorize"),
                    format!("{base}/oauth/token"),
                    format!("{base}/wellness-api/rest"),
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
                    // Garmin has no OAuth scopes: what a member shares is chosen on
                    // Garmin's consent screen and reported as permissions
                    // (`GET {api_base}/user/permissions`, `userPermissionsChange`).
                    scopes: Vec::new(),
                    metrics: t.metrics,
                })
            })
            .collect();
        Self {
            manifest: Manifest {
                vendor: VENDOR,
                display_name: "Garmin Connect",
                authorize_url,
                token_url,
                // No RFC 7009 endpoint; see the module doc for deregistration.
                revoke_url: None,
                api_base_url,
                // Unused (no scopes); RFC 6749's separator.
                scope_separator: " ",
                data_types,
                // Garmin publishes quotas only to program members. Public reports of
                // them: 100 calls a minute for an evaluation key (open-wearables'
                // `backfill_config.py`), backfill of 100 days of data a minute
                // (evaluation) or 10 000 (production), and about 200 calls a member a
                // day (evaluation). The evaluation app quota is the safe figure; the
                // per-member one is per day, so it is not stated per minute here.
                rate_limits: RateLimits {
                    per_app_per_minute: Some(100),
                    per_user_per_minute: None,
                },
                delivery: Delivery::Push,
                max_history_days: MAX_HISTORY_DAYS,
                notifies: true,
                push_auth: PushAuth::CallbackToken,
                token_style: TokenStyle::Standard,
                client_auth: ClientAuth::RequestBody,
            },
        }
    }

    /// The cursor of the pull after the one `build_request` made for `window` from
    /// `cursor`: the next 86 400-second chunk's start, or `None` after the last.
    /// A pull's body is a bare array that names no next page, so [`Connector::parse`]
    /// cannot say; the hub asks here to walk a window longer than a day.
    pub fn next_cursor(&self, window: TimeWindow, cursor: Option<&str>) -> Option<String> {
        let (_, end) = pull_chunk(window, cursor);
        (end < ceil_secs(window.end)).then(|| end.to_string())
    }

    fn unknown(&self, data_type: &DataType) -> ConnectorError {
        ConnectorError::UnknownDataType {
            vendor: VENDOR.to_owned(),
            data_type: data_type.to_string(),
        }
    }
}

fn ceil_secs(t: DateTime<Utc>) -> i64 {
    t.timestamp() + i64::from(t.timestamp_subsec_nanos() > 0)
}

/// The upload window `[start, end)` in Unix seconds that one pull covers: from the
/// cursor (a chunk start this connector made) or the window's start, at most a day.
/// A cursor that is not a number counts as none.
fn pull_chunk(window: TimeWindow, cursor: Option<&str>) -> (i64, i64) {
    let end = ceil_secs(window.end);
    let start = cursor
        .and_then(|c| c.parse::<i64>().ok())
        .unwrap_or(window.start.timestamp())
        .min(end);
    (start, end.min(start.saturating_add(PULL_CHUNK_SECS)))
}

impl Connector for Garmin {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// `DELETE user/registration` with the member's token ends the member's
    /// registration with the app (Garmin then sends nothing more for the member).
    fn revoke_style(&self) -> crate::RevokeStyle {
        crate::RevokeStyle::BearerDelete {
            url: format!("{}/user/registration", self.manifest.api_base_url),
        }
    }

    fn account_request(&self) -> Option<HttpRequest> {
        Some(HttpRequest {
            method: "GET",
            url: format!("{}/user/id", self.manifest.api_base_url),
            query: Vec::new(),
            form: Vec::new(),
        })
    }

    fn parse_account(&self, body: &[u8]) -> Result<String, ParseError> {
        crate::connector::account_field(VENDOR, body, "userId")
    }

    fn chunk_cursor(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Option<String> {
        let _ = data_type;
        self.next_cursor(window, cursor)
    }

    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError> {
        let info = type_info(data_type.as_str()).ok_or_else(|| self.unknown(data_type))?;
        let (start, end) = pull_chunk(window, cursor);
        Ok(HttpRequest {
            method: "GET",
            url: format!("{}/{}", self.manifest.api_base_url, info.path),
            query: vec![
                ("uploadStartTimeInSeconds".to_owned(), start.to_string()),
                ("uploadEndTimeInSeconds".to_owned(), end.to_string()),
            ],
            form: Vec::new(),
        })
    }

    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError> {
        match type_info(data_type.as_str()) {
            Some(info) => parse::page(info, body),
            None => Err(ParseError {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
                path: "$".to_owned(),
                problem: "Garmin has no such data type".to_owned(),
            }),
        }
    }

    /// Garmin pushes (or pings) every upload; fetches it did not announce are not
    /// its documented path.
    fn polls_on_schedule(&self) -> bool {
        false
    }

    fn backfill_request(&self, data_type: &DataType, window: TimeWindow) -> Option<HttpRequest> {
        let info = type_info(data_type.as_str())?;
        Some(HttpRequest {
            method: "GET",
            url: format!("{}/backfill/{}", self.manifest.api_base_url, info.path),
            query: vec![
                (
                    "summaryStartTimeInSeconds".to_owned(),
                    window.start.timestamp().to_string(),
                ),
                (
                    "summaryEndTimeInSeconds".to_owned(),
                    ceil_secs(window.end).to_string(),
                ),
            ],
            form: Vec::new(),
        })
    }

    /// Garmin's push endpoints are set per app in its Endpoint Configuration Tool,
    /// not per member: there is nothing to subscribe.
    fn subscribe_request(&self, callback_url: &str) -> Option<HttpRequest> {
        let _ = callback_url;
        None
    }

    /// Garmin signs nothing; the hub checks the token in the URL it configured
    /// ([`PushAuth::CallbackToken`]).
    fn verify_push(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), PushError> {
        let _ = (headers, body, secret, now);
        Ok(())
    }

    fn parse_push(&self, body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
        push::parse(body)
    }
}
