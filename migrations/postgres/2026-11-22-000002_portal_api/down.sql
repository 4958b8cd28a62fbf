DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE vendor_apps;
DROP TABLE api_keys;
