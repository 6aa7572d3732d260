-- Which logged answers carry the asker's own records, so they can be removed after the retention period.
ALTER TABLE questions ADD COLUMN personal boolean NOT NULL DEFAULT false;
UPDATE questions SET personal = true WHERE employee_id IS NOT NULL;  -- unknown before: assume personal
CREATE INDEX questions_personal_created ON questions (created_at) WHERE personal;
