-- Privacy (issue 9). `vendor_revoke` jobs call a vendor's revoke or deregistration
-- endpoint after the hub has already deleted the connection locally: the token the
-- call needs travels in the job's payload sealed under the key ring (the member's
-- own key may be gone), and the job row is deleted once the call is done.
-- `backup` jobs run `tributary backup` on the schedule in `[backup]`. SQLite cannot
-- change a CHECK constraint, so the jobs table is rebuilt.
CREATE TABLE jobs_v10 (
    id            TEXT PRIMARY KEY NOT NULL,
    kind          TEXT NOT NULL
                  CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping', 'subscribe',
                              'vendor_revoke', 'backup')),
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
INSERT INTO jobs_v10 SELECT * FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_v10 RENAME TO jobs;
CREATE UNIQUE INDEX jobs_one_queued ON jobs (lock_key, kind)
    WHERE state = 'queued' AND kind <> 'backfill';
CREATE UNIQUE INDEX jobs_one_running ON jobs (lock_key) WHERE state = 'running';
CREATE INDEX jobs_due ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_leases ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_connection ON jobs (connection_id);

-- The erasure journal: one signed deletion receipt per erased member. It holds no
-- personal data (ids, a time and counts) and is also appended to a file outside the
-- database, so a restore can re-apply erasures made after its backup.
CREATE TABLE erasure_journal (
    id         TEXT PRIMARY KEY NOT NULL,
    member_id  TEXT NOT NULL,
    portal_id  TEXT NOT NULL,
    erased_at  TIMESTAMP NOT NULL,
    receipt    TEXT NOT NULL
);
CREATE INDEX erasure_journal_at ON erasure_journal (erased_at);
CREATE INDEX erasure_journal_member ON erasure_journal (member_id);
