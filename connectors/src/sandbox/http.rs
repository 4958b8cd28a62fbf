//! Building answers and reading requests: JSON and HTML responses, strict form
//! decoding, headers.
//!
//! Policy: a body that is not what it claims to be (not UTF-8, a broken `%`
//! escape) is refused with a 400 rather than decoded leniently, so a client bug
//! shows up in the sandbox and not first at a real vendor.

use super::{SandboxRequest, SandboxResponse};
use serde_json::{json, Value};

/// A handler's answer; `Err` is an early answer (a refusal), so `?` can be used.
pub(crate) type Answer = Result<SandboxResponse, SandboxResponse>;

/// The answer inside either arm.
pub(crate) fn settle(answer: Answer) -> SandboxResponse {
    match answer {
        Ok(r) | Err(r) => r,
    }
}

impl SandboxResponse {
    pub(crate) fn new(status: u16, content_type: &str, body: Vec<u8>) -> Self {
        Self {
            status,
            headers: vec![("content-type".to_owned(), content_type.to_owned())],
            body,
            delay: None,
            outbound: Vec::new(),
        }
    }

    pub(crate) fn json(status: u16, value: &Value) -> Self {
        Self::new(status, "application/json", value.to_string().into_bytes())
    }

    pub(crate) fn html(status: u16, page: String) -> Self {
        Self::new(status, "text/html; charset=utf-8", page.into_bytes())
            .with_header(
                "content-security-policy",
                "default-src 'none'; style-src 'unsafe-inline'; form-action *; frame-ancestors 'none'",
            )
            .with_header("x-content-type-options", "nosniff")
            .with_header("referrer-policy", "no-referrer")
            .with_header("cache-control", "no-store")
    }

    /// `{"error": error, "error_description": description}` (OAuth 2 style).
    pub(crate) fn error(status: u16, error: &str, description: &str) -> Self {
        Self::json(
            status,
            &json!({"error": error, "error_description": description}),
        )
    }

    pub(crate) fn not_found(path: &str) -> Self {
        Self::error(404, "not_found", &format!("no such endpoint: {path}"))
    }

    pub(crate) fn method_not_allowed(allow: &str) -> Self {
        Self::error(405, "method_not_allowed", &format!("allowed: {allow}"))
            .with_header("allow", allow)
    }

    pub(crate) fn redirect(location: String) -> Self {
        Self {
            status: 302,
            headers: vec![
                ("location".to_owned(), location),
                ("cache-control".to_owned(), "no-store".to_owned()),
            ],
            body: Vec::new(),
            delay: None,
            outbound: Vec::new(),
        }
    }

    pub(crate) fn with_header(mut self, name: &str, value: &str) -> Self {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The value of header `name` (the first, if repeated).
pub(crate) fn header<'r>(req: &'r SandboxRequest<'_>, name: &str) -> Option<&'r str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The value after `scheme ` in the `authorization` header, scheme case-insensitive.
pub(crate) fn credentials<'r>(req: &'r SandboxRequest<'_>, scheme: &str) -> Option<&'r str> {
    let value = header(req, "authorization")?.trim();
    let (given, rest) = value.split_once(' ')?;
    given
        .eq_ignore_ascii_case(scheme)
        .then(|| rest.trim())
        .filter(|rest| !rest.is_empty())
}

/// An `application/x-www-form-urlencoded` body, decoded strictly.
pub(crate) fn parse_form(body: &[u8]) -> Result<Vec<(String, String)>, String> {
    let text = std::str::from_utf8(body).map_err(|_| "the body is not UTF-8".to_owned())?;
    text.split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            match (decode(name, true), decode(value, true)) {
                (Some(n), Some(v)) => Ok((n, v)),
                _ => Err(format!("bad form encoding near {:?}", truncate(pair, 40))),
            }
        })
        .collect()
}

/// Percent-decode `text`, `+` as a space when `plus_is_space`; `None` on a broken
/// escape or when the result is not UTF-8.
pub(crate) fn decode(text: &str, plus_is_space: bool) -> Option<String> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' if plus_is_space => out.push(b' '),
            b'%' => {
                let hi = char::from(bytes.next()?).to_digit(16)?;
                let lo = char::from(bytes.next()?).to_digit(16)?;
                out.push(u8::try_from(hi * 16 + lo).ok()?);
            }
            b => out.push(b),
        }
    }
    String::from_utf8(out).ok()
}

/// The one value of `name` among form or query pairs: `Err` naming it when repeated.
pub(crate) fn single<'p>(
    pairs: &'p [(String, String)],
    name: &str,
) -> Result<Option<&'p str>, String> {
    let mut values = pairs.iter().filter(|(k, _)| k == name);
    let first = values.next().map(|(_, v)| v.as_str());
    match values.next() {
        Some(_) => Err(format!("{name}: given more than once")),
        None => Ok(first),
    }
}

/// At most `max` characters of `text`.
pub(crate) fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}

/// An answer in the Withings envelope: HTTP 200 always; a success's JSON body as
/// `{"status": 0, "body": …}`; a failure as the vendor's status code in the body
/// (401 a refused token, 601 too many requests, 503 invalid parameters or a dead
/// code or refresh token, 2554 an internal error) with the error text. Headers other
/// than the content type are dropped (Withings sends no `Retry-After`).
pub(crate) fn envelope(answer: SandboxResponse) -> SandboxResponse {
    let inner: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
    let body = if (200..300).contains(&answer.status) {
        serde_json::json!({"status": 0, "body": if inner.is_null() { serde_json::json!({}) } else { inner }})
    } else {
        let code = match answer.status {
            401 | 403 => 401,
            429 => 601,
            400..=499 => 503,
            _ => 2554,
        };
        let error = inner
            .get("error_description")
            .or_else(|| inner.get("error"))
            .and_then(Value::as_str)
            .unwrap_or("error")
            .to_owned();
        serde_json::json!({"status": code, "body": {}, "error": error})
    };
    let mut out = SandboxResponse::json(200, &body);
    out.delay = answer.delay;
    out.outbound = answer.outbound;
    out
}
