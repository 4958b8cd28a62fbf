-- Portal API keys: only a SHA-256 of the key is stored; `prefix` is the part shown
-- in listings so that an operator can tell keys apart.
CREATE TABLE api_keys (
    id           TEXT PRIMARY KEY NOT NULL,
    portal_id    TEXT NOT NULL REFERENCES portals (id),
    prefix       TEXT NOT NULL,
    secret_hash  BYTEA NOT NULL UNIQUE,
    scopes       TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    revoked_at   TIMESTAMP
);
CREATE INDEX api_keys_portal ON api_keys (portal_id);

-- A developer's own OAuth client for one vendor; the secret is sealed under the ring.
CREATE TABLE vendor_apps (
    id                   TEXT PRIMARY KEY NOT NULL,
    portal_id            TEXT NOT NULL REFERENCES portals (id),
    vendor               TEXT NOT NULL,
    client_id            TEXT NOT NULL,
    client_secret_sealed BYTEA NOT NULL,
    redirect_uri         TEXT,
    scopes               TEXT NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    UNIQUE (portal_id, vendor)
);

-- Append-only, hash-chained audit log. Each entry's hash commits to the previous
-- entry's hash and to its own fields; audit_head holds the chain's end, and updating
-- it first serialises writers on both backends.
CREATE TABLE audit_events (
    seq         BIGINT PRIMARY KEY NOT NULL,
    at          TIMESTAMP NOT NULL,
    portal_id   TEXT,
    actor_type  TEXT NOT NULL,
    actor_id    TEXT NOT NULL,
    action      TEXT NOT NULL,
    target_type TEXT NOT NULL,
    target_id   TEXT,
    outcome     TEXT NOT NULL,
    request_id  TEXT,
    prev_hash   BYTEA NOT NULL,
    hash        BYTEA NOT NULL
);
CREATE INDEX audit_events_portal ON audit_events (portal_id, seq);

CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '\x0000000000000000000000000000000000000000000000000000000000000000'::bytea);
