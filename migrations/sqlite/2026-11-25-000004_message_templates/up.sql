-- Message templates: a tenant's own text for one kind of message, channel and locale. Where a
-- tenant has none, the built-in template (in the code, shared/src/outreach/templates) applies;
-- deleting a row brings the built-in back. Subjects are for email only.

CREATE TABLE message_templates (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    kind        TEXT NOT NULL,
    channel     TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    locale      TEXT NOT NULL,
    subject     TEXT NULL,
    body        TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, kind, channel, locale),
    CHECK ((channel = 'email') = (subject IS NOT NULL))
);
