//! The Oura connector against Oura's twin: consent and token as the connector's
//! manifest asks, every data type over 30 days through `next_token`,
//! `personal_info`, the app's webhook subscriptions and the notifications they get.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use super::*;
use crate::testing::window;
use crate::{Connector, DataType, Metric, Oura, PushEvent, Sample, TimeWindow};
use std::collections::{BTreeSet, HashSet};

const BASE: &str = "http://127.0.0.1:8080/sandbox";
const USER: &str = "sandbox-user-2";

fn oura() -> Oura {
    Oura::new(&crate::Endpoints::Sandbox {
        base: BASE.to_owned(),
    })
}

fn send(req: &Req, sb: &Sandbox, now: DateTime<Utc>) -> SandboxResponse {
    req.send_to(sb, "oura", now)
}

/// The path under `{BASE}/oura` of a connector URL.
fn path_of(url: &str) -> String {
    url.strip_prefix(&format!("{BASE}/oura"))
        .unwrap()
        .to_owned()
}

/// Every scope the connector's manifest asks for, as it joins them.
fn manifest_scopes() -> String {
    let o = oura();
    let m = o.manifest();
    let mut scopes: Vec<&str> = Vec::new();
    for spec in &m.data_types {
        for s in &spec.scopes {
            if !scopes.contains(&s.as_str()) {
                scopes.push(s);
            }
        }
    }
    scopes.join(m.scope_separator)
}

/// Consent for `ticked` of `requested` as `user`, and the code exchanged as the
/// connector's manifest says (client credentials in the form body): the access
/// token.
fn connect(sb: &Sandbox, requested: &str, ticked: &[&str], user: &str) -> String {
    let mut query: Vec<(&str, String)> = authorize_params(requested);
    let borrowed: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let page = send(
        &Req::new("GET", "/oauth/authorize").query(&borrowed),
        sb,
        t0(),
    );
    assert_eq!(page.status, 200, "{}", text(&page));
    for scope in ticked {
        assert!(
            text(&page).contains(&format!("id=\"scope-{scope}\"")),
            "{scope}"
        );
    }
    for pair in &mut query {
        if pair.0 == "scope" {
            pair.0 = "requested_scope";
        }
    }
    query.push(("sandbox_user", user.to_owned()));
    query.extend(ticked.iter().map(|s| ("scope", (*s).to_owned())));
    query.push(("decision", "approve".to_owned()));
    let form: Vec<(&str, &str)> = query.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let res = send(&Req::new("POST", "/oauth/authorize").form(&form), sb, t0());
    assert_eq!(res.status, 302, "{}", text(&res));
    let code = param(&location_params(&res), "code").unwrap();
    let res = send(
        &Req::new("POST", "/oauth/token").form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
            ("client_id", CLIENT.0),
            ("client_secret", CLIENT.1),
        ]),
        sb,
        t0(),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    let v = json(&res);
    // Oura's token answer names no account.
    assert!(v.get("user_id").is_none(), "{v}");
    let mut granted: Vec<&str> = v["scope"].as_str().unwrap().split(' ').collect();
    let mut asked: Vec<&str> = ticked.to_vec();
    granted.sort_unstable();
    asked.sort_unstable();
    asked.dedup();
    assert_eq!(granted, asked);
    v["access_token"].as_str().unwrap().to_owned()
}

fn connect_all(sb: &Sandbox, user: &str) -> String {
    let scopes = format!("{} personal", manifest_scopes());
    let ticked: Vec<&str> = scopes.split(' ').collect();
    connect(sb, &scopes, &ticked, user)
}

/// 30 days ending the day before `t0`.
fn thirty_days() -> TimeWindow {
    window("2026-10-22T00:00:00Z", "2026-11-21T00:00:00Z")
}

