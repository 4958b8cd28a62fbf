//! Newtypes for the identifiers that cross the hub's edges. Parse, don't validate:
//! once a value has one of these types, it is well-formed.

use std::fmt;

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn new() -> Self {
                Self(uuid::Uuid::new_v4().to_string())
            }

            /// Accepts only a UUID in its hyphenated lower-case form.
            pub fn parse(s: &str) -> Option<Self> {
                let u = uuid::Uuid::parse_str(s).ok()?;
                (u.hyphenated().to_string() == s).then(|| Self(s.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

uuid_id!(
    /// A tenant.
    PortalId
);
uuid_id!(
    /// The hub's own id of a member (never the portal's User Key).
    MemberId
);

/// The portal's own identifier of a member: personal data. `Debug` is redacted and
/// there is no `Display`, so it cannot end up in a log line by accident.
#[derive(Clone, PartialEq, Eq)]
pub struct UserKey(String);

impl UserKey {
    pub const MAX_CHARS: usize = 128;

    /// 1 to 128 characters, none of them a control character.
    pub fn parse(s: &str) -> Result<Self, &'static str> {
        let n = s.chars().count();
        if n == 0 {
            return Err("user_key must not be empty");
        }
        if n > Self::MAX_CHARS {
            return Err("user_key must be at most 128 characters");
        }
        if s.chars().any(char::is_control) {
            return Err("user_key must contain printable characters only");
        }
        Ok(Self(s.to_owned()))
    }

    /// The value itself, for sealing and for returning to the portal that owns it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("UserKey([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_reject_other_forms() {
        let id = MemberId::new();
        assert_eq!(MemberId::parse(id.as_str()), Some(id.clone()));
        assert!(MemberId::parse("not-a-uuid").is_none());
        assert!(MemberId::parse(&id.as_str().to_uppercase()).is_none());
    }

    #[test]
    fn user_keys() {
        assert!(UserKey::parse("patient-42").is_ok());
        assert!(UserKey::parse(&"é".repeat(128)).is_ok());
        assert!(UserKey::parse(&"x".repeat(129)).is_err());
        assert!(UserKey::parse("").is_err());
        assert!(UserKey::parse("a\u{0}b").is_err());
        assert!(UserKey::parse("a\nb").is_err());
        assert_eq!(
            format!("{:?}", UserKey::parse("secret").unwrap()),
            "UserKey([redacted])"
        );
    }
}

/// Serialise stored UTC timestamps (naive in the database) as RFC 3339 with `Z`.
pub mod utc {
    use chrono::NaiveDateTime;
    use serde::Serializer;

    const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

    pub fn serialize<S: Serializer>(t: &NaiveDateTime, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&t.format(FORMAT))
    }

    pub mod option {
        use super::*;

        pub fn serialize<S: Serializer>(
            t: &Option<NaiveDateTime>,
            s: S,
        ) -> Result<S::Ok, S::Error> {
            match t {
                Some(t) => s.collect_str(&t.format(FORMAT)),
                None => s.serialize_none(),
            }
        }
    }
}
