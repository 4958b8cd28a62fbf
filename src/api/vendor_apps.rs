//! `POST/GET /v1/vendor-apps`, `GET/DELETE /v1/vendor-apps/{id}`.

use super::openapi::{AuthErrors, BodyErrors, ErrorBody, NotFound};
use super::{audit, with_conn};
use crate::db::Database;
use crate::http::auth::{request_id, Caller};
use crate::http::error::ApiError;
use crate::http::input::JsonBody;
use crate::keys::KeyRing;
use crate::store::api_keys::Scope;
use crate::store::vendor_apps::VendorApp;
use crate::store::vendor_apps::{self, NewVendorApp};
use actix_web::{web, HttpRequest, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// `GET /v1/vendor-apps`.
#[derive(Serialize, ToSchema)]
pub struct VendorAppList {
    data: Vec<VendorAppView>,
}

/// A vendor app as the API shows it: never its secret.
#[derive(Serialize, ToSchema)]
pub struct VendorAppView {
    #[serde(flatten)]
    app: VendorApp,
    /// Where the vendor sends this app's notifications, for vendors that notify.
    /// Withings and Oura are given it by the hub; a vendor whose developer console
    /// asks for an endpoint (Garmin) is given it by you. For vendors that sign
    /// nothing it carries a token derived from the client secret (`?k=`): keep it
    /// as private as the secret.
    notification_url: Option<String>,
}

impl VendorAppView {
    fn new(app: VendorApp, vendors: &Vendors, secret: &SecretString) -> Self {
        let notification_url = vendors
            .connector(&app.vendor)
            .filter(|c| c.manifest().notifies)
            .map(|c| {
                let url = vendors.public(&format!("/vendor-hooks/{}", app.vendor));
                match c.manifest().push_auth {
                    PushAuth::Signature => url,
                    PushAuth::CallbackToken => {
                        format!("{url}?k={}", hook_token(&app.vendor, secret))
                    }
                }
            });
        Self {
            app,
            notification_url,
        }
    }
}

use crate::vendors::{hook_token, Vendors};
use tributary_connectors::connector::PushAuth;
use tributary_connectors::registry;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateVendorApp {
    /// A vendor id (the document lists the vendors this hub knows).
    #[schema(example = "demo")]
    vendor: String,
    /// 1 to 256 printable characters.
    #[schema(
        min_length = 1,
        max_length = 256,
        pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,256}$"
    )]
    client_id: String,
    /// Sealed at rest and never returned. 1 to 1024 printable characters.
    #[schema(value_type = String, min_length = 1, max_length = 1024, pattern = "^[^\\u0000-\\u001F\\u007F-\\u009F]{1,1024}$")]
    client_secret: SecretString,
    /// Where the vendor sends the member back: an http(s) URL with a host name, an
    /// optional port, path and query (the document states the pattern).
    #[schema(
        max_length = 2048,
        example = "https://portal.example.com/oauth/callback"
    )]
    redirect_uri: Option<String>,
    /// OAuth scopes to ask for; each an RFC 6749 scope-token of at most 128
    /// characters (the document states the pattern).
    scopes: Option<Vec<String>>,
}

/// The redirect URIs this hub accepts; the same expression is in the document.
static REDIRECT_URI: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(REDIRECT_URI_PATTERN).unwrap_or_else(|e| unreachable!("{e}"))
});
pub const REDIRECT_URI_PATTERN: &str = r"^https?://([A-Za-z0-9]+(-[A-Za-z0-9]+)*\.)*[A-Za-z][A-Za-z0-9]*(-[A-Za-z0-9]+)*(:[1-9][0-9]{0,3})?(/[A-Za-z0-9._~/-]*)?(\?[A-Za-z0-9._~=&-]*)?$";

fn check_text(field: &str, value: &str, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n == 0 || n > max || value.chars().any(char::is_control) {
        return Err(ApiError::Validation(format!(
            "{field} must be 1 to {max} printable characters"
        )));
    }
    Ok(())
}

/// [`is_scope_token`] as a JSON-schema pattern, for the document.
pub const SCOPE_TOKEN_PATTERN: &str = r"^[\u0021\u0023-\u005B\u005D-\u007E]{1,128}$";

/// An http(s) URL the hub accepts as a redirect or return URL (the document states
/// the same expression).
pub fn is_redirect_uri(uri: &str) -> bool {
    uri.len() <= 2048
        && REDIRECT_URI.is_match(uri)
        && url::Url::parse(uri).is_ok_and(|u| u.host_str().is_some())
}

/// RFC 6749, 3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`, here at most 128.
fn is_scope_token(s: &str) -> bool {
    (1..=128).contains(&s.len())
        && s.bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E))
}

