//! The `dexcom` vendor: Dexcom's public Web API, version 3 (continuous glucose
//! monitors G6, G7, ONE, ONE+).
//!
//! Policy: a reading keeps the instant the sensor's system clock gave it
//! (`systemTime`, UTC) and the UTC offset the member's display device showed
//! (`displayTime` minus `systemTime`, rounded to the quarter hour: see
//! `dexcom/time.rs`). A record Dexcom sends without a glucose value, or in a unit
//! it calls `unknown`, is left out and counted in [`Page::skipped`]; a payload of
//! the wrong shape is a [`ParseError`] naming the field, never a panic. Glucose
//! values keep the text Dexcom sent.
//!
//! Where the figures come from (developer.dexcom.com, read through the search tool):
//! - Authentication (`/docs/dexcom/authentication`): authorization code flow at
//!   `https://api.dexcom.com/v2/oauth2/login` with `scope=offline_access` (the only
//!   scope), token at `/v2/oauth2/token` with `client_id` and `client_secret` in the
//!   form body. The sandbox is `https://sandbox-api.dexcom.com` (same paths). No
//!   revocation endpoint is documented: a member revokes access at Dexcom. The
//!   refresh answer carries a new `refresh_token` (Dexcom's swaggerV3 example): the
//!   hub keeps the newest one.
//! - Endpoint overview (`/docs/dexcomv3/endpoint-overview`): 60,000 calls per app
//!   per hour, HTTP 429 beyond; production bases per region: US
//!   `https://api.dexcom.com`, EU and outside the US `https://api.dexcom.eu`, Japan
//!   `https://api.dexcom.jp`. This connector speaks to the US base only.
//! - egvs (`/docs/dexcomv3/operation/getEstimatedGlucoseValuesV3`):
//!   `GET /v3/users/self/egvs?startDate=…&endDate=…` (`2022-02-06T09:12:35`: UTC,
//!   no offset), answering `{"recordType", "recordVersion", "userId", "records": […]}`;
//!   `value` is an integer or null, `unit` one of `unknown`, `mg/dL`, `mmol/L`;
//!   `systemTime`/`displayTime` carry a UTC offset for records from the mobile apps
//!   and none for records from receivers.
//! - dataRange and devices (`getDataRangeV3`, `getDevicesV3`): see `dexcom/meta.rs`.
//!
//! Paging: Dexcom does not page; one request answers a whole time window, which may
//! span at most 30 days (stated by the api-evangelist/dexcom OpenAPI description
//! derived from Dexcom's docs; the Dexcom pages read do not state it in the parts the
//! search showed). [`Connector::build_request`] therefore asks for the sub-window
//! that starts at the cursor (the window's start without one) and is at most
//! [`MAX_REQUEST_DAYS`] long, and [`Dexcom::next_cursor`] names the next sub-window.
//! [`Connector::parse`] cannot: it sees only the body, which does not say which
//! window it answers, so the page it returns never has a `next_cursor`. A hub that
//! does not call `next_cursor` must keep Dexcom windows within 30 days, or it
//! fetches only the first 30 days of a longer one.
//!
//! History: Dexcom documents no limit; [`MAX_HISTORY_DAYS`] is our assumption.

mod egvs;
mod glucose;
mod meta;
mod share;
#[cfg(test)]
mod tests;
mod time;

use crate::connector::{
    ClientAuth, Connector, ConnectorError, DataTypeSpec, Delivery, HttpRequest, Manifest, Page,
    ParseError, PushAuth, RateLimits, TimeWindow, TokenStyle,
};
use crate::sample::{DataType, Device, Metric};
use crate::Endpoints;
use chrono::{DateTime, Duration, SecondsFormat, Utc};

/// The vendor id.
pub const VENDOR: &str = "dexcom";

/// Estimated glucose values from `GET /v3/users/self/egvs`: the data type members
/// consent to.
pub const EGVS: &str = "egvs";

