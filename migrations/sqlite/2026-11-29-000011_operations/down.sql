DROP TABLE incident_notices;
DROP TABLE incidents;
DROP TABLE maintenance_windows;
DROP TABLE availability_samples;
