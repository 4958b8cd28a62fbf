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

diesel::joinable!(members -> portals (portal_id));
diesel::joinable!(member_keys -> members (member_id));
diesel::allow_tables_to_appear_in_same_query!(key_ring, portals, members, member_keys);
