-- Vendor push (issue 6). A notification names the member by the vendor's own user
-- id; connections keep only its keyed hash (like a User Key's), so the hub can find
-- the connection without storing the id in the clear. `subscribe` jobs ask the
-- vendor to notify the hub of a connection's new data; SQLite cannot change a
-- CHECK constraint, so the jobs table is rebuilt with the new kind.
ALTER TABLE connections ADD COLUMN vendor_user_hash BLOB;
CREATE INDEX connections_vendor_user ON connections (vendor, vendor_user_hash)
    WHERE vendor_user_hash IS NOT NULL;

CREATE TABLE jobs_v7 (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL
                  CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping', 'subscribe')),
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
INSERT INTO jobs_v7 SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v7 RENAME TO jobs;
CREATE UNIQUE INDEX jobs_one_queued ON jobs (lock_key, kind)
    WHERE state = 'queued' AND kind <> 'backfill';
CREATE UNIQUE INDEX jobs_one_running ON jobs (lock_key) WHERE state = 'running';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_connection ON jobs (connection_id);

-- Vendor quotas shared by every process on this database: one row per bucket (a
-- vendor app, or a connection), GCRA with a burst of one. `next_at` is the
-- earliest instant of the bucket's next call, `paused_until` the end of a pause a
-- vendor asked for with 429; both in microseconds since the Unix epoch.
CREATE TABLE rate_buckets (
    key          TEXT PRIMARY KEY NOT NULL,
    next_at      BIGINT NOT NULL,
    paused_until BIGINT NOT NULL
);
