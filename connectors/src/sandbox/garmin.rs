//! The Garmin Health API's twin: pulls by upload time, backfill delivered by push,
//! pushes of the data itself, and the member's id.
//!
//! Endpoints under `/wellness-api/rest/`:
//! - `GET {type}?uploadStartTimeInSeconds=…&uploadEndTimeInSeconds=…` for `dailies`,
//!   `sleeps`, `bodyComps`, `pulseOx`, `respiration`, `hrv`, `bloodPressures`,
//!   `activities`: a bare JSON array of the summaries uploaded in `[start, end)`, at
//!   most 86 400 s (else a 400 naming `uploadEndTimeInSeconds`). No paging: a
//!   client walks a longer window a day at a time.
//! - `GET backfill/{type}?summaryStartTimeInSeconds=…&summaryEndTimeInSeconds=…`:
//!   `202` with an empty body; the summaries starting in `[start, end)` (at most 90
//!   days, 30 for activities) are pushed afterwards to the app's push endpoint, as
//!   `{"dailies": […]}` with each summary's `userId`.
//! - `GET user/id`: `{"userId": …}`, the sandbox user's name.
//!
//! Policy: Garmin has no OAuth scopes (members pick what they share on its consent
//! page), so every endpoint is open to any grant, and the token answer names no
//! account. A summary is uploaded when its period is over (a spot reading: when it
//! was taken) plus a delay of under an hour, fixed per summary; it exists from then
//! on, never changes, and a pull window of upload times returns it in exactly one
//! of a run of consecutive windows. Summaries are pure functions of the user and
//! the local day ([`summaries`]), so every answer is reproducible byte for byte.
//! Not simulated: pull tokens, a repeated backfill window's `409`, the 30-day
//! history limit, and a permissions change hiding data from pulls.

mod summaries;

use super::twin::{single, AccountEvent, DataEndpoint, DataError, Notification, ScopeInfo, Twin};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use summaries::{By, Kind};

pub(crate) struct GarminTwin;

/// One summary type: the data type, its path, its key in push bodies, the data
/// type of its backfill endpoint, the longest backfill window in days, its kind.
struct TypeInfo {
    data_type: &'static str,
    path: &'static str,
    push_key: &'static str,
    backfill: &'static str,
    backfill_days: i64,
    kind: Kind,
}

const TYPES: [TypeInfo; 8] = [
    TypeInfo {
        data_type: "dailies",
        path: "dailies",
        push_key: "dailies",
        backfill: "backfill/dailies",
        backfill_days: 90,
        kind: Kind::Dailies,
    },
    TypeInfo {
        data_type: "sleeps",
        path: "sleeps",
        push_key: "sleeps",
        backfill: "backfill/sleeps",
        backfill_days: 90,
        kind: Kind::Sleeps,
    },
    TypeInfo {
        data_type: "body_compositions",
        path: "bodyComps",
        push_key: "bodyComps",
        backfill: "backfill/bodyComps",
        backfill_days: 90,
        kind: Kind::BodyComps,
    },
    TypeInfo {
        data_type: "pulse_ox",
        path: "pulseOx",
        push_key: "pulseox",
        backfill: "backfill/pulseOx",
        backfill_days: 90,
        kind: Kind::PulseOx,
    },
    TypeInfo {
        data_type: "respiration",
        path: "respiration",
        push_key: "allDayRespiration",
        backfill: "backfill/respiration",
        backfill_days: 90,
        kind: Kind::Respiration,
    },
    TypeInfo {
        data_type: "hrv",
        path: "hrv",
        push_key: "hrv",
        backfill: "backfill/hrv",
        backfill_days: 90,
        kind: Kind::Hrv,
    },
    TypeInfo {
        data_type: "blood_pressures",
        path: "bloodPressures",
        push_key: "bloodPressures",
        backfill: "backfill/bloodPressures",
        backfill_days: 90,
        kind: Kind::BloodPressures,
    },
    TypeInfo {
        data_type: "activities",
        path: "activities",
        push_key: "activities",
        backfill: "backfill/activities",
        backfill_days: 30,
        kind: Kind::Activities,
    },
];

const DATA_TYPES: [&str; 8] = [
    "dailies",
    "sleeps",
    "body_compositions",
    "pulse_ox",
    "respiration",
    "hrv",
    "blood_pressures",
    "activities",
];

const API: &str = "/wellness-api/rest/";
const USER_ID: &str = "user/id";
const PULL_START: &str = "uploadStartTimeInSeconds";
const PULL_END: &str = "uploadEndTimeInSeconds";
const BACKFILL_START: &str = "summaryStartTimeInSeconds";
const BACKFILL_END: &str = "summaryEndTimeInSeconds";
/// The longest pull window.
const MAX_PULL_SECS: i64 = 86_400;

