-- Who owns a complaint now: the responsible person at its level (set when it opens and when it
-- escalates), or whoever staff hand it to. (SQLite cannot add a composite foreign key to an
-- existing table; the code only ever writes an active staff member of the same tenant.)
ALTER TABLE complaints ADD COLUMN assignee_id TEXT;
CREATE INDEX complaints_assignee_idx ON complaints (tenant_id, assignee_id) WHERE assignee_id IS NOT NULL;
