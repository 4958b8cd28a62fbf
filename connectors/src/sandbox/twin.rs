//! What makes one simulated vendor differ from another.
//!
//! Policy: the OAuth machinery, faults and the call record are shared; a twin only
//! names its vendor and scopes, says which paths are its data endpoints and renders
//! the synthetic person's readings in its own payload shape. A new vendor (Withings,
//! Oura, Garmin, Dexcom) is one more module implementing [`Twin`] and one more
//! entry in [`TWINS`].

use super::demo::DemoTwin;
use super::dexcom::DexcomTwin;
use super::garmin::GarminTwin;
use super::oura::OuraTwin;
use super::state::State;
use super::withings::WithingsTwin;
use super::{Ctx, SandboxResponse};
use chrono::{DateTime, Utc};

/// A scope a member can grant, as the consent page shows it.
pub(crate) struct ScopeInfo {
    pub name: &'static str,
    pub description: &'static str,
}

/// A data endpoint: the data type it serves, the scope it needs (`None`: any
/// grant), and the method it answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DataEndpoint {
    pub data_type: &'static str,
    pub scope: Option<&'static str>,
    pub method: &'static str,
}

/// One notification: its headers (lower-case names) and body.
pub(crate) type Notification = (Vec<(String, String)>, Vec<u8>);

/// An event in a member's account that a vendor notifies apps of
/// (`POST /_control/push` with `"event"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum AccountEvent {
    /// The member disconnected the app at the vendor.
    Deregistration,
    /// The member changed what they share; these permissions (the vendor's names)
    /// remain.
    Permissions(Vec<String>),
}

/// How a vendor answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Style {
    /// HTTP statuses and OAuth error bodies (RFC 6749).
    Rest,
    /// Withings: every answer but the authorization page is HTTP 200 with
    /// `{"status": 0, "body": …}`, an error a non-zero `status`; the token
    /// endpoint wants `action=requesttoken`.
    WithingsEnvelope,
}

/// Why a data request cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DataError {
    /// A query parameter is missing or wrong (400, naming it).
    BadParam { name: &'static str, problem: String },
    /// The twin could not render its answer (500).
    Internal(String),
}

/// One simulated vendor.
pub(crate) trait Twin: Sync {
    /// The vendor id in `/sandbox/{vendor}/…`.
    fn vendor(&self) -> &'static str;

    /// The vendor's own name, as its pages show it.
    fn display_name(&self) -> &'static str;

    /// Every scope a client may request, in the order the consent page lists them.
    fn scopes(&self) -> &'static [ScopeInfo];

    /// The data endpoint at `path` (with `params`, the query and form fields: some
    /// vendors name the action in a parameter), if there is one.
    /// The path whose `DELETE` with a member's bearer token ends the member's
    /// registration (Garmin's `user/registration`); none by default.
    fn deregistration_path(&self) -> Option<&'static str> {
        None
    }

    fn data_endpoint(&self, path: &str, params: &[(String, String)]) -> Option<DataEndpoint>;

    /// How the vendor answers.
    fn style(&self) -> Style {
        Style::Rest
    }

    /// The token response's field for the vendor's account id (`None`: the vendor
    /// does not put it there).
    fn token_user_field(&self) -> Option<&'static str> {
        Some("user_id")
    }

    /// The data types it serves.
    fn data_types(&self) -> &'static [&'static str];

    /// Whether `method` `path` with `params` is a request to subscribe the
    /// member's account to notifications: then the callback URL it names (or why
    /// the request is wrong).
    fn subscription(
        &self,
        method: &str,
        path: &str,
        params: &[(String, String)],
    ) -> Option<Result<String, DataError>> {
        let _ = (method, path, params);
        None
    }

    /// A request the vendor's APP makes with its own credentials rather than a
    /// member's token (Oura's webhook subscriptions, kept in
    /// `State::app_subscriptions`): its answer, or `None` when it is not one.
    /// Asked before any other route.
    fn app_request(&self, ctx: &mut Ctx<'_>, state: &mut State) -> Option<SandboxResponse> {
        let _ = (ctx, state);
        None
    }

    /// The status and JSON body answering a subscription.
    fn subscribed(&self, callback_url: &str) -> (u16, serde_json::Value) {
        (
            201,
            serde_json::json!({"callback_url": callback_url, "status": "subscribed"}),
        )
    }

    /// The notifications (headers, body) of `user`'s new data of `data_types` in
    /// `window`, signed with `secret` as at `at`.
    fn notification(
        &self,
        user: &str,
        data_types: &[&str],
        window: crate::TimeWindow,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Vec<Notification>;

    /// The notification telling of `event` in `user`'s account, as at `at`; `None`:
    /// the vendor sends no such notification.
    fn account_notification(
        &self,
        user: &str,
        event: &AccountEvent,
        at: DateTime<Utc>,
    ) -> Option<Notification> {
        let _ = (user, event, at);
        None
    }

    /// Whether `endpoint` answers later, by push (Garmin's backfill): then the
    /// notifications carrying `user`'s data for the request's `params` (or why the
    /// request is wrong), which go to the push endpoint configured for the vendor
    /// (`POST /_control/endpoint`) after a `202` with an empty body. `None`: an
    /// ordinary data endpoint, answered by [`Twin::data`].
    fn deferred(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        params: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Option<Result<Vec<Notification>, DataError>> {
        let _ = (endpoint, user, params, now);
        None
    }

    /// The body of a successful data answer for `user`.
    fn data(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, DataError>;
}

static DEMO: DemoTwin = DemoTwin;
static WITHINGS: WithingsTwin = WithingsTwin;
static GARMIN: GarminTwin = GarminTwin;
static OURA: OuraTwin = OuraTwin;
static DEXCOM: DexcomTwin = DexcomTwin;

/// Every simulated vendor.
static TWINS: [&dyn Twin; 5] = [&DEMO, &WITHINGS, &GARMIN, &OURA, &DEXCOM];

/// Their ids, in the same order.
pub(crate) static VENDORS: [&str; 5] = ["demo", "withings", "garmin", "oura", "dexcom"];

pub(crate) fn find(vendor: &str) -> Option<&'static dyn Twin> {
    TWINS.iter().copied().find(|t| t.vendor() == vendor)
}

/// The one value of query parameter `name`; a repeated parameter is an error.
pub(crate) fn single<'q>(
    query: &'q [(String, String)],
    name: &'static str,
) -> Result<Option<&'q str>, DataError> {
    let mut values = query.iter().filter(|(k, _)| k == name);
    let first = values.next().map(|(_, v)| v.as_str());
    if values.next().is_some() {
        return Err(DataError::BadParam {
            name,
            problem: "given more than once".to_owned(),
        });
    }
    Ok(first)
}
