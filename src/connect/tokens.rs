//! The token lifecycle: a fresh access token for a connection, refreshed before it
//! expires.
//!
//! Policy:
//! - At most one refresh per connection is in flight, across every instance sharing
//!   the database: the refresher holds a lease on the token row; the others wait for
//!   the next generation and use its tokens.
//! - The new tokens (with the rotated refresh token) are stored before the new access
//!   token is handed to anyone, so a crash after the vendor answered loses nothing
//!   the vendor still honours.
//! - `invalid_grant` from the vendor means the grant is dead: the connection becomes
//!   `reauth_required` (visible to the portal and on the consent page) and its tokens
//!   are deleted.

use super::oauth::{self, OAuthError};
use crate::db::Database;
use crate::keys::KeyRing;
use crate::store::connections::{self, Connection, Status, Tokens};
use crate::store::StoreError;
use crate::vendors::Vendors;
use chrono::{NaiveDateTime, Utc};
use secrecy::SecretString;
use std::sync::Arc;
use std::time::Duration;

/// Refresh this long before the access token expires.
const EARLY: chrono::Duration = chrono::Duration::seconds(60);
/// How long a refresher may hold the lease.
const LEASE: chrono::Duration = chrono::Duration::seconds(30);
/// How long a caller waits for another refresher before giving up.
const WAIT: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("the connection needs the member to connect again")]
    ReauthRequired,
    #[error("the connection is revoked or has no tokens")]
    NotConnected,
    #[error("the vendor is not available to this hub")]
    UnknownVendor,
    #[error("token refresh failed for now: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What the lifecycle needs.
#[derive(Clone)]
pub struct TokenContext {
    pub db: Database,
    pub ring: Arc<KeyRing>,
    pub vendors: Arc<Vendors>,
    pub http: reqwest::Client,
}

impl TokenContext {
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut crate::db::AnyConnection, &KeyRing) -> Result<T, StoreError>
            + Send
            + 'static,
    ) -> Result<T, TokenError> {
        let (db, ring) = (self.db.clone(), self.ring.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = db
                .conn()
                .map_err(|e| TokenError::Unavailable(format!("database: {e}")))?;
            f(&mut conn, &ring).map_err(TokenError::from)
        })
        .await
        .map_err(|e| TokenError::Unavailable(e.to_string()))?
    }

    /// A valid access token for the connection; refreshed first when it expires
    /// within a minute, or when `force` (the vendor refused the current one).
    pub async fn access_token(
        &self,
        connection_id: &str,
        force: bool,
    ) -> Result<SecretString, TokenError> {
        let deadline = tokio::time::Instant::now() + WAIT;
        let mut first_generation = None;
        loop {
            let id = connection_id.to_owned();
            let (connection, tokens) = self
                .blocking(move |conn, ring| {
                    let c = connections::get(conn, &id)?;
                    let t = connections::tokens(conn, ring, &c)?;
                    Ok((c, t))
                })
                .await?;
            match connection.status {
                Status::Active => {}
                Status::ReauthRequired => return Err(TokenError::ReauthRequired),
                Status::Revoked => return Err(TokenError::NotConnected),
            }
            let (tokens, generation) = tokens.ok_or(TokenError::NotConnected)?;
            let first = *first_generation.get_or_insert(generation);
            let now = Utc::now().naive_utc();
            let fresh = tokens.access_expires_at.is_none_or(|t| t > now + EARLY);
            if (fresh && !force) || generation > first {
                return Ok(tokens.access);
            }
            let id = connection.id.clone();
            let leased = self
                .blocking(move |conn, _| {
                    connections::take_refresh_lease(conn, &id, generation, now + LEASE)
                })
                .await?;
            if leased {
                return self.refresh(connection, tokens, generation).await;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(TokenError::Unavailable(
                    "another refresh did not finish in time".into(),
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    async fn refresh(
        &self,
        connection: Connection,
        old: Tokens,
        generation: i64,
    ) -> Result<SecretString, TokenError> {
        let Some(refresh_token) = old.refresh.clone() else {
            return self.dead(connection).await;
        };
        let connector = self
            .vendors
            .connector_for(&connection.vendor, connection.vendor_app_id.as_deref())
            .ok_or(TokenError::UnknownVendor)?;
        let (vendors, c) = (self.vendors.clone(), connection.clone());
        let creds = self
            .blocking(move |conn, ring| {
                let app = c.vendor_app_id.as_deref();
                vendors.credentials_for(conn, ring, &c.portal_id, &c.vendor, app)
            })
            .await?;
        // The app the grant was issued to is gone: nothing can refresh it.
        let Some(creds) = creds else {
            return self.dead(connection).await;
        };
        let refreshed =
            oauth::refresh(&self.http, connector.manifest(), &creds, &refresh_token).await;
        self.vendors.health().oauth(&connection.vendor, &refreshed);
        match refreshed {
            Ok(issued) => {
                let account = issued
                    .vendor_user
                    .clone()
                    .filter(|_| connector.revoke_style().names_account());
                let tokens = Tokens {
                    access: issued.access,
                    // A vendor that does not rotate keeps the old refresh token valid.
                    refresh: issued.refresh.or(old.refresh),
                    access_expires_at: expiry(issued.expires_in),
                };
                let access = tokens.access.clone();
                let stored = self
                    .blocking(move |conn, ring| {
                        let stored = connections::store_refreshed(
                            conn,
                            ring,
                            &connection,
                            generation,
                            &tokens,
                        )?;
                        if let Some(account) = account.filter(|_| stored) {
                            // The tokens are stored; this only fills in an old gap.
                            if let Err(e) =
                                connections::keep_vendor_account(conn, ring, &connection, &account)
                            {
                                tracing::warn!(error = %e, "cannot keep the vendor account id");
                            }
                        }
                        Ok(stored)
                    })
                    .await?;
                if stored {
                    Ok(access)
                } else {
                    Err(TokenError::NotConnected)
                }
            }
            Err(OAuthError::InvalidGrant) => self.dead(connection).await,
            Err(e) => {
                tracing::warn!(vendor = %connection.vendor, connection = %connection.id, error = %e, "token refresh failed");
                let id = connection.id.clone();
                self.blocking(move |conn, _| connections::release_refresh_lease(conn, &id))
                    .await?;
                Err(TokenError::Unavailable(e.to_string()))
            }
        }
    }

    async fn dead(&self, connection: Connection) -> Result<SecretString, TokenError> {
        tracing::warn!(vendor = %connection.vendor, connection = %connection.id, "grant refused by the vendor; reauthorization required");
        self.blocking(move |conn, _| connections::mark_reauth_required(conn, &connection))
            .await?;
        Err(TokenError::ReauthRequired)
    }
}

/// When a token issued now with `expires_in` expires.
pub fn expiry(expires_in: Option<Duration>) -> Option<NaiveDateTime> {
    expires_in
        .and_then(|d| chrono::Duration::from_std(d).ok())
        .map(|d| Utc::now().naive_utc() + d)
}
