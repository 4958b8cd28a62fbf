//! Reading one page of the demo data API into [`Sample`]s.
//!
//! Policy: the body is read field by field from raw JSON text, so a fault is reported
//! at its exact path (`data[3].start`) and a number keeps the text it was sent as.
//! Unknown fields are ignored (the vendor may add some); missing, mistyped or
//! out-of-range ones fail the page.

use super::{TypeInfo, VENDOR};
use crate::connector::{Page, ParseError};
use crate::sample::{Device, Metric, Quantity, Sample, Value};
use chrono::{DateTime, FixedOffset};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// A JSON object with its values still as text.
type Object<'a> = BTreeMap<String, &'a RawValue>;

/// Parse a whole response body.
pub(super) fn page(info: &TypeInfo, body: &[u8]) -> Result<Page, ParseError> {
    let r = Reader { info };
    let root: Object<'_> = serde_json::from_slice(body).map_err(|e| {
        let problem = if e.is_data() {
            "not a JSON object".to_owned()
        } else {
            format!("not JSON ({e})")
        };
        r.err("$", problem)
    })?;
    let Some(data) = root.get("data") else {
        return Err(r.err("data", "missing"));
    };
    let records: Vec<&RawValue> =
        serde_json::from_str(data.get()).map_err(|_| r.err("data", "not an array"))?;
    let samples = records
        .iter()
        .enumerate()
        .map(|(i, raw)| r.record(&format!("data[{i}]"), raw))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = r.string(&root, "", "next_cursor", false)?;
    if next_cursor.as_deref() == Some("") {
        return Err(r.err("next_cursor", "empty"));
    }
    Ok(Page {
        samples,
        next_cursor,
        skipped: Vec::new(),
    })
}

struct Reader<'i> {
    info: &'i TypeInfo,
}

impl Reader<'_> {
    fn err(&self, path: &str, problem: impl Into<String>) -> ParseError {
        ParseError {
            vendor: VENDOR.to_owned(),
            data_type: self.info.id.to_owned(),
            path: path.to_owned(),
            problem: problem.into(),
        }
    }

    fn record(&self, path: &str, raw: &RawValue) -> Result<Sample, ParseError> {
        let obj: Object<'_> =
            serde_json::from_str(raw.get()).map_err(|_| self.err(path, "not an object"))?;
        let id = self.required(&obj, path, "id")?;
        if id.is_empty() {
            return Err(self.err(&format!("{path}.id"), "empty"));
        }
        let kind = self.required(&obj, path, "type")?;
        if kind != self.info.id {
            let problem = format!("is {kind:?} in a {} response", self.info.id);
            return Err(self.err(&format!("{path}.type"), problem));
        }
        let start = self
            .time(&obj, path, "start", true)?
            .ok_or_else(|| self.err(&format!("{path}.start"), "missing"))?;
        // Steps are per day, an interval; the other types are spot readings.
        let interval = self.info.metric == Metric::StepsDaily;
        let end = self.time(&obj, path, "end", interval)?;
        if end.is_some_and(|end| end <= start) {
            return Err(self.err(&format!("{path}.end"), "not after start"));
        }
        let value = self.value(&obj, path)?;
        let unit = self.required(&obj, path, "unit")?;
        if unit != self.info.vendor_unit {
            let problem = format!("is {unit:?}, expected {:?}", self.info.vendor_unit);
            return Err(self.err(&format!("{path}.unit"), problem));
        }
        let device = self.device(&obj, path)?;
        Ok(Sample {
            metric: self.info.metric,
            vendor_code: self.info.id.to_owned(),
            value: Value::Quantity(Quantity {
                value,
                unit: self.info.ucum.to_owned(),
            }),
            start,
            end,
            device,
            vendor_record_id: Some(id),
            trend: None,
        })
    }

    /// A string field; `null` counts as absent.
    fn string(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Result<Option<String>, ParseError> {
        // The path is only spelled out for an error: this runs for every field.
        let field = || {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match obj.get(key).filter(|raw| raw.get() != "null") {
            None if required => Err(self.err(&field(), "missing")),
            None => Ok(None),
            Some(raw) => serde_json::from_str::<String>(raw.get())
                .map(Some)
                .map_err(|_| self.err(&field(), "not a string")),
        }
    }

    fn required(&self, obj: &Object<'_>, path: &str, key: &str) -> Result<String, ParseError> {
        self.string(obj, path, key, true)?
            .ok_or_else(|| self.err(&format!("{path}.{key}"), "missing"))
    }

    fn time(
        &self,
        obj: &Object<'_>,
        path: &str,
        key: &str,
        required: bool,
    ) -> Result<Option<DateTime<FixedOffset>>, ParseError> {
        let Some(text) = self.string(obj, path, key, required)? else {
            return Ok(None);
        };
        DateTime::parse_from_rfc3339(&text)
            .map(Some)
            .map_err(|_| self.err(&format!("{path}.{key}"), "not an RFC 3339 timestamp"))
    }

    /// The number's text as sent, checked against what the data type allows.
    fn value(&self, obj: &Object<'_>, path: &str) -> Result<String, ParseError> {
        let field = || format!("{path}.value");
        let Some(raw) = obj.get("value") else {
            return Err(self.err(&field(), "missing"));
        };
        let text = raw.get();
        if !text.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
            return Err(self.err(&field(), "not a number"));
        }
        if text.contains(['e', 'E']) {
            return Err(self.err(&field(), "not a plain decimal (has an exponent)"));
        }
        let negative = text.starts_with('-');
        let whole = !text.contains('.');
        let zero = text.bytes().all(|b| matches!(b, b'0' | b'.' | b'-'));
        let problem = match self.info.metric {
            Metric::StepsDaily if negative => Some("a negative step count"),
            Metric::StepsDaily if !whole => Some("not a whole number"),
            Metric::HeartRate if negative || zero || !whole => Some("not a positive whole number"),
            Metric::BodyWeight if negative || zero => Some("not a positive number"),
            _ => None,
        };
        match problem {
            Some(problem) => Err(self.err(&field(), problem)),
            None => Ok(text.to_owned()),
        }
    }

    fn device(&self, obj: &Object<'_>, path: &str) -> Result<Option<Device>, ParseError> {
        let path = format!("{path}.device");
        let Some(raw) = obj.get("device").filter(|raw| raw.get() != "null") else {
            return Ok(None);
        };
        let dev: Object<'_> =
            serde_json::from_str(raw.get()).map_err(|_| self.err(&path, "not an object"))?;
        Ok(Some(Device {
            manufacturer: self.string(&dev, &path, "manufacturer", false)?,
            model: self.string(&dev, &path, "model", false)?,
            vendor_device_id: self.string(&dev, &path, "id", false)?,
        }))
    }
}
