-- A search by code finds ids in `observation_codes_search` and then fetches each
-- observation by id. Through the primary key's B-tree that is a descent of three or
-- four pages with text comparisons per row; a hash index answers the same equality
-- from one bucket page. The primary key stays (a hash index cannot back a unique
-- constraint); the planner picks the hash index for the lookups.
CREATE INDEX observations_id_hash ON observations USING hash (id);
