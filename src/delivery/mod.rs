//! Delivery to portals: the events of the outbox (`store::events`) sent to their
//! webhook endpoints, signed as Standard Webhooks specifies, and observations sent
//! to a portal's FHIR server as transaction Bundles.
//!
//! - `sign`: the `webhook-signature` header.
//! - `target`: which URLs may be reached (https, no private addresses, no redirects).
//! - `dispatch`: the dispatcher that claims, sends, retries and records.
//! - `fhir_push`: the pusher of observations to a portal's own FHIR server.

pub mod dispatch;
pub mod fhir_push;
pub mod sign;
pub mod target;

use crate::db::AnyConnection;
use crate::keys::KeyRing;
use crate::store::events::Event;
use crate::store::StoreError;

/// An event as portals receive it:
/// `{"id", "type", "timestamp", "sequence", "data": {"user_key", …}}`. `sequence`
/// numbers the member's events (1, 2, …); `user_key` is the member's User Key
/// (absent once the member is erased, except in `member.erased`).
pub fn body(
    conn: &mut AnyConnection,
    ring: &KeyRing,
    event: &Event,
) -> Result<Vec<u8>, StoreError> {
    let mut data: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&event.data).unwrap_or_default();
    if event.member_id.is_some() || event.user_key_sealed.is_some() {
        let user_key = dispatch::user_key_of(conn, ring, event)?;
        data.insert("user_key".into(), user_key.into());
    }
    let body = serde_json::json!({
        "id": event.id,
        "type": event.kind,
        "timestamp": event.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "sequence": event.seq,
        "data": data,
    });
    Ok(body.to_string().into_bytes())
}
