-- The durable job queue (issue 6). A job is claimed by setting `state = 'running'`
-- with a lease; a worker that dies leaves the lease to expire, and another worker
-- takes the job over. `lock_key` names what a job works on (a connection's data
-- type, say): at most one job per key is running, so a data type is never synced by
-- two workers at once; and at most one job per key and kind is queued, so repeated
-- requests coalesce (except backfill windows, each of which is its own job).
-- Jobs hold ids, kinds and time windows only, never health data; `last_error` is a
-- reason written by the hub, free of PHI.
CREATE TABLE jobs (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL
                  CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping')),
    lock_key      TEXT NOT NULL,
    connection_id TEXT REFERENCES connections (id) ON DELETE CASCADE,
    data_type     TEXT,
    payload       TEXT NOT NULL,
    state         TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    attempts      INTEGER NOT NULL,
    max_attempts  INTEGER NOT NULL,
    run_at        TIMESTAMP NOT NULL,
    lease_until   TIMESTAMP,
    worker        TEXT,
    last_error    TEXT,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    finished_at   TIMESTAMP
);
CREATE UNIQUE INDEX jobs_one_queued ON jobs (lock_key, kind)
    WHERE state = 'queued' AND kind <> 'backfill';
CREATE UNIQUE INDEX jobs_one_running ON jobs (lock_key) WHERE state = 'running';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_connection ON jobs (connection_id);

-- Sync progress per connection and data type, shown in the connections API:
-- how far back the backfill has reached, the newest instant fetched, the last
-- success and error (a reason, no PHI), and when the next incremental sync is due.
CREATE TABLE sync_state (
    connection_id   TEXT NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    data_type       TEXT NOT NULL,
    state           TEXT NOT NULL
                    CHECK (state IN ('backfilling', 'idle', 'syncing', 'error', 'reauth_required')),
    backfill_from   TIMESTAMP NOT NULL,
    oldest_fetched  TIMESTAMP,
    fetched_until   TIMESTAMP,
    last_success_at TIMESTAMP,
    last_error      TEXT,
    last_error_at   TIMESTAMP,
    next_sync_at    TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL,
    PRIMARY KEY (connection_id, data_type)
);
CREATE INDEX sync_state_due ON sync_state (next_sync_at);
