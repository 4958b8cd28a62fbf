//! Why a record or a field is left out of a page, in words that never hold a value.
//!
//! Policy: data that is valid but not a measurement Tributary maps (a goal, an
//! unmapped measure type, a `null` or "not measured" marker) is left out and
//! counted in [`Page::skipped`]; data of the wrong shape fails the page instead.

use crate::connector::{Page, Skipped};

/// `category` 2: a target the member set, not a measurement.
pub(super) const GOAL: &str = "a goal, not a measurement";
/// A `category` other than 1 (real measures) or 2 (goals).
pub(super) const UNKNOWN_CATEGORY: &str = "an unknown measure group category";
/// `attrib` 1: the device could not tell whose measurement it was.
pub(super) const AMBIGUOUS: &str = "ambiguous: it may be another person's measurement";
/// A measure type without a metric in Tributary's mapping.
pub(super) const UNMAPPED_TYPE: &str = "a measure type Tributary does not map";
/// Meastype 73: an absolute skin temperature, not the deviation the metric is.
pub(super) const SKIN_TEMPERATURE: &str =
    "skin temperature is absolute, not a deviation from baseline";
/// A measure of one body segment (`position` other than the whole body).
pub(super) const SEGMENT: &str = "a body-segment measure, not the whole body";
/// The group holds this measure type twice; the first one counts.
pub(super) const REPEATED_TYPE: &str = "a second measure of the same type in the group";
/// A systolic pressure without a diastolic one, or the other way round.
pub(super) const HALF_BLOOD_PRESSURE: &str = "blood pressure without its other half";
/// A `null` where a number belongs.
pub(super) const NULL_VALUE: &str = "a null value";
/// A negative number where only zero or more makes sense (Withings writes -1
/// for "not computed").
pub(super) const NEGATIVE: &str = "a negative value (not measured)";
/// A heart rate of zero or less.
pub(super) const NO_HEART_RATE: &str = "no heart rate measured";
/// A sleep summary without its `data`.
pub(super) const NO_SLEEP_DATA: &str = "a sleep summary without data";

/// Record that the record or field at `path` is left out, and why.
pub(super) fn record(page: &mut Page, path: String, reason: &'static str) {
    page.skipped.push(Skipped { path, reason });
}
