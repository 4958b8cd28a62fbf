//! The OAuth 2 client side (RFC 6749 authorization code with PKCE S256, RFC 7636;
//! refresh; RFC 7009 revocation), on the `oauth2` crate.
//!
//! Policy: outbound calls never follow redirects (a token endpoint that redirects is
//! an error, not a hop to somewhere else) and time out. Error values name what went
//! wrong in the vendor's terms (`invalid_grant`) but never carry a token, a code or
//! a secret.

use crate::vendors::Credentials;
use oauth2::basic::{
    BasicClient, BasicErrorResponse, BasicErrorResponseType, BasicRevocationErrorResponse,
    BasicTokenIntrospectionResponse, BasicTokenType,
};
use oauth2::{
    AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken, ExtraTokenFields,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardRevocableToken, StandardTokenResponse, TokenResponse, TokenUrl,
};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tributary_connectors::{ClientAuth, Manifest, TokenStyle};

/// The HTTP client for vendor calls.
pub fn http_client() -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .connect_timeout(Duration::from_secs(5))
        .build()
}

#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The vendor refused the code or refresh token (`invalid_grant`): it is dead.
    #[error("the vendor refused the grant (invalid_grant)")]
    InvalidGrant,
    /// The vendor answered with another OAuth error (`invalid_client`, …).
    #[error("the vendor answered {0}")]
    Refused(String),
    /// The vendor could not be reached or answered something that is not OAuth.
    #[error("the vendor is unavailable: {0}")]
    Unavailable(String),
    /// A configured URL is not a URL.
    #[error("the vendor's {0} URL is invalid")]
    BadUrl(&'static str),
}

/// What a token response says beyond RFC 6749: the vendor's id of the member's
/// account, which its notifications name (`user_id`; Withings says `userid`), as a
/// string or a number.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VendorAccount {
    #[serde(default, alias = "userid")]
    user_id: Option<serde_json::Value>,
}

impl ExtraTokenFields for VendorAccount {}

impl VendorAccount {
    fn id(&self) -> Option<String> {
        match &self.user_id {
            Some(serde_json::Value::String(s)) if !s.is_empty() => Some(s.clone()),
            Some(serde_json::Value::Number(n)) => Some(n.to_string()),
            _ => None,
        }
    }
}

/// An OAuth client whose token responses keep the vendor's account id.
type VendorClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<VendorAccount, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
>;

/// Tokens the vendor issued.
pub struct Issued {
    pub access: SecretString,
    pub refresh: Option<SecretString>,
    pub expires_in: Option<Duration>,
    /// Granted scopes; `None` when the vendor did not say (RFC 6749 5.1: as asked).
    pub scopes: Option<Vec<String>>,
    /// The vendor's id of the member's account, where the token response gives it.
    /// It identifies a person: it is hashed for lookups and never logged.
    pub vendor_user: Option<String>,
}

fn url<T>(
    make: impl FnOnce(String) -> Result<T, url::ParseError>,
    text: &str,
    what: &'static str,
) -> Result<T, OAuthError> {
    make(text.to_owned()).map_err(|_| OAuthError::BadUrl(what))
}

/// The URL to send the member's browser to, and the PKCE verifier to keep.
pub fn authorization_url(
    manifest: &Manifest,
    creds: &Credentials,
    scopes: &[String],
    state: &str,
) -> Result<(String, SecretString), OAuthError> {
    let client = BasicClient::new(ClientId::new(creds.client_id.clone()))
        .set_auth_uri(url(AuthUrl::new, &manifest.authorize_url, "authorize")?)
        .set_redirect_uri(url(RedirectUrl::new, &creds.redirect_uri, "redirect")?);
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let state = state.to_owned();
    let mut request = client
        .authorize_url(move || CsrfToken::new(state))
        .set_pkce_challenge(challenge);
    if manifest.scope_separator == " " {
        request = request.add_scopes(scopes.iter().cloned().map(Scope::new));
    } else if !scopes.is_empty() {
        request = request.add_scope(Scope::new(scopes.join(manifest.scope_separator)));
    }
    let (url, _) = request.url();
    Ok((
        url.to_string(),
        SecretString::from(verifier.secret().clone()),
    ))
}

