//! The sandbox's memory: authorization codes, grants and their tokens, faults, calls.
//!
//! Policy: a grant is what a member approved (vendor, client, user, scopes); tokens
//! point at their grant, so revoking a grant kills its access and refresh tokens in
//! one step. Codes, tokens and refresh tokens are 256 random bits, URL-safe; tokens
//! carry the prefixes `sbx_at_` and `sbx_rt_` so a test can scan storage for them.
//! Old entries are pruned as requests come in, so memory stays bounded by use.

use super::calls::Call;
use super::faults::Fault;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use chrono::{DateTime, TimeDelta, Utc};
use rand::RngCore as _;
use std::collections::{HashMap, VecDeque};

pub(crate) type GrantId = u64;

/// An authorization code and everything it is bound to.
#[derive(Debug, Clone)]
pub(crate) struct Code {
    pub vendor: &'static str,
    pub client_id: String,
    /// Exactly as sent in the authorization request.
    pub redirect_uri: String,
    pub challenge: String,
    pub user: String,
    pub scopes: Vec<String>,
    pub expires_at: DateTime<Utc>,
    /// The grant it was exchanged for, once it was.
    pub redeemed: Option<GrantId>,
}

/// What a member approved.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub vendor: &'static str,
    pub client_id: String,
    /// The secret the client authenticated with; notifications are signed with it.
    pub client_secret: String,
    pub user: String,
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Access {
    pub grant: GrantId,
    pub expires_at: DateTime<Utc>,
}

/// Where a client wants to hear of one user's new data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub vendor: &'static str,
    pub client_id: String,
    pub user: String,
    pub callback_url: String,
}

/// Where a vendor APP (a client, not one member) wants to hear of new data of every
/// member who granted it (Oura's webhook subscriptions), as the twin's app API
/// stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AppSubscription {
    pub vendor: &'static str,
    pub client_id: String,
    /// The vendor's id of the subscription.
    pub id: String,
    pub callback_url: String,
    /// What the vendor's API calls the event and the data it is for, as given.
    pub event_type: String,
    pub data_type: String,
    /// The twin's data types it announces (none: the sandbox never sends its event).
    pub announces: Vec<&'static str>,
    pub expires_at: DateTime<Utc>,
}

/// A nonce issued to a client for one signed call (Withings' `getnonce`).
#[derive(Debug, Clone)]
pub(crate) struct Nonce {
    pub client_id: String,
    /// The secret the `getnonce` request was signed with.
    pub client_secret: String,
    pub expires_at: DateTime<Utc>,
}

/// A fresh token pair.
pub(crate) struct Issued {
    pub access_token: String,
    pub refresh_token: String,
}

/// Why a bearer token is not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TokenProblem {
    /// Unknown, revoked, or for another vendor.
    Invalid,
    Expired,
}

#[derive(Default)]
pub(crate) struct State {
    pub codes: HashMap<String, Code>,
    pub grants: HashMap<GrantId, Grant>,
    pub access: HashMap<String, Access>,
    pub refresh: HashMap<String, GrantId>,
    pub faults: Vec<Fault>,
    pub calls: VecDeque<Call>,
    pub subscriptions: Vec<Subscription>,
    /// Per vendor, the one URL the app configured for all its members'
    /// notifications (Garmin's Endpoint Configuration Tool), set with
    /// `POST /_control/endpoint`.
    pub push_endpoints: HashMap<&'static str, String>,
    /// Subscriptions of vendor apps; they outlive grants, but notify only members
    /// whose grant of that app is live.
    pub app_subscriptions: Vec<AppSubscription>,
    /// Nonces for signed app calls, until used or expired.
    pub nonces: HashMap<String, Nonce>,
    next_grant: GrantId,
}

