//! `POST /measure action=getmeas`: the member's measure groups.
//!
//! Policy: each morning's weigh-in is the person's body weight
//! ([`person::readings`]), with the fat ratio and fat mass on two days in three;
//! a blood-pressure reading (diastolic, systolic, pulse) on about a third of the
//! days, an SpO2 spot check (with pulse) on about one day in five, and a body
//! temperature on about one day in fifteen. A group is dated when it was measured
//! and exists once uploaded (`created`, under a minute later). `startdate` and
//! `enddate` select groups dated in `[startdate, enddate)`, `lastupdate` those
//! modified since; `meastype`/`meastypes` keep only those measures (and the groups
//! that have one), `category` 2 (goals) is empty. Twenty groups a page.

use super::{bad, device_id, local, offset, page, pick, record_id, zone, Span};
use crate::sandbox::person::{self, Kind};
use crate::sandbox::twin::{single, DataError};
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use serde::Serialize;

/// Groups per page.
const PAGE: usize = 20;

#[derive(Serialize)]
pub(super) struct Body {
    updatetime: i64,
    timezone: String,
    measuregrps: Vec<Group>,
    /// `1` when another page follows, else `0`.
    more: u8,
    offset: usize,
}

#[derive(Serialize)]
struct Group {
    grpid: u64,
    attrib: u8,
    date: i64,
    created: i64,
    modified: i64,
    category: u8,
    deviceid: String,
    hash_deviceid: String,
    measures: Vec<Measure>,
    modelid: u32,
    model: &'static str,
    comment: Option<String>,
}

#[derive(Serialize, Clone, Copy)]
struct Measure {
    value: i64,
    #[serde(rename = "type")]
    kind: i64,
    unit: i64,
    algo: u32,
    fm: u32,
}

/// What took a group: which device, and the group's slot in the day.
#[derive(Clone, Copy)]
enum Source {
    Scale,
    BloodPressure,
    Watch,
    Thermometer,
}

impl Source {
    fn slot(self) -> u64 {
        match self {
            Source::Scale => 0,
            Source::BloodPressure => 1,
            Source::Watch => 2,
            Source::Thermometer => 3,
        }
    }

    /// Model id, model name, device key.
    fn device(self, user: &str) -> (u32, &'static str, &'static str) {
        match self {
            Source::Scale => {
                let scales = [(5, "Body+"), (6, "Body Cardio"), (18, "Body Comp")];
                let i = usize::try_from(person::hash(&[user, "scale_model"]) % 3).unwrap_or(0);
                let (id, name) = scales.get(i).copied().unwrap_or((6, "Body Cardio"));
                (id, name, "scale")
            }
            Source::BloodPressure => (45, "BPM Connect", "bpm"),
            Source::Watch => (93, "ScanWatch", "watch"),
            Source::Thermometer => (70, "Thermo", "thermo"),
        }
    }
}

/// A group before it is rendered.
struct Draft {
    day: NaiveDate,
    source: Source,
    date: i64,
    created: i64,
    measures: Vec<Measure>,
}

fn measure(kind: i64, value: i64, unit: i64) -> Measure {
    Measure {
        value,
        kind,
        unit,
        algo: 0,
        fm: 3,
    }
}

/// The answer to one `getmeas` request.
pub(super) fn answer(
    user: &str,
    query: &[(String, String)],
    now: DateTime<Utc>,
) -> Result<Body, DataError> {
    let span = Span::read(query, false)?;
    let types = meastypes(query)?;
    let category = match single(query, "category")? {
        None | Some("1") => 1,
        Some("2") => 2,
        Some(_) => return Err(bad("category", "not 1 (real measures) or 2 (goals)")),
    };
    let offset = offset(query)?;
    let (utc_offset, timezone) = zone(user)?;
    let mut drafts: Vec<Draft> = Vec::new();
    if category == 1 {
        for day in span.days(utc_offset, now, 1) {
            drafts.extend(day_groups(user, utc_offset, day, now));
        }
    }
    drafts.retain(|g| g.created <= now.timestamp() && span.keeps(g.day, g.date, g.created));
    if let Some(types) = &types {
        for g in &mut drafts {
            g.measures.retain(|m| types.contains(&m.kind));
        }
        drafts.retain(|g| !g.measures.is_empty());
    }
    drafts.sort_by_key(|g| (g.date, g.source.slot()));
    let (drafts, more, next) = page(drafts, offset, PAGE);
    Ok(Body {
        updatetime: now.timestamp(),
        timezone,
        measuregrps: drafts.into_iter().map(|g| render(user, g)).collect(),
        more: u8::from(more),
        offset: next,
    })
}

/// `meastype` (one) or `meastypes` (comma-separated): `None` for every type.
fn meastypes(query: &[(String, String)]) -> Result<Option<Vec<i64>>, DataError> {
    let parse = |name: &'static str, text: &str| {
        text.split(',')
            .map(|t| t.trim().parse::<i64>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| bad(name, "not a comma-separated list of measure types"))
    };
    match (single(query, "meastype")?, single(query, "meastypes")?) {
        (Some(one), None) => parse("meastype", one).map(Some),
        (None, Some(list)) => parse("meastypes", list).map(Some),
        (Some(_), Some(_)) => Err(bad("meastypes", "given with meastype")),
        (None, None) => Ok(None),
    }
}