/// Every page of `data_type` over `w`, as the hub walks it: the samples and the
/// number of requests.
fn sync(sb: &Sandbox, token: &str, data_type: &str, w: TimeWindow) -> (Vec<Sample>, usize) {
    let o = oura();
    let dt = DataType::parse(data_type).unwrap();
    let (mut samples, mut requests) = (Vec::new(), 0);
    let mut cursor: Option<String> = None;
    loop {
        let req = o.build_request(&dt, w, cursor.as_deref()).unwrap();
        let query: Vec<(&str, &str)> = req
            .query
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let res = send(
            &Req::new(req.method, &path_of(&req.url))
                .query(&query)
                .bearer(token),
            sb,
            t0(),
        );
        requests += 1;
        assert_eq!(res.status, 200, "{data_type}: {}", text(&res));
        let page = o.parse(&dt, &res.body).unwrap();
        assert_declared(&o, &dt, &page.samples);
        assert!(page.skipped.is_empty(), "{:?}", page.skipped);
        samples.extend(page.samples);
        cursor = page
            .next_cursor
            .or_else(|| o.chunk_cursor(&dt, w, cursor.as_deref()));
        if cursor.is_none() {
            return (samples, requests);
        }
        assert!(requests < 100, "{data_type} does not end");
    }
}

fn value(s: &Sample) -> f64 {
    s.quantity().unwrap().value.parse().unwrap()
}

#[test]
fn every_data_type_walks_thirty_days_through_next_token() {
    let sb = sandbox();
    let token = connect_all(&sb, USER);
    let w = thirty_days();
    // The connector asks for whole dates one day wider on each side; a daily value
    // spans its local day at -05:00.
    let (lo, hi) = (w.start - secs(2 * 86_400), w.end + secs(2 * 86_400));
    let mut total_requests = 0;
    for spec in &oura().manifest().data_types {
        let id = spec.id.as_str();
        let (samples, requests) = sync(&sb, &token, id, w);
        total_requests += requests;
        assert!(!samples.is_empty(), "{id}");
        for s in &samples {
            assert!(s.start >= lo && s.start < hi, "{id}: {s:?}");
            assert!(s.end.unwrap_or(s.start) <= t0(), "{id} after now: {s:?}");
        }
        // The same walk again is the same samples.
        assert_eq!(sync(&sb, &token, id, w).0, samples, "{id}");
        let of = |m: Metric| samples.iter().filter(move |s| s.metric == m);
        match id {
            "heartrate" => {
                // Every 5 minutes, day and night: 288 a day, pages of 1000.
                assert!(requests >= 9, "{requests}");
                assert!((8000..=8800).contains(&samples.len()), "{}", samples.len());
                assert!(samples
                    .iter()
                    .all(|s| s.start >= w.start && s.start < w.end));
                assert!(samples.iter().all(|s| (40.0..=200.0).contains(&value(s))));
                assert!(samples
                    .iter()
                    .all(|s| s.start.offset().local_minus_utc() == 0));
                let times: HashSet<_> = samples.iter().map(|s| s.start).collect();
                assert_eq!(times.len(), samples.len(), "one reading per instant");
            }
            "daily_activity" => {
                assert!(requests >= 4, "{requests}");
                let steps: Vec<_> = of(Metric::StepsDaily).collect();
                assert!((31..=33).contains(&steps.len()), "{}", steps.len());
                assert!(steps
                    .iter()
                    .all(|s| (2000.0..=14_001.0).contains(&value(s))));
                assert!(steps
                    .iter()
                    .all(|s| s.start.offset().local_minus_utc() == -5 * 3600));
                assert_eq!(of(Metric::EnergyBurnedDaily).count(), steps.len());
                assert_eq!(of(Metric::ActiveEnergy).count(), steps.len());
            }
            "sleep" => {
                let total: Vec<_> = of(Metric::SleepDuration).collect();
                assert!(total.len() >= 31, "{}", total.len());
                assert!(total.iter().all(|s| (10.0..=600.0).contains(&value(s))));
                for m in [Metric::SleepDeep, Metric::SleepLight, Metric::SleepRem] {
                    assert_eq!(of(m).count(), total.len());
                }
                assert!(of(Metric::HeartRate).all(|s| (40.0..=80.0).contains(&value(s))));
                assert!(of(Metric::HrvRmssd).all(|s| (20.0..=80.0).contains(&value(s))));
            }
            "daily_spo2" => {
                assert!(samples.iter().all(|s| (94.0..=100.0).contains(&value(s))));
            }
            "temperature" => {
                assert!(samples.iter().all(|s| (-0.3..=1.3).contains(&value(s))));
            }
            "workout" => {
                assert!((5..=25).contains(&samples.len()), "{}", samples.len());
                assert!(samples.iter().all(|s| s.metric == Metric::Workout));
            }
            other => panic!("a data type the twin was not written for: {other}"),
        }
        // Each record once (a sleep period's metrics share its id); heart-rate
        // readings have no id.
        if id != "heartrate" {
            let ids: HashSet<_> = samples
                .iter()
                .map(|s| (s.vendor_record_id.clone().unwrap(), s.metric))
                .collect();
            assert_eq!(ids.len(), samples.len(), "{id}");
        }
    }
    assert!(
        total_requests > 6 * 2,
        "pages were walked: {total_requests}"
    );
}

