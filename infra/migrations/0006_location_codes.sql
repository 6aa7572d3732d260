-- Locations come from the company profile: an ISO country code, optionally with a region (US-CA, DE-BY), so a
-- company can give one region its own holidays and leave rules.
ALTER TABLE employees DROP CONSTRAINT employees_country_check;
ALTER TABLE employees ADD CONSTRAINT employees_country_check CHECK (country ~ '^[A-Z]{2}(-[A-Z0-9]{1,3})?$');
ALTER TABLE public_holidays DROP CONSTRAINT public_holidays_country_check;
ALTER TABLE public_holidays ADD CONSTRAINT public_holidays_country_check
    CHECK (country ~ '^[A-Z]{2}(-[A-Z0-9]{1,3})?$');
