//! The [`Connector`] trait: a manifest plus pure functions.
//!
//! A connector never performs I/O. The hub asks it for the request that fetches a
//! data type over a time window (from a cursor), performs the request itself, and
//! hands the body back to [`Connector::parse`]. Parsing never panics: a payload of
//! the wrong shape is a [`ParseError`] naming the vendor, the data type and the
//! field path at fault.

use crate::push::{PushError, PushNotice};
use crate::sample::{DataType, Metric, Sample};
use chrono::{DateTime, Utc};
use thiserror::Error;

/// What the hub needs to know about a vendor before talking to it.
#[derive(Debug, Clone)]
pub struct Manifest {
    /// Stable id used in URLs and the database (`withings`, `demo`).
    pub vendor: &'static str,
    pub display_name: &'static str,
    /// OAuth 2 authorization endpoint (authorization code with PKCE S256).
    pub authorize_url: String,
    pub token_url: String,
    /// Token revocation endpoint (RFC 7009 style), where the vendor has one.
    pub revoke_url: Option<String>,
    pub api_base_url: String,
    /// Scopes are joined with this in the authorization request (`" "` per RFC 6749;
    /// some vendors use `","`).
    pub scope_separator: &'static str,
    /// The data types this vendor offers, in the order a member sees them, with the
    /// OAuth scopes each one needs.
    pub data_types: Vec<DataTypeSpec>,
    /// Published request quotas.
    pub rate_limits: RateLimits,
    /// How new data reaches the hub.
    pub delivery: Delivery,
    /// How far back history may be fetched, in days.
    pub max_history_days: u32,
    /// The vendor notifies of new data once a connection is subscribed
    /// ([`Connector::subscribe_request`]); a notification makes the hub sync at once.
    pub notifies: bool,
    /// How the hub knows a notification is the vendor's.
    pub push_auth: PushAuth,
    /// How the token endpoint is spoken to.
    pub token_style: TokenStyle,
    /// Where the client credentials go in token requests.
    pub client_auth: ClientAuth,
}

/// How a vendor's notifications are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushAuth {
    /// The vendor signs each notification with the app's client secret
    /// ([`Connector::verify_push`]).
    Signature,
    /// The vendor signs nothing (Withings, Garmin). The hub gives the vendor a
    /// callback URL carrying a token derived from the app's client secret
    /// (`?k=…`) and accepts only notifications sent to it.
    CallbackToken,
}

/// The token endpoint's dialect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenStyle {
    /// RFC 6749.
    Standard,
    /// Withings: the request carries `action=requesttoken` and the answer is
    /// `{"status": 0, "body": {…RFC 6749 fields…}}`; a non-zero status is an error.
    WithingsEnvelope,
}

/// Where the client id and secret go in token requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// HTTP Basic (RFC 6749 2.3.1, the default).
    Basic,
    /// `client_id` and `client_secret` in the form body.
    RequestBody,
}

impl Manifest {
    /// The spec of one of this vendor's data types.
    pub fn data_type(&self, id: &str) -> Option<&DataTypeSpec> {
        self.data_types.iter().find(|d| d.id.as_str() == id)
    }

    /// Every scope the given data types need, each once, in manifest order.
    pub fn scopes_for<'a>(&self, types: impl IntoIterator<Item = &'a DataType>) -> Vec<String> {
        let wanted: Vec<&DataType> = types.into_iter().collect();
        let mut scopes: Vec<String> = Vec::new();
        for spec in &self.data_types {
            if wanted.contains(&&spec.id) {
                for scope in &spec.scopes {
                    if !scopes.contains(scope) {
                        scopes.push(scope.clone());
                    }
                }
            }
        }
        scopes
    }

    /// The data types whose every scope is among `granted`.
    pub fn covered_by(&self, granted: &[String]) -> Vec<DataType> {
        self.data_types
            .iter()
            .filter(|d| d.scopes.iter().all(|s| granted.contains(s)))
            .map(|d| d.id.clone())
            .collect()
    }
}

