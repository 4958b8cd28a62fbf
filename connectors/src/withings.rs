//! Withings: scales, blood-pressure monitors, thermometers, watches and sleep
//! monitors, through the Withings Public Health Data API.
//!
//! Policy: Withings speaks OAuth 2 with its own token dialect (`action=requesttoken`
//! in the request, the answer wrapped in `{"status": 0, "body": {…}}`, refresh
//! tokens that rotate) and answers every data request with HTTP 200 and a `status`
//! in the body, which [`Connector::effective_status`] turns into the HTTP status it
//! stands for. Data requests are `POST`s with a form body (`action=…`), paged by
//! `offset` while the answer says `more`. Parsing follows the field rules of the
//! module of each data type ([`measures`], [`activity`], [`sleep`]): valid records
//! Tributary does not map are left out and counted, a payload of the wrong shape
//! fails with the path of the field at fault, never a panic.
//!
//! Sources (Withings developer documentation, read through its published OpenAPI
//! reference and developer guide): the OAuth and data endpoints, `meastype`,
//! `attrib` and `position` tables, data fields and the response-status table from
//! the API reference; the 120 requests a minute per application, the notification
//! categories, payloads and delivery rules from the guide's "Keep user's data up
//! to date" and "Notification content" pages.

mod activity;
mod decimal;
mod device;
mod json;
mod measures;
pub mod push;
mod request;
pub mod revoke;
mod skip;
mod sleep;
mod status;
#[cfg(test)]
mod tests;
mod time;

use crate::connector::{
    ClientAuth, Connector, ConnectorError, DataTypeSpec, Delivery, HttpRequest, Manifest, Page,
    ParseError, PushAuth, RateLimits, TimeWindow, TokenStyle,
};
use crate::push::{PushError, PushNotice};
use crate::registry::Endpoints;
use crate::sample::{DataType, Metric};

/// The vendor id.
pub const VENDOR: &str = "withings";

/// Data type ids.
pub const BODY_MEASURES: &str = "body_measures";
pub const ACTIVITY: &str = "activity";
pub const SLEEP_SUMMARY: &str = "sleep_summary";

const AUTHORIZE_URL: &str = "https://account.withings.com/oauth2_user/authorize2";
const TOKEN_URL: &str = "https://wbsapi.withings.net/v2/oauth2";
const API_BASE_URL: &str = "https://wbsapi.withings.net";

/// One data type: what the member consents to, and the service that serves it.
struct TypeInfo {
    /// The metrics its samples carry.
    metrics: &'static [Metric],
    id: &'static str,
    label: &'static str,
    description: &'static str,
    scopes: &'static [&'static str],
}

// Scopes: `user.metrics` covers measures, `user.activity` activity and sleep (the
// Withings reference lists the scopes a token may carry as `user.info`,
// `user.metrics`, `user.activity`, `user.sleepevents`). Every type also asks for
// `user.info`: the notification category 46 that tells the hub a member unlinked
// Tributary is a `user.info` subscription.
const TYPES: [TypeInfo; 3] = [
    TypeInfo {
        id: BODY_MEASURES,
        metrics: &[
            Metric::BodyWeight,
            Metric::BodyHeight,
            Metric::BodyFat,
            Metric::BloodPressure,
            Metric::HeartRate,
            Metric::Spo2,
            Metric::BodyTemperature,
        ],
        label: "Body measurements",
        description: "Weight, height, body fat, blood pressure, pulse, blood oxygen and body \
                      temperature from your Withings scale, monitor or thermometer",
        scopes: &["user.metrics", "user.info"],
    },
    TypeInfo {
        id: ACTIVITY,
        metrics: &[
            Metric::StepsDaily,
            Metric::Distance,
            Metric::ActiveEnergy,
            Metric::EnergyBurnedDaily,
        ],
        label: "Daily activity",
        description: "Steps, distance and calories burned, day by day",
        scopes: &["user.activity", "user.info"],
    },
    TypeInfo {
        id: SLEEP_SUMMARY,
        metrics: &[
            Metric::SleepDuration,
            Metric::SleepDeep,
            Metric::SleepLight,
            Metric::SleepRem,
            Metric::HeartRate,
        ],
        label: "Sleep",
        description: "How long you slept each night, time in light, deep and REM sleep, and \
                      your average heart rate in bed",
        scopes: &["user.activity", "user.info"],
    },
];

/// Withings, in production or as the sandbox's twin.
#[derive(Debug, Clone)]
pub struct Withings {
    manifest: Manifest,
}

