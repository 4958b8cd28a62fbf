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
        observation_max_span -> BigInt,
        event_seq -> BigInt,
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

diesel::table! {
    connect_sessions (id) {
        id -> Text,
        portal_id -> Text,
        member_id -> Text,
        token_hash -> Binary,
        offer -> Text,
        return_url_sealed -> Nullable<Binary>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        browser_hash -> Nullable<Binary>,
        browser_expires_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    oauth_states (state_hash) {
        state_hash -> Binary,
        session_id -> Text,
        member_id -> Text,
        vendor -> Text,
        data_types -> Text,
        verifier_sealed -> Binary,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    connections (id) {
        id -> Text,
        portal_id -> Text,
        member_id -> Text,
        vendor -> Text,
        status -> Text,
        data_types -> Text,
        scopes -> Text,
        not_granted -> Text,
        vendor_app_id -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        last_sync_at -> Nullable<Timestamp>,
        vendor_user_hash -> Nullable<Binary>,
    }
}

diesel::table! {
    connection_tokens (connection_id) {
        connection_id -> Text,
        member_id -> Text,
        access_sealed -> Binary,
        refresh_sealed -> Nullable<Binary>,
        access_expires_at -> Nullable<Timestamp>,
        generation -> BigInt,
        refresh_lease_until -> Nullable<Timestamp>,
        updated_at -> Timestamp,
        vendor_user_sealed -> Nullable<Binary>,
    }
}

diesel::table! {
    consent_events (id) {
        id -> Text,
        portal_id -> Text,
        member_id -> Text,
        vendor -> Text,
        action -> Text,
        data_types -> Text,
        scopes -> Text,
        channel -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    observations (id) {
        id -> Text,
        portal_id -> Text,
        member_id -> Text,
        identifier_hash -> Binary,
        vendor -> Text,
        data_type -> Text,
        categories -> Text,
        effective_start -> BigInt,
        effective_end -> BigInt,
        version_id -> BigInt,
        status -> Text,
        last_updated -> BigInt,
        content_hash -> Binary,
        resource_sealed -> Binary,
    }
}

diesel::table! {
    observation_codes (observation_id, system, code) {
        observation_id -> Text,
        member_id -> Text,
        system -> Text,
        code -> Text,
        effective_start -> BigInt,
    }
}

diesel::table! {
    exports (id) {
        id -> Text,
        portal_id -> Text,
        request -> Text,
        types -> Text,
        since -> Nullable<BigInt>,
        status -> Text,
        progress -> Text,
        transaction_time -> BigInt,
        key_sealed -> Binary,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    export_chunks (export_id, resource_type, seq) {
        export_id -> Text,
        resource_type -> Text,
        seq -> Integer,
        lines -> Integer,
        sealed -> Binary,
    }
}

diesel::table! {
    jobs (id) {
        id -> Text,
        kind -> Text,
        lock_key -> Text,
        connection_id -> Nullable<Text>,
        data_type -> Nullable<Text>,
        payload -> Text,
        state -> Text,
        attempts -> Integer,
        max_attempts -> Integer,
        run_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        worker -> Nullable<Text>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    rate_buckets (key) {
        key -> Text,
        next_at -> BigInt,
        paused_until -> BigInt,
    }
}

diesel::table! {
    sync_state (connection_id, data_type) {
        connection_id -> Text,
        data_type -> Text,
        state -> Text,
        backfill_from -> Timestamp,
        oldest_fetched -> Nullable<Timestamp>,
        fetched_until -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamp>,
        next_sync_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (id) {
        id -> Text,
        portal_id -> Text,
        url -> Text,
        events -> Text,
        secret_sealed -> Binary,
        previous_secret_sealed -> Nullable<Binary>,
        previous_until -> Nullable<Timestamp>,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    events (id) {
        id -> Text,
        portal_id -> Text,
        member_id -> Nullable<Text>,
        seq -> BigInt,
        kind -> Text,
        data -> Text,
        user_key_sealed -> Nullable<Binary>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Text,
        event_id -> Text,
        endpoint_id -> Text,
        portal_id -> Text,
        status -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    fhir_push (portal_id) {
        portal_id -> Text,
        base_url -> Text,
        auth_kind -> Text,
        token_url -> Nullable<Text>,
        client_id -> Nullable<Text>,
        scope -> Nullable<Text>,
        secret_sealed -> Binary,
        state -> Text,
        cursor_updated -> BigInt,
        cursor_id -> Text,
        attempts -> Integer,
        next_attempt_at -> Timestamp,
        lease_token -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
        last_success_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        last_error_at -> Nullable<Timestamp>,
        pushed_count -> BigInt,
        rejected_count -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    fhir_push_rejections (portal_id, observation_id) {
        portal_id -> Text,
        observation_id -> Text,
        version_id -> BigInt,
        status -> Integer,
        outcome_sealed -> Nullable<Binary>,
        rejected_at -> Timestamp,
    }
}

diesel::table! {
    erasure_journal (id) {
        id -> Text,
        member_id -> Text,
        portal_id -> Text,
        erased_at -> Timestamp,
        receipt -> Text,
    }
}

diesel::table! {
    availability_samples (id) {
        id -> Text,
        instance -> Text,
        at -> Timestamp,
        ok -> Bool,
        failed -> Text,
        interval_ms -> BigInt,
        vendors_up -> Text,
        vendors_down -> Text,
    }
}

diesel::table! {
    maintenance_windows (id) {
        id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Text,
        source -> Text,
        announced_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    incidents (id) {
        id -> Text,
        severity -> Integer,
        state -> Text,
        title -> Text,
        cause -> Text,
        message -> Text,
        automatic -> Bool,
        opened_at -> Timestamp,
        updated_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        last_notice_at -> Timestamp,
    }
}

diesel::table! {
    incident_notices (id) {
        id -> Text,
        incident_id -> Text,
        kind -> Text,
        endpoint_id -> Text,
        sent_at -> Timestamp,
        delivered -> Bool,
    }
}

diesel::joinable!(webhook_deliveries -> events (event_id));
diesel::joinable!(webhook_deliveries -> webhook_endpoints (endpoint_id));
diesel::joinable!(members -> portals (portal_id));
diesel::joinable!(jobs -> connections (connection_id));
diesel::joinable!(sync_state -> connections (connection_id));
diesel::joinable!(observations -> members (member_id));
diesel::joinable!(observation_codes -> observations (observation_id));
diesel::joinable!(export_chunks -> exports (export_id));
diesel::joinable!(api_keys -> portals (portal_id));
diesel::joinable!(vendor_apps -> portals (portal_id));
diesel::joinable!(member_keys -> members (member_id));
diesel::joinable!(connections -> members (member_id));
diesel::joinable!(connection_tokens -> connections (connection_id));
diesel::allow_tables_to_appear_in_same_query!(
    key_ring,
    portals,
    members,
    member_keys,
    api_keys,
    vendor_apps,
    audit_events,
    audit_head,
    connect_sessions,
    oauth_states,
    connections,
    connection_tokens,
    consent_events,
    observations,
    observation_codes,
    exports,
    export_chunks,
    jobs,
    sync_state,
    webhook_endpoints,
    events,
    webhook_deliveries,
    fhir_push,
    fhir_push_rejections,
    erasure_journal,
    availability_samples,
    maintenance_windows,
    incidents,
    incident_notices,
);
