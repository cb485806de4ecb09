-- Survey answers (满意度调研) and the complaint's resolution satisfaction.
-- Scores are 1–5 per dimension (NULL when not answered), NPS 0–10; the overall score is the
-- mean of the answered dimensions, kept ×100 as an integer so both backends compare it alike.
ALTER TABLE surveys ADD COLUMN score_service INTEGER;
ALTER TABLE surveys ADD COLUMN score_technician INTEGER;
ALTER TABLE surveys ADD COLUMN score_environment INTEGER;
ALTER TABLE surveys ADD COLUMN score_result INTEGER;
ALTER TABLE surveys ADD COLUMN nps INTEGER;
ALTER TABLE surveys ADD COLUMN comment TEXT;
ALTER TABLE surveys ADD COLUMN overall_x100 INTEGER;
ALTER TABLE surveys ADD COLUMN complaint_id TEXT;
CREATE INDEX surveys_store_idx ON surveys (tenant_id, store_id, created_at);

ALTER TABLE complaints ADD COLUMN resolution_satisfaction INTEGER;
