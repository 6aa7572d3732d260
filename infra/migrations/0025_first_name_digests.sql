-- Colleagues' first names join the keyed digests (knowledge/people/colleagues.py, FIRST_NAME_PURPOSE): looked up
-- only for the word where a language pack's [others] patterns see a person ("hat Mara noch"). Nothing changes in
-- the schema; applying this migration makes `hrbot db upgrade` rebuild colleague_names with the key, so a database
-- upgraded before its next records import already has them.
SELECT 1;