fn get(sb: &Sandbox, token: &str, path: &str, query: &[(&str, &str)]) -> SandboxResponse {
    send(&Req::new("GET", path).query(query).bearer(token), sb, t0())
}

#[test]
fn documents_exist_once_over_and_the_same_request_gives_the_same_bytes() {
    let sb = sandbox();
    let token = connect_all(&sb, "sandbox-user-5");
    // +09:00: at t0 (21:00 local on 2026-11-22) the day is not over yet.
    let q = [("start_date", "2026-11-20"), ("end_date", "2030-01-01")];
    let res = get(&sb, &token, "/v2/usercollection/daily_activity", &q);
    assert_eq!(res.status, 200, "{}", text(&res));
    let days: Vec<String> = json(&res)["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["day"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(days, ["2026-11-20", "2026-11-21"]);
    assert_eq!(json(&res)["next_token"], Value::Null);
    // This morning's night is there, dated today.
    let res = get(&sb, &token, "/v2/usercollection/sleep", &q);
    let sleeps = json(&res)["data"].as_array().unwrap().clone();
    let last = sleeps.last().unwrap();
    assert_eq!(last["day"], "2026-11-22");
    assert!(last["bedtime_end"].as_str().unwrap().ends_with("+09:00"));
    let again = get(&sb, &token, "/v2/usercollection/sleep", &q);
    assert_eq!(again.body, res.body);
    // Heart rate is never read after now.
    let res = get(
        &sb,
        &token,
        "/v2/usercollection/heartrate",
        &[
            ("start_datetime", "2026-11-22T11:00:00Z"),
            ("end_datetime", "2026-11-23T00:00:00Z"),
        ],
    );
    let data = json(&res)["data"].as_array().unwrap().clone();
    assert_eq!(data.len(), 13, "11:00 to 12:00 every 5 minutes");
    assert_eq!(data[12]["timestamp"], "2026-11-22T12:00:00+00:00");
}

#[test]
fn personal_info_names_the_member_with_the_personal_scope() {
    let sb = sandbox();
    let token = connect_all(&sb, USER);
    let res = get(&sb, &token, "/v2/usercollection/personal_info", &[]);
    assert_eq!(res.status, 200, "{}", text(&res));
    let v = json(&res);
    assert_eq!(v["id"], USER);
    assert!(v["age"].as_u64().is_some() && v["height"].as_f64().unwrap() > 1.0);
    let daily_only = connect(&sb, "daily", &["daily"], USER);
    let res = get(&sb, &daily_only, "/v2/usercollection/personal_info", &[]);
    assert_eq!(res.status, 403);
    let res = get(&sb, &daily_only, "/v2/usercollection/heartrate", &[]);
    assert_eq!(res.status, 403);
}

/// Query pairs.
type Query<'a> = &'a [(&'a str, &'a str)];

#[test]
fn bad_requests_get_oura_errors_and_faults_still_apply() {
    let sb = sandbox();
    let token = connect_all(&sb, USER);
    let cases: [(&str, Query, u16, &str); 7] = [
        ("/v2/usercollection/nothing", &[], 404, "no such endpoint"),
        (
            "/v2/usercollection/sleep",
            &[("start_date", "2026-13-01")],
            400,
            "start_date",
        ),
        (
            "/v2/usercollection/sleep",
            &[("start_date", "2026-11-10"), ("end_date", "2026-11-01")],
            400,
            "end_date",
        ),
        (
            "/v2/usercollection/sleep",
            &[("next_token", "bm9wZQ")],
            400,
            "next_token",
        ),
        (
            "/v2/usercollection/heartrate",
            &[("start_datetime", "yesterday")],
            400,
            "start_datetime",
        ),
        (
            "/v2/usercollection/heartrate",
            &[
                ("start_datetime", "2026-11-10T00:00:00Z"),
                ("end_datetime", "2026-11-10T00:00:00Z"),
            ],
            400,
            "end_datetime",
        ),
        (
            "/v2/usercollection/workout",
            &[("start_date", "2026-11-01"), ("start_date", "2026-11-02")],
            400,
            "start_date",
        ),
    ];
    for (path, query, status, names) in cases {
        let res = get(&sb, &token, path, query);
        assert_eq!(res.status, status, "{path} {query:?}: {}", text(&res));
        assert!(text(&res).contains(names), "{}", text(&res));
    }
    // A token of one query is not one of another.
    let q = [("start_date", "2026-10-01"), ("end_date", "2026-10-30")];
    let res = get(&sb, &token, "/v2/usercollection/daily_spo2", &q);
    let next = json(&res)["next_token"].as_str().unwrap().to_owned();
    let other = [("start_date", "2026-11-01"), ("next_token", &next)];
    assert_eq!(
        get(&sb, &token, "/v2/usercollection/daily_spo2", &other).status,
        400
    );
    let res = send(&Req::new("GET", "/v2/usercollection/sleep"), &sb, t0());
    assert_eq!(res.status, 401);
    let res = send(
        &Req::new("POST", "/_control/faults").body(br#"{"kind": "rate_limit"}"#),
        &sb,
        t0(),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    assert_eq!(
        get(&sb, &token, "/v2/usercollection/sleep", &[]).status,
        429
    );
    assert_eq!(
        get(&sb, &token, "/v2/usercollection/sleep", &[]).status,
        200
    );
}

/// Send one call of the connector's webhook API as app `client`.
fn app_call(sb: &Sandbox, call: &crate::oura::AppRequest, client: (&str, &str)) -> SandboxResponse {
    let mut req = Req::new(call.http.method, &path_of(&call.http.url));
    for (name, value) in call.headers(client.0, client.1) {
        req = req.header(&name, &value);
    }
    if let Some(body) = &call.json_body {
        req = req.body(body.as_bytes());
    }
    send(&req, sb, t0())
}

fn subscribe_app(sb: &Sandbox, callback: &str) -> Vec<crate::oura::AppSubscription> {
    oura()
        .app_subscription_requests(callback, "verify-me")
        .iter()
        .map(|call| {
            let res = app_call(sb, call, CLIENT);
            assert_eq!(res.status, 201, "{}", text(&res));
            Oura::parse_app_subscriptions(&res.body).unwrap().remove(0)
        })
        .collect()
}

fn push(sb: &Sandbox, body: &str) -> SandboxResponse {
    send(
        &Req::new("POST", "/_control/push").body(body.as_bytes()),
        sb,
        t0(),
    )
}

#[test]
fn the_apps_webhook_subscriptions_hear_of_new_documents_signed_with_its_secret() {
    let sb = sandbox();
    let token = connect_all(&sb, USER);
    let callback = "https://hub.example/vendor-hooks/oura";
    let made = subscribe_app(&sb, callback);
    assert_eq!(made.len(), 15, "5 data types × create, update, delete");
    assert!(made.iter().all(|s| s.callback_url == callback
        && s.expiration_time.with_timezone(&Utc) == t0() + secs(30 * 86_400)));
    // Subscribing again changes nothing.
    assert_eq!(subscribe_app(&sb, callback), made);
    let list = app_call(&sb, &oura().app_subscription_list_request(), CLIENT);
    assert_eq!(Oura::parse_app_subscriptions(&list.body).unwrap(), made);
    // Another app sees none of them.
    let theirs = app_call(&sb, &oura().app_subscription_list_request(), ("other", "x"));
    assert_eq!(json(&theirs), serde_json::json!([]));
    let renew = oura().app_subscription_renew_request(&made[0].id).unwrap();
    let later = t0() + secs(86_400);
    let mut req = Req::new("PUT", &path_of(&renew.http.url));
    for (name, value) in renew.headers(CLIENT.0, CLIENT.1) {
        req = req.header(&name, &value);
    }
    let renewed = send(&req, &sb, later);
    assert_eq!(renewed.status, 200, "{}", text(&renewed));
    let renewed = Oura::parse_app_subscriptions(&renewed.body).unwrap();
    assert_eq!(
        renewed[0].expiration_time.with_timezone(&Utc),
        later + secs(30 * 86_400)
    );

    // Two days: one notification per new document, from the create subscriptions.
    let res = push(
        &sb,
        &format!(r#"{{"user": "{USER}", "start": "2026-11-20T12:00:00Z"}}"#),
    );
    assert_eq!(res.status, 200, "{}", text(&res));
    let o = oura();
    let mut kinds = BTreeSet::new();
    for out in &res.outbound {
        assert_eq!(out.url, callback);
        assert_eq!(
            o.verify_push(&out.headers, &out.body, CLIENT.1.as_bytes(), t0()),
            Ok(())
        );
        assert!(o
            .verify_push(&out.headers, &out.body, b"other", t0())
            .is_err());
        let v: Value = serde_json::from_slice(&out.body).unwrap();
        assert_eq!(v["event_type"], "create");
        kinds.insert(v["data_type"].as_str().unwrap().to_owned());
        let notices = o.parse_push(&out.body).unwrap();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].vendor_user, USER);
        let PushEvent::NewData { data_type, window } = &notices[0].event else {
            panic!("not new data: {:?}", notices[0].event);
        };
        // The document the notification names is in what the hub then fetches.
        let (samples, _) = sync(&sb, &token, data_type.as_str(), window.unwrap());
        let object = v["object_id"].as_str().unwrap();
        assert!(
            samples
                .iter()
                .any(|s| s.vendor_record_id.as_deref() == Some(object)),
            "{data_type}: {object}"
        );
    }
    for kind in ["daily_activity", "sleep", "daily_spo2", "daily_readiness"] {
        assert!(kinds.contains(kind), "{kind}: {kinds:?}");
    }
    // Only the data types asked for; heart rate has no webhook.
    let res = push(
        &sb,
        &format!(r#"{{"user": "{USER}", "data_types": ["heartrate", "temperature"]}}"#),
    );
    assert_eq!(res.outbound.len(), 1);
    let v: Value = serde_json::from_slice(&res.outbound[0].body).unwrap();
    assert_eq!(v["data_type"], "daily_readiness");
    // Over 30 days: a notification per document.
    let res = push(
        &sb,
        &format!(
            r#"{{"user": "{USER}", "data_types": ["daily_spo2"], "start": "2026-10-22T00:00:00Z", "end": "2026-11-21T00:00:00Z"}}"#
        ),
    );
    assert_eq!(res.outbound.len(), 30);
    // A member who granted nothing to the app is not notified.
    assert!(push(&sb, r#"{"user": "sandbox-user-9"}"#)
        .outbound
        .is_empty());
}

#[test]
fn forged_replayed_and_expired_pushes_and_bad_subscriptions() {
    let sb = sandbox();
    connect_all(&sb, USER);
    let made = subscribe_app(&sb, "https://hub.example/h");
    let o = oura();
    let forged = push(
        &sb,
        &format!(r#"{{"user": "{USER}", "forge_secret": "guess"}}"#),
    );
    let out = &forged.outbound[0];
    assert_eq!(
        o.verify_push(&out.headers, &out.body, CLIENT.1.as_bytes(), t0()),
        Err(crate::PushError::Mismatch)
    );
    let replayed = push(
        &sb,
        &format!(r#"{{"user": "{USER}", "shift_secs": -3600}}"#),
    );
    let out = &replayed.outbound[0];
    assert_eq!(
        o.verify_push(&out.headers, &out.body, CLIENT.1.as_bytes(), t0()),
        Err(crate::PushError::Stale)
    );
    // Past its expiration a subscription is not notified.
    let expired = send(
        &Req::new("POST", "/_control/push").body(format!(r#"{{"user": "{USER}"}}"#).as_bytes()),
        &sb,
        t0() + secs(31 * 86_400),
    );
    assert_eq!(expired.status, 200);
    assert!(expired.outbound.is_empty());
    // Deleted, it is gone.
    for sub in &made {
        let res = send(
            &Req::new("DELETE", &format!("/v2/webhook/subscription/{}", sub.id))
                .header("x-client-id", CLIENT.0)
                .header("x-client-secret", CLIENT.1),
            &sb,
            t0(),
        );
        assert_eq!(res.status, 204);
    }
    assert!(push(&sb, &format!(r#"{{"user": "{USER}"}}"#))
        .outbound
        .is_empty());

    let create = |headers: &[(&str, &str)], body: &str| {
        let mut req = Req::new("POST", "/v2/webhook/subscription").body(body.as_bytes());
        for (k, v) in headers {
            req = req.header(k, v);
        }
        send(&req, &sb, t0())
    };
    let app = [("x-client-id", CLIENT.0), ("x-client-secret", CLIENT.1)];
    let good = r#"{"callback_url": "https://h.example/h", "verification_token": "t", "event_type": "create", "data_type": "sleep"}"#;
    assert_eq!(create(&[], good).status, 401);
    assert_eq!(create(&app[..1], good).status, 401);
    for (body, names) in [
        (
            good.replace("https://h.example/h", "ftp://h/h"),
            "callback_url",
        ),
        (good.replace("create", "upsert"), "event_type"),
        (good.replace("\"sleep\"", "\"steps\""), "data_type"),
        (good.replace("\"t\"", "\"\""), "verification_token"),
        ("{".to_owned(), "not a webhook subscription"),
    ] {
        let res = create(&app, &body);
        assert_eq!(res.status, 400, "{body}");
        assert!(text(&res).contains(names), "{}", text(&res));
    }
    let res = send(
        &Req::new("GET", "/v2/webhook/subscription/nope")
            .header("x-client-id", CLIENT.0)
            .header("x-client-secret", CLIENT.1),
        &sb,
        t0(),
    );
    assert_eq!(res.status, 404);
}

#[test]
fn the_connector_manifest_matches_the_twin() {
    let o = oura();
    let twin = crate::sandbox::twin::find("oura").unwrap();
    let w = thirty_days();
    for spec in &o.manifest().data_types {
        let req = o.build_request(&spec.id, w, None).unwrap();
        let endpoint = twin.data_endpoint(&path_of(&req.url), &[]).unwrap();
        assert_eq!(
            spec.scopes,
            [endpoint.scope.unwrap(), "personal"],
            "{}",
            spec.id
        );
        assert!(twin.data_types().contains(&spec.id.as_str()));
    }
    assert_eq!(twin.data_types().len(), o.manifest().data_types.len());
    assert_eq!(o.manifest().scope_separator, " ");
    assert_eq!(twin.token_user_field(), None);
}

#[test]
fn extreme_dates_and_clocks_never_panic() {
    // A token that lives to the end of time.
    let sb = Sandbox::new(SandboxConfig {
        access_token_ttl_secs: i64::MAX,
        ..SandboxConfig::default()
    });
    let token = connect_all(&sb, "sandbox-user-5");
    subscribe_app(&sb, "https://hub.example/h");
    let dates = [
        "0001-01-01",
        "1969-12-31",
        "1970-01-01",
        "9999-12-31",
        "+262142-12-31",
    ];
    let times = [
        "0001-01-01T00:00:00Z",
        "1970-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-12:00",
    ];
    let mut requests: Vec<(String, Vec<(&str, &str)>)> = Vec::new();
    for endpoint in [
        "daily_activity",
        "sleep",
        "daily_spo2",
        "daily_readiness",
        "workout",
    ] {
        for a in dates {
            for b in dates {
                let q = vec![("start_date", a), ("end_date", b)];
                requests.push((format!("/v2/usercollection/{endpoint}"), q));
            }
        }
    }
    for a in times {
        for b in times {
            let q = vec![("start_datetime", a), ("end_datetime", b)];
            requests.push(("/v2/usercollection/heartrate".to_owned(), q));
        }
    }
    let end_of_time = DateTime::<Utc>::MAX_UTC - secs(86_400);
    for now in [DateTime::<Utc>::MIN_UTC, t0(), end_of_time] {
        for (path, query) in &requests {
            let res = send(&Req::new("GET", path).query(query).bearer(&token), &sb, now);
            assert!(
                [200, 400, 401].contains(&res.status),
                "{path} {query:?} at {now}"
            );
        }
        let res = send(
            &Req::new("POST", "/_control/push").body(
                br#"{"user": "sandbox-user-5", "start": "1970-01-01T00:00:00Z", "end": "9999-01-01T00:00:00Z"}"#,
            ),
            &sb,
            now,
        );
        assert_eq!(res.status, 200, "{}", text(&res));
        // At most 1000 notifications per subscription and push; before the data,
        // none, and at the end of time the subscriptions have long expired.
        let expected = if now == t0() { 5 * 1000 } else { 0 };
        assert_eq!(res.outbound.len(), expected, "{now}");
    }
}

#[test]
fn the_app_renews_only_its_own_subscriptions_about_to_lapse() {
    use crate::Connector;
    let sb = sandbox();
    connect_all(&sb, USER);
    let ours = "https://hub.example/vendor-hooks/oura";
    subscribe_app(&sb, ours);
    subscribe_app(&sb, "https://elsewhere.example/hooks");
    let o = oura();
    let call = |c: &crate::AppCall, now: DateTime<Utc>| {
        let mut req = Req::new(c.method, &path_of(&c.url));
        for (name, value) in &c.headers {
            req = req.header(name, value);
        }
        send(&req, &sb, now)
    };
    let list = o.app_subscription_list(CLIENT.0, CLIENT.1).unwrap();
    let listed = call(&list, t0());
    assert_eq!(listed.status, 200);
    // Thirty days to live: nothing lapses within a week.
    let week = t0() + secs(7 * 86_400);
    let due = o
        .app_subscription_renewals(&listed.body, ours, week, CLIENT.0, CLIENT.1)
        .unwrap();
    assert!(due.is_empty());
    // Twenty-five days on, ours are renewed (15), the other callback's are not.
    let later = t0() + secs(25 * 86_400);
    let listed = call(&list, later);
    let due = o
        .app_subscription_renewals(
            &listed.body,
            ours,
            later + secs(7 * 86_400),
            CLIENT.0,
            CLIENT.1,
        )
        .unwrap();
    assert_eq!(due.len(), 15);
    for renewal in &due {
        assert_eq!(renewal.method, "PUT");
        assert!(renewal
            .headers
            .iter()
            .any(|(k, v)| k == "x-client-secret" && v == CLIENT.1));
        assert_eq!(call(renewal, later).status, 200);
    }
    let listed = call(&list, later);
    let again = o
        .app_subscription_renewals(
            &listed.body,
            ours,
            later + secs(7 * 86_400),
            CLIENT.0,
            CLIENT.1,
        )
        .unwrap();
    assert!(again.is_empty(), "renewed for thirty days from now");
    // A list that is not Oura's shape is an error naming where.
    // (AppCall has no Debug: it carries the client secret.)
    let Err(err) = o.app_subscription_renewals(b"{\"id\": 3}", ours, later, CLIENT.0, CLIENT.1)
    else {
        panic!("a list without Oura's fields was accepted");
    };
    assert!(
        err.path.contains("expiration_time") || err.path.contains("id"),
        "{err:?}"
    );
}
