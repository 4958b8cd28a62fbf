//! Serving a stored resource without building a JSON tree: the sealed text is
//! split into its top-level members (borrowed, validated as they are scanned) and
//! written again with the store's `id`, `status` and `meta.versionId` /
//! `meta.lastUpdated` in place. A resource that does not split this way (a key
//! written with escapes, say) takes the tree path; the output is the same.

use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::Value;
use std::fmt::Write as _;

/// A stored observation as served: its id and its JSON text.
#[derive(Debug, Clone)]
pub struct Served {
    pub id: String,
    pub json: String,
}

/// What the store sets on every resource it serves.
pub struct Stamp<'a> {
    pub id: &'a str,
    pub status: &'a str,
    pub version: i64,
    pub last_updated: &'a str,
}

/// The top-level members of a JSON object, borrowed from its text, in order.
struct Members<'a>(Vec<(&'a str, &'a RawValue)>);

impl<'de> Deserialize<'de> for Members<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Members<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::with_capacity(map.size_hint().unwrap_or(16));
                while let Some(entry) = map.next_entry::<&'de str, &'de RawValue>()? {
                    out.push(entry);
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn string(out: &mut String, s: &str) {
    // Serialising a &str into a String cannot fail.
    let quoted = serde_json::to_string(s).unwrap_or_default();
    out.push_str(&quoted);
}

/// `text` (a stored resource) as served under `stamp`; `None` if it is not JSON.
pub fn serve(text: &str, stamp: &Stamp<'_>) -> Option<String> {
    match serde_json::from_str::<Members<'_>>(text) {
        Ok(members) => fast(&members, text.len(), stamp),
        Err(_) => tree(text, stamp),
    }
}

fn fast(members: &Members<'_>, len: usize, stamp: &Stamp<'_>) -> Option<String> {
    let mut out = String::with_capacity(len + 96);
    let (mut id, mut status, mut meta) = (false, false, false);
    out.push('{');
    for (key, value) in &members.0 {
        if out.len() > 1 {
            out.push(',');
        }
        let _ = write!(out, "\"{key}\":");
        match *key {
            "id" => {
                id = true;
                string(&mut out, stamp.id);
            }
            "status" => {
                status = true;
                string(&mut out, stamp.status);
            }
            "meta" => {
                meta = true;
                let inner = serde_json::from_str::<Members<'_>>(value.get()).ok()?;
                write_meta(&mut out, &inner.0, stamp);
            }
            _ => out.push_str(value.get()),
        }
    }
    if !id {
        sep(&mut out);
        out.push_str("\"id\":");
        string(&mut out, stamp.id);
    }
    if !meta {
        sep(&mut out);
        out.push_str("\"meta\":");
        write_meta(&mut out, &[], stamp);
    }
    if !status {
        sep(&mut out);
        out.push_str("\"status\":");
        string(&mut out, stamp.status);
    }
    out.push('}');
    Some(out)
}

fn sep(out: &mut String) {
    if out.len() > 1 {
        out.push(',');
    }
}

fn write_meta(out: &mut String, members: &[(&str, &RawValue)], stamp: &Stamp<'_>) {
    let _ = write!(
        out,
        "{{\"versionId\":\"{}\",\"lastUpdated\":",
        stamp.version
    );
    string(out, stamp.last_updated);
    for (key, value) in members {
        if *key != "versionId" && *key != "lastUpdated" {
            let _ = write!(out, ",\"{key}\":{}", value.get());
        }
    }
    out.push('}');
}

/// The same result through a JSON tree, for text the fast path cannot split.
fn tree(text: &str, stamp: &Stamp<'_>) -> Option<String> {
    let mut resource: Value = serde_json::from_str(text).ok()?;
    let obj = resource.as_object_mut()?;
    obj.insert("id".into(), Value::String(stamp.id.to_owned()));
    obj.insert("status".into(), Value::String(stamp.status.to_owned()));
    let meta = obj
        .entry("meta")
        .or_insert_with(|| Value::Object(Default::default()));
    let meta = meta.as_object_mut()?;
    meta.insert("versionId".into(), Value::String(stamp.version.to_string()));
    meta.insert(
        "lastUpdated".into(),
        Value::String(stamp.last_updated.to_owned()),
    );
    Some(resource.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp() -> Stamp<'static> {
        Stamp {
            id: "abc",
            status: "amended",
            version: 3,
            last_updated: "2026-01-02T03:04:05.000006Z",
        }
    }

    fn same(a: &str, b: &str) {
        let (a, b): (Value, Value) = (
            serde_json::from_str(a).unwrap(),
            serde_json::from_str(b).unwrap(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn the_fast_path_and_the_tree_path_serve_the_same_resource() {
        let text = r#"{"resourceType":"Observation","id":"old","meta":{"source":"s","versionId":"1"},"status":"final","valueQuantity":{"value":1.50}}"#;
        let fast = serve(text, &stamp()).unwrap();
        same(&fast, &tree(text, &stamp()).unwrap());
        assert!(
            fast.contains(r#""value":1.50"#),
            "numbers keep their text: {fast}"
        );
        assert!(fast
            .starts_with(r#"{"resourceType":"Observation","id":"abc","meta":{"versionId":"3","#));
    }

    #[test]
    fn missing_members_are_added_and_escaped_keys_take_the_tree_path() {
        let fast = serve(r#"{"resourceType":"Observation"}"#, &stamp()).unwrap();
        same(
            &fast,
            r#"{"resourceType":"Observation","id":"abc","status":"amended","meta":{"versionId":"3","lastUpdated":"2026-01-02T03:04:05.000006Z"}}"#,
        );
        let escaped = r#"{"resourceType":"Observation","\u0073tatus":"final"}"#;
        let served: Value = serde_json::from_str(&serve(escaped, &stamp()).unwrap()).unwrap();
        assert_eq!(served["status"], "amended");
    }

    #[test]
    fn what_is_not_a_json_object_is_refused() {
        for bad in ["", "[1]", "{\"a\":", "not json", "{\"meta\":[]}"] {
            assert!(serve(bad, &stamp()).is_none(), "{bad}");
        }
    }
}
