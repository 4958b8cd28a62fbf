//! The Garmin connector against the Garmin twin: connect without scopes, pull a
//! month a day at a time, backfill by push, notifications and account events.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::testing::{dt, utc};
use crate::{
    Connector, Endpoints, Garmin, HttpRequest, Metric, PushEvent, PushNotice, Sample, TimeWindow,
    Value as SampleValue,
};
use std::collections::HashSet;

const BASE: &str = "http://127.0.0.1:8080/sandbox";
const HOOK: &str = "https://hub.example/vendor-hooks/garmin?k=t0ken";
/// At -05:00.
const USER: &str = "sandbox-user-2";
const TYPES: [&str; 8] = [
    "dailies",
    "sleeps",
    "body_compositions",
    "pulse_ox",
    "respiration",
    "hrv",
    "blood_pressures",
    "activities",
];

fn garmin() -> Garmin {
    Garmin::new(&Endpoints::Sandbox {
        base: BASE.to_owned(),
    })
}

fn send(sb: &Sandbox, r: &Req, now: DateTime<Utc>) -> SandboxResponse {
    r.send_to(sb, "garmin", now)
}

/// The connector's request as the hub would send it, with `token`.
fn request(req: &HttpRequest, token: &str) -> Req {
    assert!(req.form.is_empty());
    Req::from_hub(req, &format!("{BASE}/garmin"), token)
}

/// Authorize as the connector's manifest says (no scope), approve on the page's
/// form, redeem with the client credentials in the form body: the access token.
fn connect(sb: &Sandbox, user: &str, now: DateTime<Utc>) -> String {
    let g = garmin();
    let m = g.manifest();
    let path = m
        .authorize_url
        .strip_prefix(&format!("{BASE}/garmin"))
        .unwrap();
    let query = [
        ("response_type", "code"),
        ("client_id", CLIENT.0),
        ("redirect_uri", REDIRECT),
        ("state", "st4te"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let page = send(sb, &Req::new("GET", path).query(&query), now);
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    assert!(html.contains("Garmin Connect — authorize"));
    assert!(!html.contains("name=\"scope\""), "no scope to tick");
    let mut form: Vec<(&str, &str)> = query.to_vec();
    form.extend([("sandbox_user", user), ("decision", "approve")]);
    let res = send(sb, &Req::new("POST", path).form(&form), now);
    assert_eq!(res.status, 302, "{}", text(&res));
    let code = param(&location_params(&res), "code").unwrap();

    let token_path = m.token_url.strip_prefix(&format!("{BASE}/garmin")).unwrap();
    let res = send(
        sb,
        &Req::new("POST", token_path).form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT.0),
            ("client_secret", CLIENT.1),
        ]),
        now,
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    let v = json(&res);
    assert_eq!(v["scope"], "");
    assert!(v.get("user_id").is_none(), "Garmin names no account here");
    v["access_token"].as_str().unwrap().to_owned()
}

/// Every chunk of `data_type` over `window`, as the hub walks it: the samples and
/// the number of requests.
fn pull(
    sb: &Sandbox,
    token: &str,
    data_type: &str,
    window: TimeWindow,
    now: DateTime<Utc>,
) -> (Vec<Sample>, usize) {
    let g = garmin();
    let dt = dt(data_type);
    let mut samples = Vec::new();
    let mut cursor: Option<String> = None;
    let mut requests = 0;
    loop {
        let req = g.build_request(&dt, window, cursor.as_deref()).unwrap();
        let res = send(sb, &request(&req, token), now);
        requests += 1;
        assert_eq!(res.status, 200, "{data_type}: {}", text(&res));
        assert_eq!(res.header("content-type"), Some("application/json"));
        assert!(res.body.starts_with(b"["), "a bare array");
        let page = g.parse(&dt, &res.body).unwrap();
        assert_declared(&g, &dt, &page.samples);
        assert!(page.skipped.is_empty(), "{data_type}: {:?}", page.skipped);
        samples.extend(page.samples);
        cursor = page
            .next_cursor
            .or_else(|| g.chunk_cursor(&dt, window, cursor.as_deref()));
        if cursor.is_none() {
            return (samples, requests);
        }
    }
}

