-- The vendor's id of the member's account, sealed with the member's key like the
-- tokens beside it (a keyed hash on `connections` finds a connection by it; this
-- keeps the id itself for the calls that must name it, such as Withings'
-- `action=revoke`). Deleted with the tokens; unreadable once the member's key is
-- destroyed.
ALTER TABLE connection_tokens ADD COLUMN vendor_user_sealed BLOB;
