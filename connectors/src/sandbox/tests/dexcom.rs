//! The Dexcom twin driven by the `dexcom` connector: OAuth with the client
//! credentials in the form body, a window of more than 30 days walked in chunks,
//! dataRange and devices, errors, faults, and no notifications.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::testing::{utc, window};
use crate::{Connector, DataType, Dexcom, Endpoints, HttpRequest, Metric, Sample, TimeWindow};

const BASE: &str = "http://127.0.0.1:8080/sandbox";
const VENDOR: &str = "dexcom";

fn dexcom() -> Dexcom {
    Dexcom::new(&Endpoints::Sandbox {
        base: BASE.to_owned(),
    })
}

fn egvs() -> DataType {
    DataType::parse("egvs").unwrap()
}

/// `req` sent to the Dexcom twin.
fn send(sb: &Sandbox, req: &Req, now: DateTime<Utc>) -> SandboxResponse {
    req.send_to(sb, VENDOR, now)
}

/// A connector's request as the hub sends it, with the member's token.
fn from_connector(req: &HttpRequest, token: &str) -> Req {
    Req::from_hub(req, &format!("{BASE}/{VENDOR}"), token)
}

/// The authorization request the hub builds from the manifest.
fn authorize_query(d: &Dexcom) -> Vec<(&'static str, String)> {
    let m = d.manifest();
    let scope = m.scopes_for(&[egvs()]).join(m.scope_separator);
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT.0.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("scope", scope),
        ("state", "st4te".to_owned()),
        ("code_challenge", CHALLENGE.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

/// The token request with the client credentials in the form body, as the
/// manifest's `ClientAuth::RequestBody` says.
fn token_request(pairs: &[(&str, &str)]) -> Req {
    let mut form = pairs.to_vec();
    form.extend([("client_id", CLIENT.0), ("client_secret", CLIENT.1)]);
    Req::new("POST", "/oauth/token").form(&form)
}

/// The whole connect flow for `user`: the page, approval on its form, the code
/// exchange. The token answer.
fn connect_as(sb: &Sandbox, user: &str, now: DateTime<Utc>) -> Value {
    let d = dexcom();
    let query = authorize_query(&d);
    let q: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = send(sb, &Req::new("GET", "/oauth/authorize").query(&q), now);
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    assert!(html.contains("<title>Dexcom — authorize</title>"), "{html}");
    assert!(html.contains("id=\"scope-offline_access\""), "{html}");

    let mut form: Vec<(&str, &str)> = q
        .iter()
        .map(|(k, v)| (if *k == "scope" { "requested_scope" } else { *k }, *v))
        .collect();
    form.extend([
        ("sandbox_user", user),
        ("scope", "offline_access"),
        ("decision", "approve"),
    ]);
    let res = send(sb, &Req::new("POST", "/oauth/authorize").form(&form), now);
    assert_eq!(res.status, 302, "{}", text(&res));
    let code = param(&location_params(&res), "code").unwrap();

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
    assert_eq!(res.status, 200, "{}", text(&res));
    json(&res)
}

fn access(token: &Value) -> String {
    token["access_token"].as_str().unwrap().to_owned()
}

/// What one walk of a window gave.
struct Synced {
    samples: Vec<Sample>,
    skipped: Vec<&'static str>,
    bodies: Vec<Vec<u8>>,
    /// The (startDate, endDate) of each request.
    asked: Vec<(String, String)>,
}

/// Fetch egvs over `window` as the hub does: each chunk's request, its page, then
/// the chunk cursor.
fn sync(sb: &Sandbox, token: &str, w: TimeWindow, now: DateTime<Utc>) -> Synced {
    let d = dexcom();
    let mut out = Synced {
        samples: Vec::new(),
        skipped: Vec::new(),
        bodies: Vec::new(),
        asked: Vec::new(),
    };
    let mut cursor: Option<String> = None;
    loop {
        let req = d.build_request(&egvs(), w, cursor.as_deref()).unwrap();
        out.asked
            .push((req.query[0].1.clone(), req.query[1].1.clone()));
        let res = send(sb, &from_connector(&req, token), now);
        assert_eq!(res.status, 200, "{}", text(&res));
        assert_eq!(res.header("content-type"), Some("application/json"));
        let page = d.parse(&egvs(), &res.body).unwrap();
        assert_declared(&d, &egvs(), &page.samples);
        assert_eq!(page.next_cursor, None, "Dexcom does not page");
        out.samples.extend(page.samples);
        out.skipped.extend(page.skipped.iter().map(|s| s.reason));
        out.bodies.push(res.body);
        match d.chunk_cursor(&egvs(), w, cursor.as_deref()) {
            Some(next) => cursor = Some(next),
            None => return out,
        }
    }
}

fn value(s: &Sample) -> i64 {
    s.quantity().unwrap().value.parse().unwrap()
}

fn statuses(bodies: &[Vec<u8>], status: &str) -> usize {
    bodies
        .iter()
        .map(|b| {
            serde_json::from_slice::<Value>(b).unwrap()["records"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["status"] == status)
                .count()
        })
        .sum()
}

#[test]
fn the_oauth_flow_takes_the_client_credentials_in_the_form_and_names_no_user() {
    let sb = sandbox();
    let token = connect_as(&sb, "sandbox-user-1", t0());
    assert_eq!(token["scope"], "offline_access");
    assert_eq!(token["token_type"], "Bearer");
    assert!(token.get("user_id").is_none(), "{token}");
    let refresh_token = token["refresh_token"].as_str().unwrap();

    // Basic is not what the connector sends, and nothing without credentials works.
    let res = send(
        &sb,
        &Req::new("POST", "/oauth/token").form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]),
        t0(),
    );
    assert_eq!(
        (res.status, json(&res)["error"].clone()),
        (401, "invalid_client".into())
    );
    let res = send(
        &sb,
        &token_request(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ]),
        t0() + secs(60),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    let refreshed = json(&res);
    assert_ne!(refreshed["refresh_token"], token["refresh_token"]);
    assert!(refreshed.get("user_id").is_none());

    // The new token reads data; the connector has no revocation URL.
    assert_eq!(dexcom().manifest().revoke_url, None);
    let req = dexcom().data_range_request();
    let res = send(
        &sb,
        &from_connector(&req, &access(&refreshed)),
        t0() + secs(60),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
}

#[test]
fn a_45_day_window_is_walked_in_two_chunks_of_5_minute_readings() {
    let sb = sandbox();
    let token = access(&connect_as(&sb, "sandbox-user-1", t0()));
    let w = window("2026-10-01T00:00:00Z", "2026-11-15T00:00:00Z");
    let run = sync(&sb, &token, w, t0());
    assert_eq!(
        run.asked,
        [
            ("2026-10-01T00:00:00".into(), "2026-10-31T00:00:00".into()),
            ("2026-10-31T00:00:00".into(), "2026-11-15T00:00:00".into()),
        ]
    );

    // 288 readings a day; the few without a value are skipped, and counted.
    let days = 45;
    assert_eq!(run.samples.len() + run.skipped.len(), days * 288);
    assert!(
        (1..=days * 6).contains(&run.skipped.len()),
        "{} skipped",
        run.skipped.len()
    );
    assert!(run
        .skipped
        .contains(&"beyond the sensor's range, no glucose value"));
    assert!(run.skipped.contains(&"no glucose value"), "signal loss");
    assert!(statuses(&run.bodies, "low") > 0 && statuses(&run.bodies, "high") > 0);
    let ids: std::collections::HashSet<_> = run
        .samples
        .iter()
        .map(|s| s.vendor_record_id.clone().unwrap())
        .collect();
    assert_eq!(ids.len(), run.samples.len(), "no reading twice");

    // In the window, at the member's offset (+01:00; the receiver's clock is a few
    // seconds off), as Dexcom's G6 receiver describes itself.
    for s in &run.samples {
        assert!(s.start >= w.start && s.start < w.end, "{}", s.start);
        assert_eq!(s.start.offset().local_minus_utc(), 3600);
        assert!(s.start.timestamp() % 60 != 0, "odd seconds");
        assert_eq!((s.metric, s.end), (Metric::GlucoseCgm, None));
        assert_eq!(s.quantity().unwrap().unit, "mg/dL");
        let device = s.device.clone().unwrap();
        assert_eq!(device.manufacturer.as_deref(), Some("Dexcom"));
        assert_eq!(device.model.as_deref(), Some("G6, receiver"));
        let id = device.vendor_device_id.unwrap();
        assert!(id.len() == 64 && id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    // Plausible: within the sensor's range, mostly in 70–250.
    let mut samples = run.samples.clone();
    samples.sort_by_key(|s| s.start);
    let values: Vec<i64> = samples.iter().map(value).collect();
    assert!(values.iter().all(|v| (40..=400).contains(v)));
    let in_range = values.iter().filter(|v| (70..=250).contains(*v)).count();
    assert!(
        in_range * 100 >= values.len() * 85,
        "{in_range} of {}",
        values.len()
    );
    let mean = values.iter().sum::<i64>() / i64::try_from(values.len()).unwrap();
    assert!((100..=180).contains(&mean), "mean {mean}");

    // Trends follow the change from the reading 5 minutes before.
    let mut seen = std::collections::BTreeSet::new();
    for pair in samples.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        if (b.start - a.start).num_seconds() != 300 {
            continue;
        }
        let change = value(b) - value(a);
        let trend = b.trend.clone().unwrap();
        match trend.as_str() {
            "flat" => assert!(change.abs() <= 5, "{trend} {change}"),
            "fortyFiveUp" | "singleUp" | "doubleUp" => assert!(change > 5, "{trend} {change}"),
            "fortyFiveDown" | "singleDown" | "doubleDown" => {
                assert!(change < -5, "{trend} {change}");
            }
            other => panic!("{other} between two readings"),
        }
        seen.insert(trend);
    }
    for trend in [
        "flat",
        "fortyFiveUp",
        "fortyFiveDown",
        "singleUp",
        "singleDown",
    ] {
        assert!(seen.contains(trend), "{trend}: {seen:?}");
    }
    let flat = samples
        .iter()
        .filter(|s| s.trend.as_deref() == Some("flat"))
        .count();
    assert!(flat * 2 > samples.len(), "mostly flat: {flat}");

    // The same requests give the same bytes, in another sandbox with other tokens.
    let other = sandbox();
    let token = access(&connect_as(&other, "sandbox-user-1", t0()));
    let again = sync(&other, &token, w, t0());
    assert_eq!(again.bodies, run.bodies);
    assert_eq!(again.samples, run.samples);
}

#[test]
fn app_users_get_times_with_offsets_and_the_records_have_dexcoms_shape() {
    let sb = sandbox();
    // sandbox-user-2: the iOS app at -05:00; sandbox-user-3: Android at +05:30.
    for (user, offset, model, suffix) in [
        ("sandbox-user-2", -5 * 3600, "G7, iOS app", "-05:00"),
        (
            "sandbox-user-3",
            5 * 3600 + 1800,
            "G7, Android app",
            "+05:30",
        ),
    ] {
        let token = access(&connect_as(&sb, user, t0()));
        let w = window("2026-11-10T00:00:00Z", "2026-11-13T00:00:00Z");
        let run = sync(&sb, &token, w, t0());
        assert_eq!(run.asked.len(), 1);
        assert_eq!(run.samples.len() + run.skipped.len(), 3 * 288);
        for s in &run.samples {
            assert_eq!(s.start.offset().local_minus_utc(), offset, "{user}");
            assert!(s.start >= w.start && s.start < w.end);
            assert_eq!(s.device.clone().unwrap().model.as_deref(), Some(model));
        }
        let ios = user == "sandbox-user-2";
        let device_ids: std::collections::HashSet<_> = run
            .samples
            .iter()
            .map(|s| s.device.clone().unwrap().vendor_device_id)
            .collect();
        if ios {
            assert_eq!(device_ids, [None].into());
        } else {
            assert!(device_ids
                .iter()
                .all(|id| id.as_ref().is_some_and(|id| id.len() == 6)));
        }

        let body: Value = serde_json::from_slice(&run.bodies[0]).unwrap();
        assert_eq!(body["recordType"], "egv");
        assert_eq!(body["recordVersion"], "3.0");
        let user_id = body["userId"].as_str().unwrap();
        assert!(user_id.len() == 64 && user_id.chars().all(|c| c.is_ascii_hexdigit()));
        let records = body["records"].as_array().unwrap();
        let keys = [
            "recordId",
            "systemTime",
            "displayTime",
            "transmitterId",
            "transmitterTicks",
            "value",
            "status",
            "trend",
            "trendRate",
            "unit",
            "rateUnit",
            "displayDevice",
            "displayApp",
            "transmitterGeneration",
        ];
        for r in records {
            let obj = r.as_object().unwrap();
            assert_eq!(obj.keys().count(), keys.len());
            assert!(keys.iter().all(|k| obj.contains_key(*k)), "{r}");
            let system = r["systemTime"].as_str().unwrap();
            let display = r["displayTime"].as_str().unwrap();
            assert!(system.len() == 20 && system.ends_with('Z'), "{system}");
            assert!(
                display.len() == 25 && display.ends_with(suffix),
                "{display}"
            );
            assert_eq!(r["unit"], "mg/dL");
            assert_eq!(r["rateUnit"], "mg/dL/min");
            assert_eq!(r["transmitterGeneration"], "g7");
            assert_eq!(r["displayApp"], "G7");
            let id = r["recordId"].as_str().unwrap();
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "5");
        }
        // Newest first, as Dexcom answers.
        assert!(records
            .windows(2)
            .all(|p| p[0]["systemTime"].as_str() > p[1]["systemTime"].as_str()));
    }
}

#[test]
fn nothing_after_now_and_data_range_and_devices_describe_the_history() {
    let sb = sandbox();
    let token = access(&connect_as(&sb, "sandbox-user-1", t0()));
    let d = dexcom();
    let now = t0() + secs(17);
    let run = sync(
        &sb,
        &token,
        window("2026-11-21T00:00:00Z", "2026-11-25T00:00:00Z"),
        now,
    );
    let latest = run
        .samples
        .iter()
        .map(|s| s.start.with_timezone(&Utc))
        .max()
        .unwrap();
    assert!(latest <= now && now - latest < chrono::Duration::minutes(6));

    let res = send(&sb, &from_connector(&d.data_range_request(), &token), now);
    assert_eq!(res.status, 200, "{}", text(&res));
    let body = json(&res);
    assert_eq!(
        (body["calibrations"].clone(), body["events"].clone()),
        (Value::Null, Value::Null)
    );
    let range = d.parse_data_range(&res.body).unwrap().unwrap();
    assert!(range.start < utc("2021-01-01T00:00:00Z"), "{}", range.start);
    assert!(range.start >= utc("2020-01-01T00:00:00Z"));
    // The latest reading is the last one synced (or a skipped one after it).
    assert!(range.end > latest && range.end <= now + secs(1));
    // Nothing before the history's start.
    let before = window(
        &(range.start - chrono::Duration::days(2)).to_rfc3339(),
        &(range.start + chrono::Duration::hours(1)).to_rfc3339(),
    );
    let early = sync(&sb, &token, before, now);
    // An hour of readings, and the one at endDate: Dexcom includes it.
    assert_eq!(early.samples.len() + early.skipped.len(), 13);
    assert!(early.samples.iter().all(|s| s.start >= range.start));

    let res = send(&sb, &from_connector(&d.devices_request(), &token), now);
    assert_eq!(res.status, 200, "{}", text(&res));
    let devices = d.parse_devices(&res.body).unwrap();
    assert_eq!(devices.len(), 1);
    assert_eq!(Some(&devices[0]), run.samples[0].device.as_ref());
    assert_eq!(json(&res)["records"][0]["displayApp"], "receiver");

    // Before the member's history starts there is none.
    let long_ago = utc("2019-06-01T00:00:00Z");
    let res = send(
        &sb,
        &from_connector(&d.data_range_request(), &token),
        long_ago,
    );
    assert_eq!(d.parse_data_range(&res.body).unwrap(), None);
    let res = send(&sb, &from_connector(&d.devices_request(), &token), long_ago);
    assert!(d.parse_devices(&res.body).unwrap().is_empty());
}

#[test]
fn a_bad_window_is_a_400_naming_the_parameter() {
    let sb = sandbox();
    let token = access(&connect_as(&sb, "sandbox-user-1", t0()));
    let get = |query: &[(&str, &str)]| {
        send(
            &sb,
            &Req::new("GET", "/v3/users/self/egvs")
                .query(query)
                .bearer(&token),
            t0(),
        )
    };
    let start = ("startDate", "2026-10-01T00:00:00");
    let cases: [(&str, [(&str, &str); 2]); 7] = [
        ("endDate", [start, ("endDate", "2026-10-31T00:00:01")]),
        ("endDate", [start, ("endDate", "2026-09-30T23:59:59")]),
        (
            "startDate",
            [
                ("startDate", "2026-10-01T00:00:00Z"),
                ("endDate", "2026-10-02T00:00:00"),
            ],
        ),
        (
            "startDate",
            [
                ("startDate", "2026-10-01"),
                ("endDate", "2026-10-02T00:00:00"),
            ],
        ),
        ("endDate", [start, ("endDate", "2026-10-02T00:00:00+01:00")]),
        ("endDate", [start, ("endDate", "2026-13-02T00:00:00")]),
        (
            "startDate",
            [
                ("startDate", "yesterday"),
                ("endDate", "2026-10-02T00:00:00"),
            ],
        ),
    ];
    for (name, query) in cases {
        let res = get(&query);
        assert_eq!(res.status, 400, "{query:?}");
        assert_eq!(json(&res)["error"], "invalid_request");
        let description = json(&res)["error_description"].as_str().unwrap().to_owned();
        assert!(
            description.starts_with(&format!("{name}: ")),
            "{description}"
        );
    }
    let res = get(&[start]);
    assert_eq!(json(&res)["error_description"], "endDate: missing");
    let res = get(&[start, start, ("endDate", "2026-10-02T00:00:00")]);
    assert_eq!(
        json(&res)["error_description"],
        "startDate: given more than once"
    );
    // Exactly 30 days is one request; an empty window (start = end) is no error.
    assert_eq!(
        get(&[start, ("endDate", "2026-10-31T00:00:00")]).status,
        200
    );
    let empty = get(&[start, ("endDate", "2026-10-01T00:00:00")]);
    assert_eq!(json(&empty)["records"], serde_json::json!([]));

    // A token, then the path and the method.
    let res = send(
        &sb,
        &Req::new("GET", "/v3/users/self/egvs").query(&[start, ("endDate", "2026-10-02T00:00:00")]),
        t0(),
    );
    assert_eq!(
        (res.status, json(&res)["error"].clone()),
        (401, "invalid_token".into())
    );
    let res = send(
        &sb,
        &Req::new("GET", "/v3/users/self/alerts").bearer(&token),
        t0(),
    );
    assert_eq!(res.status, 404);
    let res = send(
        &sb,
        &Req::new("POST", "/v3/users/self/egvs").bearer(&token),
        t0(),
    );
    assert_eq!((res.status, res.header("allow")), (405, Some("GET")));
    let res = send(&sb, &Req::new("GET", "/api/v1/steps").bearer(&token), t0());
    assert_eq!(res.status, 404, "the demo's paths are not Dexcom's");
}

#[test]
fn faults_apply_to_dexcoms_endpoints() {
    let sb = sandbox();
    let token = access(&connect_as(&sb, "sandbox-user-1", t0()));
    let d = dexcom();
    let w = window("2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z");
    let req = from_connector(&d.build_request(&egvs(), w, None).unwrap(), &token);
    let with_fault = from_connector(&d.build_request(&egvs(), w, None).unwrap(), &token)
        .header("x-sandbox-fault", "rate_limit");
    let limited = send(&sb, &with_fault, t0());
    assert_eq!(limited.status, 429);
    assert_eq!(limited.header("retry-after"), Some("30"));

    let fault = serde_json::json!({"user": "sandbox-user-1", "kind": "server_error"});
    let res = send(
        &sb,
        &Req::new("POST", "/_control/faults").body(fault.to_string().as_bytes()),
        t0(),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    let range = from_connector(&d.data_range_request(), &token);
    assert_eq!(send(&sb, &range, t0()).status, 500);
    assert_eq!(send(&sb, &range, t0()).status, 200);

    let expire = serde_json::json!({"kind": "expire_tokens"});
    send(
        &sb,
        &Req::new("POST", "/_control/faults").body(expire.to_string().as_bytes()),
        t0(),
    );
    let res = send(&sb, &req, t0());
    assert_eq!(
        (res.status, json(&res)["error_description"].clone()),
        (401, "expired".into())
    );
}

#[test]
fn dexcom_sends_no_notifications() {
    let sb = sandbox();
    let token = access(&connect_as(&sb, "sandbox-user-1", t0()));
    let d = dexcom();
    assert!(!d.manifest().notifies);
    assert_eq!(d.subscribe_request("https://hub.example/hooks"), None);
    let res = send(
        &sb,
        &Req::new("POST", "/v3/users/self/subscriptions")
            .bearer(&token)
            .form(&[("callback_url", "https://hub.example/hooks")]),
        t0(),
    );
    assert_eq!(res.status, 404);
    let res = send(
        &sb,
        &Req::new("POST", "/_control/push").body(br#"{"user": "sandbox-user-1"}"#),
        t0(),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(json(&res)["pushes"], 0);
    assert!(res.outbound.is_empty());
    assert!(d.parse_push(b"{}").is_err());
}

#[test]
fn the_connector_manifest_matches_the_twin() {
    let d = dexcom();
    let twin = crate::sandbox::twin::find(VENDOR).unwrap();
    for spec in &d.manifest().data_types {
        let endpoint = twin
            .data_endpoint(&format!("/v3/users/self/{}", spec.id), &[])
            .unwrap();
        assert_eq!(spec.scopes, [endpoint.scope.unwrap()]);
        assert!(twin.data_types().contains(&spec.id.as_str()));
    }
    let scopes: Vec<&str> = twin.scopes().iter().map(|s| s.name).collect();
    assert_eq!(scopes, ["offline_access"]);
    assert_eq!(twin.token_user_field(), None);
    assert_eq!(twin.style(), crate::sandbox::twin::Style::Rest);
    assert!(crate::sandbox::simulates(VENDOR));
}