/// One data type as a vendor offers it.
#[derive(Debug, Clone)]
pub struct DataTypeSpec {
    pub id: DataType,
    /// What a member reads on the consent page ("Steps").
    pub label: &'static str,
    /// One plain-language line on what is shared ("Daily step counts").
    pub description: &'static str,
    /// OAuth scopes this data type needs.
    pub scopes: Vec<String>,
    /// The metrics its samples may carry (what a grant of it covers, e.g. the codes
    /// of a FHIR Consent's provision).
    pub metrics: &'static [Metric],
}

/// A vendor's published quotas. `None` where the vendor publishes none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    /// Requests per minute for one vendor app (all its users).
    pub per_app_per_minute: Option<u32>,
    /// Requests per minute for one user of an app.
    pub per_user_per_minute: Option<u32>,
}

/// Whether the hub polls the vendor or the vendor pushes (notifications, webhooks).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Poll,
    /// The vendor notifies; the hub fetches (or receives) the data then.
    Push,
}

/// A half-open time window `[start, end)` to fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

/// A request the hub should perform on the connector's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: &'static str,
    pub url: String,
    pub query: Vec<(String, String)>,
    /// Sent as an `application/x-www-form-urlencoded` body when not empty.
    pub form: Vec<(String, String)>,
}

/// How the hub withdraws a member's grant at the vendor when the member revokes or
/// is erased. The token itself is never part of this value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RevokeStyle {
    /// The vendor has no such call.
    None,
    /// RFC 7009 at the manifest's `revoke_url`: a form POST with `token` (the
    /// refresh token when there is one) and the client's credentials.
    Rfc7009,
    /// A POST to this URL with the access token in the query parameter `param`
    /// (Oura's `/oauth/revoke?access_token=…`).
    AccessTokenQuery { url: String, param: &'static str },
    /// A DELETE of this URL with the access token as a bearer token (Garmin's
    /// `user/registration`, which ends the member's registration with the app).
    BearerDelete { url: String },
    /// Withings' `action=revoke`: a form POST to `revoke_url` naming the member's
    /// account, signed with the client secret over a nonce fetched from
    /// `nonce_url` (see [`crate::withings::revoke`]). No token is sent.
    WithingsSigned {
        nonce_url: String,
        revoke_url: String,
    },
}

impl RevokeStyle {
    /// Whether the call names the member's account at the vendor, so the hub must
    /// keep the account id (sealed) for it.
    pub fn names_account(&self) -> bool {
        matches!(self, Self::WithingsSigned { .. })
    }

    /// Whether the call ends the account's grant to the app as a whole rather than
    /// one set of tokens (Withings' revoke, Garmin's deregistration): then it must
    /// not run while the account is connected through the app again.
    pub fn ends_account_grant(&self) -> bool {
        matches!(
            self,
            Self::WithingsSigned { .. } | Self::BearerDelete { .. }
        )
    }
}

/// A call the hub makes with a vendor app's own credentials (in `headers`, so
/// this type is never printed).
pub struct AppCall {
    pub method: &'static str,
    pub url: String,
    /// Lower-case names; the app's credentials among them.
    pub headers: Vec<(String, String)>,
    /// An `application/json` body, for calls that have one.
    pub json_body: Option<String>,
}

/// One parsed response page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Page {
    pub samples: Vec<Sample>,
    /// Where the next page starts; `None` when this was the last page.
    pub next_cursor: Option<String>,
    /// Records left out on purpose (a goal instead of a measurement, a measure type
    /// the connector does not map): counted by the hub, never an error.
    pub skipped: Vec<Skipped>,
}

/// A record a parser left out, and why. Never holds a value from the payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// JSON path of the record, e.g. `body.measuregrps[3].measures[1]`.
    pub path: String,
    /// A fixed reason, e.g. `unknown measure type`.
    pub reason: &'static str,
}

