DROP TABLE export_chunks;
DROP TABLE exports;
ALTER TABLE members DROP COLUMN observation_max_span;
DROP TABLE observation_codes;
DROP TABLE observations;
