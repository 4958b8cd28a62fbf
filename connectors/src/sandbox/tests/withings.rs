//! The Withings connector against the Withings twin: consent on the page, the
//! token dialect, every data type over 30 days through the connector's own
//! requests and parser, notifications, and Withings' errors.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::sandbox::person::{self, Kind};
use crate::testing::dt;
use crate::{
    Connector, DataType, Endpoints, HttpRequest, Metric, PushEvent, Sample, TimeWindow, Value,
    Withings,
};
use chrono::{FixedOffset, NaiveDate, TimeZone};
use std::collections::{BTreeMap, BTreeSet, HashSet};

const BASE: &str = "http://127.0.0.1:8080/sandbox";
const VENDOR: &str = "withings";
const CALLBACK: &str = "https://hub.example/vendor-hooks/withings?k=t0k3n";

fn connector() -> Withings {
    Withings::new(&Endpoints::Sandbox {
        base: BASE.to_owned(),
    })
}

fn send(sb: &Sandbox, req: &Req, now: DateTime<Utc>) -> SandboxResponse {
    req.send_to(sb, VENDOR, now)
}

/// The connector's request as the hub sends it: the form as the body, the
/// member's bearer token.
fn to_req(req: &HttpRequest, token: &str) -> Req {
    Req::from_hub(req, &format!("{BASE}/{VENDOR}"), token)
}

/// A form request with the member's token.
fn post(path: &str, form: &[(&str, &str)], token: &str) -> Req {
    Req::new("POST", path).form(form).bearer(token)
}

/// The envelope's `status`.
fn status(res: &SandboxResponse) -> i64 {
    assert_eq!(res.status, 200, "Withings answers HTTP 200: {}", text(res));
    json(res)["status"].as_i64().unwrap()
}