fn issued(t: &StandardTokenResponse<VendorAccount, BasicTokenType>) -> Issued {
    Issued {
        vendor_user: t.extra_fields().id(),
        access: SecretString::from(t.access_token().secret().clone()),
        refresh: t
            .refresh_token()
            .map(|r| SecretString::from(r.secret().clone())),
        expires_in: t.expires_in(),
        scopes: t.scopes().map(|s| {
            s.iter()
                .flat_map(|x| x.as_str().split([' ', ',']))
                .filter(|x| !x.is_empty())
                .map(str::to_owned)
                .collect()
        }),
    }
}

fn token_error<RE: std::error::Error + 'static>(
    e: RequestTokenError<RE, oauth2::StandardErrorResponse<BasicErrorResponseType>>,
) -> OAuthError {
    match e {
        RequestTokenError::ServerResponse(r) => match r.error() {
            BasicErrorResponseType::InvalidGrant => OAuthError::InvalidGrant,
            // Vendors answer a failing token endpoint with these codes (RFC 6749 4.1.2.1
            // names them for the authorization endpoint): the vendor is down, not
            // refusing us.
            BasicErrorResponseType::Extension(code)
                if code == "server_error" || code == "temporarily_unavailable" =>
            {
                OAuthError::Unavailable(code.clone())
            }
            other => OAuthError::Refused(other.to_string()),
        },
        RequestTokenError::Request(e) => OAuthError::Unavailable(source_chain(&e)),
        RequestTokenError::Parse(e, _) => {
            OAuthError::Unavailable(format!("unreadable answer: {e}"))
        }
        RequestTokenError::Other(e) => OAuthError::Unavailable(e),
    }
}

/// The error and its causes, for the log (no URL query strings: reqwest prints
/// URLs, and token endpoints take no secrets in the query).
fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

/// A [`VendorClient`] whose token endpoint is set.
type TokenClient = oauth2::Client<
    BasicErrorResponse,
    StandardTokenResponse<VendorAccount, BasicTokenType>,
    BasicTokenIntrospectionResponse,
    StandardRevocableToken,
    BasicRevocationErrorResponse,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointNotSet,
    oauth2::EndpointSet,
>;

/// An OAuth client for `manifest`'s token endpoint, with the client credentials
/// where the vendor wants them.
fn token_client(manifest: &Manifest, creds: &Credentials) -> Result<TokenClient, OAuthError> {
    let auth_type = match manifest.client_auth {
        ClientAuth::Basic => oauth2::AuthType::BasicAuth,
        ClientAuth::RequestBody => oauth2::AuthType::RequestBody,
    };
    Ok(VendorClient::new(ClientId::new(creds.client_id.clone()))
        .set_client_secret(ClientSecret::new(
            creds.client_secret.expose_secret().to_owned(),
        ))
        .set_auth_type(auth_type)
        .set_token_uri(url(TokenUrl::new, &manifest.token_url, "token")?))
}

type TokenHttpError = oauth2::HttpClientError<reqwest::Error>;

/// The HTTP client oauth2 calls token endpoints with: reqwest, in the vendor's
/// dialect ([`token_call`]).
struct TokenHttp<'a> {
    http: &'a reqwest::Client,
    style: TokenStyle,
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenHttp<'_> {
    type Error = TokenHttpError;
    type Future = std::pin::Pin<
        Box<
            dyn std::future::Future<Output = Result<oauth2::HttpResponse, TokenHttpError>>
                + Send
                + 'c,
        >,
    >;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(token_call(self.http, self.style, request))
    }
}

