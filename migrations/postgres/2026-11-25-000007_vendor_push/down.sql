DROP TABLE rate_buckets;
DELETE FROM jobs WHERE kind = 'subscribe';
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping'));
DROP INDEX connections_vendor_user;
ALTER TABLE connections DROP COLUMN vendor_user_hash;
