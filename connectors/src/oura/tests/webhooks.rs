//! Webhook signatures, notifications, the verification challenge and the per-app
//! subscription calls.

use super::*;
use crate::push::{PushError, PushEvent, TOLERANCE_SECS};
use chrono::{DateTime, Duration, Utc};

const SECRET: &[u8] = b"oura-client-secret";

/// A query parameter.
type Pair = (&'static str, &'static str);

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-03-08T15:03:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn headers(signature: &str, timestamp: &str) -> Vec<(String, String)> {
    vec![
        ("content-type".into(), "application/json".into()),
        (push::SIGNATURE_HEADER.into(), signature.into()),
        (push::TIMESTAMP_HEADER.into(), timestamp.into()),
    ]
}

#[test]
fn a_signature_verifies_only_with_its_secret_body_and_time() {
    let oura = sandbox();
    let body = fixture("webhook_notification.json");
    let ts = now().timestamp().to_string();
    let sig = push::sign(SECRET, &ts, &body);
    assert_eq!(sig.len(), 64);
    assert!(sig
        .bytes()
        .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()));
    let check = |h: &[(String, String)], body: &[u8], secret: &[u8], at| {
        oura.verify_push(h, body, secret, at)
    };
    assert_eq!(check(&headers(&sig, &ts), &body, SECRET, now()), Ok(()));
    // Either case of hex; header names in any case.
    let lower = headers(&sig.to_lowercase(), &ts);
    assert_eq!(check(&lower, &body, SECRET, now()), Ok(()));
    let shouting: Vec<(String, String)> = headers(&sig, &ts)
        .into_iter()
        .map(|(k, v)| (k.to_uppercase(), v))
        .collect();
    assert_eq!(check(&shouting, &body, SECRET, now()), Ok(()));
    // Within the tolerance either way, stale beyond it.
    let near = now() + Duration::seconds(TOLERANCE_SECS);
    assert_eq!(check(&headers(&sig, &ts), &body, SECRET, near), Ok(()));
    let late = now() + Duration::seconds(TOLERANCE_SECS + 1);
    assert_eq!(
        check(&headers(&sig, &ts), &body, SECRET, late),
        Err(PushError::Stale)
    );
    assert_eq!(
        check(&headers(&sig, &ts), &body, b"another app", now()),
        Err(PushError::Mismatch)
    );
    let mut altered = body.clone();
    altered[10] ^= 1;
    assert_eq!(
        check(&headers(&sig, &ts), &altered, SECRET, now()),
        Err(PushError::Mismatch)
    );
    // The timestamp is signed: moving it breaks the signature.
    let moved = (now().timestamp() + 1).to_string();
    assert_eq!(
        check(&headers(&sig, &moved), &body, SECRET, now()),
        Err(PushError::Mismatch)
    );
    // Milliseconds are read as such.
    let ms = (now().timestamp() * 1000 + 250).to_string();
    let sig_ms = push::sign(SECRET, &ms, &body);
    assert_eq!(check(&headers(&sig_ms, &ms), &body, SECRET, now()), Ok(()));
}

#[test]
fn missing_and_malformed_headers_are_named() {
    let oura = sandbox();
    let body = b"{}";
    let ts = now().timestamp().to_string();
    let sig = push::sign(SECRET, &ts, body);
    let only = |name: &str, value: &str| vec![(name.to_owned(), value.to_owned())];
    assert_eq!(
        oura.verify_push(&only(push::TIMESTAMP_HEADER, &ts), body, SECRET, now()),
        Err(PushError::MissingSignature("x-oura-signature"))
    );
    assert_eq!(
        oura.verify_push(&only(push::SIGNATURE_HEADER, &sig), body, SECRET, now()),
        Err(PushError::MissingSignature("x-oura-timestamp"))
    );
    for bad in ["", "zz", &sig[..62], &format!("{sig}00"), "sha256=00"] {
        assert_eq!(
            oura.verify_push(&headers(bad, &ts), body, SECRET, now()),
            Err(PushError::Malformed("x-oura-signature")),
            "{bad:?}"
        );
    }
    for bad in [
        "",
        "-5",
        "12e3",
        "2026-03-08T15:03:00Z",
        "99999999999999999",
    ] {
        assert_eq!(
            oura.verify_push(&headers(&sig, bad), body, SECRET, now()),
            Err(PushError::Malformed("x-oura-timestamp")),
            "{bad:?}"
        );
    }
}

#[test]
fn a_notification_asks_for_the_document_around_its_event_time() {
    let notices = sandbox()
        .parse_push(&fixture("webhook_notification.json"))
        .unwrap();
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    assert_eq!(
        notices,
        [PushNotice {
            vendor_user: "a1b2c3d4e5f6a7b8c9d0e1f2".into(),
            event: PushEvent::NewData {
                data_type: dt("sleep"),
                window: Some(TimeWindow {
                    start: t("2026-03-06T15:02:41Z"),
                    end: t("2026-03-09T15:02:41Z"),
                }),
            },
        }]
    );
}

