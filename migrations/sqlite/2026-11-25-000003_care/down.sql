DROP TABLE messages;
DROP TABLE complaint_events;
DROP TABLE complaints;
DROP TABLE link_tokens;
DROP TABLE surveys;
DROP INDEX visits_survey_due_idx;
ALTER TABLE visits DROP COLUMN survey_due_at;
DROP TABLE client_care;
DROP TABLE tenant_settings;