/// 256 random bits, base64url without padding.
pub(crate) fn random_id(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// `now + secs`, saturating at the ends of time instead of overflowing.
pub(crate) fn after(now: DateTime<Utc>, secs: i64) -> DateTime<Utc> {
    TimeDelta::try_seconds(secs)
        .and_then(|d| now.checked_add_signed(d))
        .unwrap_or(if secs < 0 {
            DateTime::<Utc>::MIN_UTC
        } else {
            DateTime::<Utc>::MAX_UTC
        })
}

impl State {
    /// Store a code; returns it.
    pub fn add_code(&mut self, code: Code) -> String {
        let id = random_id("");
        self.codes.insert(id.clone(), code);
        id
    }

    pub fn add_grant(&mut self, grant: Grant) -> GrantId {
        self.next_grant += 1;
        self.grants.insert(self.next_grant, grant);
        self.next_grant
    }

    /// A new access and refresh token for `grant`.
    pub fn issue(&mut self, grant: GrantId, ttl_secs: i64, now: DateTime<Utc>) -> Issued {
        let access_token = random_id("sbx_at_");
        let refresh_token = random_id("sbx_rt_");
        let expires_at = after(now, ttl_secs);
        self.access
            .insert(access_token.clone(), Access { grant, expires_at });
        self.refresh.insert(refresh_token.clone(), grant);
        Issued {
            access_token,
            refresh_token,
        }
    }

    /// Forget the grant and every token issued for it.
    pub fn revoke_grant(&mut self, grant: GrantId) {
        let gone = self.grants.remove(&grant);
        self.access.retain(|_, a| a.grant != grant);
        self.refresh.retain(|_, g| *g != grant);
        // A subscription lives as long as some grant of its client and user.
        if let Some(gone) = gone {
            let grants = &self.grants;
            self.subscriptions.retain(|s| {
                !(s.vendor == gone.vendor && s.client_id == gone.client_id && s.user == gone.user)
                    || grants.values().any(|g| {
                        g.vendor == s.vendor && g.client_id == s.client_id && g.user == s.user
                    })
            });
        }
    }

    /// A live grant of `client_id` by `user` at `vendor`, if there is one.
    pub fn grant_for(&self, vendor: &str, client_id: &str, user: &str) -> Option<&Grant> {
        self.grants
            .values()
            .find(|g| g.vendor == vendor && g.client_id == client_id && g.user == user)
    }

    /// The grant a token (access or refresh) belongs to.
    pub fn grant_of(&self, token: &str) -> Option<GrantId> {
        self.access
            .get(token)
            .map(|a| a.grant)
            .or_else(|| self.refresh.get(token).copied())
    }

    /// The grant behind a bearer token of `vendor`, if the token is good at `now`.
    pub fn authenticate(
        &self,
        vendor: &str,
        token: &str,
        now: DateTime<Utc>,
    ) -> Result<&Grant, TokenProblem> {
        let access = self.access.get(token).ok_or(TokenProblem::Invalid)?;
        let grant = self
            .grants
            .get(&access.grant)
            .filter(|g| g.vendor == vendor)
            .ok_or(TokenProblem::Invalid)?;
        if now >= access.expires_at {
            return Err(TokenProblem::Expired);
        }
        Ok(grant)
    }

    /// The grants of `vendor` held by `user`, or by everyone when `user` is `None`.
    pub fn grants_of(&self, vendor: &str, user: Option<&str>) -> Vec<GrantId> {
        self.grants
            .iter()
            .filter(|(_, g)| g.vendor == vendor && user.is_none_or(|u| g.user == u))
            .map(|(id, _)| *id)
            .collect()
    }

    /// Drop codes and access tokens a day past their expiry. (Until then a reused
    /// code is still recognised, and an expired token still answers "expired".)
    pub fn prune(&mut self, now: DateTime<Utc>) {
        let horizon = after(now, -86_400);
        self.codes.retain(|_, c| c.expires_at > horizon);
        self.access.retain(|_, a| a.expires_at > horizon);
        self.nonces.retain(|_, n| n.expires_at > now);
    }
}
