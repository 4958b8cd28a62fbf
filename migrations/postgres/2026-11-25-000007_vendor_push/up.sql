-- Vendor push (issue 6). A notification names the member by the vendor's own user
-- id; connections keep only its keyed hash (like a User Key's), so the hub can find
-- the connection without storing the id in the clear. `subscribe` jobs ask the
-- vendor to notify the hub of a connection's new data.
ALTER TABLE connections ADD COLUMN vendor_user_hash BYTEA;
CREATE INDEX connections_vendor_user ON connections (vendor, vendor_user_hash)
    WHERE vendor_user_hash IS NOT NULL;

ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping', 'subscribe'));

-- Vendor quotas shared by every process on this database: one row per bucket (a
-- vendor app, or a connection), GCRA with a burst of one. `next_at` is the
-- earliest instant of the bucket's next call, `paused_until` the end of a pause a
-- vendor asked for with 429; both in microseconds since the Unix epoch.
CREATE TABLE rate_buckets (
    key          TEXT PRIMARY KEY NOT NULL,
    next_at      BIGINT NOT NULL,
    paused_until BIGINT NOT NULL
);
