DROP INDEX observations_id_hash;
