ALTER TABLE members DROP COLUMN event_seq;
DROP TABLE webhook_deliveries;
DROP TABLE events;
DROP TABLE webhook_endpoints;
