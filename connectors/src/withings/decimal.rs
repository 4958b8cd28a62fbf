//! Exact decimal text: Withings' `value × 10^unit`, JSON numbers without exponents,
//! seconds as minutes.
//!
//! Policy: no floating point anywhere. A value is moved by shifting its decimal
//! point in the text, so `74126 × 10^-3` is `74.126` and `70 × 10^-3` is `0.070`
//! (the trailing zero says the scale reads to the gram). Conversions that are a
//! power of ten (metres to centimetres) are one more shift; seconds to minutes is
//! integer arithmetic, exact wherever the quotient has a finite decimal expansion.

/// Exponents beyond this are not a measurement (and would make huge strings).
const MAX_EXP: i64 = 30;

pub(super) use crate::raw::integer;

/// Whether a decimal text is below zero (`-0` and `-0.0` are not).
pub(super) fn is_negative(text: &str) -> bool {
    text.starts_with('-') && !is_zero(text)
}

/// Whether a decimal text is zero.
pub(super) fn is_zero(text: &str) -> bool {
    text.bytes().all(|b| matches!(b, b'0' | b'.' | b'-' | b'+'))
}

/// `integer × 10^exp` as plain decimal text, exactly. `integer` is JSON integer
/// text; `None` when it is not one or `exp` is out of range.
pub(super) fn scale(integer_text: &str, exp: i64) -> Option<String> {
    integer(integer_text)?;
    if exp.abs() > MAX_EXP {
        return None;
    }
    let (negative, digits) = match integer_text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, integer_text),
    };
    let digits = digits.trim_start_matches('0');
    let digits = if digits.is_empty() { "0" } else { digits };
    let negative = negative && digits != "0";
    let sign = if negative { "-" } else { "" };
    // `exp` is within ±30 here, so the casts cannot truncate.
    let shift = exp.unsigned_abs() as usize;
    let text = if exp >= 0 {
        if digits == "0" {
            "0".to_owned()
        } else {
            format!("{digits}{}", "0".repeat(shift))
        }
    } else if digits.len() > shift {
        let (whole, fraction) = digits.split_at(digits.len() - shift);
        format!("{whole}.{fraction}")
    } else {
        format!("0.{}{digits}", "0".repeat(shift - digits.len()))
    };
    Some(format!("{sign}{text}"))
}

/// A JSON number's text as plain decimal text: unchanged without an exponent
/// (`1607.93` stays `1607.93`), the exponent applied exactly otherwise
/// (`1.5e2` is `150`). `None` when `text` is not a JSON number.
pub(super) fn plain(text: &str) -> Option<String> {
    let (mantissa, exp) = match text.find(['e', 'E']) {
        Some(at) => {
            let exp = text.get(at + 1..)?;
            let exp = exp.strip_prefix('+').unwrap_or(exp);
            (text.get(..at)?, integer(exp)?.parse::<i64>().ok()?)
        }
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    integer(whole)?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) || mantissa.ends_with('.') {
        return None;
    }
    if exp == 0 {
        return Some(mantissa.to_owned());
    }
    let shifted = exp.checked_sub(i64::try_from(fraction.len()).ok()?)?;
    scale(&format!("{whole}{fraction}"), shifted)
}

/// Whole seconds as minutes, decimal text: exact where the quotient has a finite
/// decimal expansion (always a whole number or two decimals, because 60 = 2²·3·5
/// and the expansion is finite exactly when 3 divides the seconds), otherwise
/// rounded half up to thousandths of a minute (0.06 s, finer than the
/// whole-second source).
pub(super) fn seconds_as_minutes(seconds: u64) -> String {
    let seconds = u128::from(seconds);
    if seconds % 60 == 0 {
        return (seconds / 60).to_string();
    }
    if seconds % 3 == 0 {
        // seconds / 60 = (seconds · 5 / 3) hundredths, exactly.
        let hundredths = seconds * 5 / 3;
        let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
        return text.trim_end_matches('0').to_owned();
    }
    // seconds / 60 = (seconds · 50 / 3) thousandths; the remainder is 1 or 2 thirds.
    let scaled = seconds * 50;
    let thousandths = scaled / 3 + u128::from(scaled % 3 == 2);
    format!("{}.{:03}", thousandths / 1000, thousandths % 1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scaling_moves_the_point_and_keeps_the_precision() {
        let cases = [
            ("74126", -3, "74.126"),
            ("70", -3, "0.070"),
            ("70", 0, "70"),
            ("1930", -1, "193.0"),
            ("2", 2, "200"),
            ("95", -2, "0.95"),
            ("5", -4, "0.0005"),
            ("-1000", -3, "-1.000"),
            ("0", 3, "0"),
            ("-0", -2, "0.00"),
            ("118003", -3, "118.003"),
        ];
        for (value, exp, text) in cases {
            assert_eq!(scale(value, exp).as_deref(), Some(text), "{value}e{exp}");
        }
        for (value, exp) in [
            ("1.5", 0),
            ("", 0),
            ("-", 1),
            ("1e3", 0),
            ("1", 31),
            ("1", -31),
        ] {
            assert_eq!(scale(value, exp), None, "{value}e{exp}");
        }
    }

    #[test]
    fn json_numbers_become_plain_decimals() {
        let cases = [
            ("1607.93", "1607.93"),
            ("2454.481", "2454.481"),
            ("0", "0"),
            ("-3.50", "-3.50"),
            ("1.5e2", "150"),
            ("1.50E+1", "15.0"),
            ("25e-3", "0.025"),
            ("0.5e1", "5"),
        ];
        for (text, plain_text) in cases {
            assert_eq!(plain(text).as_deref(), Some(plain_text), "{text}");
        }
        for text in [
            "", "-", "1.", ".5", "1e", "1e999", "\"1\"", "true", "1.2.3", "0x10",
        ] {
            assert_eq!(plain(text), None, "{text}");
        }
    }

    #[test]
    fn seconds_become_minutes_exactly_where_they_can() {
        let cases = [
            (0, "0"),
            (3360, "56"),
            (11160, "186"),
            (90, "1.5"),
            (45, "0.75"),
            (3, "0.05"),
            (63, "1.05"),
            (10, "0.167"),
            (1, "0.017"),
            (20, "0.333"),
            (18661, "311.017"),
        ];
        for (seconds, minutes) in cases {
            assert_eq!(seconds_as_minutes(seconds), minutes, "{seconds} s");
        }
        assert_eq!(seconds_as_minutes(u64::MAX).len(), 21);
    }

    #[test]
    fn signs_and_zeros() {
        assert!(is_negative("-1") && is_negative("-0.5"));
        assert!(!is_negative("-0") && !is_negative("-0.00") && !is_negative("3"));
        assert!(is_zero("0") && is_zero("0.000") && !is_zero("0.001"));
    }
}
