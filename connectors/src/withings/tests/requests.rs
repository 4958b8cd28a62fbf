//! Manifest, data requests, subscriptions and the effective status.

use super::*;
use chrono::{DateTime, Utc};

fn t(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn form(req: &HttpRequest) -> Vec<(&str, &str)> {
    req.form
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

#[test]
fn production_speaks_to_withings_with_its_token_dialect() {
    let w = withings();
    let m = w.manifest();
    assert_eq!((m.vendor, m.display_name), ("withings", "Withings"));
    assert_eq!(
        m.authorize_url,
        "https://account.withings.com/oauth2_user/authorize2"
    );
    assert_eq!(m.token_url, "https://wbsapi.withings.net/v2/oauth2");
    assert_eq!(m.revoke_url, None);
    assert_eq!(
        w.revoke_style(),
        crate::RevokeStyle::WithingsSigned {
            nonce_url: "https://wbsapi.withings.net/v2/signature".into(),
            revoke_url: "https://wbsapi.withings.net/v2/oauth2".into(),
        }
    );
    assert_eq!(m.api_base_url, "https://wbsapi.withings.net");
    assert_eq!(m.scope_separator, ",");
    assert_eq!(m.token_style, TokenStyle::WithingsEnvelope);
    assert_eq!(m.client_auth, ClientAuth::RequestBody);
    assert_eq!(m.push_auth, PushAuth::CallbackToken);
    assert!(m.notifies);
    assert_eq!(m.delivery, Delivery::Push);
    assert_eq!(m.rate_limits.per_app_per_minute, Some(120));
    assert_eq!(m.rate_limits.per_user_per_minute, None);
    assert_eq!(m.max_history_days, 3650);
    let types: Vec<(&str, Vec<String>)> = m
        .data_types
        .iter()
        .map(|d| (d.id.as_str(), d.scopes.clone()))
        .collect();
    let scopes = |a: &str| vec![a.to_owned(), "user.info".to_owned()];
    assert_eq!(
        types,
        [
            ("body_measures", scopes("user.metrics")),
            ("activity", scopes("user.activity")),
            ("sleep_summary", scopes("user.activity")),
        ]
    );
    assert!(m
        .data_types
        .iter()
        .all(|d| !d.label.is_empty() && !d.description.is_empty()));
    let all: Vec<DataType> = m.data_types.iter().map(|d| d.id.clone()).collect();
    assert_eq!(
        m.scopes_for(&all),
        ["user.metrics", "user.info", "user.activity"]
    );
    let granted = ["user.activity".to_owned(), "user.info".to_owned()];
    assert_eq!(
        m.covered_by(&granted),
        [dt("activity"), dt("sleep_summary")]
    );
}

#[test]
fn the_sandbox_serves_the_same_paths_under_its_base() {
    let w = Withings::new(&Endpoints::Sandbox {
        base: format!("{SANDBOX}/"),
    });
    let m = w.manifest();
    assert_eq!(
        m.authorize_url,
        format!("{SANDBOX}/withings/oauth/authorize")
    );
    assert_eq!(m.token_url, format!("{SANDBOX}/withings/oauth/token"));
    assert_eq!(m.revoke_url, None);
    assert_eq!(
        w.revoke_style(),
        crate::RevokeStyle::WithingsSigned {
            nonce_url: format!("{SANDBOX}/withings/v2/signature"),
            revoke_url: format!("{SANDBOX}/withings/v2/oauth2"),
        }
    );
    assert_eq!(m.api_base_url, format!("{SANDBOX}/withings"));
    let window = TimeWindow {
        start: t("2024-03-30T00:00:00Z"),
        end: t("2024-03-31T00:00:00Z"),
    };
    let urls: Vec<String> = ["body_measures", "activity", "sleep_summary"]
        .iter()
        .map(|d| w.build_request(&dt(d), window, None).unwrap().url)
        .collect();
    assert_eq!(
        urls,
        [
            format!("{SANDBOX}/withings/measure"),
            format!("{SANDBOX}/withings/v2/measure"),
            format!("{SANDBOX}/withings/v2/sleep"),
        ]
    );
    let sub = w
        .subscribe_request("https://hub.example/vendor-hooks/withings?k=abc")
        .unwrap();
    assert_eq!(sub.url, format!("{SANDBOX}/withings/notify"));
}

#[test]
fn getmeas_asks_for_the_mapped_types_within_the_window_in_epoch_seconds() {
    let w = withings();
    let window = TimeWindow {
        start: t("2024-03-31T01:30:00+02:00"),
        end: t("2024-04-01T00:00:00.250Z"),
    };
    let req = w.build_request(&dt("body_measures"), window, None).unwrap();
    assert_eq!(
        (req.method, req.url.as_str()),
        ("POST", "https://wbsapi.withings.net/measure")
    );
    assert!(req.query.is_empty());
    assert_eq!(
        form(&req),
        [
            ("action", "getmeas"),
            ("meastypes", "1,4,6,9,10,11,12,54,71"),
            ("category", "1"),
            ("startdate", "1711841400"),
            // The end rounds up: the quarter second is not lost.
            ("enddate", "1711929601"),
        ]
    );
    let next = w
        .build_request(&dt("body_measures"), window, Some("11"))
        .unwrap();
    assert_eq!(
        next.form.last(),
        Some(&("offset".to_owned(), "11".to_owned()))
    );
    assert_eq!(next.form.len(), 6);
}

#[test]
fn daily_services_ask_for_every_date_the_window_touches_in_any_zone() {
    let w = withings();
    // One UTC day: 12 h earlier it is still the 29th in Baker Island's UTC−12,
    // 14 h later already the 31st in Kiritimati's UTC+14.
    let window = TimeWindow {
        start: t("2024-03-30T00:00:00Z"),
        end: t("2024-03-31T00:00:00Z"),
    };
    let req = w.build_request(&dt("activity"), window, Some("4")).unwrap();
    assert_eq!(
        (req.method, req.url.as_str()),
        ("POST", "https://wbsapi.withings.net/v2/measure")
    );
    assert_eq!(
        form(&req),
        [
            ("action", "getactivity"),
            ("startdateymd", "2024-03-29"),
            ("enddateymd", "2024-03-31"),
            ("data_fields", "steps,distance,calories,totalcalories"),
            ("offset", "4"),
        ]
    );
    let late = TimeWindow {
        start: t("2024-03-30T11:00:00Z"),
        end: t("2024-03-30T12:00:00Z"),
    };
    let req = w.build_request(&dt("sleep_summary"), late, None).unwrap();
    assert_eq!(req.url, "https://wbsapi.withings.net/v2/sleep");
    assert_eq!(
        form(&req),
        [
            ("action", "getsummary"),
            ("startdateymd", "2024-03-29"),
            ("enddateymd", "2024-03-31"),
            (
                "data_fields",
                "total_sleep_time,asleepduration,lightsleepduration,deepsleepduration,remsleepduration,hr_average"
            ),
        ]
    );
    let extreme = TimeWindow {
        start: DateTime::<Utc>::MIN_UTC,
        end: DateTime::<Utc>::MAX_UTC,
    };
    for d in ["body_measures", "activity", "sleep_summary"] {
        assert!(w.build_request(&dt(d), extreme, None).is_ok());
    }
    assert_eq!(
        w.build_request(&dt("workouts"), window, None),
        Err(ConnectorError::UnknownDataType {
            vendor: "withings".into(),
            data_type: "workouts".into()
        })
    );
}

#[test]
fn a_member_is_subscribed_to_every_category_tributary_reads() {
    let w = withings();
    let callback = "https://hub.example/vendor-hooks/withings?k=t0k3n";
    let all = w.subscribe_requests(callback);
    let applis: Vec<&str> = all
        .iter()
        .map(|r| {
            assert_eq!(
                (r.method, r.url.as_str()),
                ("POST", "https://wbsapi.withings.net/notify")
            );
            assert_eq!(r.form[0], ("action".to_owned(), "subscribe".to_owned()));
            assert_eq!(r.form[1], ("callbackurl".to_owned(), callback.to_owned()));
            r.form[2].1.as_str()
        })
        .collect();
    assert_eq!(applis, ["1", "2", "4", "16", "44", "46"]);
    assert_eq!(w.subscribe_request(callback).as_ref(), all.first());
}

#[test]
fn an_error_answer_stands_for_its_http_status() {
    let w = withings();
    assert_eq!(
        w.effective_status(200, &fixture("error_invalid_token.json")),
        401
    );
    assert_eq!(w.effective_status(200, &fixture("getmeas_page1.json")), 200);
    assert_eq!(w.effective_status(200, br#"{"status":601,"body":{}}"#), 429);
    assert_eq!(
        w.effective_status(200, br#"{"status":2554,"body":{}}"#),
        501
    );
    assert_eq!(w.effective_status(200, br#"{"status":503,"body":{}}"#), 400);
    assert_eq!(
        w.effective_status(200, br#"{"status":5001,"body":{}}"#),
        503
    );
    assert_eq!(w.effective_status(500, b""), 500);
    // Parsing an error answer is an error naming `status`, never an empty page.
    let e = w
        .parse(&dt("body_measures"), &fixture("error_invalid_token.json"))
        .unwrap_err();
    assert_eq!(
        (e.path.as_str(), e.problem.as_str()),
        ("status", "an error answer (status 401), not data")
    );
}

#[test]
fn unsigned_notifications_verify_and_unknown_types_do_not_parse() {
    let w = withings();
    assert_eq!(
        w.verify_push(&[], b"userid=1&appli=1", b"secret", Utc::now()),
        Ok(())
    );
    let e = w.parse(&dt("workouts"), b"{}").unwrap_err();
    assert_eq!(
        (e.vendor.as_str(), e.data_type.as_str(), e.path.as_str()),
        ("withings", "workouts", "$")
    );
}