/// A payload that does not have the shape the vendor documents.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{vendor} {data_type}: {path}: {problem}")]
pub struct ParseError {
    pub vendor: String,
    pub data_type: String,
    /// JSON path of the field at fault, e.g. `body.measuregrps[2].measures[0].value`.
    pub path: String,
    pub problem: String,
}

/// A request the connector cannot build.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConnectorError {
    #[error("{vendor} has no data type {data_type}")]
    UnknownDataType { vendor: String, data_type: String },
}

/// A vendor: its manifest, and how to fetch and read its data.
pub trait Connector: Send + Sync {
    fn manifest(&self) -> &Manifest;

    /// How a member's grant is withdrawn at the vendor: RFC 7009 where the
    /// manifest names a revocation URL, else nothing unless the vendor says.
    fn revoke_style(&self) -> RevokeStyle {
        if self.manifest().revoke_url.is_some() {
            RevokeStyle::Rfc7009
        } else {
            RevokeStyle::None
        }
    }

    /// The request that fetches `data_type` within `window`, continuing from `cursor`.
    fn build_request(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Result<HttpRequest, ConnectorError>;

    /// Parse one response body of a request built by [`Connector::build_request`].
    fn parse(&self, data_type: &DataType, body: &[u8]) -> Result<Page, ParseError>;

    /// The HTTP status a response stands for. Vendors that answer errors with
    /// HTTP 200 and a status in the body (Withings) map it here (401 for a refused
    /// token, 429 for a quota, 503 for an outage), so the hub treats it as it
    /// treats the status itself.
    fn effective_status(&self, http_status: u16, body: &[u8]) -> u16 {
        let _ = body;
        http_status
    }

    /// For vendors whose history is requested and then delivered later by push
    /// (Garmin's backfill): the request that asks for `data_type` in `window`. The
    /// hub sends it for backfill windows instead of fetching, expects a 2xx, and
    /// counts the window done; the data arrives through notifications.
    fn backfill_request(&self, data_type: &DataType, window: TimeWindow) -> Option<HttpRequest> {
        let _ = (data_type, window);
        None
    }

    /// For vendors that say where a member's records lie (Dexcom's dataRange): the
    /// request, sent with the member's token before a backfill window is fetched.
    fn history_range_request(&self) -> Option<HttpRequest> {
        None
    }

    /// The span of the member's `data_type` records in a
    /// [`Connector::history_range_request`] answer; `None` when there are none.
    fn parse_history_range(
        &self,
        data_type: &DataType,
        body: &[u8],
    ) -> Result<Option<TimeWindow>, ParseError> {
        let _ = (data_type, body);
        Ok(None)
    }

    /// Whether the hub polls this vendor for new data on its schedule. Push-first
    /// vendors (Garmin) send new data themselves, or a notification that starts a
    /// fetch, and may refuse fetches they did not announce: the hub then fetches
    /// only when notified.
    fn polls_on_schedule(&self) -> bool {
        true
    }

    /// The request (sent with the member's access token) that asks the vendor to
    /// notify `callback_url` of the member's new data; `None` when it never pushes.
    fn subscribe_request(&self, callback_url: &str) -> Option<HttpRequest> {
        let _ = callback_url;
        None
    }

    /// Every request (sent with the member's access token) that subscribes the
    /// member to notifications; by default the one [`Connector::subscribe_request`]
    /// gives. Vendors that subscribe per category (Withings) return several.
    fn subscribe_requests(&self, callback_url: &str) -> Vec<HttpRequest> {
        self.subscribe_request(callback_url).into_iter().collect()
    }

    /// Where the next request of a window starts when the page just read named no
    /// next page: vendors that cap the span of one request (Dexcom 30 days, Garmin
    /// one day) split a window into chunks and page through them with this cursor.
    fn chunk_cursor(
        &self,
        data_type: &DataType,
        window: TimeWindow,
        cursor: Option<&str>,
    ) -> Option<String> {
        let _ = (data_type, window, cursor);
        None
    }

    /// Data types the connector can read from a file but does not offer for
    /// consent or sync (Dexcom Share records): `tributary normalize` accepts them.
    fn file_only_types(&self) -> Vec<DataType> {
        Vec::new()
    }

    /// For vendors whose notifications are subscribed per APP (Oura's webhooks):
    /// the calls, made with the app's credentials rather than a member's token,
    /// that subscribe the app at `callback_url`; `verification_token` is what the
    /// vendor's verification request will carry. Repeating them is harmless.
    /// For vendors whose app subscriptions lapse unless renewed (Oura): the call
    /// that lists the app's subscriptions.
    fn app_subscription_list(&self, client_id: &str, client_secret: &str) -> Option<AppCall> {
        let _ = (client_id, client_secret);
        None
    }

    /// The renewal calls for the subscriptions in a list answer
    /// ([`Connector::app_subscription_list`]) whose callback starts with
    /// `callback_prefix` (this hub's) and that lapse before `before`.
    fn app_subscription_renewals(
        &self,
        list_body: &[u8],
        callback_prefix: &str,
        before: DateTime<Utc>,
        client_id: &str,
        client_secret: &str,
    ) -> Result<Vec<AppCall>, ParseError> {
        let _ = (list_body, callback_prefix, before, client_id, client_secret);
        Ok(Vec::new())
    }

    fn app_subscribe_requests(
        &self,
        callback_url: &str,
        verification_token: &str,
        client_id: &str,
        client_secret: &str,
    ) -> Vec<AppCall> {
        let _ = (callback_url, verification_token, client_id, client_secret);
        Vec::new()
    }

    /// The body answering a vendor's verification GET at the callback URL (Oura's
    /// challenge), when `query` carries `expected_token`; `None` for vendors that
    /// send none.
    fn answer_challenge(
        &self,
        query: &[(String, String)],
        expected_token: &str,
    ) -> Option<Result<String, PushError>> {
        let _ = (query, expected_token);
        None
    }

    /// For vendors whose token response does not name the member's account (Oura,
    /// Garmin): the request, sent with the member's token, whose answer does. The
    /// hub needs the id to match notifications to connections.
    fn account_request(&self) -> Option<HttpRequest> {
        None
    }

    /// The account id in the answer to [`Connector::account_request`].
    fn parse_account(&self, body: &[u8]) -> Result<String, ParseError> {
        let _ = body;
        Err(ParseError {
            vendor: self.manifest().vendor.to_owned(),
            data_type: String::new(),
            path: "$".to_owned(),
            problem: "this vendor names the account in its token response".to_owned(),
        })
    }

    /// Check that a notification (its lower-case headers and exact body) was signed
    /// by the vendor with `secret`, the vendor app's client secret.
    fn verify_push(
        &self,
        headers: &[(String, String)],
        body: &[u8],
        secret: &[u8],
        now: DateTime<Utc>,
    ) -> Result<(), PushError> {
        let _ = (headers, body, secret, now);
        Err(PushError::NotSupported)
    }

    /// What a verified notification says.
    fn parse_push(&self, body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
        let _ = body;
        Err(ParseError {
            vendor: self.manifest().vendor.to_owned(),
            data_type: String::new(),
            path: "$".to_owned(),
            problem: "this vendor does not push".to_owned(),
        })
    }
}

/// The string (or number) at top-level `field` of a JSON object: the account id in
/// a vendor's "who am I" answer.
pub fn account_field(vendor: &str, body: &[u8], field: &str) -> Result<String, ParseError> {
    let err = |problem: &str| ParseError {
        vendor: vendor.to_owned(),
        data_type: String::new(),
        path: field.to_owned(),
        problem: problem.to_owned(),
    };
    let value: serde_json::Value =
        serde_json::from_slice(body).map_err(|_| err("the answer is not JSON"))?;
    match value.get(field) {
        Some(serde_json::Value::String(s)) if !s.is_empty() && s.len() <= 256 => Ok(s.clone()),
        Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
        Some(_) => Err(err("not a non-empty string")),
        None => Err(err("missing")),
    }
}