fn validate(body: &CreateVendorApp) -> Result<(), ApiError> {
    if !registry::is_known(&body.vendor) {
        return Err(ApiError::Validation(format!(
            "vendor: unknown vendor; vendors are {}",
            registry::vendor_ids().join(", ")
        )));
    }
    check_text("client_id", &body.client_id, 256)?;
    check_text(
        "client_secret",
        secrecy::ExposeSecret::expose_secret(&body.client_secret),
        1024,
    )?;
    if let Some(uri) = &body.redirect_uri {
        if !is_redirect_uri(uri) {
            return Err(ApiError::Validation(
                "redirect_uri must be an http(s) URL with a host name, an optional port and a path of letters, digits and ._~/- and a query of letters, digits and ._~=&- (at most 2048 characters)".into(),
            ));
        }
    }
    for scope in body.scopes.iter().flatten() {
        if !is_scope_token(scope) {
            return Err(ApiError::Validation(
                "scopes: each scope must be 1 to 128 visible ASCII characters other than \" and \\ (an RFC 6749 scope-token)".into(),
            ));
        }
    }
    Ok(())
}

/// Register the portal's OAuth client for a vendor.
#[utoipa::path(post, operation_id = "create_vendor_app", path = "/v1/vendor-apps", tag = "vendor-apps", request_body = CreateVendorApp,
    security(("api_key" = [])),
    responses(
        (status = 201, description = "Registered", body = VendorAppView),
        (status = 409, description = "The portal has an app for this vendor", body = ErrorBody),
        AuthErrors, BodyErrors,
    ))]
pub async fn create(
    caller: Caller,
    req: HttpRequest,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
    body: JsonBody<CreateVendorApp>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::AppsWrite).await?;
    let body = body.0;
    validate(&body)?;
    let rid = request_id(&req);
    let app = with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            let scopes = body.scopes.clone().unwrap_or_default();
            let new = NewVendorApp {
                vendor: &body.vendor,
                client_id: &body.client_id,
                client_secret: &body.client_secret,
                redirect_uri: body.redirect_uri.as_deref(),
                scopes: &scopes,
            };
            let app = match vendor_apps::create(conn, &ring, &caller.portal, &new) {
                Err(crate::store::StoreError::Conflict) => {
                    return Err(ApiError::Conflict(format!(
                        "this portal already has a vendor app for {}",
                        body.vendor
                    )))
                }
                other => other?,
            };
            audit(
                conn,
                &caller,
                "vendor_app.create",
                ("vendor_app", &app.id),
                rid.as_deref(),
            )?;
            Ok(VendorAppView::new(app, &vendors, &body.client_secret))
        })
    })
    .await?;
    Ok(HttpResponse::Created().json(app))
}

/// The portal's vendor apps (never their secrets).
#[utoipa::path(get, operation_id = "list_vendor_apps", path = "/v1/vendor-apps", tag = "vendor-apps", security(("api_key" = [])),
    responses((status = 200, description = "The apps", body = VendorAppList), AuthErrors))]
pub async fn list(
    caller: Caller,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::AppsWrite).await?;
    let apps = with_conn(db, move |conn| {
        let mut views = Vec::new();
        for app in vendor_apps::list(conn, &caller.portal)? {
            let secret = vendor_apps::client_secret(conn, &ring, &caller.portal, &app.id)?;
            views.push(VendorAppView::new(app, &vendors, &secret));
        }
        Ok(views)
    })
    .await?;
    Ok(HttpResponse::Ok().json(VendorAppList { data: apps }))
}

/// One vendor app.
#[utoipa::path(get, operation_id = "get_vendor_app", path = "/v1/vendor-apps/{id}", tag = "vendor-apps",
    params(("id" = String, Path, description = "The app id")), security(("api_key" = [])),
    responses((status = 200, description = "The app", body = VendorAppView), AuthErrors, NotFound))]
pub async fn get(
    caller: Caller,
    path: web::Path<String>,
    db: web::Data<Database>,
    ring: web::Data<KeyRing>,
    vendors: web::Data<Vendors>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::AppsWrite).await?;
    let id = path.into_inner();
    let app = with_conn(db, move |conn| {
        let app = vendor_apps::get(conn, &caller.portal, &id)?;
        let secret = vendor_apps::client_secret(conn, &ring, &caller.portal, &id)?;
        Ok(VendorAppView::new(app, &vendors, &secret))
    })
    .await?;
    Ok(HttpResponse::Ok().json(app))
}

/// Remove a vendor app.
#[utoipa::path(delete, operation_id = "delete_vendor_app", path = "/v1/vendor-apps/{id}", tag = "vendor-apps",
    params(("id" = String, Path, description = "The app id")), security(("api_key" = [])),
    responses((status = 204, description = "Removed"), AuthErrors, NotFound))]
pub async fn delete(
    caller: Caller,
    req: HttpRequest,
    path: web::Path<String>,
    db: web::Data<Database>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::AppsWrite).await?;
    let id = path.into_inner();
    let rid = request_id(&req);
    with_conn(db, move |conn| {
        conn.write_transaction(|conn| {
            vendor_apps::delete(conn, &caller.portal, &id)?;
            audit(
                conn,
                &caller,
                "vendor_app.delete",
                ("vendor_app", &id),
                rid.as_deref(),
            )?;
            Ok(())
        })
    })
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