fn render(user: &str, g: Draft) -> Group {
    let (modelid, model, key) = g.source.device(user);
    let id = device_id(user, key);
    Group {
        grpid: record_id(user, "measuregrp", g.day, 4, g.source.slot()),
        attrib: 0,
        date: g.date,
        created: g.created,
        modified: g.created,
        category: 1,
        deviceid: id.clone(),
        hash_deviceid: id,
        measures: g.measures,
        modelid,
        model,
        comment: None,
    }
}

/// Every group the member measured on local day `day` (uploaded or not).
fn day_groups(user: &str, offset: FixedOffset, day: NaiveDate, now: DateTime<Utc>) -> Vec<Draft> {
    let date = day.to_string();
    let mut groups = Vec::new();
    let seed = |kind: &str| person::hash(&[user, &date, kind]);
    let at = |minutes: i64| local(offset, day, minutes).map(|t| t.timestamp());
    let upload = |at: i64, seed: u64| at + pick(seed >> 40, 8, 55);

    // The weigh-in, as the person measured it.
    let (Some(from), Some(until)) = (local(offset, day, 0), local(offset, day, 24 * 60)) else {
        return groups;
    };
    let (from, until) = (from.with_timezone(&Utc), until.with_timezone(&Utc));
    for weight in person::readings(user, Kind::BodyWeight, from, until, now) {
        let Some(grams) = grams(&weight.value) else {
            continue;
        };
        let date = weight.start.timestamp();
        let fat = seed("fat_ratio");
        let mut measures = vec![measure(1, grams, -3)];
        if !fat.is_multiple_of(3) {
            // Centi-percent: a base of 18–28 % per user, ±1 % from day to day.
            let base = pick(person::hash(&[user, "fat_ratio"]), 1800, 2800);
            let ratio = base + pick(fat >> 8, -100, 100);
            measures.push(measure(6, ratio, -2));
            measures.push(measure(8, grams * ratio / 10_000, -3));
        }
        groups.push(Draft {
            day,
            source: Source::Scale,
            date,
            created: upload(date, weight.key),
            measures,
        });
    }

    let bp = seed("blood_pressure");
    if bp.is_multiple_of(3) {
        if let Some(date) = at(8 * 60 + pick(bp >> 8, 0, 44)) {
            let systolic =
                pick(person::hash(&[user, "systolic"]), 110, 134) + pick(bp >> 16, -8, 8);
            let diastolic =
                pick(person::hash(&[user, "diastolic"]), 68, 84) + pick(bp >> 24, -6, 6);
            let pulse = pulse(user) + pick(bp >> 32, -6, 10);
            groups.push(Draft {
                day,
                source: Source::BloodPressure,
                date,
                created: upload(date, bp),
                measures: vec![
                    measure(9, diastolic, 0),
                    measure(10, systolic, 0),
                    measure(11, pulse, 0),
                ],
            });
        }
    }

    let spo2 = seed("spo2");
    if spo2.is_multiple_of(5) {
        if let Some(date) = at(21 * 60 + pick(spo2 >> 8, 0, 89)) {
            groups.push(Draft {
                day,
                source: Source::Watch,
                date,
                created: upload(date, spo2),
                measures: vec![
                    measure(54, pick(spo2 >> 16, 94, 99), 0),
                    measure(11, pulse(user) + pick(spo2 >> 24, -4, 8), 0),
                ],
            });
        }
    }

    let temperature = seed("temperature");
    if temperature.is_multiple_of(15) {
        if let Some(date) = at(19 * 60 + pick(temperature >> 8, 0, 119)) {
            groups.push(Draft {
                day,
                source: Source::Thermometer,
                date,
                created: upload(date, temperature),
                // Centi-degrees Celsius: 36.20–37.60 °C.
                measures: vec![measure(71, pick(temperature >> 16, 3620, 3760), -2)],
            });
        }
    }
    groups
}

/// The member's resting pulse, 56–74 /min.
fn pulse(user: &str) -> i64 {
    pick(person::hash(&[user, "pulse"]), 56, 74)
}

/// Decimal kilograms (`72.45`) as grams.
fn grams(kg: &str) -> Option<i64> {
    let (whole, frac) = kg.split_once('.').unwrap_or((kg, ""));
    if frac.len() > 3 || !frac.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let frac = format!("{frac:0<3}").parse::<i64>().ok()?;
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(1000)?
        .checked_add(frac)
}

#[cfg(test)]
mod tests {
    use super::grams;

    #[test]
    fn kilograms_become_grams() {
        assert_eq!(grams("72.45"), Some(72_450));
        assert_eq!(grams("60.05"), Some(60_050));
        assert_eq!(grams("70"), Some(70_000));
        assert_eq!(grams("70.1234"), None);
        assert_eq!(grams("x.1"), None);
    }
}
