-- Colleagues' names and employee ids as keyed digests, so the "someone else" guard recognises a colleague named in a
-- question ("How much leave does Sanne van der Berg have?", any length, any particles) although the runtime role
-- cannot read other employees' rows (row-level security, 0011).
--
-- Each row is HMAC-SHA256 (knowledge.database.roles.BindingKey.mac, purposes "colleague-name" and "colleague-id")
-- of one normalised way to refer to an employee: the full name, first + last name, with and without particles, and
-- the employee id. The key is derived from the binding key in hrbot_secrets, which the runtime role cannot read:
-- a leaked runtime credential sees only digests and cannot test "is X an employee" with them. The rows carry no
-- employee id, no purpose and no order, so they cannot be grouped into people either.
--
-- Written only by the owner, after every records import and erasure and after a binding key rotation
-- (knowledge.people.colleagues.refresh_colleague_names); the runtime role may only SELECT it
-- (knowledge.database.roles.READ_ONLY_TABLES), so it cannot blank the guard by deleting rows.
CREATE TABLE colleague_names (
    digest bytea PRIMARY KEY CHECK (octet_length(digest) = 32)
);
