-- Who owns a complaint now: the responsible person at its level (set when it opens and when it
-- escalates), or whoever staff hand it to.
ALTER TABLE complaints ADD COLUMN assignee_id TEXT;
ALTER TABLE complaints ADD CONSTRAINT complaints_assignee_fk
    FOREIGN KEY (tenant_id, assignee_id) REFERENCES staff (tenant_id, id);
CREATE INDEX complaints_assignee_idx ON complaints (tenant_id, assignee_id) WHERE assignee_id IS NOT NULL;
