//! `activity`: daily aggregates from `POST /v2/measure action=getactivity`.
//!
//! Policy: one record is one local day of the member (`date`, in the record's own
//! `timezone`), so every sample runs from that day's local midnight to the next,
//! with the offsets in force at each (23 or 25 hours on DST days). Fields, as the
//! API reference defines them:
//!
//! | field | metric | unit |
//! |---|---|---|
//! | `steps` | steps of the day | `/d` |
//! | `distance` (m) | distance | `m` |
//! | `calories` (active kcal) | active energy over the day | `kcal` |
//! | `totalcalories` (active + passive kcal) | energy burned in the day | `kcal/d` |
//!
//! Numbers keep the text Withings sent (`204.796`). A missing field yields no
//! sample; a `null` or negative one is left out and counted; steps must be whole.
//! Withings gives daily records no id, but keys them by day: `vendor_record_id` is
//! the `date`, so a day re-counted later (more steps by evening) amends the same
//! record instead of adding one.

use super::device::Source;
use super::json::{self, join, Number, Reader, Zoned as _};
use super::{decimal, skip, time, ACTIVITY};
use crate::connector::{Page, ParseError};
use crate::sample::{Metric, Quantity, Sample, Value};
use chrono::NaiveDate;
use serde_json::value::RawValue;

/// The data fields a `getactivity` request asks for.
pub(super) const DATA_FIELDS: &str = "steps,distance,calories,totalcalories";

/// One field of a daily record and the metric it becomes.
struct Field {
    key: &'static str,
    metric: Metric,
    ucum: &'static str,
    whole: bool,
}

const FIELDS: [Field; 4] = [
    Field {
        key: "steps",
        metric: Metric::StepsDaily,
        ucum: "/d",
        whole: true,
    },
    Field {
        key: "distance",
        metric: Metric::Distance,
        ucum: "m",
        whole: false,
    },
    Field {
        key: "calories",
        metric: Metric::ActiveEnergy,
        ucum: "kcal",
        whole: false,
    },
    Field {
        key: "totalcalories",
        metric: Metric::EnergyBurnedDaily,
        ucum: "kcal/d",
        whole: false,
    },
];

/// Parse one `getactivity` answer (or its body, or a bare list of days).
pub(super) fn page(body: &[u8]) -> Result<Page, ParseError> {
    let r = json::reader(ACTIVITY);
    let doc = json::open(&r, body, "activities")?;
    let mut page = Page::default();
    for (i, raw) in doc.records.iter().enumerate() {
        day(&r, &mut page, &doc.record_path(i), raw)?;
    }
    page.next_cursor = doc.next_cursor(&r)?;
    Ok(page)
}

fn day(r: &Reader, page: &mut Page, path: &str, raw: &RawValue) -> Result<(), ParseError> {
    let obj = r.object(raw, path)?;
    let date_text = r.required_string(&obj, path, "date")?;
    let date = NaiveDate::parse_from_str(&date_text, "%Y-%m-%d")
        .map_err(|_| r.err(join(path, "date"), "not a YYYY-MM-DD date"))?;
    let zone = r.required_zone(&obj, path, "timezone")?;
    let (start, end) = time::day(zone, date).ok_or_else(|| {
        r.err(
            join(path, "date"),
            "a day that does not exist in its time zone",
        )
    })?;
    let device = Source::read(r, &obj, path)?.device();
    for field in &FIELDS {
        let text = match r.number(&obj, path, field.key)? {
            Number::Absent => continue,
            Number::Null => {
                skip::record(page, join(path, field.key), skip::NULL_VALUE);
                continue;
            }
            Number::Text(text) => text,
        };
        let value =
            decimal::plain(text).ok_or_else(|| r.err(join(path, field.key), "not a number"))?;
        if decimal::is_negative(&value) {
            skip::record(page, join(path, field.key), skip::NEGATIVE);
            continue;
        }
        if field.whole && decimal::integer(&value).is_none() {
            return Err(r.err(join(path, field.key), "not a whole number"));
        }
        page.samples.push(Sample {
            metric: field.metric,
            vendor_code: field.key.to_owned(),
            value: Value::Quantity(Quantity {
                value,
                unit: field.ucum.to_owned(),
            }),
            start,
            end: Some(end),
            device: device.clone(),
            vendor_record_id: Some(date.to_string()),
            trend: None,
        });
    }
    Ok(())
}
