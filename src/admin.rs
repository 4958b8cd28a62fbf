//! Operator commands that change tenants: portals and their API keys, and checking
//! the audit chain. Each change is audited with the operator as actor.

use crate::config::Settings;
use crate::db::{AnyConnection, Database};
use crate::domain::PortalId;
use crate::store::api_keys::{self, Scope};
use crate::store::audit::{self, ActorType, NewEvent};
use crate::store::portals;
use anyhow::{anyhow, bail, ensure, Context};
use secrecy::ExposeSecret;
use serde_json::{json, Value};

fn operator() -> String {
    format!(
        "cli:{}",
        std::env::var("USER").unwrap_or_else(|_| "unknown".into())
    )
}

fn record(
    conn: &mut AnyConnection,
    portal: &PortalId,
    action: &str,
    target_type: &str,
    target: &str,
) -> anyhow::Result<()> {
    audit::append(
        conn,
        &NewEvent {
            portal: Some(portal),
            actor_type: ActorType::Operator,
            actor_id: &operator(),
            action,
            target_type,
            target_id: Some(target),
            outcome: "success",
            request_id: None,
        },
    )?;
    Ok(())
}

fn portal_id(conn: &mut AnyConnection, text: &str) -> anyhow::Result<PortalId> {
    let id =
        PortalId::parse(text).ok_or_else(|| anyhow!("--portal: `{text}` is not a portal id"))?;
    portals::get(conn, &id).map_err(|_| anyhow!("--portal: no portal {text}"))?;
    Ok(id)
}

/// `portal create --name NAME`: the portal and its first key, with every scope.
pub fn create_portal(db: &Database, name: &str) -> anyhow::Result<Value> {
    let n = name.chars().count();
    if n == 0 || n > 200 || name.chars().any(char::is_control) {
        bail!("--name must be 1 to 200 printable characters");
    }
    let mut conn = db.conn()?;
    conn.write_transaction(|conn| {
        let portal = portals::create(conn, name)?;
        let (key, secret) = api_keys::create(conn, &portal.id, &Scope::ALL)?;
        record(
            conn,
            &portal.id,
            "portal.create",
            "portal",
            portal.id.as_str(),
        )?;
        record(conn, &portal.id, "api_key.create", "api_key", &key.id)?;
        Ok(json!({
            "portal_id": portal.id,
            "name": portal.name,
            "api_key": secret.expose_secret(),
            "api_key_id": key.id,
            "scopes": key.scopes,
        }))
    })
}

/// `portal key create --portal ID [--scopes …]`.
pub fn create_key(db: &Database, portal: &str, scopes: &str) -> anyhow::Result<Value> {
    let scopes = if scopes == "all" {
        Scope::ALL.to_vec()
    } else {
        Scope::parse_list(scopes).map_err(|e| anyhow!("--scopes: {e}"))?
    };
    let mut conn = db.conn()?;
    conn.write_transaction(|conn| {
        let portal = portal_id(conn, portal)?;
        let (key, secret) = api_keys::create(conn, &portal, &scopes)?;
        record(conn, &portal, "api_key.create", "api_key", &key.id)?;
        Ok(json!({
            "api_key": secret.expose_secret(),
            "api_key_id": key.id,
            "prefix": key.prefix,
            "scopes": key.scopes,
        }))
    })
}

/// `portal key list --portal ID`: ids, prefixes, scopes and use; never secrets.
pub fn list_keys(db: &Database, portal: &str) -> anyhow::Result<Value> {
    let mut conn = db.conn()?;
    let portal = portal_id(&mut conn, portal)?;
    Ok(json!({ "data": api_keys::list(&mut conn, &portal)? }))
}

/// `portal key revoke --portal ID KEY_ID`.
pub fn revoke_key(db: &Database, portal: &str, key_id: &str) -> anyhow::Result<Value> {
    let mut conn = db.conn()?;
    conn.write_transaction(|conn| {
        let portal = portal_id(conn, portal)?;
        api_keys::revoke(conn, &portal, key_id)
            .map_err(|_| anyhow!("no key {key_id} in portal {portal}"))?;
        record(conn, &portal, "api_key.revoke", "api_key", key_id)?;
        Ok(json!({ "revoked": key_id }))
    })
}

/// `audit verify`: Ok with the count, or an error naming the first broken entry.
pub fn verify_audit(db: &Database) -> anyhow::Result<Value> {
    let mut conn = db.conn()?;
    let checked = audit::verify(&mut conn)
        .context("reading the audit log")?
        .map_err(|b| anyhow!("{b}"))?;
    Ok(json!({ "verified_entries": checked }))
}

/// `receipt verify`: the receipt's signature, and its signer against `public_key`
/// or, without one, the key this hub's master key derives. The file is never
/// changed; an invalid receipt is an error (exit 1) that says why.
pub fn verify_receipt(
    settings: &Settings,
    file: &std::path::Path,
    public_key: Option<&str>,
) -> anyhow::Result<serde_json::Value> {
    use crate::config::MasterKeySource;
    use crate::erasure::receipt::{self, ReceiptSigner};
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let expected = match public_key {
        Some(k) => k.trim().to_owned(),
        None => {
            if let MasterKeySource::Development(path) = &settings.master_key {
                ensure!(
                    path.exists(),
                    "no master key is configured here: pass --public-key (GET /v1/receipts/public-key)"
                );
            }
            let master = crate::keys::load_master_key(&settings.master_key)?;
            ReceiptSigner::from_seed(&crate::keys::receipt_seed(&master)).public_key()
        }
    };
    let r = receipt::verify(&text, Some(&expected))
        .map_err(|e| anyhow!("receipt {} is not valid: {e}", file.display()))?;
    Ok(serde_json::json!({
        "valid": true,
        "receipt_id": r.receipt_id,
        "member_id": r.member_id,
        "portal_id": r.portal_id,
        "erased_at": r.erased_at,
        "counts": r.counts,
    }))
}
