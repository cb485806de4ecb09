-- The console's language for this staff member (zh-CN or en); NULL: the browser's choice.
ALTER TABLE staff ADD COLUMN locale TEXT;
