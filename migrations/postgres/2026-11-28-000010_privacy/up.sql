-- Privacy (issue 9). `vendor_revoke` jobs call a vendor's revoke or deregistration
-- endpoint after the hub has already deleted the connection locally: the token the
-- call needs travels in the job's payload sealed under the key ring (the member's
-- own key may be gone), and the job row is deleted once the call is done.
-- `backup` jobs run `tributary backup` on the schedule in `[backup]`.
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
    CHECK (kind IN ('backfill', 'incremental', 'token_refresh', 'housekeeping', 'subscribe',
                    'vendor_revoke', 'backup'));

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
