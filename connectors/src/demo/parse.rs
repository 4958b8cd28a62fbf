//! Reading one page of the demo data API into [`Sample`]s.
//!
//! Policy: the body is read field by field from raw JSON text, so a fault is reported
//! at its exact path (`data[3].start`) and a number keeps the text it was sent as.
//! Unknown fields are ignored (the vendor may add some); missing, mistyped or
//! out-of-range ones fail the page.

use super::{TypeInfo, VENDOR};
use crate::connector::{Page, ParseError};
use crate::raw::{self, Object};
use crate::sample::{Device, Metric, Quantity, Sample, Value};
use serde_json::value::RawValue;

/// What a time field must be.
const RFC3339: &str = "not an RFC 3339 timestamp";

/// Parse a whole response body.
pub(super) fn page(info: &TypeInfo, body: &[u8]) -> Result<Page, ParseError> {
    let r = Reader {
        raw: raw::Reader::new(VENDOR, info.id),
        info,
    };
    let (root, records) = r.raw.data_envelope(body)?;
    let samples = records
        .iter()
        .enumerate()
        .map(|(i, raw)| r.record(&format!("data[{i}]"), raw))
        .collect::<Result<Vec<_>, _>>()?;
    let next_cursor = r.raw.string(&root, "", "next_cursor")?;
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
    raw: raw::Reader,
    info: &'i TypeInfo,
}

impl Reader<'_> {
    fn err(&self, path: &str, problem: impl Into<String>) -> ParseError {
        self.raw.err(path, problem)
    }

    fn record(&self, path: &str, raw: &RawValue) -> Result<Sample, ParseError> {
        let obj = self.raw.object(raw, path)?;
        let id = self.raw.required_string(&obj, path, "id")?;
        if id.is_empty() {
            return Err(self.err(&format!("{path}.id"), "empty"));
        }
        let kind = self.raw.required_string(&obj, path, "type")?;
        if kind != self.info.id {
            let problem = format!("is {kind:?} in a {} response", self.info.id);
            return Err(self.err(&format!("{path}.type"), problem));
        }
        let start = self
            .raw
            .timestamp(&obj, path, "start", RFC3339)?
            .ok_or_else(|| self.err(&format!("{path}.start"), "missing"))?;
        // Steps are per day, an interval; the other types are spot readings.
        let interval = self.info.metric == Metric::StepsDaily;
        let end = self.raw.timestamp(&obj, path, "end", RFC3339)?;
        if interval && end.is_none() {
            return Err(self.err(&format!("{path}.end"), "missing"));
        }
        if end.is_some_and(|end| end <= start) {
            return Err(self.err(&format!("{path}.end"), "not after start"));
        }
        let value = self.value(&obj, path)?;
        let unit = self.raw.required_string(&obj, path, "unit")?;
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
        let Some(raw) = raw::present(obj, "device") else {
            return Ok(None);
        };
        let dev = self.raw.object(raw, &path)?;
        Ok(Some(Device {
            manufacturer: self.raw.string(&dev, &path, "manufacturer")?,
            model: self.raw.string(&dev, &path, "model")?,
            vendor_device_id: self.raw.string(&dev, &path, "id")?,
        }))
    }
}
