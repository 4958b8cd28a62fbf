//! Exact decimal text: JSON numbers as plain decimals, and the unit conversions
//! Garmin needs (grams to kilograms, seconds to minutes) done on digits and
//! integers, never through floats.

/// The largest exponent a JSON number may carry here; larger ones are not values
/// a health summary holds (and would spell out absurdly long text).
const MAX_EXPONENT: i32 = 40;

/// A JSON number's text as a plain decimal, exactly: `72.50` stays `72.50`, and
/// `7.25e1` becomes `72.5`. `None` when the text is not a JSON number or its
/// exponent is out of range.
pub(super) fn plain(text: &str) -> Option<String> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = match mantissa.split_once('.') {
        Some((int, frac)) => (int, Some(frac)),
        None => (mantissa, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let int_ok = digits(int) && (int == "0" || !int.starts_with('0'));
    if !int_ok || frac.is_some_and(|f| !digits(f)) {
        return None;
    }
    let Some(exponent) = exponent else {
        return Some(text.to_owned());
    };
    let exponent: i32 = exponent
        .strip_prefix('+')
        .unwrap_or(exponent)
        .parse()
        .ok()
        .filter(|e: &i32| e.unsigned_abs() <= MAX_EXPONENT.unsigned_abs())?;
    let frac = frac.unwrap_or("");
    let all = format!("{int}{frac}");
    // The decimal point sits after `point` digits of `all`.
    let point = int.len() as i32 + exponent;
    let text = if point <= 0 {
        format!("0.{}{all}", "0".repeat(point.unsigned_abs() as usize))
    } else if point as usize >= all.len() {
        format!("{all}{}", "0".repeat(point as usize - all.len()))
    } else {
        let (i, f) = all.split_at(point as usize);
        format!("{i}.{f}")
    };
    let text = canonical(&text);
    Some(if negative && text != "0" {
        format!("-{text}")
    } else {
        text
    })
}

/// Whether a plain decimal is below zero (`-0` is not).
pub(super) fn is_negative(plain: &str) -> bool {
    plain.starts_with('-') && plain.bytes().any(|b| matches!(b, b'1'..=b'9'))
}

/// Whether a plain decimal is zero (`0`, `0.00`, `-0`).
pub(super) fn is_zero(plain: &str) -> bool {
    !plain.bytes().any(|b| matches!(b, b'1'..=b'9'))
}

/// A plain decimal divided by `10^places`, in its shortest exact form
/// (`75450` grams → `75.45` kilograms).
pub(super) fn shift_left(plain: &str, places: usize) -> String {
    let (negative, unsigned) = match plain.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, plain),
    };
    let (int, frac) = unsigned.split_once('.').unwrap_or((unsigned, ""));
    let padded = format!("{}{int}", "0".repeat(places));
    let (i, moved) = padded.split_at(padded.len() - places);
    let text = canonical(&format!("{i}.{moved}{frac}"));
    if negative && text != "0" {
        format!("-{text}")
    } else {
        text
    }
}

/// Whole seconds as minutes: exact when the seconds are a multiple of 3 (then at
/// most two decimals), else rounded half up to two decimals, an error under 0.3 s,
/// below the one-second resolution of the source.
pub(super) fn seconds_to_minutes(seconds: u64) -> String {
    // hundredths = seconds × 100 / 60 = seconds × 10 / 6, rounded half up. The
    // remainder of seconds × 10 by 6 is never 3 (a tie), as 6 ∤ 3 + 6k.
    let hundredths = (u128::from(seconds) * 10 + 3) / 6;
    let text = format!("{}.{:02}", hundredths / 100, hundredths % 100);
    canonical(&text)
}

/// A non-negative plain decimal without leading integer zeros or trailing
/// fractional zeros (`0075.4500` → `75.45`, `12.0` → `12`).
fn canonical(text: &str) -> String {
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_numbers_keep_their_text_and_exponents_are_spelled_out() {
        for same in ["72.50", "0", "-0", "3146.5", "519818.125", "-18000", "0.5"] {
            assert_eq!(plain(same).as_deref(), Some(same));
        }
        for (text, want) in [
            ("7.25e1", "72.5"),
            ("7.25E+1", "72.5"),
            ("725e-1", "72.5"),
            ("1e3", "1000"),
            ("1.5e-3", "0.0015"),
            ("-2.5e0", "-2.5"),
            ("-0e5", "0"),
            ("12.30e1", "123"),
        ] {
            assert_eq!(plain(text).as_deref(), Some(want), "{text}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e999", "x", "1.2.3", "\"1\"", "+1",
        ] {
            assert_eq!(plain(bad), None, "{bad}");
        }
    }

    #[test]
    fn negativity_ignores_negative_zero() {
        assert!(is_negative("-1") && is_negative("-0.001"));
        assert!(!is_negative("-0") && !is_negative("-0.00") && !is_negative("5"));
    }

    #[test]
    fn grams_become_kilograms_exactly() {
        for (grams, kg) in [
            ("75450", "75.45"),
            ("75173", "75.173"),
            ("75000", "75"),
            ("5", "0.005"),
            ("0", "0"),
            ("75450.5", "75.4505"),
            ("-120", "-0.12"),
        ] {
            assert_eq!(shift_left(grams, 3), kg, "{grams}");
        }
    }

    #[test]
    fn seconds_become_minutes_exactly_where_they_can() {
        for (secs, min) in [
            (0, "0"),
            (60, "1"),
            (86_400, "1440"),
            (15_264, "254.4"),
            (14_772, "246.2"),
            (3, "0.05"),
            (1, "0.02"),
            (2, "0.03"),
            (11_231, "187.18"),
            (11_588, "193.13"),
            (u64::MAX, "307445734561825860.25"),
        ] {
            assert_eq!(seconds_to_minutes(secs), min, "{secs}");
        }
    }
}
