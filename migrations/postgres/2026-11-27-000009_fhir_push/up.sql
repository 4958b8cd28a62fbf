-- FHIR push (issue 8, item 5): per portal, the portal's FHIR server, how to
-- authenticate there, and where the push has got to.
--
-- The secret (a bearer token, or an OAuth 2 client secret) is sealed under the key
-- ring. `cursor_updated`/`cursor_id` is the last observation pushed, in the order
-- (last_updated, id) of the portal's observations. A pusher takes the row with a
-- lease (`lease_token`, `lease_until`); every write it makes is fenced by its
-- token, and a change made through the API clears the token, so a pusher that
-- started before the change cannot move the cursor after it. `last_error` is in
-- the hub's words, never the portal's body.
CREATE TABLE fhir_push (
    portal_id       TEXT PRIMARY KEY NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    base_url        TEXT NOT NULL,
    auth_kind       TEXT NOT NULL CHECK (auth_kind IN ('bearer', 'client_credentials')),
    token_url       TEXT,
    client_id       TEXT,
    scope           TEXT,
    secret_sealed   BYTEA NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('ok', 'retrying', 'failed')),
    cursor_updated  BIGINT NOT NULL,
    cursor_id       TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at TIMESTAMP NOT NULL,
    lease_token     TEXT,
    lease_until     TIMESTAMP,
    last_success_at TIMESTAMP,
    last_error      TEXT,
    last_error_at   TIMESTAMP,
    pushed_count    BIGINT NOT NULL,
    rejected_count  BIGINT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

-- Observations the portal's server refused (a 4xx for the entry alone): pushed
-- once, not retried until they change or the portal asks for a resend. The
-- server's OperationOutcome (at most 8 KiB) is sealed under the ring: it may echo
-- what it refused.
CREATE TABLE fhir_push_rejections (
    portal_id       TEXT NOT NULL REFERENCES portals (id) ON DELETE CASCADE,
    observation_id  TEXT NOT NULL,
    version_id      BIGINT NOT NULL,
    status          INTEGER NOT NULL,
    outcome_sealed  BYTEA,
    rejected_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (portal_id, observation_id)
);

-- The pusher's walk over a portal's observations, in (last_updated, id) order.
CREATE INDEX observations_portal_updated ON observations (portal_id, last_updated, id);
