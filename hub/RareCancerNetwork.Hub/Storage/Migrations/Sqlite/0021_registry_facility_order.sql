-- A facility's records are listed in record-id order (keyset pages), which the index by enrolment date did not serve;
-- and a registry history arrives spread over years of enrolment dates, so that index took each new record on a page of
-- its own. Record ids are time-ordered: by facility and id, new records land at the end of their facility's range.
DROP INDEX ix_registry_records_facility;
CREATE INDEX ix_registry_records_facility ON registry_records (facility_code, record_id);