/// Readings in the shape of Dexcom **Share** (the unofficial follower API, not the
/// Web API): `{"WT": "/Date(…)/", "ST": …, "DT": "/Date(…+0000)/", "Value": 110,
/// "Trend": 4}`, alone or in an array. Parse-only: it is not in the manifest, so it
/// is never offered for consent or synced (Share takes the member's Dexcom password,
/// which the hub must never hold). Files in this shape are also read as [`EGVS`].
pub const SHARE_GLUCOSE: &str = "share_glucose";

/// The widest window one egvs request may ask for.
pub const MAX_REQUEST_DAYS: i64 = 30;

/// How far back history is fetched. Dexcom documents no limit (the dataRange
/// endpoint tells where a member's data starts); 90 days is our assumption.
pub const MAX_HISTORY_DAYS: u32 = 90;

/// The only OAuth scope Dexcom has.
const SCOPE: &str = "offline_access";

/// Dexcom's Web API, in production or behind the sandbox.
#[derive(Debug, Clone)]
pub struct Dexcom {
    manifest: Manifest,
}

impl Dexcom {
    pub fn new(endpoints: &Endpoints) -> Self {
        let (authorize_url, token_url, api_base_url) = match endpoints {
            // The sandbox base at Dexcom itself is https://sandbox-api.dexcom.com.
            Endpoints::Production => (
                "https://api.dexcom.com/v2/oauth2/login".to_owned(),
                "https://api.dexcom.com/v2/oauth2/token".to_owned(),
                "https://api.dexcom.com".to_owned(),
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
        let data_types = DataType::parse(EGVS)
            .map(|id| DataTypeSpec {
                id,
                label: "Glucose (CGM)",
                description: "Glucose readings from your Dexcom sensor, about every 5 minutes, \
                              with their trend arrows",
                scopes: vec![SCOPE.to_owned()],
                metrics: &[Metric::GlucoseCgm],
            })
            .into_iter()
            .collect();
        Self {
            manifest: Manifest {
                vendor: VENDOR,
                display_name: "Dexcom",
                authorize_url,
                token_url,
                revoke_url: None,
                api_base_url,
                scope_separator: " ",
                data_types,
                // 60,000 calls per app per hour, spread evenly; no per-user quota is
                // published.
                rate_limits: RateLimits {
                    per_app_per_minute: Some(1000),
                    per_user_per_minute: None,
                },
                delivery: Delivery::Poll,
                max_history_days: MAX_HISTORY_DAYS,
                notifies: false,
                // Unused: Dexcom sends no notifications.
                push_auth: PushAuth::CallbackToken,
                token_style: TokenStyle::Standard,
                client_auth: ClientAuth::RequestBody,
            },
        }
    }

    /// The cursor of the sub-window after the one [`Connector::build_request`] asks
    /// for with `cursor` in `window`; `None` when that one reaches the window's end.
    /// Dexcom answers one request in one body, so this, not the parsed page, is how a
    /// window longer than [`MAX_REQUEST_DAYS`] is walked: the hub must call it after
    /// each egvs page (whose own `next_cursor` is always `None`).
    pub fn next_cursor(&self, window: TimeWindow, cursor: Option<&str>) -> Option<String> {
        let sub = sub_window(window, cursor);
        (sub.end < whole_seconds(window).end)
            .then(|| sub.end.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    /// `GET /v3/users/self/dataRange`: the first and last record times of the
    /// member's data. Read with [`Dexcom::parse_data_range`].
    pub fn data_range_request(&self) -> HttpRequest {
        get(format!(
            "{}/v3/users/self/dataRange",
            self.manifest.api_base_url
        ))
    }

    /// The window holding every EGV of the member (`None` without any): fetch no
    /// further back than its start, and nothing new exists past its end.
    pub fn parse_data_range(&self, body: &[u8]) -> Result<Option<TimeWindow>, ParseError> {
        meta::data_range(body)
    }

    /// `GET /v3/users/self/devices`: the member's receivers and apps.
    pub fn devices_request(&self) -> HttpRequest {
        get(format!(
            "{}/v3/users/self/devices",
            self.manifest.api_base_url
        ))
    }

    /// The member's devices, described as each EGV's [`Device`] is.
    pub fn parse_devices(&self, body: &[u8]) -> Result<Vec<Device>, ParseError> {
        meta::devices(body)
    }
}

fn get(url: String) -> HttpRequest {
    HttpRequest {
        method: "GET",
        url,
        query: Vec::new(),
        form: Vec::new(),
    }
}

/// The window widened to whole seconds (Dexcom's dates have none smaller), so
/// nothing within it is missed.
fn whole_seconds(window: TimeWindow) -> TimeWindow {
    let floor = |t: DateTime<Utc>| DateTime::from_timestamp(t.timestamp(), 0).unwrap_or(t);
    let end = if window.end.timestamp_subsec_nanos() == 0 {
        window.end
    } else {
        floor(window.end) + Duration::seconds(1)
    };
    TimeWindow {
        start: floor(window.start),
        end: end.max(floor(window.start)),
    }
}

/// The part of `window` one request asks for: from the cursor (an RFC 3339 instant
/// within the window; anything else means the window's start, which refetches
/// rather than skips) for at most [`MAX_REQUEST_DAYS`].
fn sub_window(window: TimeWindow, cursor: Option<&str>) -> TimeWindow {
    let window = whole_seconds(window);
    let start = cursor
        .and_then(|c| DateTime::parse_from_rfc3339(c).ok())
        .map(|c| c.with_timezone(&Utc))
        .filter(|c| *c >= window.start && *c <= window.end)
        .map_or(window.start, |c| {
            whole_seconds(TimeWindow { start: c, end: c }).start
        });
    let end = start
        .checked_add_signed(Duration::days(MAX_REQUEST_DAYS))
        .map_or(window.end, |e| e.min(window.end));
    TimeWindow { start, end }
}

impl Connector for Dexcom {
    fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    fn history_range_request(&self) -> Option<HttpRequest> {
        Some(self.data_range_request())
    }

    /// `egvs` records lie in the dataRange's `egvs` span; Share records are read
    /// from files only.
    fn parse_history_range(
        &self,
        data_type: &DataType,
        body: &[u8],
    ) -> Result<Option<TimeWindow>, ParseError> {
        match data_type.as_str() {
            EGVS => self.parse_data_range(body),
            _ => Ok(None),
        }
    }

    fn chunk_cursor(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Option<String> {
        (data_type.as_str() == EGVS)
            .then(|| self.next_cursor(window, cursor))
            .flatten()
    }

    fn file_only_types(&self) -> Vec<DataType> {
        DataType::parse(SHARE_GLUCOSE).into_iter().collect()
    }

    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError> {
        if data_type.as_str() != EGVS {
            return Err(ConnectorError::UnknownDataType {
                vendor: VENDOR.to_owned(),
                data_type: data_type.to_string(),
            });
        }
        let sub = sub_window(window, cursor);
        let mut request = get(format!("{}/v3/users/self/egvs", self.manifest.api_base_url));
        request.query = vec![
            ("startDate".to_owned(), time::request_date(sub.start)),
            ("endDate".to_owned(), time::request_date(sub.end)),
        ];
        Ok(request)
    }

    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError> {
        match data_type.as_str() {
            EGVS if share::looks_like_share(body) => share::page(EGVS, body),
            EGVS => egvs::page(body),
            SHARE_GLUCOSE => share::page(SHARE_GLUCOSE, body),
            other => Err(ParseError {
                vendor: VENDOR.to_owned(),
                data_type: other.to_owned(),
                path: "$".to_owned(),
                problem: "dexcom has no such data type".to_owned(),
            }),
        }
    }
}
