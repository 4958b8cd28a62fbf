DROP INDEX observations_portal_updated;
DROP TABLE fhir_push_rejections;
DROP TABLE fhir_push;
