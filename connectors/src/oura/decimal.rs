//! Decimal text for Oura's numbers, without floats.
//!
//! Policy: a value keeps the text Oura sent (`54.0` stays `54.0`); only exponent
//! notation (`1e-05`, which Python's JSON encoder writes for small floats) is
//! rewritten, exactly, as a plain decimal. A unit conversion divides the decimal with
//! integer arithmetic: exact whenever the quotient terminates within the digits the
//! caller allows, otherwise rounded half-up at the last of them.

/// An exponent beyond this is not a health value (and would make huge text).
const MAX_EXPONENT: i64 = 40;
/// More significant digits than this do not fit the integer arithmetic.
const MAX_DIGITS: usize = 30;

/// A JSON number split into its sign, its digits and where the point goes.
struct Parts {
    negative: bool,
    /// Integer and fraction digits, as written.
    digits: String,
    /// The point's position counted from the left of `digits` (may lie outside).
    point: i64,
}

fn parts(text: &str) -> Option<Parts> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match rest.split_once(['e', 'E']) {
        Some((m, e)) => {
            let e = e.strip_prefix('+').unwrap_or(e);
            let digits = e.strip_prefix('-').unwrap_or(e);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            // Bounded before parsing, so a thousand-digit exponent is no problem.
            let e: i64 = if digits.len() > 4 {
                i64::MAX
            } else {
                e.parse().ok()?
            };
            if e.abs() > MAX_EXPONENT {
                return None;
            }
            (m, e)
        }
        None => (rest, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !all_digits(int) || !all_digits(frac) {
        return None;
    }
    if mantissa.contains('.') && frac.is_empty() {
        return None;
    }
    let point = i64::try_from(int.len()).ok()? + exponent;
    Some(Parts {
        negative,
        digits: format!("{int}{frac}"),
        point,
    })
}

/// The plain decimal text of JSON number `text`: the text itself when it has no
/// exponent, else the same value with the point moved. `None` when `text` is not a
/// number (a string, `null`, an object) or its exponent is out of range.
pub(super) fn plain(text: &str) -> Option<String> {
    let p = parts(text)?;
    if !text.contains(['e', 'E']) {
        return Some(text.to_owned());
    }
    let len = i64::try_from(p.digits.len()).ok()?;
    let mut out = if p.point <= 0 {
        let zeros = usize::try_from(-p.point).ok()?;
        format!("0.{}{}", "0".repeat(zeros), p.digits)
    } else if p.point >= len {
        let zeros = usize::try_from(p.point - len).ok()?;
        format!("{}{}", p.digits, "0".repeat(zeros))
    } else {
        let at = usize::try_from(p.point).ok()?;
        format!("{}.{}", p.digits.get(..at)?, p.digits.get(at..)?)
    };
    // `00.5` → `0.5`, `007` → `7`: one leading zero at most before the point.
    while out.len() > 1 && out.starts_with('0') && !out.starts_with("0.") {
        out.remove(0);
    }
    if p.negative {
        out.insert(0, '-');
    }
    Some(out)
}

/// What a plain decimal is, for range checks (the text itself is kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Class {
    pub negative: bool,
    pub zero: bool,
    pub whole: bool,
}

pub(super) fn class(plain: &str) -> Option<Class> {
    let p = parts(plain)?;
    let zero = p.digits.bytes().all(|b| b == b'0');
    let len = i64::try_from(p.digits.len()).ok()?;
    let frac_zero = p.point >= len
        || usize::try_from(p.point.max(0))
            .ok()
            .and_then(|at| p.digits.get(at..))
            .is_some_and(|f| f.bytes().all(|b| b == b'0'));
    Some(Class {
        negative: p.negative && !zero,
        zero,
        whole: frac_zero,
    })
}

