//! The Dexcom twin: Dexcom's Web API v3 (`/v3/users/self/…`), as the `dexcom`
//! connector speaks to it.
//!
//! Policy: one scope, `offline_access`, which every endpoint needs. Three endpoints:
//!
//! - `GET /v3/users/self/egvs?startDate=…&endDate=…`: the dates are UTC without an
//!   offset (`2022-02-06T09:12:35`, as Dexcom's examples write them; anything else
//!   is a 400 naming the parameter), `endDate` not before `startDate` and at most
//!   30 days after it. Every reading whose `systemTime` lies in `[startDate,
//!   endDate]` (both included: the connector reads a reading at a split on both
//!   sides and keeps it once, by its `recordId`) and not after `now`, newest first,
//!   in one body: Dexcom does not page.
//! - `GET /v3/users/self/dataRange`: the first and the latest reading (`egvs`
//!   `null` before the member's history starts); no calibrations (G6 and G7 are
//!   factory calibrated) and no events.
//! - `GET /v3/users/self/devices`: the member's one display device, with its
//!   current transmitter and latest upload.
//!
//! What is measured is in `dexcom/cgm.rs`. How it is written depends on the
//! member's display device, as at Dexcom: receiver records carry times without an
//! offset and a display clock a few seconds off; app records carry `Z` on
//! `systemTime` and the local offset on `displayTime`. `displayTime` shows
//! `person::utc_offset(user)`. Record, user and transmitter ids are stable hashes.
//! Dexcom sends no notifications.

mod cgm;

use super::twin::{single, DataEndpoint, DataError, Notification, ScopeInfo, Twin};
use cgm::{Egv, Profile};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::{json, Value};

pub(crate) struct DexcomTwin;

const SCOPE: &str = "offline_access";

const SCOPES: [ScopeInfo; 1] = [ScopeInfo {
    name: SCOPE,
    description: "Your glucose readings (EGVs), devices and data range, also while you are \
                  not using the app",
}];

const EGVS: &str = "egvs";
const DATA_RANGE: &str = "dataRange";
const DEVICES: &str = "devices";

/// The widest window one egvs request may ask for.
const MAX_WINDOW_SECS: i64 = 30 * 86_400;

impl Twin for DexcomTwin {
    fn vendor(&self) -> &'static str {
        "dexcom"
    }

    fn display_name(&self) -> &'static str {
        "Dexcom"
    }

    fn scopes(&self) -> &'static [ScopeInfo] {
        &SCOPES
    }

    fn token_user_field(&self) -> Option<&'static str> {
        None
    }

    fn data_types(&self) -> &'static [&'static str] {
        &[EGVS]
    }

    fn data_endpoint(&self, path: &str, _params: &[(String, String)]) -> Option<DataEndpoint> {
        let data_type = match path.strip_prefix("/v3/users/self/")? {
            "egvs" => EGVS,
            "dataRange" => DATA_RANGE,
            "devices" => DEVICES,
            _ => return None,
        };
        Some(DataEndpoint {
            data_type,
            scope: Some(SCOPE),
            method: "GET",
        })
    }

    fn notification(
        &self,
        _user: &str,
        _data_types: &[&str],
        _window: crate::TimeWindow,
        _secret: &str,
        _at: DateTime<Utc>,
    ) -> Vec<Notification> {
        Vec::new()
    }

    fn data(
        &self,
        endpoint: DataEndpoint,
        user: &str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<Vec<u8>, DataError> {
        let profile = Profile::new(user);
        let body = match endpoint.data_type {
            EGVS => return egvs(&profile, query, now),
            DATA_RANGE => data_range(&profile, now),
            DEVICES => devices(&profile, now),
            _ => return Err(DataError::Internal("no such data type".to_owned())),
        };
        serde_json::to_vec(&body).map_err(|e| DataError::Internal(e.to_string()))
    }
}

fn bad(name: &'static str, problem: &str) -> DataError {
    DataError::BadParam {
        name,
        problem: problem.to_owned(),
    }
}