#[test]
fn webhook_data_types_map_to_the_hubs() {
    let at = now();
    for (webhook, ours) in [
        ("daily_activity", Some("daily_activity")),
        ("sleep", Some("sleep")),
        ("daily_spo2", Some("daily_spo2")),
        ("daily_readiness", Some("temperature")),
        ("workout", Some("workout")),
        // Oura types the hub does not sync are accepted and ignored.
        ("daily_sleep", None),
        ("session", None),
        ("enhanced_tag", None),
        ("a_type_from_2030", None),
        // `heartrate` is no webhook type.
        ("heartrate", None),
        ("temperature", None),
    ] {
        for event in ["create", "update", "delete"] {
            let body = push::body("u1", webhook, event, "doc-1", at);
            let notices = sandbox().parse_push(&body).unwrap();
            let got: Vec<String> = notices
                .iter()
                .map(|n| match &n.event {
                    PushEvent::NewData { data_type, .. } => data_type.to_string(),
                    other => panic!("{other:?}"),
                })
                .collect();
            assert_eq!(got, ours.map(str::to_owned).into_iter().collect::<Vec<_>>());
        }
    }
}

#[test]
fn a_malformed_notification_names_the_field() {
    let cases: [(&[u8], &str); 10] = [
        (b"nope", "$"),
        (b"[]", "$"),
        (br#"{"data_type": "sleep", "event_type": "update"}"#, "user_id"),
        (br#"{"user_id": 5, "data_type": "sleep", "event_type": "update"}"#, "user_id"),
        (br#"{"user_id": "", "data_type": "sleep", "event_type": "update"}"#, "user_id"),
        (br#"{"user_id": "u", "event_type": "update"}"#, "data_type"),
        (br#"{"user_id": "u", "data_type": ["sleep"], "event_type": "update"}"#, "data_type"),
        (br#"{"user_id": "u", "data_type": "sleep"}"#, "event_type"),
        (
            br#"{"user_id": "u", "data_type": "sleep", "event_type": "update", "event_time": "soon"}"#,
            "event_time",
        ),
        (
            br#"{"user_id": "u", "data_type": "sleep", "event_type": "update", "event_time": "+262142-12-31T23:59:59Z"}"#,
            "event_time",
        ),
    ];
    for (body, path) in cases {
        let e = sandbox().parse_push(body).err().map(|e| e.path);
        assert_eq!(
            e.as_deref(),
            Some(path),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
    // No event time: no window; a naive one is UTC; extra fields are ignored.
    let body = br#"{"user_id": "u", "data_type": "workout", "event_type": "create", "extra": {}}"#;
    let notices = sandbox().parse_push(body).unwrap();
    assert!(matches!(
        &notices[0].event,
        PushEvent::NewData { window: None, .. }
    ));
    let body = br#"{"user_id": "u", "data_type": "workout", "event_type": "create", "event_time": "2026-03-08T15:02:41.5"}"#;
    let notices = sandbox().parse_push(body).unwrap();
    let PushEvent::NewData {
        window: Some(w), ..
    } = &notices[0].event
    else {
        panic!("{notices:?}")
    };
    assert_eq!(w.start.to_rfc3339(), "2026-03-06T15:02:41.500+00:00");
}

#[test]
fn the_challenge_is_answered_only_for_our_token() {
    let q = |pairs: &[Pair]| -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let ok = Oura::answer_challenge(
        &q(&[("verification_token", "tok-1"), ("challenge", "c\"h<1>")]),
        "tok-1",
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_str(&ok).unwrap();
    assert_eq!(v, serde_json::json!({"challenge": "c\"h<1>"}));
    let cases: [(&[Pair], &str, PushError); 6] = [
        (
            &[("verification_token", "tok-2"), ("challenge", "c")],
            "tok-1",
            PushError::Mismatch,
        ),
        (
            &[("verification_token", "tok-1x"), ("challenge", "c")],
            "tok-1",
            PushError::Mismatch,
        ),
        (
            &[("verification_token", ""), ("challenge", "c")],
            "",
            PushError::Mismatch,
        ),
        (
            &[("challenge", "c")],
            "tok-1",
            PushError::MissingSignature("verification_token"),
        ),
        (
            &[("verification_token", "tok-1")],
            "tok-1",
            PushError::MissingSignature("challenge"),
        ),
        (
            &[("verification_token", "tok-1"), ("challenge", "")],
            "tok-1",
            PushError::Malformed("challenge"),
        ),
    ];
    for (pairs, expected, want) in cases {
        assert_eq!(
            Oura::answer_challenge(&q(pairs), expected),
            Err(want),
            "{pairs:?}"
        );
    }
    let long = "x".repeat(1025);
    assert_eq!(
        Oura::answer_challenge(
            &[
                ("verification_token".to_owned(), "t".to_owned()),
                ("challenge".to_owned(), long)
            ],
            "t"
        ),
        Err(PushError::Malformed("challenge"))
    );
}

#[test]
fn the_app_subscribes_each_webhook_type_for_each_event() {
    let oura = Oura::new(&Endpoints::Production);
    let requests =
        oura.app_subscription_requests("https://hub.example.org/vendor-hooks/oura", "vt-9");
    assert_eq!(requests.len(), 15);
    let mut pairs = Vec::new();
    for req in &requests {
        assert_eq!(
            (req.http.method, req.http.url.as_str()),
            ("POST", "https://api.ouraring.com/v2/webhook/subscription")
        );
        assert!(req.http.query.is_empty() && req.http.form.is_empty());
        let body: serde_json::Value =
            serde_json::from_str(req.json_body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body["callback_url"],
            "https://hub.example.org/vendor-hooks/oura"
        );
        assert_eq!(body["verification_token"], "vt-9");
        pairs.push(format!(
            "{}/{}",
            body["data_type"].as_str().unwrap(),
            body["event_type"].as_str().unwrap()
        ));
        assert_eq!(
            req.headers("cid", "csecret"),
            [
                ("x-client-id".to_owned(), "cid".to_owned()),
                ("x-client-secret".to_owned(), "csecret".to_owned()),
                ("content-type".to_owned(), "application/json".to_owned()),
            ]
        );
    }
    let mut want = Vec::new();
    for t in [
        "daily_activity",
        "sleep",
        "daily_spo2",
        "daily_readiness",
        "workout",
    ] {
        for e in ["create", "update", "delete"] {
            want.push(format!("{t}/{e}"));
        }
    }
    assert_eq!(pairs, want);

    let list = oura.app_subscription_list_request();
    assert_eq!(
        (
            list.http.method,
            list.http.url.as_str(),
            list.json_body.clone()
        ),
        (
            "GET",
            "https://api.ouraring.com/v2/webhook/subscription",
            None
        )
    );
    assert_eq!(list.headers("a", "b").len(), 2);
    let renew = sandbox()
        .app_subscription_renew_request("5d3fe17b-f880-4d93-b9b6-afbfb76c1e78")
        .unwrap();
    assert_eq!(
        (renew.http.method, renew.http.url.as_str()),
        (
            "PUT",
            &*format!(
                "{BASE}/oura/v2/webhook/subscription/renew/5d3fe17b-f880-4d93-b9b6-afbfb76c1e78"
            )
        )
    );
    for bad in ["", "../x", "a/b", "id?x=1"] {
        assert_eq!(sandbox().app_subscription_renew_request(bad), None, "{bad}");
    }
}

#[test]
fn subscription_answers_parse_with_their_expiry() {
    let subs = Oura::parse_app_subscriptions(&fixture("webhook_subscriptions.json")).unwrap();
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[0].id, "5d3fe17b-f880-4d93-b9b6-afbfb76c1e78");
    assert_eq!(
        (subs[0].event_type.as_str(), subs[0].data_type.as_str()),
        ("create", "sleep")
    );
    assert_eq!(
        subs[0].expiration_time.to_rfc3339(),
        "2026-04-07T15:02:41.123+00:00"
    );
    assert_eq!(
        subs[1].expiration_time.to_rfc3339(),
        "2026-04-07T15:02:42.500+00:00"
    );
    let t = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
    assert!(!subscription::renew_due(
        &subs[0],
        t("2026-04-06T15:00:00Z")
    ));
    assert!(subscription::renew_due(&subs[0], t("2026-04-06T15:02:42Z")));
    let one = br#"{"id": "x", "callback_url": "u", "event_type": "update", "data_type": "sleep", "expiration_time": "2026-04-07T15:02:41+00:00"}"#;
    assert_eq!(Oura::parse_app_subscriptions(one).unwrap().len(), 1);
    for (body, path) in [
        (&b"5"[..], "$"),
        (b"nope", "$"),
        (br#"[1]"#, "[0]"),
        (br#"[{"id": "x"}]"#, "[0].expiration_time"),
        (
            br#"{"id": 1, "expiration_time": "2026-04-07T15:02:41Z"}"#,
            "id",
        ),
        (
            br#"{"id": "x", "expiration_time": "soon"}"#,
            "expiration_time",
        ),
    ] {
        let e = Oura::parse_app_subscriptions(body).unwrap_err();
        assert_eq!(e.path, path, "{}", String::from_utf8_lossy(body));
    }
}
