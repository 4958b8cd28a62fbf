//! The HTTP status a Withings answer stands for.
//!
//! Withings answers errors with HTTP 200 and a `status` in the body. Its API
//! reference ("Response status") groups the codes into families; each family maps
//! to the HTTP status the hub already knows how to treat:
//!
//! | body `status` | family (API reference) | effective HTTP status |
//! |---|---|---|
//! | 0 | operation was successful | the HTTP status itself |
//! | 100–102, 200, 401 | authentication failed | 401 (refresh the token once, then re-authorise) |
//! | 601 | too many requests | 429 (wait) |
//! | 214, 277, 2553, 2555 | unauthorized: not allowed to call this service | 403 (not retried) |
//! | 2554 | not implemented | 501 |
//! | 522 | timeout | 504 (retried) |
//! | 524 | bad state | 503 (retried) |
//! | the "an error occurred" codes (215, 219, 222, 224, 226, 231–233, 237, 253, 255–259, 268–270, 273, 274, 278–282, 289, 291, 292, 296, 298, 305–320, 322, 370–375, 383, 391, 402, 516–521, 525–531, 533, 602, 700, 1051–1054, 2551, 2552, 2556–2559, 3000–3016, 3020–3024, 5000–5006, 6000, 6010, 6011, 9000, 10000) | an error occurred on Withings' side | 503 (retried) |
//! | every other code (the "invalid params" family, among them 501–511, and codes the reference does not list) | invalid params | 400 (not retried) |
//!
//! An answer that is not HTTP 2xx, not JSON, or has no integer `status` keeps its
//! HTTP status.

use serde::Deserialize;

#[derive(Deserialize)]
struct Answer {
    status: Option<i64>,
}

/// The effective HTTP status of a Withings answer.
pub(super) fn effective(http_status: u16, body: &[u8]) -> u16 {
    if !(200..300).contains(&http_status) {
        return http_status;
    }
    match serde_json::from_slice::<Answer>(body) {
        Ok(Answer { status: Some(code) }) => of_code(code).unwrap_or(http_status),
        _ => http_status,
    }
}

/// The HTTP status of a body `status`; `None` for success.
fn of_code(code: i64) -> Option<u16> {
    Some(match code {
        0 => return None,
        100..=102 | 200 | 401 => 401,
        601 => 429,
        214 | 277 | 2553 | 2555 => 403,
        2554 => 501,
        522 => 504,
        524 => 503,
        c if error_occurred(c) => 503,
        _ => 400,
    })
}

/// The "an error occurred" family of the API reference's status table.
fn error_occurred(code: i64) -> bool {
    matches!(
        code,
        215 | 219
            | 222
            | 224
            | 226
            | 231..=233
            | 237
            | 253
            | 255..=259
            | 268..=270
            | 273..=274
            | 278..=282
            | 289
            | 291..=292
            | 296
            | 298
            | 305..=320
            | 322
            | 370..=375
            | 383
            | 391
            | 402
            | 516..=521
            | 525..=531
            | 533
            | 602
            | 700
            | 1051..=1054
            | 2551..=2552
            | 2556..=2559
            | 3000..=3016
            | 3020..=3024
            | 5000..=5006
            | 6000
            | 6010..=6011
            | 9000
            | 10000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_statuses_map_to_http_statuses() {
        let at = |status: &str| {
            effective(
                200,
                format!(r#"{{"status":{status},"body":{{}}}}"#).as_bytes(),
            )
        };
        let cases = [
            ("0", 200),
            ("100", 401),
            ("102", 401),
            ("200", 401),
            ("401", 401),
            ("601", 429),
            ("214", 403),
            ("2555", 403),
            ("2554", 501),
            ("522", 504),
            ("524", 503),
            ("215", 503),
            ("2551", 503),
            ("5004", 503),
            ("10000", 503),
            ("201", 400),
            ("503", 400),
            ("511", 400),
            ("293", 400),
            ("99999", 400),
            ("-1", 400),
        ];
        for (status, http) in cases {
            assert_eq!(at(status), http, "status {status}");
        }
    }

    #[test]
    fn other_answers_keep_their_http_status() {
        assert_eq!(effective(200, br#"{"measuregrps": []}"#), 200);
        assert_eq!(effective(200, b"<html>"), 200);
        assert_eq!(effective(200, br#"{"status": "0"}"#), 200);
        assert_eq!(effective(200, br#"{"status": null}"#), 200);
        assert_eq!(effective(200, br#"[{"status": 401}]"#), 200);
        assert_eq!(effective(204, br#"{"status": 601}"#), 429);
        assert_eq!(effective(502, br#"{"status": 0}"#), 502);
        assert_eq!(effective(401, br#"{"status": 601}"#), 401);
        assert_eq!(effective(200, br#"{"status": 1e3}"#), 200);
    }
}
