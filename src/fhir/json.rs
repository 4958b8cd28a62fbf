//! Writing FHIR resources as JSON.
//!
//! fhir-sdk models FHIR `decimal` as `f64`, and serde_json writes an `f64` with a
//! fraction (`8000.0`). FHIR readers accept that, but people and diff tools read
//! `8000` as the vendor sent it, so this writer prints whole-number floats as
//! integers. That is as far as the types allow: trailing zeros (`72.50`) and
//! precision beyond an `f64` cannot survive, because the model never holds the text.

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};
use std::io;

/// Compact JSON.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, serde_json::Error> {
    let mut out = Vec::with_capacity(1024);
    to_writer(&mut out, value)?;
    Ok(out)
}

/// Compact JSON into `writer`.
pub fn to_writer<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> Result<(), serde_json::Error> {
    let mut ser = serde_json::Serializer::with_formatter(writer, WholeNumbers(CompactFormatter));
    value.serialize(&mut ser)
}

/// Pretty JSON (two-space indent) into `writer`.
pub fn to_writer_pretty<W: io::Write, T: Serialize + ?Sized>(
    writer: W,
    value: &T,
) -> Result<(), serde_json::Error> {
    let formatter = WholeNumbers(PrettyFormatter::new());
    let mut ser = serde_json::Serializer::with_formatter(writer, formatter);
    value.serialize(&mut ser)
}

/// Re-indent JSON: every value `de` reads is written pretty (two-space indent,
/// whole numbers whole) into `writer`, keys in their order.
pub fn transcode_pretty<'de, D, W>(de: D, writer: W) -> Result<(), serde_json::Error>
where
    D: serde::Deserializer<'de>,
    W: io::Write,
{
    let formatter = WholeNumbers(PrettyFormatter::new());
    let mut ser = serde_json::Serializer::with_formatter(writer, formatter);
    serde_transcode::transcode(de, &mut ser)
}

/// Floats below 2^53 without a fraction are written as integers; everything else
/// is the wrapped formatter's.
struct WholeNumbers<F>(F);

/// 2^53: every integer below it is exact in an f64.
const EXACT: f64 = 9_007_199_254_740_992.0;

impl<F: Formatter> Formatter for WholeNumbers<F> {
    fn write_f64<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f64) -> io::Result<()> {
        if value.fract() == 0.0 && value.abs() < EXACT {
            // Exact: the value is a whole number well inside the i64 range.
            #[allow(clippy::cast_possible_truncation)]
            self.0.write_i64(w, value as i64)
        } else {
            self.0.write_f64(w, value)
        }
    }

    fn write_f32<W: ?Sized + io::Write>(&mut self, w: &mut W, value: f32) -> io::Result<()> {
        self.write_f64(w, f64::from(value))
    }

    fn begin_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }

    fn end_array<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }

    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }

    fn end_array_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }

    fn begin_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }

    fn end_object<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }

    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        w: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }

    fn end_object_key<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }

    fn begin_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }

    fn end_object_value<W: ?Sized + io::Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_floats_print_as_integers_and_fractions_stay() {
        let v = serde_json::json!({"a": 8000.0, "b": 72.5, "c": -3.0, "d": 1e300, "e": [0.1]});
        let text = String::from_utf8(to_vec(&v).unwrap()).unwrap();
        assert_eq!(text, r#"{"a":8000,"b":72.5,"c":-3,"d":1e+300,"e":[0.1]}"#);
        let mut pretty = Vec::new();
        to_writer_pretty(&mut pretty, &serde_json::json!({"a": [1.0]})).unwrap();
        assert_eq!(
            String::from_utf8(pretty).unwrap(),
            "{\n  \"a\": [\n    1\n  ]\n}"
        );
    }
}
