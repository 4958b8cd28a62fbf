-- PostgreSQL only (a hash index on observations.id): SQLite has no hash indexes.
-- Kept so that both backends list the same migrations.
SELECT 1;
