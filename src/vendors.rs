//! Which vendors this hub can connect members to, where they are reached, and with
//! which OAuth client.
//!
//! Policy: a portal's own vendor app (its client id and secret, registered with the
//! vendor) is used whenever it has one. Sandbox vendors (the simulated `demo`
//! vendor) are offered only while the sandbox is enabled, and without a vendor app
//! they use the sandbox's built-in client, which any client id satisfies.

use crate::config::SandboxSettings;
use crate::db::AnyConnection;
use crate::domain::PortalId;
use crate::keys::KeyRing;
use crate::store::{vendor_apps, StoreError};
use secrecy::SecretString;
use std::sync::Arc;
use tributary_connectors::registry::{self, Endpoints};
use tributary_connectors::Connector;

/// The client the hub uses with a sandbox vendor when the portal registered none.
pub const SANDBOX_CLIENT_ID: &str = "tributary-sandbox";
const SANDBOX_CLIENT_SECRET: &str = "tributary-sandbox-secret";

/// An OAuth client for one vendor.
pub struct Credentials {
    pub client_id: String,
    pub client_secret: SecretString,
    /// The portal's vendor app, or `None` for the sandbox's built-in client.
    pub vendor_app_id: Option<String>,
    pub redirect_uri: String,
}

pub struct Vendors {
    public_url: url::Url,
    sandbox_root: Option<String>,
}

impl Vendors {
    pub fn new(public_url: url::Url, sandbox: &SandboxSettings) -> Self {
        let sandbox_root = sandbox.enabled.then(|| {
            let base = sandbox.url.as_ref().unwrap_or(&public_url);
            format!("{}/sandbox", base.as_str().trim_end_matches('/'))
        });
        Self {
            public_url,
            sandbox_root,
        }
    }

    /// The hub's own URL for `path` (which starts with `/`).
    pub fn public(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }

    pub fn public_url(&self) -> &url::Url {
        &self.public_url
    }

    /// The connector for `vendor`, if this hub offers it.
    pub fn connector(&self, vendor: &str) -> Option<Arc<dyn Connector>> {
        if registry::is_sandbox_only(vendor) {
            let base = self.sandbox_root.clone()?;
            return registry::connector(vendor, &Endpoints::Sandbox { base });
        }
        registry::connector(vendor, &Endpoints::Production)
    }

    /// Where the vendor sends the member back.
    pub fn callback_url(&self, vendor: &str) -> String {
        self.public(&format!("/oauth/{vendor}/callback"))
    }

    /// The vendors a member of `portal` may connect: those with a vendor app, and
    /// sandbox vendors while the sandbox is on.
    pub fn available(
        &self,
        conn: &mut AnyConnection,
        portal: &PortalId,
    ) -> Result<Vec<Arc<dyn Connector>>, StoreError> {
        let apps = vendor_apps::list(conn, portal)?;
        Ok(registry::vendor_ids()
            .iter()
            .filter(|v| {
                apps.iter().any(|a| a.vendor == **v)
                    || (registry::is_sandbox_only(v) && self.sandbox_root.is_some())
            })
            .filter_map(|v| self.connector(v))
            .collect())
    }

    /// Every client secret a notification from `vendor` may be signed with: each
    /// portal's vendor app (by id), and the sandbox's built-in client (`None`).
    pub fn push_secrets(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        vendor: &str,
    ) -> Result<Vec<(Option<String>, SecretString)>, StoreError> {
        let mut secrets: Vec<(Option<String>, SecretString)> =
            vendor_apps::secrets_for_vendor(conn, ring, vendor)?
                .into_iter()
                .map(|(id, secret)| (Some(id), secret))
                .collect();
        if registry::is_sandbox_only(vendor) && self.sandbox_root.is_some() {
            secrets.push((None, SecretString::from(SANDBOX_CLIENT_SECRET)));
        }
        Ok(secrets)
    }

    /// The OAuth client for `vendor` on behalf of `portal`.
    pub fn credentials(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        portal: &PortalId,
        vendor: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        let app = vendor_apps::list(conn, portal)?
            .into_iter()
            .find(|a| a.vendor == vendor);
        if let Some(app) = app {
            let secret = vendor_apps::client_secret(conn, ring, portal, &app.id)?;
            return Ok(Some(Credentials {
                client_id: app.client_id,
                client_secret: secret,
                redirect_uri: app
                    .redirect_uri
                    .unwrap_or_else(|| self.callback_url(vendor)),
                vendor_app_id: Some(app.id),
            }));
        }
        if registry::is_sandbox_only(vendor) && self.sandbox_root.is_some() {
            return Ok(Some(Credentials {
                client_id: SANDBOX_CLIENT_ID.into(),
                client_secret: SecretString::from(SANDBOX_CLIENT_SECRET),
                vendor_app_id: None,
                redirect_uri: self.callback_url(vendor),
            }));
        }
        Ok(None)
    }
}
