-- Vendor outages (issue 10): each availability sample also says which vendors the
-- instance saw answering (`vendors_up`) and which failed every call of the round
-- (`vendors_down`), as comma-separated vendor ids. Vendor ids only: no member, no
-- token, no response. A vendor in neither list was unknown to that instance (no
-- call for ten minutes). Vendor outages are recorded per vendor and are never the
-- hub's downtime (see ops::sla, ops::vendor_health).
ALTER TABLE availability_samples ADD COLUMN vendors_up TEXT NOT NULL DEFAULT '';
ALTER TABLE availability_samples ADD COLUMN vendors_down TEXT NOT NULL DEFAULT '';