fn quantity(s: &Sample) -> f64 {
    s.quantity().unwrap().value.parse().unwrap()
}

fn between(s: &Sample, low: f64, high: f64) -> bool {
    (low..=high).contains(&quantity(s))
}

#[test]
fn a_month_pulled_a_day_at_a_time_is_plausible_complete_and_stable() {
    let now = t0();
    let window = TimeWindow {
        start: now - secs(30 * 86_400),
        end: now,
    };
    let sb = sandbox();
    let token = connect(&sb, USER, now);
    let res = send(
        &sb,
        &Req::new("GET", "/wellness-api/rest/user/id").bearer(&token),
        now,
    );
    assert_eq!(json(&res), serde_json::json!({"userId": USER}));

    let other = sandbox();
    let other_token = connect(&other, USER, now);
    for data_type in TYPES {
        let (samples, requests) = pull(&sb, &token, data_type, window, now);
        assert_eq!(requests, 30, "{data_type}: one request a day");
        assert!(!samples.is_empty(), "{data_type}");
        // Upload times are in the window: the data itself at most a day and a
        // half before it, and nothing after now.
        for s in &samples {
            assert!(
                s.start >= window.start - secs(36 * 3600) && s.end.unwrap_or(s.start) <= now,
                "{data_type}: {s:?}"
            );
            assert_eq!(s.start.offset().local_minus_utc(), -5 * 3600);
        }
        // Each summary once: no reading twice across the day-long chunks.
        let keys: HashSet<_> = samples
            .iter()
            .map(|s| (s.vendor_record_id.clone().unwrap(), s.metric, s.start))
            .collect();
        assert_eq!(keys.len(), samples.len(), "{data_type}: a duplicate");
        // The same answers again, and from another sandbox.
        assert_eq!(pull(&sb, &token, data_type, window, now).0, samples);
        assert_eq!(
            pull(&other, &other_token, data_type, window, now).0,
            samples
        );
        plausible(data_type, &samples);
    }
}

