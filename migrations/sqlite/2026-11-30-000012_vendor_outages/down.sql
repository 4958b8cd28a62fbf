ALTER TABLE availability_samples DROP COLUMN vendors_down;
ALTER TABLE availability_samples DROP COLUMN vendors_up;
