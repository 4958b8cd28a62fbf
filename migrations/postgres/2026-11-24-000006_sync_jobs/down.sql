DROP TABLE sync_state;
DROP TABLE jobs;
