//! Oura's twin (API v2): `GET /v2/usercollection/{endpoint}` in Oura's payload
//! shapes, `GET /v2/usercollection/personal_info`, and the app-level webhook API.
//!
//! Endpoints and scopes: `daily_activity`, `sleep` and `daily_readiness` need
//! `daily`, `heartrate` needs `heartrate`, `daily_spo2` needs `spo2`, `workout`
//! needs `workout`, `personal_info` needs `personal`. Documents are asked for by
//! `start_date`/`end_date`, heart rate by `start_datetime`/`end_datetime`; every
//! list pages by `next_token` (module `paging`).
//!
//! Policy: the token answer names no account (Oura's does not); the member's id,
//! the sandbox user, is the `id` of `personal_info` and the `user_id` of every
//! notification. Days are the member's local days at [`person::utc_offset`];
//! document times carry that offset, heart-rate timestamps are UTC (`+00:00`), as
//! Oura's are. Notifications go to the app's webhook subscriptions (module
//! `webhook`), not to per-member subscriptions: [`Twin::subscription`] is never
//! a match here.

mod documents;
mod life;
mod paging;
mod webhook;

use super::person;
use super::state::State;
use super::twin::{DataEndpoint, DataError, Notification, ScopeInfo, Twin};
use super::{Ctx, SandboxResponse};
use chrono::{DateTime, Utc};
use documents::DocKind;
use serde_json::json;

pub(crate) struct OuraTwin;

/// Scope names as the connector's manifest asks for them (Oura's authentication
/// page), plus `personal` for `personal_info`.
const SCOPES: [ScopeInfo; 5] = [
    ScopeInfo {
        name: "daily",
        description: "Daily summaries: activity, sleep periods, readiness",
    },
    ScopeInfo {
        name: "heartrate",
        description: "Heart rate time series",
    },
    ScopeInfo {
        name: "workout",
        description: "Workouts",
    },
    ScopeInfo {
        name: "spo2",
        description: "Nightly blood oxygen (SpO2) averages",
    },
    ScopeInfo {
        name: "personal",
        description: "Personal information: age, weight, height, biological sex",
    },
];

/// Endpoint (which [`DataEndpoint::data_type`] names) and the scope it needs.
const ENDPOINTS: [(&str, &str); 7] = [
    ("daily_activity", "daily"),
    ("sleep", "daily"),
    ("heartrate", "heartrate"),
    ("daily_spo2", "spo2"),
    ("daily_readiness", "daily"),
    ("workout", "workout"),
    ("personal_info", "personal"),
];

const COLLECTION: &str = "/v2/usercollection/";

impl Twin for OuraTwin {
    fn vendor(&self) -> &'static str {
        "oura"
    }

    fn display_name(&self) -> &'static str {
        "Oura"
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        &SCOPES
    }

    fn token_user_field(&self) -> Option<&'static str> {
        None
    }

    fn data_types(&self) -> &'static [&'static str] {
        &[
            "daily_activity",
            "sleep",
            "heartrate",
            "daily_spo2",
            "temperature",
            "workout",
        ]
    }

    fn data_endpoint(&self, path: &str, _params: &[(String, String)]) -> Option<DataEndpoint> {
        let endpoint = path.strip_prefix(COLLECTION)?;
        ENDPOINTS
            .iter()
            .find(|e| e.0 == endpoint)
            .map(|e| DataEndpoint {
                data_type: e.0,
                scope: Some(e.1),
                method: "GET",
            })
    }

    fn app_request(&self, ctx: &mut Ctx<'_>, state: &mut State) -> Option<SandboxResponse> {
        webhook::request(ctx, state)
    }

    fn notification(
        &self,
        user: &str,
        data_types: &[&str],
        window: crate::TimeWindow,
        secret: &str,
        at: DateTime<Utc>,
    ) -> Vec<Notification> {
        webhook::notifications(user, data_types, window, secret, at)
    }

    fn data(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, DataError> {
        match endpoint.data_type {
            "heartrate" => paging::heart_rate(user, query, now),
            "personal_info" => personal_info(user),
            other => match DocKind::from_endpoint(other) {
                Some(kind) => paging::documents(kind, user, query, now),
                None => Err(DataError::Internal("no such endpoint".to_owned())),
            },
        }
    }
}

/// `personal_info`: the member's id and a plausible body. The e-mail needs the
/// `email` scope, which the sandbox does not offer, so it is `null`.
fn personal_info(user: &str) -> Result<Vec<u8>, DataError> {
    let seed = person::hash(&[user, "oura-personal"]);
    let female = seed.is_multiple_of(2);
    // Centimetres and tenths of a kilogram.
    let height = if female { 155 } else { 165 } + (seed >> 8) % 25;
    let weight = if female { 520 } else { 650 } + (seed >> 16) % 350;
    let body = json!({
        "id": user,
        "age": 22 + (seed >> 32) % 50,
        "weight": weight as f64 / 10.0,
        "height": height as f64 / 100.0,
        "biological_sex": if female { "female" } else { "male" },
        "email": null,
    });
    serde_json::to_vec(&body).map_err(|e| DataError::Internal(e.to_string()))
}
