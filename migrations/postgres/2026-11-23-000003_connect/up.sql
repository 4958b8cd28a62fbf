-- A one-time link to the consent page. Only a hash of the link's token is stored.
-- On first use the link turns into a page session held in an HttpOnly cookie; only
-- a hash of the cookie is stored too. The portal's return URL is sealed with the
-- member's data key (it may carry the portal's own identifiers).
CREATE TABLE connect_sessions (
    id                 TEXT PRIMARY KEY NOT NULL,
    portal_id          TEXT NOT NULL REFERENCES portals (id),
    member_id          TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    token_hash         BYTEA NOT NULL UNIQUE,
    offer              TEXT NOT NULL,
    return_url_sealed  BYTEA,
    created_at         TIMESTAMP NOT NULL,
    expires_at         TIMESTAMP NOT NULL,
    used_at            TIMESTAMP,
    browser_hash       BYTEA UNIQUE,
    browser_expires_at TIMESTAMP
);
CREATE INDEX connect_sessions_member ON connect_sessions (member_id);

-- An OAuth authorization in flight: one-time `state` (hashed), bound to the page
-- session, with the PKCE verifier sealed with the member's data key.
CREATE TABLE oauth_states (
    state_hash      BYTEA PRIMARY KEY NOT NULL,
    session_id      TEXT NOT NULL REFERENCES connect_sessions (id) ON DELETE CASCADE,
    member_id       TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    vendor          TEXT NOT NULL,
    data_types      TEXT NOT NULL,
    verifier_sealed BYTEA NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    expires_at      TIMESTAMP NOT NULL
);

-- A member's link to one vendor account. `data_types` are the types granted and
-- enabled (JSON array); `scopes` what the vendor granted; `not_granted` the types
-- asked for that those scopes do not cover.
CREATE TABLE connections (
    id            TEXT PRIMARY KEY NOT NULL,
    portal_id     TEXT NOT NULL REFERENCES portals (id),
    member_id     TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    vendor        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'reauth_required', 'revoked')),
    data_types    TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    not_granted   TEXT NOT NULL,
    vendor_app_id TEXT,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    last_sync_at  TIMESTAMP,
    UNIQUE (member_id, vendor)
);
CREATE INDEX connections_portal ON connections (portal_id);

-- The vendor's tokens for a connection, sealed with the member's data key.
-- `generation` grows with every refresh; `refresh_lease_until` lets one worker at a
-- time refresh (the others wait for the next generation).
CREATE TABLE connection_tokens (
    connection_id       TEXT PRIMARY KEY NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    member_id           TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    access_sealed       BYTEA NOT NULL,
    refresh_sealed      BYTEA,
    access_expires_at   TIMESTAMP,
    generation          BIGINT NOT NULL,
    refresh_lease_until TIMESTAMP,
    updated_at          TIMESTAMP NOT NULL
);

-- Every change of a member's grant: who, what, when, through which channel.
CREATE TABLE consent_events (
    id         TEXT PRIMARY KEY NOT NULL,
    portal_id  TEXT NOT NULL REFERENCES portals (id),
    member_id  TEXT NOT NULL REFERENCES members (id) ON DELETE CASCADE,
    vendor     TEXT NOT NULL,
    action     TEXT NOT NULL,
    data_types TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    channel    TEXT NOT NULL,
    at         TIMESTAMP NOT NULL
);
CREATE INDEX consent_events_member ON consent_events (member_id, at);