/// Counts and ranges over 30 days.
fn plausible(data_type: &str, samples: &[Sample]) {
    let ids: HashSet<_> = samples.iter().map(|s| s.vendor_record_id.clone()).collect();
    let of = |m: Metric| samples.iter().filter(move |s| s.metric == m);
    match data_type {
        "dailies" => {
            assert!((29..=31).contains(&ids.len()), "{}", ids.len());
            assert!(of(Metric::StepsDaily)
                .all(|s| between(s, 2000.0, 14_001.0) && s.end == Some(s.start + secs(86_400))));
            assert!(of(Metric::Distance).all(|s| between(s, 1000.0, 14_000.0)));
            assert!(of(Metric::RestingHeartRateDaily).all(|s| between(s, 50.0, 100.0)));
            assert!(of(Metric::MaxHeartRate24h).all(|s| between(s, 70.0, 160.0)));
            assert_eq!(of(Metric::ActiveEnergy).count(), ids.len());
        }
        "sleeps" => {
            assert!((29..=31).contains(&ids.len()), "{}", ids.len());
            assert!(of(Metric::SleepDuration).all(|s| between(s, 300.0, 510.0)));
            for m in [Metric::SleepDeep, Metric::SleepLight, Metric::SleepRem] {
                assert_eq!(of(m).count(), ids.len());
            }
        }
        "hrv" => {
            assert!((29..=31).contains(&ids.len()), "{}", ids.len());
            assert!(of(Metric::HrvRmssd).all(|s| between(s, 20.0, 90.0)));
        }
        "body_compositions" => {
            assert!((29..=31).contains(&ids.len()), "{}", ids.len());
            assert!(of(Metric::BodyWeight).all(|s| between(s, 59.0, 96.0)
                && s.quantity().unwrap().unit == "kg"
                && s.quantity()
                    .unwrap()
                    .value
                    .split('.')
                    .nth(1)
                    .unwrap_or("")
                    .len()
                    <= 2));
            assert!(of(Metric::Bmi).all(|s| between(s, 14.0, 40.0)));
            assert!(of(Metric::BodyFat).all(|s| between(s, 15.0, 30.0)));
        }
        "pulse_ox" => {
            assert_eq!(samples.len(), ids.len(), "a record id per reading");
            assert!((29 * 60..=31 * 60).contains(&samples.len()));
            assert!(samples.iter().all(|s| between(s, 93.0, 99.0)));
        }
        "respiration" => {
            assert!((29 * 8 * 15..=31 * 8 * 15).contains(&samples.len()));
            assert!(samples
                .iter()
                .all(|s| s.metric == Metric::RespiratoryRate && between(s, 12.0, 17.75)));
        }
        "blood_pressures" => {
            assert!(
                (4..=20).contains(&ids.len()),
                "one day in three: {}",
                ids.len()
            );
            for s in of(Metric::BloodPressure) {
                let SampleValue::BloodPressure {
                    systolic,
                    diastolic,
                } = &s.value
                else {
                    panic!("{s:?}");
                };
                let (sys, dia): (u32, u32) = (
                    systolic.value.parse().unwrap(),
                    diastolic.value.parse().unwrap(),
                );
                assert!((108..=140).contains(&sys) && (68..=86).contains(&dia));
            }
            assert_eq!(of(Metric::HeartRate).count(), ids.len(), "a pulse each");
        }
        "activities" => {
            assert!(
                (12..=28).contains(&ids.len()),
                "two days in three: {}",
                ids.len()
            );
            for s in samples {
                let SampleValue::Workout(w) = &s.value else {
                    panic!("{s:?}");
                };
                let minutes: f64 = w.duration.value.parse().unwrap();
                assert!((20.0..=90.0).contains(&minutes), "{w:?}");
                assert!(w.energy.is_some());
                assert_eq!(
                    s.device.as_ref().unwrap().model.as_deref(),
                    Some("Forerunner 265")
                );
            }
        }
        other => panic!("{other}"),
    }
}

#[test]
fn a_pull_returns_only_what_was_uploaded_by_now_and_the_same_bytes_twice() {
    let now = t0();
    let sb = sandbox();
    let token = connect(&sb, USER, now);
    let start = (now - secs(3600)).timestamp().to_string();
    let end = (now + secs(82_800)).timestamp().to_string();
    let req = Req::new("GET", "/wellness-api/rest/respiration")
        .query(&[
            ("uploadStartTimeInSeconds", &start),
            ("uploadEndTimeInSeconds", &end),
        ])
        .bearer(&token);
    let first = send(&sb, &req, now);
    assert_eq!(first.status, 200);
    let g = garmin();
    let samples = g.parse(&dt("respiration"), &first.body).unwrap().samples;
    assert!(samples.iter().all(|s| s.start <= now));
    assert_eq!(send(&sb, &req, now).body, first.body);
    // Later, more has been uploaded into the same window.
    let token = connect(&sb, USER, now + secs(6 * 3600));
    let req = Req {
        headers: Vec::new(),
        ..req
    }
    .bearer(&token);
    let later = send(&sb, &req, now + secs(6 * 3600));
    assert_eq!(later.status, 200);
    assert!(later.body.len() > first.body.len());
}