/// One call to a token endpoint in the vendor's dialect. Withings wants
/// `action=requesttoken` in the form and wraps its answer as `{"status", "body"}`:
/// status 0 carries the RFC 6749 answer in `body`; any other status is turned into
/// the RFC 6749 error it stands for, so the rest of the flow is the standard one.
async fn token_call(
    http: &reqwest::Client,
    style: TokenStyle,
    mut request: oauth2::HttpRequest,
) -> Result<oauth2::HttpResponse, TokenHttpError> {
    if style == TokenStyle::Standard {
        return oauth2::AsyncHttpClient::call(http, request).await;
    }
    request
        .body_mut()
        .extend_from_slice(b"&action=requesttoken");
    let response = oauth2::AsyncHttpClient::call(http, request).await?;
    if !response.status().is_success() {
        return Ok(response);
    }
    let (parts, body) = response.into_parts();
    let envelope: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let (status, json) = match envelope.get("status").and_then(serde_json::Value::as_i64) {
        Some(0) => match envelope.get("body") {
            Some(inner) => (200, inner.to_string()),
            None => (502, String::new()),
        },
        // Withings' documented codes: 601 too many requests; 503 "invalid params"
        // (a used, expired or foreign code or refresh token: the grant is dead);
        // 100–102, 200 and 401 "authentication failed" (the app's credentials, not
        // the member's grant); anything else a failure at Withings.
        Some(601) => (400, r#"{"error":"temporarily_unavailable"}"#.to_owned()),
        Some(503) => (400, r#"{"error":"invalid_grant"}"#.to_owned()),
        Some(code) if (100..=299).contains(&code) || code == 401 => {
            (400, r#"{"error":"invalid_client"}"#.to_owned())
        }
        Some(_) => (400, r#"{"error":"server_error"}"#.to_owned()),
        // Not an envelope: left for the standard parser to judge.
        None => return Ok(oauth2::HttpResponse::from_parts(parts, body)),
    };
    let mut out = oauth2::HttpResponse::new(json.into_bytes());
    *out.status_mut() =
        oauth2::http::StatusCode::from_u16(status).unwrap_or(oauth2::http::StatusCode::BAD_GATEWAY);
    out.headers_mut().insert(
        oauth2::http::header::CONTENT_TYPE,
        oauth2::http::HeaderValue::from_static("application/json"),
    );
    Ok(out)
}

/// Exchange an authorization code (with its PKCE verifier) for tokens.
pub async fn exchange_code(
    http: &reqwest::Client,
    manifest: &Manifest,
    creds: &Credentials,
    code: &str,
    verifier: &SecretString,
) -> Result<Issued, OAuthError> {
    let client = token_client(manifest, creds)?.set_redirect_uri(url(
        RedirectUrl::new,
        &creds.redirect_uri,
        "redirect",
    )?);
    let call = TokenHttp {
        http,
        style: manifest.token_style,
    };
    let token = client
        .exchange_code(AuthorizationCode::new(code.to_owned()))
        .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose_secret().to_owned()))
        .request_async(&call)
        .await
        .map_err(token_error)?;
    Ok(issued(&token))
}

/// Use a refresh token once; the vendor may rotate it.
pub async fn refresh(
    http: &reqwest::Client,
    manifest: &Manifest,
    creds: &Credentials,
    refresh_token: &SecretString,
) -> Result<Issued, OAuthError> {
    let client = token_client(manifest, creds)?;
    let call = TokenHttp {
        http,
        style: manifest.token_style,
    };
    let token = client
        .exchange_refresh_token(&RefreshToken::new(refresh_token.expose_secret().to_owned()))
        .request_async(&call)
        .await
        .map_err(token_error)?;
    Ok(issued(&token))
}

/// Revoke a token at the vendor, where the vendor has a revocation endpoint.
pub async fn revoke(
    http: &reqwest::Client,
    manifest: &Manifest,
    creds: &Credentials,
    token: &SecretString,
    is_refresh: bool,
) -> Result<(), OAuthError> {
    // RFC 7009 by hand: the oauth2 crate refuses a revocation URL that is not
    // HTTPS, which rules out the sandbox on loopback; the request is one form POST.
    let Some(revoke_url) = &manifest.revoke_url else {
        return Ok(());
    };
    let revoke_url = reqwest::Url::parse(revoke_url).map_err(|_| OAuthError::BadUrl("revoke"))?;
    let hint = if is_refresh {
        "refresh_token"
    } else {
        "access_token"
    };
    // RFC 6749 2.3.1: the credentials are form-urlencoded before Basic encoding.
    let encode = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    let response = http
        .post(revoke_url)
        .basic_auth(
            encode(&creds.client_id),
            Some(encode(creds.client_secret.expose_secret())),
        )
        .form(&[("token", token.expose_secret()), ("token_type_hint", hint)])
        .send()
        .await
        .map_err(|e| OAuthError::Unavailable(source_chain(&e.without_url())))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    // An OAuth error body names the error; anything else is the vendor failing.
    let code = response
        .json::<serde_json::Value>()
        .await
        .ok()
        .and_then(|v| v.get("error").and_then(|e| e.as_str()).map(str::to_owned));
    match code {
        Some(code) if status.is_client_error() => Err(OAuthError::Refused(code)),
        _ => Err(OAuthError::Unavailable(format!(
            "revocation answered HTTP {}",
            status.as_u16()
        ))),
    }
}
