//! Tests of the sandbox through its one entry point, `handle_at`, with an explicit
//! clock.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod data;
mod dexcom;
mod faults;
mod garmin;
mod oauth;
mod oura;
mod push;
mod robustness;
mod roundtrip;
mod withings;

use super::{Sandbox, SandboxConfig, SandboxRequest, SandboxResponse};
use base64::Engine as _;
use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

/// RFC 7636, appendix B.
pub(super) const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub(super) const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub(super) const CLIENT: (&str, &str) = ("portal-app", "s3cret");
pub(super) const REDIRECT: &str = "https://hub.example/oauth/demo/callback";
pub(super) const ALL_SCOPES: &str = "activity heartrate body";

/// 2026-11-22T12:00:00Z.
pub(super) fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-22T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

pub(super) fn secs(n: i64) -> Duration {
    Duration::seconds(n)
}

/// A request as the hub would hand it over.
pub(super) struct Req {
    pub method: &'static str,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Req {
    pub fn new(method: &'static str, path: &str) -> Self {
        Self {
            method,
            path: path.to_owned(),
            query: Vec::new(),
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn query(mut self, pairs: &[(&str, &str)]) -> Self {
        self.query = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }

    pub fn form(mut self, pairs: &[(&str, &str)]) -> Self {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in pairs {
            s.append_pair(k, v);
        }
        self.body = s.finish().into_bytes();
        self.header("content-type", "application/x-www-form-urlencoded")
    }

    pub fn basic(self, (id, secret): (&str, &str)) -> Self {
        let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
        self.header("authorization", &format!("Basic {encoded}"))
    }

    pub fn bearer(self, token: &str) -> Self {
        self.header("authorization", &format!("Bearer {token}"))
    }

    pub fn body(mut self, body: &[u8]) -> Self {
        self.body = body.to_vec();
        self
    }

    /// The connector's request as the hub sends it to the twin at `base` (the
    /// sandbox's base and the vendor): its query, its form as the body, the
    /// member's bearer token.
    pub fn from_hub(req: &crate::HttpRequest, base: &str, token: &str) -> Self {
        let path = req.url.strip_prefix(base).unwrap();
        let mut out = Self::new(req.method, path);
        out.query = req.query.clone();
        if !req.form.is_empty() {
            let form: Vec<(&str, &str)> = req
                .form
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            out = out.form(&form);
        }
        out.bearer(token)
    }

    /// Sent to the demo twin.
    pub fn send(&self, sb: &Sandbox, now: DateTime<Utc>) -> SandboxResponse {
        self.send_to(sb, "demo", now)
    }

    /// Sent to `vendor`'s twin.
    pub fn send_to(&self, sb: &Sandbox, vendor: &str, now: DateTime<Utc>) -> SandboxResponse {
        let req = SandboxRequest {
            method: self.method,
            path: &self.path,
            query: self.query.clone(),
            headers: self.headers.clone(),
            body: &self.body,
        };
        sb.handle_at(vendor, &req, now)
    }
}

pub(super) fn sandbox() -> Sandbox {
    Sandbox::new(SandboxConfig::default())
}

pub(super) fn json(res: &SandboxResponse) -> Value {
    serde_json::from_slice(&res.body).unwrap()
}

pub(super) fn text(res: &SandboxResponse) -> String {
    String::from_utf8(res.body.clone()).unwrap()
}

/// The query of a valid authorization request for `scope`.
pub(super) fn authorize_params(scope: &str) -> Vec<(&'static str, String)> {
    vec![
        ("response_type", "code".to_owned()),
        ("client_id", CLIENT.0.to_owned()),
        ("redirect_uri", REDIRECT.to_owned()),
        ("scope", scope.to_owned()),
        ("state", "st4te".to_owned()),
        ("code_challenge", CHALLENGE.to_owned()),
        ("code_challenge_method", "S256".to_owned()),
    ]
}

/// Post the approve/deny form as the page would: hidden fields, the user, the
/// ticked scopes, the decision. Returns the response.
pub(super) fn decide(
    sb: &Sandbox,
    requested: &str,
    ticked: &[&str],
    user: &str,
    decision: &str,
    now: DateTime<Utc>,
) -> SandboxResponse {
    let mut pairs: Vec<(&str, String)> = authorize_params(requested)
        .into_iter()
        .map(|(k, v)| (if k == "scope" { "requested_scope" } else { k }, v))
        .collect();
    pairs.push(("sandbox_user", user.to_owned()));
    pairs.extend(ticked.iter().map(|s| ("scope", (*s).to_owned())));
    pairs.push(("decision", decision.to_owned()));
    let borrowed: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Req::new("POST", "/oauth/authorize")
        .form(&borrowed)
        .send(sb, now)
}

/// The query pairs of a redirect's `location`.
pub(super) fn location_params(res: &SandboxResponse) -> Vec<(String, String)> {
    let location = url::Url::parse(res.header("location").unwrap()).unwrap();
    location.query_pairs().into_owned().collect()
}

pub(super) fn param(pairs: &[(String, String)], name: &str) -> Option<String> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

/// Approve `ticked` for `user`; the code.
pub(super) fn code_for(sb: &Sandbox, ticked: &[&str], user: &str, now: DateTime<Utc>) -> String {
    let res = decide(sb, ALL_SCOPES, ticked, user, "approve", now);
    assert_eq!(res.status, 302, "{}", text(&res));
    param(&location_params(&res), "code").unwrap()
}

pub(super) fn exchange(
    sb: &Sandbox,
    code: &str,
    verifier: &str,
    now: DateTime<Utc>,
) -> SandboxResponse {
    Req::new("POST", "/oauth/token")
        .basic(CLIENT)
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .send(sb, now)
}

pub(super) fn refresh(sb: &Sandbox, token: &str, now: DateTime<Utc>) -> SandboxResponse {
    Req::new("POST", "/oauth/token")
        .basic(CLIENT)
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send(sb, now)
}

/// A user connected with `ticked` scopes: (access token, refresh token).
pub(super) fn connect(
    sb: &Sandbox,
    ticked: &[&str],
    user: &str,
    now: DateTime<Utc>,
) -> (String, String) {
    let code = code_for(sb, ticked, user, now);
    let res = exchange(sb, &code, VERIFIER, now);
    assert_eq!(res.status, 200, "{}", text(&res));
    let v = json(&res);
    (
        v["access_token"].as_str().unwrap().to_owned(),
        v["refresh_token"].as_str().unwrap().to_owned(),
    )
}

/// `GET /api/v1/{data_type}` over 2026-11-19 (UTC), with `extra` query.
pub(super) fn fetch(
    sb: &Sandbox,
    token: &str,
    data_type: &str,
    extra: &[(&str, &str)],
    now: DateTime<Utc>,
) -> SandboxResponse {
    let mut query = vec![
        ("start", "2026-11-19T00:00:00Z"),
        ("end", "2026-11-20T00:00:00Z"),
    ];
    query.retain(|(k, _)| !extra.iter().any(|(e, _)| e == k));
    query.extend_from_slice(extra);
    Req::new("GET", &format!("/api/v1/{data_type}"))
        .query(&query)
        .bearer(token)
        .send(sb, now)
}

/// Every sample is of a metric its data type declares in the manifest (what a
/// grant of the data type covers, as the hub's Consent resources list it).
fn assert_declared<C: crate::Connector + ?Sized>(
    connector: &C,
    data_type: &crate::DataType,
    samples: &[crate::Sample],
) {
    let declared = connector
        .manifest()
        .data_type(data_type.as_str())
        .unwrap()
        .metrics;
    for s in samples {
        assert!(
            declared.contains(&s.metric),
            "{data_type}: {:?} is not among its declared metrics",
            s.metric
        );
    }
}