/// A request date: `YYYY-MM-DDTHH:MM:SS`, UTC, no offset.
fn date(query: &[(String, String)], name: &'static str) -> Result<DateTime<Utc>, DataError> {
    let text = single(query, name)?.ok_or_else(|| bad(name, "missing"))?;
    (text.len() == 19 && text.is_ascii())
        .then(|| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S").ok())
        .flatten()
        .map(|t| t.and_utc())
        .ok_or_else(|| {
            bad(
                name,
                "not a date-time like 2022-02-06T09:12:35 (UTC, without an offset)",
            )
        })
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EgvsBody<'a> {
    record_type: &'static str,
    record_version: &'static str,
    user_id: String,
    records: Vec<Record<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Record<'a> {
    record_id: String,
    system_time: String,
    display_time: String,
    transmitter_id: Option<&'a str>,
    transmitter_ticks: i64,
    value: Option<i64>,
    status: Option<&'static str>,
    trend: Option<&'static str>,
    trend_rate: Option<f64>,
    unit: &'static str,
    rate_unit: &'static str,
    display_device: &'static str,
    display_app: &'static str,
    transmitter_generation: &'static str,
}

fn egvs(
    p: &Profile<'_>,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Vec<u8>, DataError> {
    let start = date(query, "startDate")?;
    let end = date(query, "endDate")?;
    if end < start {
        return Err(bad("endDate", "before startDate"));
    }
    if (end - start).num_seconds() > MAX_WINDOW_SECS {
        return Err(bad("endDate", "more than 30 days after startDate"));
    }
    let readings = p
        .slots(start.timestamp(), end.timestamp(), now.timestamp())
        .map(|(first, last)| cgm::egvs(p, first, last))
        .unwrap_or_default();
    // Transmitter ids, once per transmitter (a window meets at most a few).
    let mut transmitters: Vec<(i64, Option<String>)> = Vec::new();
    for egv in &readings {
        let (period, _) = p.transmitter(egv.slot);
        if !transmitters.iter().any(|(t, _)| *t == period) {
            transmitters.push((period, p.transmitter_id(period)));
        }
    }
    let records = readings
        .iter()
        .rev()
        .map(|egv| record(p, egv, &transmitters))
        .collect();
    let body = EgvsBody {
        record_type: "egv",
        record_version: "3.0",
        user_id: user_id(p),
        records,
    };
    serde_json::to_vec(&body).map_err(|e| DataError::Internal(e.to_string()))
}

fn record<'a>(p: &Profile<'_>, egv: &Egv, transmitters: &'a [(i64, Option<String>)]) -> Record<'a> {
    let (period, ticks) = p.transmitter(egv.slot);
    let transmitter_id = transmitters
        .iter()
        .find(|(t, _)| *t == period)
        .and_then(|(_, id)| id.as_deref());
    let (system_time, display_time) = times(p, p.time(egv.slot));
    Record {
        record_id: record_id(p.user, egv.slot),
        system_time,
        display_time,
        transmitter_id,
        transmitter_ticks: ticks,
        value: egv.value,
        status: egv.status,
        trend: egv.trend,
        trend_rate: egv.rate,
        unit: "mg/dL",
        rate_unit: "mg/dL/min",
        display_device: p.display.device(),
        display_app: p.display.app(),
        transmitter_generation: p.display.generation(),
    }
}

/// `systemTime` and `displayTime` of the instant `t` (seconds since the epoch) as
/// the member's display device writes them.
fn times(p: &Profile<'_>, t: i64) -> (String, String) {
    const CLOCK: &str = "%Y-%m-%dT%H:%M:%S";
    let at = |secs: i64| DateTime::<Utc>::from_timestamp(secs, 0).unwrap_or_default();
    let system = at(t).format(CLOCK);
    if p.display.with_offsets() {
        (
            format!("{system}Z"),
            at(t)
                .with_timezone(&p.offset)
                .format("%Y-%m-%dT%H:%M:%S%:z")
                .to_string(),
        )
    } else {
        let clock = t + i64::from(p.offset.local_minus_utc()) + p.drift;
        (system.to_string(), at(clock).format(CLOCK).to_string())
    }
}

/// A UUID (version 5 in form) that names reading `slot` of `user`.
fn record_id(user: &str, slot: i64) -> String {
    let slot = slot.to_string();
    let a = super::person::hash(&[user, &slot, "egv-record"]);
    let b = super::person::hash(&[user, &slot, "egv-record-2"]);
    format!(
        "{:08x}-{:04x}-5{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0x0fff,
        0x8000 | ((b >> 48) & 0x3fff),
        b & 0xffff_ffff_ffff
    )
}

/// Dexcom's user id: 64 hex digits, stable per member.
fn user_id(p: &Profile<'_>) -> String {
    cgm::hex64(p.user, "", "egv-user")
}

/// The first and latest reading's slots by `now`, if there is any.
fn history(p: &Profile<'_>, now: DateTime<Utc>) -> Option<(i64, i64)> {
    let first = p.time(p.first);
    p.slots(first, now.timestamp(), now.timestamp())
}

fn moment(p: &Profile<'_>, slot: i64) -> Value {
    let (system, display) = times(p, p.time(slot));
    json!({"systemTime": system, "displayTime": display})
}

fn data_range(p: &Profile<'_>, now: DateTime<Utc>) -> Value {
    let egvs = history(p, now).map_or(
        Value::Null,
        |(first, last)| json!({"start": moment(p, first), "end": moment(p, last)}),
    );
    json!({
        "recordType": "dataRange",
        "recordVersion": "3.0",
        "userId": user_id(p),
        "calibrations": null,
        "egvs": egvs,
        "events": null,
    })
}

fn devices(p: &Profile<'_>, now: DateTime<Utc>) -> Value {
    let records: Vec<Value> = history(p, now)
        .map(|(first, last)| {
            let (period, _) = p.transmitter(last);
            let (last_upload, _) = times(p, p.time(last));
            // The apps keep their alert settings at Dexcom; a receiver's stay on it.
            let alerts = if p.display.with_offsets() {
                let set = moment(p, first);
                let alert = |name: &str, value: u32, snooze: u32| {
                    json!({
                        "systemTime": set["systemTime"],
                        "displayTime": set["displayTime"],
                        "alertName": name,
                        "value": value,
                        "unit": "mg/dL",
                        "snooze": snooze,
                        "enabled": true,
                    })
                };
                json!([{
                    "alertScheduleSettings": {
                        "alertScheduleName": "",
                        "isEnabled": true,
                        "isDefaultSchedule": true,
                        "startTime": "00:00",
                        "endTime": "00:00",
                        "daysOfWeek": ["sunday", "monday", "tuesday", "wednesday",
                                       "thursday", "friday", "saturday"],
                    },
                    "alertSettings": [
                        alert("urgentLow", 55, 30),
                        alert("low", 70, 15),
                        alert("high", 250, 120),
                    ],
                }])
            } else {
                json!([])
            };
            json!({
                "transmitterGeneration": p.display.generation(),
                "displayDevice": p.display.device(),
                "displayApp": p.display.app(),
                "lastUploadDate": last_upload,
                "transmitterId": p.transmitter_id(period),
                "alertSchedules": alerts,
            })
        })
        .into_iter()
        .collect();
    json!({
        "recordType": "device",
        "recordVersion": "3.0",
        "userId": user_id(p),
        "records": records,
    })
}