impl Withings {
    /// Production uses Withings' own endpoints; the sandbox serves the same API
    /// paths under `{base}/withings` and its OAuth under `{base}/withings/oauth/…`.
    pub fn new(endpoints: &Endpoints) -> Self {
        let (authorize_url, token_url, api_base_url) = match endpoints {
            Endpoints::Production => (
                AUTHORIZE_URL.to_owned(),
                TOKEN_URL.to_owned(),
                API_BASE_URL.to_owned(),
            ),
            Endpoints::Sandbox { base } => {
                let base = format!("{}/{VENDOR}", base.trim_end_matches('/'));
                (
                    format!("{base}/oauth/authorize"),
                    format!("{base}/oauth/token"),
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
                    scopes: t.scopes.iter().map(|s| (*s).to_owned()).collect(),
                    metrics: t.metrics,
                })
            })
            .collect();
        Self {
            manifest: Manifest {
                vendor: VENDOR,
                display_name: "Withings",
                authorize_url,
                token_url,
                // Withings has no RFC 7009 endpoint: its own signed
                // `action=revoke` is `Connector::revoke_style`.
                revoke_url: None,
                api_base_url,
                // The authorization URL takes "a comma-separated list of scopes".
                scope_separator: ",",
                data_types,
                // "Standard Withings API applications are limited to 120 requests
                // per minute" (developer guide), for the whole application; no
                // per-user quota is published.
                rate_limits: RateLimits {
                    per_app_per_minute: Some(120),
                    per_user_per_minute: None,
                },
                // Withings asks partners to sync on its notifications rather than
                // poll; the hub still fetches the data itself.
                delivery: Delivery::Push,
                // The reference documents no limit on how far back getmeas,
                // getactivity or getsummary reach; ten years bounds a backfill.
                max_history_days: 3650,
                notifies: true,
                push_auth: PushAuth::CallbackToken,
                token_style: TokenStyle::WithingsEnvelope,
                // The token request carries client_id and client_secret in its form.
                client_auth: ClientAuth::RequestBody,
            },
        }
    }

    fn unknown(data_type: &DataType) -> ConnectorError {
        ConnectorError::UnknownDataType {
            vendor: VENDOR.to_owned(),
            data_type: data_type.to_string(),
        }
    }
}

impl Connector for Withings {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError> {
        let base = &self.manifest.api_base_url;
        match data_type.as_str() {
            BODY_MEASURES => Ok(request::measures(base, window, cursor)),
            ACTIVITY => Ok(request::activity(base, window, cursor)),
            SLEEP_SUMMARY => Ok(request::sleep(base, window, cursor)),
            _ => Err(Self::unknown(data_type)),
        }
    }

    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError> {
        match data_type.as_str() {
            BODY_MEASURES => measures::page(body),
            ACTIVITY => activity::page(body),
            SLEEP_SUMMARY => sleep::page(body),
            _ => Err(ParseError {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
                path: "$".to_owned(),
                problem: "Withings has no such data type".to_owned(),
            }),
        }
    }

    fn effective_status(&self, http_status: u16, body: &[u8]) -> u16 {
        status::effective(http_status, body)
    }

    /// Withings' signed `action=revoke` ([`revoke`]), below the API base URL.
    fn revoke_style(&self) -> crate::RevokeStyle {
        let base = self.manifest.api_base_url.trim_end_matches('/');
        crate::RevokeStyle::WithingsSigned {
            nonce_url: format!("{base}{}", revoke::NONCE_PATH),
            revoke_url: format!("{base}{}", revoke::REVOKE_PATH),
        }
    }

    fn subscribe_request(&self, callback_url: &str) -> Option<HttpRequest> {
        self.subscribe_requests(callback_url).into_iter().next()
    }

    /// Every subscription a member needs: one `POST /notify` per category in
    /// [`push::SUBSCRIBED_APPLIS`].
    fn subscribe_requests(&self, callback_url: &str) -> Vec<HttpRequest> {
        push::SUBSCRIBED_APPLIS
            .iter()
            .map(|appli| request::subscribe(&self.manifest.api_base_url, callback_url, *appli))
            .collect()
    }

    /// Withings signs nothing: a notification is authenticated by the token in
    /// the callback URL the hub registered ([`PushAuth::CallbackToken`]), which the
    /// hub checks before calling this. The body has nothing more to check.
    fn verify_push(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        secret: &[u8],
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<(), PushError> {
        let _ = (headers, body, secret, now);
        Ok(())
    }

    fn parse_push(&self, body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
        push::parse(body)
    }
}
