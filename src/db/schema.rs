//! The one schema both backends share. Migrations in `migrations/sqlite` and
//! `migrations/postgres` must produce tables that match it.

diesel::table! {
    key_ring (purpose, version) {
        purpose -> Text,
        version -> Integer,
        wrapped -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    portals (id) {
        id -> Text,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    members (id) {
        id -> Text,
        portal_id -> Text,
        user_key_hash -> Binary,
        user_key_sealed -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    member_keys (member_id) {
        member_id -> Text,
        kek_version -> Integer,
        wrapped -> Binary,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_keys (id) {
        id -> Text,
        portal_id -> Text,
        prefix -> Text,
        secret_hash -> Binary,
        scopes -> Text,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    vendor_apps (id) {
        id -> Text,
        portal_id -> Text,
        vendor -> Text,
        client_id -> Text,
        client_secret_sealed -> Binary,
        redirect_uri -> Nullable<Text>,
        scopes -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    audit_events (seq) {
        seq -> BigInt,
        at -> Timestamp,
        portal_id -> Nullable<Text>,
        actor_type -> Text,
        actor_id -> Text,
        action -> Text,
        target_type -> Text,
        target_id -> Nullable<Text>,
        outcome -> Text,
        request_id -> Nullable<Text>,
        prev_hash -> Binary,
        hash -> Binary,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Binary,
    }
}

diesel::joinable!(members -> portals (portal_id));
diesel::joinable!(api_keys -> portals (portal_id));
diesel::joinable!(vendor_apps -> portals (portal_id));
diesel::joinable!(member_keys -> members (member_id));
diesel::allow_tables_to_appear_in_same_query!(
    key_ring,
    portals,
    members,
    member_keys,
    api_keys,
    vendor_apps,
    audit_events,
    audit_head,
);
