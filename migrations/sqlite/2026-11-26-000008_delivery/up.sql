-- Delivery to portals (issue 8): webhook endpoints, the outbox of events, and one
-- delivery row per event and endpoint.
--
-- An endpoint's signing secret is sealed under the key ring; during a rotation the
-- previous secret is kept until `previous_until` and both signatures are sent.
-- `events` is a JSON list of event types, `[]` meaning every type.
CREATE TABLE webhook_endpoints (
    id                     TEXT PRIMARY KEY NOT NULL,
    portal_id              TEXT NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    url                    TEXT NOT NULL,
    events                 TEXT NOT NULL,
    secret_sealed          BLOB NOT NULL,
    previous_secret_sealed BLOB,
    previous_until         TIMESTAMP,
    enabled                BOOLEAN NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL
);
CREATE INDEX webhook_endpoints_portal ON webhook_endpoints (portal_id);

-- The outbox: written in the transaction of the change it reports. No PHI: ids,
-- vendor, data types, time ranges and counts. The member's User Key is not stored
-- here; it is read from the member when the event is sent, except for
-- `member.erased`, whose User Key is sealed in `user_key_sealed` (the member row is
-- gone by then). `seq` numbers a member's events (1, 2, …); 0 for hub-wide events.
CREATE TABLE events (
    id              TEXT PRIMARY KEY NOT NULL,
    portal_id       TEXT NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    member_id       TEXT,
    seq             BIGINT NOT NULL,
    kind            TEXT NOT NULL,
    data            TEXT NOT NULL,
    user_key_sealed BLOB,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX events_portal_time ON events (portal_id, created_at);
CREATE INDEX events_member ON events (member_id);

-- One row per event and endpoint. `pending` rows are due at `next_attempt_at`; a
-- dispatcher claims one by setting `lease_until`. `last_error` is a reason written
-- by the hub (never the receiver's body).
CREATE TABLE webhook_deliveries (
    id              TEXT PRIMARY KEY NOT NULL,
    event_id        TEXT NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    endpoint_id     TEXT NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    portal_id       TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until     TIMESTAMP,
    last_status     INTEGER,
    last_error      TEXT,
    last_attempt_at TIMESTAMP,
    delivered_at    TIMESTAMP,
    created_at      TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_portal ON webhook_deliveries (portal_id, created_at);
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);

-- The last sequence number given to one of the member's events.
ALTER TABLE members ADD COLUMN event_seq BIGINT NOT NULL DEFAULT 0;
