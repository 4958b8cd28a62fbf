DROP TABLE erasure_journal;
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping', 'subscribe'));
