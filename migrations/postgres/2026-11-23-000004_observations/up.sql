-- Observations: the FHIR resource sealed with the member's data key (bound to this
-- table, the observation id and the member), beside the plain columns searches use.
-- Instants are Unix microseconds in UTC; the source's offset stays inside the sealed
-- resource. `identifier_hash` and `content_hash` are HMACs under the ring's index key.
CREATE TABLE observations (
    id              TEXT PRIMARY KEY NOT NULL,
    portal_id       TEXT NOT NULL REFERENCES portals (id),
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    identifier_hash BYTEA NOT NULL,
    vendor          TEXT NOT NULL,
    data_type       TEXT NOT NULL,
    categories      TEXT NOT NULL,
    effective_start BIGINT NOT NULL,
    effective_end   BIGINT NOT NULL,
    version_id      BIGINT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('final', 'amended')),
    last_updated    BIGINT NOT NULL,
    content_hash    BYTEA NOT NULL,
    resource_sealed BYTEA NOT NULL,
    UNIQUE (member_id, identifier_hash)
);
-- patient + date (sorted either way) and keyset paging on (effective_start, id).
CREATE INDEX observations_member_date ON observations (member_id, effective_start, id);
-- _since of exports and _lastUpdated.
CREATE INDEX observations_member_updated ON observations (member_id, last_updated, id);
CREATE INDEX observations_portal ON observations (portal_id);

-- Every coding of Observation.code, with the member and start copied in, so that
-- patient + code + date is one range scan of one index on both backends.
CREATE TABLE observation_codes (
    observation_id  TEXT NOT NULL REFERENCES observations (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL,
    system          TEXT NOT NULL,
    code            TEXT NOT NULL,
    effective_start BIGINT NOT NULL,
    PRIMARY KEY (observation_id, system, code)
);
CREATE INDEX observation_codes_search ON observation_codes (member_id, code, effective_start, observation_id);

-- The longest effective period among a member's observations: turns `date=ge…`
-- (a condition on the end) into a bounded range on the start.
ALTER TABLE members ADD COLUMN observation_max_span BIGINT NOT NULL DEFAULT 0;

-- Bulk Data exports of a portal. The export's own data key is sealed under the ring
-- (`key_sealed`); every NDJSON chunk is sealed with it.
CREATE TABLE exports (
    id               TEXT PRIMARY KEY NOT NULL,
    portal_id        TEXT NOT NULL REFERENCES portals (id),
    request          TEXT NOT NULL,
    types            TEXT NOT NULL,
    since            BIGINT,
    status           TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    progress         TEXT NOT NULL,
    transaction_time BIGINT NOT NULL,
    key_sealed       BYTEA NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX exports_portal ON exports (portal_id);

-- NDJSON of an export in sealed chunks of up to 1000 lines, per resource type.
CREATE TABLE export_chunks (
    export_id     TEXT NOT NULL REFERENCES exports (id) ON DELETE CASCADE,
    resource_type TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    lines         INTEGER NOT NULL,
    sealed        BYTEA NOT NULL,
    PRIMARY KEY (export_id, resource_type, seq)
);
