//! The device behind a Withings record.
//!
//! Policy: the manufacturer is Withings only for Withings hardware. Records that
//! Withings imports from phone platforms (`brand` 18, or a model id from 1000 up:
//! HealthKit, Google Fit, Samsung Health, Huawei, iGlucose, Lingo in Withings'
//! model table) keep their model name but no manufacturer. Model names are as
//! sent; where a record only has a model id (sleep summaries), the name comes from
//! Withings' model table in the API reference.

use super::json::{Object, Reader};
use crate::connector::ParseError;
use crate::sample::Device;

/// `brand` of data that did not come from a Withings device or app.
const EXTERNAL_BRAND: i64 = 18;
/// Model ids from here up are other vendors' trackers imported by Withings.
const FIRST_EXTERNAL_MODEL: i64 = 1000;

/// What a record says about its device.
pub(super) struct Source {
    pub model: Option<String>,
    pub model_id: Option<i64>,
    pub device_id: Option<String>,
    pub brand: Option<i64>,
}

impl Source {
    /// Read the fields measure groups and activities share: `model` (a name),
    /// `modelid` (the reference spells it `model_id`; the API sends `modelid`),
    /// `deviceid` (else `hash_deviceid`) and `brand`.
    pub fn read(r: &Reader, obj: &Object<'_>, path: &str) -> Result<Self, ParseError> {
        let model_id = match r.integer(obj, path, "modelid")? {
            Some(id) => Some(id),
            None => r.integer(obj, path, "model_id")?,
        };
        Ok(Self {
            model: r.string(obj, path, "model")?,
            model_id,
            device_id: device_id(r, obj, path)?,
            brand: r.integer(obj, path, "brand")?,
        })
    }

    /// The device, when the record names one.
    pub fn device(self) -> Option<Device> {
        let model = self
            .model
            .or_else(|| self.model_id.and_then(model_name).map(str::to_owned));
        if model.is_none() && self.device_id.is_none() {
            return None;
        }
        let external = self.brand == Some(EXTERNAL_BRAND)
            || self.model_id.is_some_and(|id| id >= FIRST_EXTERNAL_MODEL);
        Some(Device {
            manufacturer: (!external).then(|| "Withings".to_owned()),
            model,
            vendor_device_id: self.device_id,
        })
    }
}

/// `deviceid`, else `hash_deviceid` (Withings sends the same hash in both).
pub(super) fn device_id(
    r: &Reader,
    obj: &Object<'_>,
    path: &str,
) -> Result<Option<String>, ParseError> {
    let id = match r.string(obj, path, "deviceid")? {
        Some(id) => Some(id),
        None => r.string(obj, path, "hash_deviceid")?,
    };
    Ok(id.filter(|id| !id.is_empty()))
}

/// Withings' name for a model id (API reference, `model_id` tables).
pub(super) fn model_name(id: i64) -> Option<&'static str> {
    Some(match id {
        1 => "Withings WBS01",
        2 => "WS30",
        3 => "Kid Scale",
        4 => "Smart Body Analyzer",
        5 => "Body+",
        6 => "Body Cardio",
        7 => "Body",
        9 => "Body Pro",
        10 => "Body Scan",
        11 => "WBS10",
        12 => "WBS11",
        18 => "Body Comp",
        41 => "Withings Blood Pressure Monitor V1",
        42 => "Withings Blood Pressure Monitor V2",
        43 => "Withings Blood Pressure Monitor V3",
        44 => "BPM Core",
        45 => "BPM Connect",
        46 => "BPM Connect Pro",
        47 => "BPM Pro 2",
        48 => "BPM Vision",
        51 => "Pulse",
        52 => "Activite",
        53 => "Activite (Pop, Steel)",
        54 => "Withings Go",
        55 => "Activite Steel HR",
        58 => "Pulse HR",
        59 => "Activite Steel HR Sport Edition",
        60 => "Aura Dock",
        61 => "Aura Sensor",
        63 => "Aura Sensor V2",
        70 => "Thermo",
        71 => "BeamO",
        90 => "Move",
        91 | 92 => "Move ECG",
        93 => "ScanWatch",
        94 => "ScanWatch 2",
        95 => "ScanWatch Light",
        _ => return None,
    })
}
