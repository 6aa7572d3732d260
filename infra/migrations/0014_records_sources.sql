-- Records sources (issue 11): a leave request remembers the source that brought it in, so a request deleted in
-- the HR system is deleted here by that source's next run (one the source still lists is only updated). Requests
-- imported from CSV files have no source and are never removed this way.
ALTER TABLE leave_records ADD COLUMN source_id bigint REFERENCES sources ON DELETE SET NULL;
CREATE INDEX leave_records_source ON leave_records (source_id) WHERE source_id IS NOT NULL;
