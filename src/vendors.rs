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
use crate::ops::vendor_health::VendorHealth;
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

/// The token in a callback URL: hex HMAC-SHA256 of `tributary-hook:{vendor}` under
/// the app's client secret.
pub fn hook_token(vendor: &str, secret: &SecretString) -> String {
    use hmac::{Hmac, Mac};
    use secrecy::ExposeSecret;
    // HMAC takes keys of any length: `new_from_slice` cannot fail.
    let Ok(mut mac) =
        <Hmac<sha2::Sha256> as Mac>::new_from_slice(secret.expose_secret().as_bytes())
    else {
        return String::new();
    };
    mac.update(format!("tributary-hook:{vendor}").as_bytes());
    let bytes = mac.finalize().into_bytes();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Vendors {
    public_url: url::Url,
    sandbox_root: Option<String>,
    health: Arc<VendorHealth>,
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
            health: Arc::default(),
        }
    }

    /// How the vendors have been answering this process: every call to a vendor
    /// reports here, and the availability monitor takes a state per vendor each
    /// round (`ops::vendor_health`).
    pub fn health(&self) -> &Arc<VendorHealth> {
        &self.health
    }

    /// The hub's own URL for `path` (which starts with `/`).
    pub fn public(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }

    pub fn public_url(&self) -> &url::Url {
        &self.public_url
    }

    /// The connector for `vendor`, if this hub offers it, for what does not depend
    /// on where the vendor is reached (its manifest, parsing its notifications).
    pub fn connector(&self, vendor: &str) -> Option<Arc<dyn Connector>> {
        if registry::is_sandbox_only(vendor) {
            let base = self.sandbox_root.clone()?;
            return registry::connector(vendor, &Endpoints::Sandbox { base });
        }
        registry::connector(vendor, &Endpoints::Production)
            .or_else(|| self.connector_for(vendor, None))
    }

    /// Whether revoking this connection calls the vendor to withdraw the grant
    /// (the vendor has a revoke or deregistration call).
    pub fn withdraws_grants(&self, connection: &crate::store::connections::Connection) -> bool {
        self.connector_for(&connection.vendor, connection.vendor_app_id.as_deref())
            .is_some_and(|c| c.revoke_style() != tributary_connectors::RevokeStyle::None)
    }

    /// The connector for `vendor` as reached by a connection made through
    /// `vendor_app` (`None`: the sandbox's built-in client, so the simulated vendor;
    /// a portal's app: the vendor's real API, except for sandbox-only vendors).
    pub fn connector_for(
        &self,
        vendor: &str,
        vendor_app: Option<&str>,
    ) -> Option<Arc<dyn Connector>> {
        if vendor_app.is_none() || registry::is_sandbox_only(vendor) {
            let base = self.simulated(vendor)?;
            return registry::connector(vendor, &Endpoints::Sandbox { base });
        }
        registry::connector(vendor, &Endpoints::Production)
    }

    /// The sandbox root, when the sandbox is on and simulates `vendor`.
    fn simulated(&self, vendor: &str) -> Option<String> {
        self.sandbox_root
            .clone()
            .filter(|_| tributary_connectors::sandbox::simulates(vendor))
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
            .filter_map(|v| {
                let app = apps.iter().find(|a| a.vendor == *v).map(|a| a.id.as_str());
                self.connector_for(v, app)
            })
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
        if self.simulated(vendor).is_some() {
            secrets.push((None, SecretString::from(SANDBOX_CLIENT_SECRET)));
        }
        Ok(secrets)
    }

    /// The URL a vendor that signs nothing is given for its notifications:
    /// `/vendor-hooks/{vendor}?k=…`, the token being a keyed hash of the client
    /// secret of the app the connection was made through (`None`: the sandbox's
    /// built-in client), so a notification sent elsewhere is refused and the app is
    /// known.
    pub fn hook_url(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        vendor: &str,
        vendor_app: Option<&str>,
    ) -> Result<String, StoreError> {
        let secret = self
            .push_secrets(conn, ring, vendor)?
            .into_iter()
            .find(|(id, _)| id.as_deref() == vendor_app)
            .map(|(_, s)| s)
            .ok_or(StoreError::NotFound)?;
        Ok(format!(
            "{}?k={}",
            self.public(&format!("/vendor-hooks/{vendor}")),
            hook_token(vendor, &secret)
        ))
    }

    /// Every OAuth client this hub has for `vendor`: each portal's vendor app, and
    /// the sandbox's built-in client while the sandbox simulates the vendor (for
    /// app-level work such as renewing webhook subscriptions).
    pub fn app_credentials(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        vendor: &str,
    ) -> Result<Vec<Credentials>, StoreError> {
        let mut all = Vec::new();
        for (portal, app) in vendor_apps::ids_for_vendor(conn, vendor)? {
            if let Some(c) = self.credentials_for(conn, ring, &portal, vendor, Some(&app))? {
                all.push(c);
            }
        }
        if self.simulated(vendor).is_some() {
            all.push(Credentials {
                client_id: SANDBOX_CLIENT_ID.into(),
                client_secret: SecretString::from(SANDBOX_CLIENT_SECRET),
                vendor_app_id: None,
                redirect_uri: self.callback_url(vendor),
            });
        }
        Ok(all)
    }

    /// The OAuth client a new connection of `portal` to `vendor` is made with: the
    /// portal's vendor app, else the sandbox's built-in client while the sandbox
    /// simulates the vendor.
    pub fn credentials(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        portal: &PortalId,
        vendor: &str,
    ) -> Result<Option<Credentials>, StoreError> {
        let app = vendor_apps::list(conn, portal)?
            .into_iter()
            .find(|a| a.vendor == vendor)
            .map(|a| a.id);
        self.credentials_for(conn, ring, portal, vendor, app.as_deref())
    }

    /// The OAuth client of an existing connection, to which the vendor issued its
    /// tokens: the app it was made through (`None`: the sandbox's built-in client,
    /// never a portal's app). If the portal has since replaced that app, its current
    /// app for the vendor: the same client id registered again with a new secret
    /// keeps the grants; another client id is refused by the vendor (`invalid_grant`,
    /// so the member reconnects). `None` when the portal has no app left.
    pub fn credentials_for(
        &self,
        conn: &mut AnyConnection,
        ring: &KeyRing,
        portal: &PortalId,
        vendor: &str,
        vendor_app: Option<&str>,
    ) -> Result<Option<Credentials>, StoreError> {
        let Some(id) = vendor_app else {
            return Ok(self.simulated(vendor).map(|_| Credentials {
                client_id: SANDBOX_CLIENT_ID.into(),
                client_secret: SecretString::from(SANDBOX_CLIENT_SECRET),
                vendor_app_id: None,
                redirect_uri: self.callback_url(vendor),
            }));
        };
        let apps = vendor_apps::list(conn, portal)?;
        let Some(app) = apps
            .iter()
            .find(|a| a.id == id)
            .or_else(|| apps.iter().find(|a| a.vendor == vendor))
        else {
            return Ok(None);
        };
        let secret = vendor_apps::client_secret(conn, ring, portal, &app.id)?;
        Ok(Some(Credentials {
            client_id: app.client_id.clone(),
            client_secret: secret,
            redirect_uri: app
                .redirect_uri
                .clone()
                .unwrap_or_else(|| self.callback_url(vendor)),
            vendor_app_id: Some(app.id.clone()),
        }))
    }
}
