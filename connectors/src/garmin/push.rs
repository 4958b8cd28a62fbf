//! Garmin's notifications, as POSTed to the endpoint an app configures per summary
//! type in Garmin's Endpoint Configuration Tool.
//!
//! One body holds lists under summary-type names. In push mode an entry is the
//! summary itself, `{"dailies": [{"userId": …, "summaryId": …, "steps": …}]}`; in
//! ping mode it names an upload window to pull, `{"dailies": [{"userId": …,
//! "uploadStartTimeInSeconds": …, "uploadEndTimeInSeconds": …, "callbackURL": …}]}`.
//! Besides summaries: `{"deregistrations": [{"userId": …}]}` when a member
//! disconnects, and `{"userPermissionsChange": [{"userId": …, "permissions": […]}]}`
//! when a member changes what is shared. Garmin signs none of them.
//!
//! Policy: summaries are grouped per member and type into one
//! [`PushEvent::Samples`] each, read exactly as a pull would be
//! (the same record readers); a fault anywhere fails the body with its path. A
//! ping's window comes from its upload-time fields (or, without them, from the
//! same two parameters of its `callbackURL`); the URL itself is neither followed nor
//! kept, and neither is any `userAccessToken`. Summary types Garmin pushes but this
//! connector does not offer (epochs, stress, Move IQ, user metrics, health
//! snapshots, activity details, …) are ignored.

use super::read::{reader, Out, Reader, Rec};
use super::{data_types_for_permissions, parse, TypeInfo, TYPES};
use crate::connector::ParseError;
use crate::push::{PushEvent, PushNotice};
use crate::sample::DataType;
use crate::TimeWindow;
use chrono::{DateTime, Utc};
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};

/// The list of members who disconnected.
const DEREGISTRATIONS: &str = "deregistrations";
/// The list of members who changed what they share.
const PERMISSIONS: &str = "userPermissionsChange";

/// Errors outside any one data type.
const NO_TYPE: Reader = reader("");

pub(super) fn parse(body: &[u8]) -> Result<Vec<PushNotice>, ParseError> {
    let root: BTreeMap<String, &RawValue> =
        serde_json::from_slice(body).map_err(|_| NO_TYPE.err("$", "not a JSON object"))?;
    let mut notices = Vec::new();
    for (key, raw) in &root {
        if key == DEREGISTRATIONS {
            for rec in entries(NO_TYPE, key, raw)? {
                notices.push(PushNotice {
                    vendor_user: user_id(&rec)?,
                    event: PushEvent::Deregistered,
                });
            }
        } else if key == PERMISSIONS {
            for rec in entries(NO_TYPE, key, raw)? {
                let vendor_user = user_id(&rec)?;
                let permissions = permissions(&rec)?;
                notices.push(PushNotice {
                    vendor_user,
                    event: PushEvent::PermissionsChanged {
                        data_types: data_types_for_permissions(&permissions),
                    },
                });
            }
        } else if let Some(info) = TYPES.iter().find(|t| t.push_keys.contains(&key.as_str())) {
            summaries(info, key, raw, &mut notices)?;
        }
    }
    Ok(notices)
}

/// The records of the list at `key`, each read as an object.
fn entries<'a>(ctx: Reader, key: &str, raw: &'a RawValue) -> Result<Vec<Rec<'a>>, ParseError> {
    let list = ctx.array(raw, key)?;
    list.into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let path = format!("{key}[{i}]");
            let obj = ctx.object(raw, &path)?;
            Ok(Rec { ctx, path, obj })
        })
        .collect()
}

fn user_id(rec: &Rec<'_>) -> Result<String, ParseError> {
    rec.string("userId")?
        .filter(|u| !u.is_empty())
        .ok_or_else(|| rec.ctx.err(rec.at("userId"), "missing"))
}

fn permissions(rec: &Rec<'_>) -> Result<Vec<String>, ParseError> {
    let path = rec.at("permissions");
    let raw = rec
        .obj
        .get("permissions")
        .ok_or_else(|| rec.ctx.err(path.clone(), "missing"))?;
    serde_json::from_str(raw.get()).map_err(|_| rec.ctx.err(path, "not an array of strings"))
}

/// The summaries (or pings) of one type: one event per member and type.
fn summaries(
    info: &'static TypeInfo,
    key: &str,
    raw: &RawValue,
    notices: &mut Vec<PushNotice>,
) -> Result<(), ParseError> {
    let ctx = reader(info.id);
    let Some(data_type) = DataType::parse(info.id) else {
        return Ok(());
    };
    let mut members: Vec<(String, Out)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for rec in entries(ctx, key, raw)? {
        let vendor_user = user_id(&rec)?;
        if rec.has("callbackURL") {
            notices.push(PushNotice {
                vendor_user,
                event: PushEvent::NewData {
                    data_type: data_type.clone(),
                    window: ping_window(&rec)?,
                },
            });
            continue;
        }
        let at = *index.entry(vendor_user.clone()).or_insert_with(|| {
            members.push((vendor_user, Out::default()));
            members.len() - 1
        });
        if let Some((_, out)) = members.get_mut(at) {
            parse::record(info.kind, &rec, out)?;
        }
    }
    notices.extend(members.into_iter().map(|(vendor_user, out)| PushNotice {
        vendor_user,
        event: PushEvent::Samples {
            data_type: data_type.clone(),
            page: out.into_page(None),
        },
    }));
    Ok(())
}

/// A ping's upload window: its fields, else its callback URL's parameters (read,
/// not kept), else none.
fn ping_window(rec: &Rec<'_>) -> Result<Option<TimeWindow>, ParseError> {
    const START: &str = "uploadStartTimeInSeconds";
    const END: &str = "uploadEndTimeInSeconds";
    let url = rec.string("callbackURL")?;
    if let (Some(start), Some(end)) = (rec.int(START)?, rec.int(END)?) {
        let time = |secs, key| {
            DateTime::<Utc>::from_timestamp(secs, 0)
                .ok_or_else(|| rec.ctx.err(rec.at(key), "out of range"))
        };
        let (start, end) = (time(start, START)?, time(end, END)?);
        if end <= start {
            return Err(rec.ctx.err(rec.at(END), "not after the start"));
        }
        return Ok(Some(TimeWindow { start, end }));
    }
    let Some(url) = url.and_then(|u| url::Url::parse(&u).ok()) else {
        return Ok(None);
    };
    let param = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.parse::<i64>().ok())
            .and_then(|secs| DateTime::<Utc>::from_timestamp(secs, 0))
    };
    Ok(match (param(START), param(END)) {
        (Some(start), Some(end)) if end > start => Some(TimeWindow { start, end }),
        _ => None,
    })
}

/// A ping as Garmin sends it: `user`'s new summaries of `data_types` (ids of this
/// connector), uploaded within `window`, to pull from under `api_base`.
pub fn ping_body(api_base: &str, user: &str, data_types: &[&str], window: TimeWindow) -> Vec<u8> {
    let (start, end) = (window.start.timestamp(), window.end.timestamp());
    let mut body = serde_json::Map::new();
    for info in TYPES.iter().filter(|t| data_types.contains(&t.id)) {
        let entry = serde_json::json!([{
            "userId": user,
            "uploadStartTimeInSeconds": start,
            "uploadEndTimeInSeconds": end,
            "callbackURL": format!(
                "{api_base}/{}?uploadStartTimeInSeconds={start}&uploadEndTimeInSeconds={end}",
                info.path
            ),
        }]);
        body.insert(info.push_keys[0].to_owned(), entry);
    }
    serde_json::Value::Object(body).to_string().into_bytes()
}