/// `name="value"` of one tag.
fn attr(tag: &str, name: &str) -> Option<String> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    let len = tag[start..].find('"')?;
    Some(
        tag[start..start + len]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

/// Consent as a member gives it: the authorization URL the connector's manifest
/// makes, the page's form posted back with every offered scope ticked. The code.
fn consent(sb: &Sandbox, user: &str, now: DateTime<Utc>) -> String {
    let w = connector();
    let m = w.manifest();
    let types: Vec<DataType> = m.data_types.iter().map(|d| d.id.clone()).collect();
    let scope = m.scopes_for(&types).join(m.scope_separator);
    assert_eq!(scope, "user.metrics,user.info,user.activity");
    let path = m
        .authorize_url
        .strip_prefix(&format!("{BASE}/{VENDOR}"))
        .unwrap();
    let query: Vec<(&str, &str)> = vec![
        ("response_type", "code"),
        ("client_id", CLIENT.0),
        ("redirect_uri", REDIRECT),
        ("scope", &scope),
        ("state", "st4te"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    let page = send(sb, &Req::new("GET", path).query(&query), now);
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    assert!(html.contains("<title>Withings — authorize</title>"));
    let mut form: Vec<(String, String)> = Vec::new();
    for tag in html.split("<input").skip(1) {
        let tag = &tag[..tag.find('>').unwrap()];
        let name = attr(tag, "name").unwrap();
        match attr(tag, "type").as_deref() {
            Some("hidden") => form.push((name, attr(tag, "value").unwrap())),
            Some("checkbox") if tag.contains(" checked") => {
                form.push((name, attr(tag, "value").unwrap()));
            }
            Some("text") => form.push((name, user.to_owned())),
            _ => {}
        }
    }
    form.push(("decision".to_owned(), "approve".to_owned()));
    let ticked: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "scope")
        .map(|(_, v)| v.as_str())
        .collect();
    assert_eq!(ticked, ["user.metrics", "user.info", "user.activity"]);
    let borrowed: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let res = send(sb, &Req::new("POST", path).form(&borrowed), now);
    assert_eq!(res.status, 302, "{}", text(&res));
    let params = location_params(&res);
    assert_eq!(param(&params, "state").as_deref(), Some("st4te"));
    param(&params, "code").unwrap()
}

/// The token request as the hub makes it: client credentials in the form, and
/// `action=requesttoken`.
fn token_request(form: &[(&str, &str)]) -> Req {
    let mut pairs = form.to_vec();
    pairs.extend([
        ("client_id", CLIENT.0),
        ("client_secret", CLIENT.1),
        ("action", "requesttoken"),
    ]);
    let path = connector()
        .manifest()
        .token_url
        .strip_prefix(&format!("{BASE}/{VENDOR}"))
        .unwrap()
        .to_owned();
    Req::new("POST", &path).form(&pairs)
}

/// A member connected with every scope: (access token, refresh token).
fn connect_member(sb: &Sandbox, user: &str, now: DateTime<Utc>) -> (String, String) {
    let code = consent(sb, user, now);
    let res = send(
        sb,
        &token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]),
        now,
    );
    assert_eq!(status(&res), 0, "{}", text(&res));
    let body = &json(&res)["body"];
    assert_eq!(body["userid"], user);
    assert_eq!(body["scope"], "user.metrics user.info user.activity");
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// Every sample of `data_type` over `window`, as the hub fetches it; and how
/// many pages that took.
fn sync(
    sb: &Sandbox,
    token: &str,
    data_type: &str,
    window: TimeWindow,
    now: DateTime<Utc>,
) -> (Vec<Sample>, usize) {
    let w = connector();
    let dt = dt(data_type);
    let mut samples = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let req = w.build_request(&dt, window, cursor.as_deref()).unwrap();
        assert_eq!(req.method, "POST");
        let res = send(sb, &to_req(&req, token), now);
        assert_eq!(
            w.effective_status(res.status, &res.body),
            200,
            "{}",
            text(&res)
        );
        let page = w.parse(&dt, &res.body).unwrap();
        assert_declared(&w, &dt, &page.samples);
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        samples.extend(page.samples);
        pages += 1;
        assert!(pages < 100, "the cursor does not end");
        cursor = page
            .next_cursor
            .or_else(|| w.chunk_cursor(&dt, window, cursor.as_deref()));
        if cursor.is_none() {
            return (samples, pages);
        }
    }
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn number(text: &str) -> f64 {
    text.parse().unwrap()
}

/// 30 days, ending two and a half days before `t0()`.
fn month() -> TimeWindow {
    TimeWindow {
        start: at("2026-10-21T00:00:00Z"),
        end: at("2026-11-20T00:00:00Z"),
    }
}

/// The dates of the getactivity/getsummary request for `window`.
fn requested_days(data_type: &str, window: TimeWindow) -> (NaiveDate, NaiveDate) {
    let req = connector()
        .build_request(&dt(data_type), window, None)
        .unwrap();
    let get = |name: &str| {
        let text = &req.form.iter().find(|(k, _)| k == name).unwrap().1;
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    };
    (get("startdateymd"), get("enddateymd"))
}

#[test]
fn thirty_days_of_every_type_walk_the_pages_and_parse_in_the_members_zone() {
    let sb = sandbox();
    let user = "sandbox-user-1";
    let offset = FixedOffset::east_opt(3600).unwrap();
    let (token, _) = connect_member(&sb, user, t0());
    let w = month();

    // Body measures: every group dated within the window, in the member's zone.
    let (measures, pages) = sync(&sb, &token, "body_measures", w, t0());
    assert!(pages >= 2, "{pages} pages");
    assert!(measures
        .iter()
        .all(|s| s.start >= w.start && s.start < w.end));
    assert!(measures.iter().all(|s| *s.start.offset() == offset));
    let weights: Vec<&Sample> = measures
        .iter()
        .filter(|s| s.metric == Metric::BodyWeight)
        .collect();
    let expected: Vec<_> = person::readings(user, Kind::BodyWeight, w.start, w.end, t0()).collect();
    assert_eq!(weights.len(), 30);
    for (sample, reading) in weights.iter().zip(&expected) {
        assert_eq!(sample.start, reading.start);
        let q = sample.quantity().unwrap();
        assert_eq!(
            (number(&q.value), q.unit.as_str()),
            (number(&reading.value), "kg")
        );
        let device = sample.device.as_ref().unwrap();
        assert_eq!(device.manufacturer.as_deref(), Some("Withings"));
        assert_eq!(device.vendor_device_id.as_ref().unwrap().len(), 40);
    }
    let metrics: BTreeSet<String> = measures.iter().map(|s| format!("{:?}", s.metric)).collect();
    for metric in [
        "BodyWeight",
        "BodyFat",
        "BloodPressure",
        "HeartRate",
        "Spo2",
    ] {
        assert!(metrics.contains(metric), "no {metric} in {metrics:?}");
    }
    for s in &measures {
        match (&s.metric, &s.value) {
            (
                Metric::BloodPressure,
                Value::BloodPressure {
                    systolic,
                    diastolic,
                },
            ) => {
                let (sys, dia) = (number(&systolic.value), number(&diastolic.value));
                assert!((100.0..=145.0).contains(&sys) && (60.0..=92.0).contains(&dia));
                assert!(sys > dia);
            }
            (Metric::BodyFat, _) => {
                assert!((16.0..=30.0).contains(&number(&s.quantity().unwrap().value)));
            }
            (Metric::Spo2, _) => {
                assert!((94.0..=99.0).contains(&number(&s.quantity().unwrap().value)));
            }
            (Metric::HeartRate, _) => {
                assert!((45.0..=90.0).contains(&number(&s.quantity().unwrap().value)));
            }
            (Metric::BodyTemperature, _) => {
                assert!((36.0..=38.0).contains(&number(&s.quantity().unwrap().value)));
            }
            (Metric::BodyWeight, _) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    // One group per moment: ids differ between groups, and a group's samples share one.
    let groups: BTreeMap<&str, BTreeSet<_>> = measures.iter().fold(BTreeMap::new(), |mut m, s| {
        m.entry(s.vendor_record_id.as_deref().unwrap())
            .or_insert_with(BTreeSet::new)
            .insert(s.start);
        m
    });
    assert!(groups.values().all(|moments| moments.len() == 1));

    // Activity: one day per date asked for (the connector asks for every date the
    // window touches anywhere on Earth), each the member's local day.
    let (first, last) = requested_days("activity", w);
    let (activity, pages) = sync(&sb, &token, "activity", w, t0());
    assert!(pages >= 3, "{pages} pages");
    let steps: Vec<&Sample> = activity
        .iter()
        .filter(|s| s.metric == Metric::StepsDaily)
        .collect();
    let days = (last - first).num_days() + 1;
    assert_eq!(steps.len() as i64, days);
    let from = offset
        .from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap())
        .unwrap();
    let until = offset
        .from_local_datetime(&last.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap())
        .unwrap();
    let expected: Vec<_> = person::readings(
        user,
        Kind::Steps,
        from.with_timezone(&Utc),
        until.with_timezone(&Utc),
        t0(),
    )
    .collect();
    assert_eq!(expected.len(), steps.len());
    for (sample, reading) in steps.iter().zip(&expected) {
        assert_eq!((sample.start, sample.end), (reading.start, reading.end));
        assert_eq!(sample.quantity().unwrap().value, reading.value);
        assert_eq!(sample.quantity().unwrap().unit, "/d");
    }
    assert_eq!(
        activity.len(),
        steps.len() * 4,
        "steps, distance, calories, total"
    );
    for s in &activity {
        assert!(s.start >= from && s.end.unwrap() <= until);
        let v = number(&s.quantity().unwrap().value);
        match s.metric {
            Metric::Distance => assert!((1000.0..=12_000.0).contains(&v), "{v}"),
            Metric::ActiveEnergy => assert!((50.0..=800.0).contains(&v), "{v}"),
            Metric::EnergyBurnedDaily => assert!((1450.0..=2800.0).contains(&v), "{v}"),
            Metric::StepsDaily => {}
            other => panic!("unexpected {other:?}"),
        }
    }

    // Sleep: nine nights in ten, each in bed late evening and up in the morning.
    let (first, last) = requested_days("sleep_summary", w);
    let (sleep, pages) = sync(&sb, &token, "sleep_summary", w, t0());
    assert!(pages >= 3, "{pages} pages");
    let nights: Vec<&Sample> = sleep
        .iter()
        .filter(|s| s.metric == Metric::SleepDuration)
        .collect();
    assert!(nights.len() as i64 >= days * 7 / 10, "{}", nights.len());
    assert!(nights.len() as i64 <= days);
    for night in &nights {
        let (start, end) = (night.start, night.end.unwrap());
        assert_eq!(*start.offset(), offset);
        assert!(end.date_naive() >= first && end.date_naive() <= last);
        let (bed, up) = (start.time(), end.time());
        let hm = |h, m| chrono::NaiveTime::from_hms_opt(h, m, 0).unwrap();
        assert!(bed >= hm(22, 0) || bed < hm(0, 30), "{start}");
        assert!(up >= hm(6, 0) && up < hm(8, 0), "{end}");
        let total = number(&night.quantity().unwrap().value);
        let stages: f64 = sleep
            .iter()
            .filter(|s| {
                s.vendor_record_id == night.vendor_record_id
                    && matches!(
                        s.metric,
                        Metric::SleepDeep | Metric::SleepLight | Metric::SleepRem
                    )
            })
            .map(|s| number(&s.quantity().unwrap().value))
            .sum();
        assert!((240.0..=600.0).contains(&total), "{total}");
        assert!((stages - total).abs() < 1e-9, "{stages} ≠ {total}");
    }
    let ids: HashSet<_> = nights.iter().map(|s| s.vendor_record_id.clone()).collect();
    assert_eq!(ids.len(), nights.len());
    assert!(sleep
        .iter()
        .filter(|s| s.metric == Metric::HeartRate)
        .all(|s| (40.0..=70.0).contains(&number(&s.quantity().unwrap().value))));

    // Another run, in another sandbox, gives the same samples.
    let again = sandbox();
    let (token, _) = connect_member(&again, user, t0());
    assert_eq!(sync(&again, &token, "body_measures", w, t0()).0, measures);
    assert_eq!(sync(&again, &token, "activity", w, t0()).0, activity);
    assert_eq!(sync(&again, &token, "sleep_summary", w, t0()).0, sleep);
}

#[test]
fn nothing_is_answered_from_after_now_and_the_same_request_gives_the_same_bytes() {
    let sb = sandbox();
    let (token, _) = connect_member(&sb, "sandbox-user-2", t0());
    let w = TimeWindow {
        start: t0() - secs(3 * 86_400),
        end: t0() + secs(10 * 86_400),
    };
    for data_type in ["body_measures", "activity", "sleep_summary"] {
        let req = connector().build_request(&dt(data_type), w, None).unwrap();
        let first = send(&sb, &to_req(&req, &token), t0());
        let second = send(&sb, &to_req(&req, &token), t0());
        assert_eq!(first, second, "{data_type}");
        let (samples, _) = sync(&sb, &token, data_type, w, t0());
        assert!(!samples.is_empty(), "{data_type}");
        for s in &samples {
            assert!(s.start <= t0() && s.end.is_none_or(|e| e <= t0()), "{s:?}");
            assert_eq!(s.start.offset().local_minus_utc(), -5 * 3600);
        }
    }
    // Later, the same window holds more, and the earlier records are unchanged.
    let before = sync(&sb, &token, "body_measures", w, t0()).0;
    let later = t0() + secs(2 * 86_400);
    let (token, _) = connect_member(&sb, "sandbox-user-2", later);
    let after = sync(&sb, &token, "body_measures", w, later).0;
    assert!(after.len() > before.len());
    assert_eq!(after[..before.len()], before[..]);
}

#[test]
fn getmeas_honours_its_window_types_category_and_lastupdate() {
    let sb = sandbox();
    let (token, _) = connect_member(&sb, "sandbox-user-3", t0());
    let groups = |form: &[(&str, &str)]| {
        let mut pairs = vec![("action", "getmeas")];
        pairs.extend_from_slice(form);
        let res = send(&sb, &post("/measure", &pairs, &token), t0());
        assert_eq!(status(&res), 0, "{}", text(&res));
        let body = json(&res)["body"].clone();
        assert_eq!(body["timezone"], "Asia/Kolkata");
        assert_eq!(body["updatetime"], t0().timestamp());
        body
    };
    let (start, end) = (
        at("2026-11-01T00:00:00Z").timestamp(),
        at("2026-11-08T00:00:00Z").timestamp(),
    );
    let (s, e) = (start.to_string(), end.to_string());
    let week = groups(&[("startdate", &s), ("enddate", &e)]);
    let list = week["measuregrps"].as_array().unwrap();
    assert!(list.len() >= 7 && list.len() <= 20, "{}", list.len());
    assert_eq!(
        (week["more"].clone(), week["offset"].clone()),
        (0.into(), 0.into())
    );
    let dates: Vec<i64> = list.iter().map(|g| g["date"].as_i64().unwrap()).collect();
    assert!(dates.iter().all(|d| (start..end).contains(d)));
    assert!(dates.windows(2).all(|p| p[0] <= p[1]), "oldest first");
    for g in list {
        assert_eq!(
            (g["category"].clone(), g["attrib"].clone()),
            (1.into(), 0.into())
        );
        assert!(g["created"].as_i64().unwrap() > g["date"].as_i64().unwrap());
        assert_eq!(g["deviceid"], g["hash_deviceid"]);
    }

    // Only weights.
    let weights = groups(&[("startdate", &s), ("enddate", &e), ("meastype", "1")]);
    let weights = weights["measuregrps"].as_array().unwrap();
    assert_eq!(weights.len(), 7);
    assert!(weights
        .iter()
        .all(|g| g["measures"].as_array().unwrap().len() == 1 && g["measures"][0]["type"] == 1));
    // Goals: none.
    let goals = groups(&[("startdate", &s), ("enddate", &e), ("category", "2")]);
    assert_eq!(goals["measuregrps"], serde_json::json!([]));
    // An offset past the end is an empty last page.
    let past = groups(&[("startdate", &s), ("enddate", &e), ("offset", "500")]);
    assert_eq!(past["measuregrps"], serde_json::json!([]));
    // lastupdate: what was uploaded since.
    let since = (t0() - secs(2 * 86_400)).timestamp().to_string();
    let recent = groups(&[("lastupdate", &since)]);
    let recent = recent["measuregrps"].as_array().unwrap();
    assert!(!recent.is_empty());
    assert!(recent.iter().all(|g| {
        let modified = g["modified"].as_i64().unwrap();
        modified >= t0().timestamp() - 2 * 86_400 && modified <= t0().timestamp()
    }));

    // Daily services take dates or instants alike.
    let days = |form: &[(&str, &str)]| {
        let mut pairs = vec![("action", "getactivity")];
        pairs.extend_from_slice(form);
        let res = send(&sb, &post("/v2/measure", &pairs, &token), t0());
        assert_eq!(status(&res), 0, "{}", text(&res));
        json(&res)["body"]["activities"].clone()
    };
    let by_date = days(&[("startdateymd", "2026-11-01"), ("enddateymd", "2026-11-03")]);
    let dates: Vec<&str> = by_date
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(dates, ["2026-11-01", "2026-11-02", "2026-11-03"]);
    assert_eq!(by_date[0]["timezone"], "Asia/Kolkata");
    let start = at("2026-11-01T00:00:00+05:30").timestamp().to_string();
    let end = at("2026-11-04T00:00:00+05:30").timestamp().to_string();
    assert_eq!(days(&[("startdate", &start), ("enddate", &end)]), by_date);
    let steps_only = days(&[
        ("startdateymd", "2026-11-01"),
        ("enddateymd", "2026-11-01"),
        ("data_fields", "steps"),
    ]);
    assert_eq!(steps_only[0]["steps"], by_date[0]["steps"]);
    assert!(steps_only[0].get("distance").is_none());
}

#[test]
fn notifications_name_the_user_type_and_window_the_connector_reads() {
    let sb = sandbox();
    let user = "sandbox-user-4";
    let (token, _) = connect_member(&sb, user, t0());
    let w = connector();
    let requests = w.subscribe_requests(CALLBACK);
    assert_eq!(requests.len(), 6);
    for req in &requests {
        let res = send(&sb, &to_req(req, &token), t0());
        assert_eq!(json(&res), serde_json::json!({"status": 0, "body": {}}));
        assert_eq!(w.effective_status(res.status, &res.body), 200);
    }
    let push = send(
        &sb,
        &Req::new("POST", "/_control/push").body(
            serde_json::json!({
                "user": user,
                "start": "2026-11-21T00:00:00Z",
                "end": "2026-11-22T00:00:00Z",
            })
            .to_string()
            .as_bytes(),
        ),
        t0(),
    );
    assert_eq!(push.status, 200, "{}", text(&push));
    assert_eq!(
        push.outbound.len(),
        3,
        "one per data type, to the one callback"
    );
    let window = TimeWindow {
        start: at("2026-11-21T00:00:00Z"),
        end: at("2026-11-22T00:00:00Z"),
    };
    let mut seen = Vec::new();
    for out in &push.outbound {
        assert_eq!(out.url, CALLBACK);
        assert_eq!(
            out.headers,
            [(
                "content-type".to_owned(),
                "application/x-www-form-urlencoded".to_owned()
            )]
        );
        assert_eq!(w.verify_push(&out.headers, &out.body, b"", t0()), Ok(()));
        let notices = w.parse_push(&out.body).unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].vendor_user, user);
        let PushEvent::NewData {
            data_type,
            window: Some(notified),
        } = &notices[0].event
        else {
            panic!("{:?}", notices[0].event);
        };
        assert_eq!(*notified, window);
        let body = String::from_utf8(out.body.clone()).unwrap();
        seen.push((data_type.as_str().to_owned(), body));
    }
    let start = window.start.timestamp();
    let end = window.end.timestamp() - 1;
    assert_eq!(
        seen,
        [
            ("body_measures", 1),
            ("activity", 16),
            ("sleep_summary", 44)
        ]
        .map(|(t, appli)| (
            t.to_owned(),
            format!("userid={user}&appli={appli}&startdate={start}&enddate={end}")
        ))
    );
    // One type only, and nobody else's.
    let one = send(
        &sb,
        &Req::new("POST", "/_control/push")
            .body(format!(r#"{{"user": "{user}", "data_types": ["sleep_summary"]}}"#).as_bytes()),
        t0(),
    );
    assert_eq!(one.outbound.len(), 1);
    assert!(String::from_utf8_lossy(&one.outbound[0].body).contains("appli=44"));
    let other = send(
        &sb,
        &Req::new("POST", "/_control/push").body(br#"{"user": "sandbox-user-5"}"#),
        t0(),
    );
    assert!(other.outbound.is_empty());
}

#[test]
fn errors_come_in_the_envelope_with_withings_codes() {
    let sb = sandbox();
    let w = connector();
    let (token, refresh_token) = connect_member(&sb, "sandbox-user-1", t0());
    let getmeas = |token: &str, extra: &[(&str, &str)]| {
        let mut form = vec![
            ("action", "getmeas"),
            ("startdate", "1794000000"),
            ("enddate", "1794086400"),
        ];
        form.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
        form.extend_from_slice(extra);
        send(&sb, &post("/measure", &form, token), t0())
    };
    assert_eq!(status(&getmeas(&token, &[])), 0);

    // A refused token: 401, which the connector reads as the HTTP 401 it stands for.
    let refused = getmeas("sbx_at_nope", &[]);
    assert_eq!(status(&refused), 401);
    assert_eq!(w.effective_status(refused.status, &refused.body), 401);
    assert_eq!(json(&refused)["body"], serde_json::json!({}));
    assert!(json(&refused)["error"].is_string());
    let anonymous = send(
        &sb,
        &Req::new("POST", "/measure").form(&[("action", "getmeas")]),
        t0(),
    );
    assert_eq!(w.effective_status(anonymous.status, &anonymous.body), 401);
    let late = send(
        &sb,
        &post(
            "/measure",
            &[("action", "getmeas"), ("lastupdate", "0")],
            &token,
        ),
        t0() + secs(3600),
    );
    assert_eq!(w.effective_status(late.status, &late.body), 401);

    // Invalid parameters: 503, which the connector reads as a 400.
    for extra in [
        &[("action", "getmeasure")][..],
        &[("action", "")],
        &[("startdate", "yesterday")],
        &[("enddate", "1")],
        &[("offset", "-1")],
        &[("category", "3")],
        &[("meastypes", "1,weight")],
    ] {
        let res = getmeas(&token, extra);
        assert_eq!(status(&res), 503, "{extra:?}: {}", text(&res));
        assert_eq!(w.effective_status(res.status, &res.body), 400);
        assert!(w.parse(&dt("body_measures"), &res.body).is_err());
    }
    let no_window = send(
        &sb,
        &post("/measure", &[("action", "getmeas")], &token),
        t0(),
    );
    assert_eq!(status(&no_window), 503);
    assert!(json(&no_window)["error"]
        .as_str()
        .unwrap()
        .starts_with("startdate: missing"));
    for (path, action) in [
        ("/v2/sleep", "get"),
        ("/v2/measure", "getmeas"),
        ("/notify", "list"),
    ] {
        let res = send(&sb, &post(path, &[("action", action)], &token), t0());
        assert_eq!(status(&res), 503, "{path} {action}");
    }
    let res = send(
        &sb,
        &post("/v2/nowhere", &[("action", "get")], &token),
        t0(),
    );
    assert_eq!(status(&res), 503);
    let get = send(
        &sb,
        &Req::new("GET", "/measure")
            .query(&[("action", "getmeas")])
            .bearer(&token),
        t0(),
    );
    assert_eq!(status(&get), 503);

    // Subscriptions name a known category and a callback.
    for form in [
        &[
            ("action", "subscribe"),
            ("appli", "3"),
            ("callbackurl", CALLBACK),
        ][..],
        &[
            ("action", "subscribe"),
            ("appli", "01"),
            ("callbackurl", CALLBACK),
        ],
        &[("action", "subscribe"), ("appli", "1")],
        &[
            ("action", "subscribe"),
            ("appli", "1"),
            ("callbackurl", "ftp://x/y"),
        ],
    ] {
        let res = send(&sb, &post("/notify", form, &token), t0());
        assert_eq!(status(&res), 503, "{form:?}");
    }

    // The token endpoint wants its action; a used refresh token is dead.
    let no_action = Req::new("POST", "/oauth/token").form(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh_token),
        ("client_id", CLIENT.0),
        ("client_secret", CLIENT.1),
    ]);
    assert_eq!(status(&send(&sb, &no_action, t0())), 503);
    let refresh = token_request(&[
        ("grant_type", "refresh_token"),
        ("refresh_token", &refresh_token),
    ]);
    let res = send(&sb, &refresh, t0());
    assert_eq!(status(&res), 0);
    assert_eq!(json(&res)["body"]["userid"], "sandbox-user-1");
    assert_eq!(status(&send(&sb, &refresh, t0())), 503);

    // Injected faults keep working, in Withings' codes.
    let fault = |kind: &str| {
        let body = format!(r#"{{"kind": "{kind}"}}"#);
        let res = send(
            &sb,
            &Req::new("POST", "/_control/faults").body(body.as_bytes()),
            t0(),
        );
        assert_eq!(res.status, 200, "{}", text(&res));
        getmeas(&token, &[])
    };
    let limited = fault("rate_limit");
    assert_eq!(status(&limited), 601);
    assert_eq!(w.effective_status(limited.status, &limited.body), 429);
    let broken = fault("server_error");
    assert_eq!(w.effective_status(broken.status, &broken.body), 501);
    assert_eq!(status(&getmeas(&token, &[])), 0);
}

#[test]
fn a_signed_revocation_ends_the_grant_once_with_a_fresh_nonce() {
    use crate::withings::revoke::{nonce, nonce_form, revoke_form};
    let sb = sandbox();
    let w = connector();
    let (token, _) = connect_member(&sb, "sandbox-user-1", t0());
    let (other, _) = connect_member(&sb, "sandbox-user-2", t0());
    let post_form = |path: &str, pairs: &[(String, String)]| {
        let borrowed: Vec<(&str, &str)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        send(&sb, &Req::new("POST", path).form(&borrowed), t0())
    };
    let get_nonce =
        |secret: &str, at: i64| post_form("/v2/signature", &nonce_form(CLIENT.0, secret, at));
    // A nonce needs the client's own secret and a timestamp near now.
    assert_eq!(status(&get_nonce("wrong", t0().timestamp())), 503);
    let stale = get_nonce(CLIENT.1, t0().timestamp() - 3600);
    assert_eq!(status(&stale), 503);
    assert!(json(&stale)["error"]
        .as_str()
        .unwrap()
        .contains("timestamp"));
    let answer = get_nonce(CLIENT.1, t0().timestamp());
    assert_eq!(status(&answer), 0, "{}", text(&answer));
    let n = nonce(&answer.body).unwrap();

    // A revocation signed with another secret is refused, and spends the nonce.
    let forged = post_form(
        "/v2/oauth2",
        &revoke_form(CLIENT.0, "wrong", &n, "sandbox-user-1"),
    );
    assert_eq!(status(&forged), 503);
    assert!(json(&forged)["error"]
        .as_str()
        .unwrap()
        .contains("signature"));
    let reused = post_form(
        "/v2/oauth2",
        &revoke_form(CLIENT.0, CLIENT.1, &n, "sandbox-user-1"),
    );
    assert_eq!(status(&reused), 503);
    assert!(json(&reused)["error"].as_str().unwrap().contains("nonce"));
    // The grant still works.
    let getmeas = |token: &str| {
        let form = [
            ("action", "getmeas"),
            ("startdate", "1794000000"),
            ("enddate", "1794086400"),
        ];
        status(&send(&sb, &post("/measure", &form, token), t0()))
    };
    assert_eq!(getmeas(&token), 0);

    let n = nonce(&get_nonce(CLIENT.1, t0().timestamp()).body).unwrap();
    let done = post_form(
        "/v2/oauth2",
        &revoke_form(CLIENT.0, CLIENT.1, &n, "sandbox-user-1"),
    );
    assert_eq!(status(&done), 0, "{}", text(&done));
    assert_eq!(w.effective_status(done.status, &done.body), 200);
    // That account's tokens are dead; another member's are not.
    assert_eq!(getmeas(&token), 401);
    assert_eq!(getmeas(&other), 0);
    // Repeated, it still succeeds (the nonce comes from the remembered secret).
    let n = nonce(&get_nonce(CLIENT.1, t0().timestamp()).body).unwrap();
    let again = post_form(
        "/v2/oauth2",
        &revoke_form(CLIENT.0, CLIENT.1, &n, "sandbox-user-1"),
    );
    assert_eq!(status(&again), 0);
    // The sandbox's record names the account of each signed revocation.
    let named: Vec<Option<String>> = sb
        .calls()
        .into_iter()
        .filter(|c| c.path == "/v2/oauth2")
        .map(|c| c.sandbox_user)
        .collect();
    let one = Some("sandbox-user-1".to_owned());
    assert_eq!(named, [None, None, one.clone(), one]);
}

#[test]
fn a_token_without_the_metrics_scope_gets_no_measures() {
    let sb = sandbox();
    let mut pairs: Vec<(&str, String)> = authorize_params("user.activity,user.info")
        .into_iter()
        .map(|(k, v)| (if k == "scope" { "requested_scope" } else { k }, v))
        .collect();
    pairs.extend([
        ("sandbox_user", "sandbox-user-1".to_owned()),
        ("scope", "user.activity".to_owned()),
        ("scope", "user.info".to_owned()),
        ("decision", "approve".to_owned()),
    ]);
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = send(
        &sb,
        &Req::new("POST", "/oauth/authorize").form(&borrowed),
        t0(),
    );
    let code = param(&location_params(&res), "code").unwrap();
    let res = send(
        &sb,
        &token_request(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ]),
        t0(),
    );
    let token = json(&res)["body"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let w = month();
    let req = connector()
        .build_request(&dt("body_measures"), w, None)
        .unwrap();
    assert_ne!(status(&send(&sb, &to_req(&req, &token), t0())), 0);
    assert!(!sync(&sb, &token, "activity", w, t0()).0.is_empty());
}

#[test]
fn the_connector_manifest_matches_the_twin() {
    let w = connector();
    let twin = crate::sandbox::twin::find(VENDOR).unwrap();
    let scopes: Vec<&str> = twin.scopes().iter().map(|s| s.name).collect();
    assert_eq!(scopes, ["user.metrics", "user.activity", "user.info"]);
    let types: Vec<&str> = w
        .manifest()
        .data_types
        .iter()
        .map(|d| d.id.as_str())
        .collect();
    assert_eq!(twin.data_types(), types.as_slice());
    for spec in &w.manifest().data_types {
        assert!(spec.scopes.iter().all(|s| scopes.contains(&s.as_str())));
        let req = w.build_request(&spec.id, month(), None).unwrap();
        let path = req.url.strip_prefix(&format!("{BASE}/{VENDOR}")).unwrap();
        let endpoint = twin.data_endpoint(path, &req.form).unwrap();
        assert_eq!(endpoint.data_type, spec.id.as_str());
        assert!(spec.scopes.contains(&endpoint.scope.unwrap().to_owned()));
        assert_eq!(endpoint.method, req.method);
    }
    for appli in crate::withings::push::SUBSCRIBED_APPLIS {
        let req = &w.subscribe_requests(CALLBACK)[0];
        let mut form = req.form.clone();
        form.iter_mut()
            .filter(|(k, _)| k == "appli")
            .for_each(|p| p.1 = appli.to_string());
        let path = req.url.strip_prefix(&format!("{BASE}/{VENDOR}")).unwrap();
        assert_eq!(
            twin.subscription(req.method, path, &form).unwrap().unwrap(),
            CALLBACK
        );
    }
}

#[test]
fn each_members_zone_keeps_their_offset_all_year_since_1970() {
    for n in 1..=5 {
        let user = format!("sandbox-user-{n}");
        let offset = person::utc_offset(&user);
        let name = crate::sandbox::withings::zone_name(offset).unwrap();
        let zone: chrono_tz::Tz = name.parse().unwrap();
        let mut t = at("1970-01-01T00:00:00Z");
        while t < at("2040-01-01T00:00:00Z") {
            let here = t.with_timezone(&zone).fixed_offset();
            assert_eq!(*here.offset(), offset, "{name} at {t}");
            t += secs(86_400 * 29 + 3_600 * 7);
        }
    }
}