#[test]
fn a_backfill_answers_202_and_pushes_the_window_to_the_configured_endpoint() {
    let now = t0();
    let sb = sandbox();
    let token = connect(&sb, USER, now);
    let g = garmin();
    let week = TimeWindow {
        start: utc("2026-11-10T00:00:00Z"),
        end: utc("2026-11-17T00:00:00Z"),
    };
    // No endpoint configured: accepted, nothing sent.
    let req = g.backfill_request(&dt("dailies"), week).unwrap();
    let res = send(&sb, &request(&req, &token), now);
    assert_eq!((res.status, res.body.len()), (202, 0));
    assert!(res.outbound.is_empty());

    let set =
        Req::new("POST", "/_control/endpoint").body(format!(r#"{{"url": "{HOOK}"}}"#).as_bytes());
    assert_eq!(send(&sb, &set, now).status, 200);
    let shown = send(&sb, &Req::new("GET", "/_control/endpoint"), now);
    assert_eq!(json(&shown)["url"], HOOK);

    for data_type in TYPES {
        let req = g.backfill_request(&dt(data_type), week).unwrap();
        let res = send(&sb, &request(&req, &token), now);
        assert_eq!((res.status, res.body.len()), (202, 0), "{data_type}");
        assert_eq!(res.outbound.len(), 1, "{data_type}");
        let out = &res.outbound[0];
        assert_eq!(out.url, HOOK);
        assert!(out
            .headers
            .contains(&("content-type".to_owned(), "application/json".to_owned())));
        assert_eq!(g.verify_push(&out.headers, &out.body, b"", now), Ok(()));
        let notices = g.parse_push(&out.body).unwrap();
        assert_eq!(notices.len(), 1, "{data_type}");
        assert_eq!(notices[0].vendor_user, USER);
        let PushEvent::Samples {
            data_type: got,
            page,
        } = &notices[0].event
        else {
            panic!("{data_type}: {:?}", notices[0].event);
        };
        assert_eq!(got.as_str(), data_type);
        assert!(page.skipped.is_empty());
        assert!(!page.samples.is_empty(), "{data_type}");
        // Summaries that start in the window (a night's sleep may end after it).
        assert!(page
            .samples
            .iter()
            .all(|s| s.start >= week.start && s.start < week.end + secs(86_400)));
        if data_type == "dailies" {
            let days: HashSet<_> = page.samples.iter().map(|s| s.start).collect();
            assert_eq!(days.len(), 7, "a daily summary for each day");
            assert!(page
                .samples
                .iter()
                .all(|s| s.start >= week.start && s.start < week.end));
        }
        // The same request pushes the same bytes.
        assert_eq!(
            send(&sb, &request(&req, &token), now).outbound,
            res.outbound
        );
    }

    // Nothing to send: 202 and no push.
    let future = TimeWindow {
        start: now + secs(86_400),
        end: now + secs(2 * 86_400),
    };
    let req = g.backfill_request(&dt("sleeps"), future).unwrap();
    let res = send(&sb, &request(&req, &token), now);
    assert_eq!(res.status, 202);
    assert!(res.outbound.is_empty());

    let cleared = send(&sb, &Req::new("DELETE", "/_control/endpoint"), now);
    assert_eq!(cleared.status, 200);
    let req = g.backfill_request(&dt("dailies"), week).unwrap();
    assert!(send(&sb, &request(&req, &token), now).outbound.is_empty());
}

fn push(sb: &Sandbox, body: &str) -> SandboxResponse {
    send(
        sb,
        &Req::new("POST", "/_control/push").body(body.as_bytes()),
        t0(),
    )
}

fn parsed(res: &SandboxResponse) -> Vec<PushNotice> {
    assert_eq!(res.status, 200, "{}", text(res));
    let g = garmin();
    res.outbound
        .iter()
        .inspect(|o| assert_eq!(o.url, HOOK))
        .flat_map(|o| g.parse_push(&o.body).unwrap())
        .collect()
}

#[test]
fn notifications_carry_the_data_and_account_events_to_the_endpoint() {
    let now = t0();
    let sb = sandbox();
    let token = connect(&sb, USER, now);
    // No endpoint yet: nowhere to send.
    assert!(push(&sb, &format!(r#"{{"user": "{USER}"}}"#))
        .outbound
        .is_empty());
    let set =
        Req::new("POST", "/_control/endpoint").body(format!(r#"{{"url": "{HOOK}"}}"#).as_bytes());
    assert_eq!(send(&sb, &set, now).status, 200);

    let res = push(
        &sb,
        &format!(r#"{{"user": "{USER}", "data_types": ["dailies", "sleeps", "hrv"]}}"#),
    );
    assert_eq!(res.outbound.len(), 3, "one notification per type");
    let notices = parsed(&res);
    let types: Vec<&str> = notices
        .iter()
        .map(|n| match &n.event {
            PushEvent::Samples { data_type, page } => {
                assert!(!page.samples.is_empty());
                data_type.as_str()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(types, ["dailies", "sleeps", "hrv"]);
    assert!(notices.iter().all(|n| n.vendor_user == USER));

    // Every type over a week: what was uploaded then.
    let res = push(
        &sb,
        &format!(
            r#"{{"user": "{USER}", "start": "2026-11-10T00:00:00Z", "end": "2026-11-17T00:00:00Z"}}"#
        ),
    );
    assert_eq!(parsed(&res).len(), 8);
    // A user without a grant is nobody's member.
    assert!(push(&sb, r#"{"user": "sandbox-user-9"}"#)
        .outbound
        .is_empty());

    let res = push(
        &sb,
        &format!(
            r#"{{"user": "{USER}", "event": "permissions", "permissions": ["ACTIVITY_EXPORT", "WORKOUT_IMPORT"]}}"#
        ),
    );
    let notices = parsed(&res);
    assert_eq!(notices.len(), 1);
    assert_eq!(
        notices[0].event,
        PushEvent::PermissionsChanged {
            data_types: vec![dt("activities")]
        }
    );

    let res = push(
        &sb,
        &format!(r#"{{"user": "{USER}", "event": "deregistration"}}"#),
    );
    let notices = parsed(&res);
    assert_eq!(notices.len(), 1);
    assert_eq!(
        (notices[0].vendor_user.as_str(), &notices[0].event),
        (USER, &PushEvent::Deregistered)
    );
    // The member disconnected: the token is dead, and no more notifications.
    let res = send(
        &sb,
        &Req::new("GET", "/wellness-api/rest/user/id").bearer(&token),
        now,
    );
    assert_eq!(res.status, 401);
    assert!(push(&sb, &format!(r#"{{"user": "{USER}"}}"#))
        .outbound
        .is_empty());
}

#[test]
fn bad_pushes_and_endpoints_are_refused_by_name() {
    let sb = sandbox();
    connect(&sb, USER, t0());
    for (body, problem) in [
        (r#"{"user": "u", "event": "permissions"}"#, "permissions"),
        (r#"{"user": "u", "event": "goodbye"}"#, "event"),
        (
            r#"{"user": "u", "event": "deregistration", "permissions": []}"#,
            "permissions",
        ),
    ] {
        let res = push(&sb, body);
        assert_eq!(res.status, 400, "{body}");
        assert!(text(&res).contains(problem), "{}", text(&res));
    }
    // The demo vendor has no account events.
    let res = Req::new("POST", "/_control/push")
        .body(br#"{"user": "u", "event": "deregistration"}"#)
        .send(&sb, t0());
    assert_eq!(res.status, 400);
    assert!(text(&res).contains("demo sends no such notification"));
    for body in [r#"{"url": "/relative"}"#, r#"{"url": "ftp://x/y"}"#, "{}"] {
        let res = send(
            &sb,
            &Req::new("POST", "/_control/endpoint").body(body.as_bytes()),
            t0(),
        );
        assert_eq!(res.status, 400, "{body}");
    }
    let res = send(&sb, &Req::new("PUT", "/_control/endpoint"), t0());
    assert_eq!(res.status, 405);
}

#[test]
fn bad_requests_get_garmins_errors_and_faults_still_apply() {
    let now = t0();
    let sb = sandbox();
    let token = connect(&sb, USER, now);
    let t = now.timestamp();
    let pull = |path: &str, query: &[(&str, String)]| {
        let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
        send(&sb, &Req::new("GET", path).query(&q).bearer(&token), now)
    };
    let dailies = "/wellness-api/rest/dailies";
    let (s, e) = ("uploadStartTimeInSeconds", "uploadEndTimeInSeconds");
    let cases: [(&[(&str, String)], &str); 6] = [
        (&[(s, (t - 86_401).to_string()), (e, t.to_string())], e),
        (&[(e, t.to_string())], s),
        (&[(s, t.to_string())], e),
        (&[(s, t.to_string()), (e, t.to_string())], e),
        (&[(s, "yesterday".to_owned()), (e, t.to_string())], s),
        (
            &[
                (s, "1".to_owned()),
                (s, "2".to_owned()),
                (e, "3".to_owned()),
            ],
            s,
        ),
    ];
    for (query, name) in cases {
        let res = pull(dailies, query);
        assert_eq!(res.status, 400, "{query:?}");
        let description = json(&res)["error_description"].as_str().unwrap().to_owned();
        assert!(description.starts_with(name), "{description}");
    }
    let ok = [(s, (t - 86_400).to_string()), (e, t.to_string())];
    assert_eq!(pull(dailies, &ok).status, 200);
    assert_eq!(pull("/wellness-api/rest/epochs", &ok).status, 404);
    assert_eq!(pull("/wellness-api/rest/backfill/epochs", &ok).status, 404);
    let res = send(&sb, &Req::new("GET", dailies), now);
    assert_eq!(res.status, 401);
    let res = send(&sb, &Req::new("POST", dailies).bearer(&token), now);
    assert_eq!(res.status, 405);

    // Backfill: Garmin's limits on the window.
    let backfill = |path: &str, days: i64| {
        let query = [
            ("summaryStartTimeInSeconds", (t - days * 86_400).to_string()),
            ("summaryEndTimeInSeconds", t.to_string()),
        ];
        pull(path, &query)
    };
    assert_eq!(
        backfill("/wellness-api/rest/backfill/dailies", 90).status,
        202
    );
    let res = backfill("/wellness-api/rest/backfill/dailies", 91);
    assert_eq!(res.status, 400);
    assert!(text(&res).contains("summaryEndTimeInSeconds"));
    assert_eq!(
        backfill("/wellness-api/rest/backfill/activities", 30).status,
        202
    );
    assert_eq!(
        backfill("/wellness-api/rest/backfill/activities", 31).status,
        400
    );

    // Faults reach pulls and backfills alike; a refused backfill pushes nothing.
    let set = Req::new("POST", "/_control/endpoint").body(br#"{"url": "https://hub.example/h"}"#);
    send(&sb, &set, now);
    let fault = Req::new("POST", "/_control/faults")
        .body(br#"{"kind": "rate_limit", "times": 2, "retry_after_secs": 7}"#);
    assert_eq!(send(&sb, &fault, now).status, 200);
    let res = pull(dailies, &ok);
    assert_eq!((res.status, res.header("retry-after")), (429, Some("7")));
    let res = backfill("/wellness-api/rest/backfill/dailies", 7);
    assert_eq!(res.status, 429);
    assert!(res.outbound.is_empty());
    let res = backfill("/wellness-api/rest/backfill/dailies", 7);
    assert_eq!((res.status, res.outbound.len()), (202, 1));
}

#[test]
fn the_connector_manifest_matches_the_twin() {
    let g = garmin();
    let twin = crate::sandbox::twin::find("garmin").unwrap();
    assert!(twin.scopes().is_empty());
    assert_eq!(twin.token_user_field(), None);
    let window = TimeWindow {
        start: t0() - secs(86_400),
        end: t0(),
    };
    let mut ids = Vec::new();
    for spec in &g.manifest().data_types {
        assert!(spec.scopes.is_empty());
        ids.push(spec.id.as_str());
        for req in [
            g.build_request(&spec.id, window, None).unwrap(),
            g.backfill_request(&spec.id, window).unwrap(),
        ] {
            let path = req.url.strip_prefix(&format!("{BASE}/garmin")).unwrap();
            let endpoint = twin.data_endpoint(path, &[]).unwrap();
            assert_eq!(endpoint.scope, None);
            assert_eq!(endpoint.method, req.method);
        }
    }
    assert_eq!(ids, twin.data_types());
    assert_eq!(ids, TYPES);
}
