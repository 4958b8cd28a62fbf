ALTER TABLE connection_tokens DROP COLUMN vendor_user_sealed;
