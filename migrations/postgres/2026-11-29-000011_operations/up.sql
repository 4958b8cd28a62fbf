-- Operations (issue 10): availability samples, maintenance windows, incidents.
-- Nothing here names a portal or a member: it is what the public status page and
-- the SLA report are built from.

-- One row per check round of one hub process (`instance`). `ok` is whether every
-- core function answered; `failed` lists the failed components (comma-separated
-- names such as `database`). `interval_ms` is the monitor's interval when the
-- sample was taken: a sample stands for at most twice that (see ops::sla).
CREATE TABLE availability_samples (
    id          TEXT PRIMARY KEY NOT NULL,
    instance    TEXT NOT NULL,
    at          TIMESTAMP NOT NULL,
    ok          BOOLEAN NOT NULL,
    failed      TEXT NOT NULL,
    interval_ms BIGINT NOT NULL
);
CREATE INDEX availability_samples_at ON availability_samples (at);

-- Planned maintenance. `announced_at` is when portals were told (the
-- `maintenance.scheduled` event was queued); downtime inside a window counts as
-- excluded only when it was announced before the window started.
CREATE TABLE maintenance_windows (
    id           TEXT PRIMARY KEY NOT NULL,
    starts_at    TIMESTAMP NOT NULL,
    ends_at      TIMESTAMP NOT NULL,
    reason       TEXT NOT NULL,
    source       TEXT NOT NULL CHECK (source IN ('operator', 'config')),
    announced_at TIMESTAMP,
    created_at   TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX maintenance_windows_slot ON maintenance_windows (starts_at, ends_at);

-- Incidents, opened by the monitor (`automatic`) or by an operator. `last_notice_at`
-- is when portals were last told (opened or updated), for the four-hourly update.
CREATE TABLE incidents (
    id             TEXT PRIMARY KEY NOT NULL,
    severity       INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    state          TEXT NOT NULL CHECK (state IN ('open', 'resolved')),
    title          TEXT NOT NULL,
    cause          TEXT NOT NULL,
    message        TEXT NOT NULL,
    automatic      BOOLEAN NOT NULL,
    opened_at      TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    resolved_at    TIMESTAMP,
    last_notice_at TIMESTAMP NOT NULL
);
CREATE INDEX incidents_opened ON incidents (opened_at);

-- Incident notices the monitor sent directly (not through the outbox, which may be
-- down with the database), recorded once the database is back.
CREATE TABLE incident_notices (
    id          TEXT PRIMARY KEY NOT NULL,
    incident_id TEXT NOT NULL,
    kind        TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    sent_at     TIMESTAMP NOT NULL,
    delivered   BOOLEAN NOT NULL
);
