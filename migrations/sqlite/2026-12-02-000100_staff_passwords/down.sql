DROP TABLE password_tokens;
ALTER TABLE staff DROP COLUMN password_must_change;