impl Twin for GarminTwin {
    fn vendor(&self) -> &'static str {
        "garmin"
    }

    fn display_name(&self) -> &'static str {
        "Garmin Connect"
    }

    /// None: members choose what they share on Garmin's page.
    fn scopes(&self) -> &'static [ScopeInfo] {
        &[]
    }

    /// Garmin's token answer names no account: clients ask `user/id`.
    fn token_user_field(&self) -> Option<&'static str> {
        None
    }

    fn data_types(&self) -> &'static [&'static str] {
        &DATA_TYPES
    }

    fn deregistration_path(&self) -> Option<&'static str> {
        Some("/wellness-api/rest/user/registration")
    }

    fn data_endpoint(&self, path: &str, _params: &[(String, String)]) -> Option<DataEndpoint> {
        let rest = path.strip_prefix(API)?;
        let data_type = if rest == USER_ID {
            USER_ID
        } else if let Some(summary) = rest.strip_prefix("backfill/") {
            TYPES.iter().find(|t| t.path == summary)?.backfill
        } else {
            TYPES.iter().find(|t| t.path == rest)?.data_type
        };
        Some(DataEndpoint {
            data_type,
            scope: None,
            method: "GET",
        })
    }

    fn data(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, DataError> {
        if endpoint.data_type == USER_ID {
            return Ok(json!({ "userId": user }).to_string().into_bytes());
        }
        let info = TYPES
            .iter()
            .find(|t| t.data_type == endpoint.data_type)
            .ok_or_else(|| DataError::Internal("no such data type".to_owned()))?;
        let (start, end) = window(query, PULL_START, PULL_END)?;
        if end - start > MAX_PULL_SECS {
            return Err(bad(
                PULL_END,
                "more than 86400 seconds after uploadStartTimeInSeconds",
            ));
        }
        let list: Vec<Value> = summaries::list(user, info.kind, By::Upload, start, end, now)
            .into_iter()
            .map(Value::Object)
            .collect();
        serde_json::to_vec(&list).map_err(|e| DataError::Internal(e.to_string()))
    }

    fn deferred(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        params: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Option<Result<Vec<Notification>, DataError>> {
        let info = TYPES.iter().find(|t| t.backfill == endpoint.data_type)?;
        Some(backfill(info, user, params, now))
    }

    /// Garmin signs nothing: `secret` is unused.
    fn notification(
        &self,
        user: &str,
        data_types: &[&str],
        window: crate::TimeWindow,
        _secret: &str,
        at: DateTime<Utc>,
    ) -> Vec<Notification> {
        let start = window.start.timestamp();
        let end = window.end.timestamp() + i64::from(window.end.timestamp_subsec_nanos() > 0);
        TYPES
            .iter()
            .filter(|t| data_types.contains(&t.data_type))
            .filter_map(|info| {
                push_body(
                    info,
                    user,
                    summaries::list(user, info.kind, By::Upload, start, end, at),
                )
            })
            .collect()
    }

    fn account_notification(
        &self,
        user: &str,
        event: &AccountEvent,
        at: DateTime<Utc>,
    ) -> Option<Notification> {
        let body = match event {
            AccountEvent::Deregistration => json!({"deregistrations": [{"userId": user}]}),
            AccountEvent::Permissions(permissions) => json!({"userPermissionsChange": [{
                "userId": user,
                "summaryId": format!("{}-{:x}", summaries::user_key(user), at.timestamp()),
                "permissions": permissions,
                "changeTimeInSeconds": at.timestamp(),
            }]}),
        };
        Some(notification(&body))
    }
}

/// The pushes answering a backfill request.
fn backfill(
    info: &TypeInfo,
    user: &str,
    params: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Vec<Notification>, DataError> {
    let (start, end) = window(params, BACKFILL_START, BACKFILL_END)?;
    if end - start > info.backfill_days * 86_400 {
        let problem = format!(
            "more than {} days after summaryStartTimeInSeconds",
            info.backfill_days
        );
        return Err(bad(BACKFILL_END, &problem));
    }
    let list = summaries::list(user, info.kind, By::Start, start, end, now);
    Ok(push_body(info, user, list).into_iter().collect())
}

/// `{"<push key>": [summaries with the userId]}`, unless there is nothing to push.
fn push_body(
    info: &TypeInfo,
    user: &str,
    list: Vec<serde_json::Map<String, Value>>,
) -> Option<Notification> {
    if list.is_empty() {
        return None;
    }
    let records: Vec<Value> = list
        .into_iter()
        .map(|mut record| {
            record.insert("userId".to_owned(), json!(user));
            Value::Object(record)
        })
        .collect();
    let mut body = serde_json::Map::new();
    body.insert(info.push_key.to_owned(), Value::Array(records));
    Some(notification(&Value::Object(body)))
}

fn notification(body: &Value) -> Notification {
    let headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    (headers, body.to_string().into_bytes())
}

/// `[start, end)` in Unix seconds from two parameters, `end` after `start`.
fn window(
    params: &[(String, String)],
    start_name: &'static str,
    end_name: &'static str,
) -> Result<(i64, i64), DataError> {
    let start = seconds(params, start_name)?;
    let end = seconds(params, end_name)?;
    if end <= start {
        return Err(bad(end_name, &format!("not after {start_name}")));
    }
    Ok((start, end))
}

/// Whole Unix seconds from year 1 to 9999 (so differences cannot overflow).
fn seconds(params: &[(String, String)], name: &'static str) -> Result<i64, DataError> {
    let text = single(params, name)?.ok_or_else(|| bad(name, "missing"))?;
    text.parse::<i64>()
        .ok()
        .filter(|s| (-62_135_596_800..=253_402_300_799).contains(s))
        .ok_or_else(|| bad(name, "not whole Unix seconds"))
}

fn bad(name: &'static str, problem: &str) -> DataError {
    DataError::BadParam {
        name,
        problem: problem.to_owned(),
    }
}
