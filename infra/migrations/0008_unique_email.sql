-- A work email identifies one employee whatever its case: two records differing only by case would make the
-- Slack-to-record lookup pick one of them at random.
DO $$
DECLARE
    clash text;
BEGIN
    SELECT string_agg(DISTINCT lower(email), ', ') INTO clash
    FROM employees GROUP BY lower(email) HAVING count(*) > 1;
    IF clash IS NOT NULL THEN
        RAISE EXCEPTION 'Several employee records share an email that differs only by case (%); fix them with '
                        'hrbot records import and run hrbot db upgrade again.', clash;
    END IF;
END $$;
DROP INDEX IF EXISTS employees_email_lower;
CREATE UNIQUE INDEX employees_email_lower ON employees (lower(email));
