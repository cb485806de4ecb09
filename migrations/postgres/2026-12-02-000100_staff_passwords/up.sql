-- Staff choose their own passwords. An invited member has no password yet (an empty hash,
-- which verifies nothing); a member whose first password an owner set must choose their own
-- at first login (password_must_change). Tokens for choosing one (an invitation link, a reset
-- link, a first login) are single use and expire; only their SHA-256 is stored.
ALTER TABLE staff ADD COLUMN password_must_change BOOLEAN NOT NULL DEFAULT FALSE;

CREATE TABLE password_tokens (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    purpose     TEXT NOT NULL CHECK (purpose IN ('invitation', 'reset', 'first_login')),
    -- SHA-256 of the token; the token itself is never stored. Looked up without a tenant
    -- (the link is the credential), like a session's.
    token_hash  TEXT NOT NULL UNIQUE,
    -- The outbox message that carried it (none for a first login).
    message_id  TEXT,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id)
);
CREATE INDEX password_tokens_staff_idx ON password_tokens (tenant_id, staff_id);