/// `plain / divisor` as decimal text with at most `max_digits` after the point:
/// exact when the quotient terminates within them, else rounded half-up at the
/// last one; trailing zeros dropped (`5400 / 60` is `90`, `90 / 60` is `1.5`).
/// `None` when the number does not fit the integer arithmetic.
pub(super) fn divide(plain: &str, divisor: u64, max_digits: u32) -> Option<String> {
    let p = parts(plain)?;
    if p.digits.len() > MAX_DIGITS || divisor == 0 {
        return None;
    }
    let len = i64::try_from(p.digits.len()).ok()?;
    let mut numerator: u128 = p.digits.parse().ok()?;
    // value = numerator / 10^scale
    let scale = if p.point >= len {
        numerator =
            numerator.checked_mul(10u128.checked_pow(u32::try_from(p.point - len).ok()?)?)?;
        0
    } else {
        u32::try_from(len - p.point).ok()?
    };
    // quotient × 10^max_digits = numerator × 10^max_digits / (divisor × 10^scale)
    let denominator = u128::from(divisor).checked_mul(10u128.checked_pow(scale)?)?;
    let scaled_num = numerator.checked_mul(10u128.checked_pow(max_digits)?)?;
    let mut q = scaled_num / denominator;
    let r = scaled_num % denominator;
    if r.checked_mul(2)? >= denominator {
        q += 1;
    }
    let digits = q.to_string();
    let width = usize::try_from(max_digits).ok()?;
    let padded = format!("{digits:0>w$}", w = width + 1);
    let (int, frac) = padded.split_at(padded.len() - width);
    let frac = frac.trim_end_matches('0');
    let mut out = if frac.is_empty() {
        int.to_owned()
    } else {
        format!("{int}.{frac}")
    };
    if p.negative && q != 0 {
        out.insert(0, '-');
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_keeps_text_and_expands_exponents_exactly() {
        for same in ["0", "54.0", "-0.1", "97.2", "8342", "480.0", "-0"] {
            assert_eq!(plain(same).as_deref(), Some(same));
        }
        let cases = [
            ("1e-05", "0.00001"),
            ("1.5E3", "1500"),
            ("-2.50e-1", "-0.250"),
            ("12.34e1", "123.4"),
            ("0.5e1", "5"),
            ("7e+0", "7"),
        ];
        for (text, want) in cases {
            assert_eq!(plain(text).as_deref(), Some(want), "{text}");
        }
        for bad in [
            "",
            "-",
            "\"5\"",
            "null",
            "true",
            "{}",
            "1.",
            ".5",
            "1e",
            "1e999",
            "1e-41",
            "1x",
            "1e99999999999999999999",
        ] {
            assert_eq!(plain(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn class_sees_sign_zero_and_wholeness() {
        let c = |t| class(t).map(|c| (c.negative, c.zero, c.whole));
        assert_eq!(c("8342"), Some((false, false, true)));
        assert_eq!(c("8342.0"), Some((false, false, true)));
        assert_eq!(c("-0.1"), Some((true, false, false)));
        assert_eq!(c("-0.0"), Some((false, true, true)));
        assert_eq!(c("0"), Some((false, true, true)));
        assert_eq!(c("12.5"), Some((false, false, false)));
    }

    #[test]
    fn divide_is_exact_or_rounds_half_up_at_the_limit() {
        let d = |t: &str, by, max| divide(t, by, max);
        assert_eq!(d("27000", 60, 4).as_deref(), Some("450"));
        assert_eq!(d("90", 60, 4).as_deref(), Some("1.5"));
        assert_eq!(d("15", 60, 4).as_deref(), Some("0.25"));
        assert_eq!(d("100", 60, 4).as_deref(), Some("1.6667"));
        assert_eq!(d("1", 60, 4).as_deref(), Some("0.0167"));
        assert_eq!(d("0", 60, 4).as_deref(), Some("0"));
        assert_eq!(d("5400.0", 60, 4).as_deref(), Some("90"));
        assert_eq!(d("30.5", 60, 4).as_deref(), Some("0.5083"));
        assert_eq!(d("4140000", 60000, 6).as_deref(), Some("69"));
        assert_eq!(d("1", 60000, 6).as_deref(), Some("0.000017"));
        assert_eq!(d("-90", 60, 4).as_deref(), Some("-1.5"));
        assert_eq!(d("1e3", 60, 4).as_deref(), Some("16.6667"));
        assert_eq!(d("1", 0, 4), None);
        assert_eq!(d(&"9".repeat(31), 60, 4), None);
        assert_eq!(d("1e40", 60, 4), None);
    }
}
