DROP INDEX complaints_assignee_idx;
ALTER TABLE complaints DROP COLUMN assignee_id;
