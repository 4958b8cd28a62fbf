-- The key ring: key-encryption keys (purpose 'kek', versioned) and the lookup-hash
-- key (purpose 'index'), each sealed under the master key, which is never stored.
CREATE TABLE key_ring (
    purpose    TEXT    NOT NULL CHECK (purpose IN ('kek', 'index')),
    version    INTEGER NOT NULL CHECK (version > 0),
    wrapped    BLOB    NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (purpose, version)
);

-- Tenants.
CREATE TABLE portals (
    id         TEXT PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- A portal's member. The User Key is personal data: stored sealed with the member's
-- data key, and found through a keyed hash (HMAC under the ring's index key).
CREATE TABLE members (
    id              TEXT PRIMARY KEY NOT NULL,
    portal_id       TEXT NOT NULL REFERENCES portals (id),
    user_key_hash   BLOB NOT NULL,
    user_key_sealed BLOB NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    UNIQUE (portal_id, user_key_hash)
);

-- Each member's data key, wrapped by one version of the key ring's KEK.
CREATE TABLE member_keys (
    member_id   TEXT PRIMARY KEY NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    kek_version INTEGER NOT NULL,
    wrapped     BLOB NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX member_keys_kek_version ON member_keys (kek_version);
