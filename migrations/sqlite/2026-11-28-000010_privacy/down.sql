DROP TABLE erasure_journal;
DELETE FROM jobs WHERE kind IN ('vendor_revoke', 'backup');
CREATE TABLE jobs_v9 (
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
INSERT INTO jobs_v9 SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v9 RENAME TO jobs;
CREATE UNIQUE INDEX jobs_one_queued ON jobs (lock_key, kind)
    WHERE state = 'queued' AND kind <> 'backfill';
CREATE UNIQUE INDEX jobs_one_running ON jobs (lock_key) WHERE state = 'running';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_connection ON jobs (connection_id);
