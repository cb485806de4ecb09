-- The care worker (客户关怀): tenant settings, the outbox, surveys, complaints and the per-client
-- state the automations keep. Due times live in these tables so that a sweep reads only what is
-- due (its cost grows with the matches, not with the archive).

-- Each tenant's automation rules as one JSON document (missing keys take the defaults).
CREATE TABLE tenant_settings (
    tenant_id   TEXT NOT NULL PRIMARY KEY REFERENCES tenants (id),
    settings    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- What the automations remember per client.
CREATE TABLE client_care (
    tenant_id          TEXT NOT NULL,
    client_id          TEXT NOT NULL,
    -- The last year a birthday greeting was decided (sent or suppressed) for.
    birthday_year      INTEGER,
    -- When the dormancy sweep should next look at this client (NULL: nothing to do).
    wake_up_due_at     TIMESTAMP,
    -- The last visit that began the current dormancy spell, and wake-ups decided in it.
    spell_visit_at     TIMESTAMP,
    wake_ups_in_spell  INTEGER NOT NULL DEFAULT 0,
    -- The last marketing message decided for the frequency cap.
    last_marketing_at  TIMESTAMP,
    opted_out_at       TIMESTAMP,
    opt_out_source     TEXT,
    PRIMARY KEY (tenant_id, client_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);
CREATE INDEX client_care_wake_up_idx ON client_care (wake_up_due_at) WHERE wake_up_due_at IS NOT NULL;
-- Clients already in the archive (already dormant, perhaps) are looked at by the first sweep.
INSERT INTO client_care (tenant_id, client_id, wake_up_due_at, wake_ups_in_spell)
SELECT tenant_id, id, last_visit_at, 0 FROM clients WHERE last_visit_at IS NOT NULL AND erased_at IS NULL;

-- A survey is due 24 h (a setting) after a completed visit; NULL once decided or not wanted.
ALTER TABLE visits ADD COLUMN survey_due_at TIMESTAMP;
CREATE INDEX visits_survey_due_idx ON visits (survey_due_at) WHERE survey_due_at IS NOT NULL;

CREATE TABLE surveys (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    visit_id      TEXT NOT NULL,
    client_id     TEXT NOT NULL,
    store_id      TEXT NOT NULL,
    locale        TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    expires_at    TIMESTAMP NOT NULL,
    answered_at   TIMESTAMP,
    cancelled_at  TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, visit_id),
    FOREIGN KEY (tenant_id, visit_id) REFERENCES visits (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);

-- The personal links in messages (/s/TOKEN for a survey, /u/TOKEN to unsubscribe). A token is
-- 128 random bits made when its message is handed over; only its SHA-256 is kept.
CREATE TABLE link_tokens (
    token_hash  TEXT NOT NULL PRIMARY KEY,
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    purpose     TEXT NOT NULL CHECK (purpose IN ('survey', 'unsubscribe')),
    subject_id  TEXT NOT NULL,      -- the survey, or the client
    message_id  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP
);
CREATE INDEX link_tokens_subject_idx ON link_tokens (tenant_id, subject_id);

-- 三级响应: a complaint, its three steps with deadlines, and its escalation level.
CREATE TABLE complaints (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    id                TEXT NOT NULL,
    client_id         TEXT NOT NULL,
    store_id          TEXT NOT NULL,
    visit_id          TEXT,
    survey_id         TEXT,
    source            TEXT NOT NULL CHECK (source IN ('survey', 'staff')),
    summary           TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('open', 'in_progress', 'closed')),
    level             INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),
    opened_by         TEXT,
    opened_at         TIMESTAMP NOT NULL,
    callback_due_at   TIMESTAMP NOT NULL,
    callback_at       TIMESTAMP,
    solution_due_at   TIMESTAMP NOT NULL,
    solution_at       TIMESTAMP,
    follow_up_due_at  TIMESTAMP,
    follow_up_at      TIMESTAMP,
    -- The earliest deadline not met and not yet escalated: what the escalation sweep reads.
    next_deadline_at  TIMESTAMP,
    closed_at         TIMESTAMP,
    updated_at        TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
);
CREATE INDEX complaints_deadline_idx ON complaints (next_deadline_at) WHERE next_deadline_at IS NOT NULL;
CREATE INDEX complaints_list_idx ON complaints (tenant_id, opened_at, id);

-- Everything that happened to a complaint: opened, alerts, escalations, steps.
CREATE TABLE complaint_events (
    tenant_id     TEXT NOT NULL,
    id            TEXT NOT NULL,
    complaint_id  TEXT NOT NULL,
    at            TIMESTAMP NOT NULL,
    kind          TEXT NOT NULL,
    level         INTEGER NOT NULL,
    staff_id      TEXT,
    note          TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, complaint_id) REFERENCES complaints (tenant_id, id)
);
CREATE INDEX complaint_events_idx ON complaint_events (tenant_id, complaint_id, at);

-- The outbox: every message, written in the transaction that decided it. `occasion` is unique
-- per tenant, so a second worker, a retry or a rerun cannot create it twice.
CREATE TABLE messages (
    tenant_id            TEXT NOT NULL REFERENCES tenants (id),
    id                   TEXT NOT NULL,
    kind                 TEXT NOT NULL,
    occasion             TEXT NOT NULL,
    client_id            TEXT,
    staff_id             TEXT,
    store_id             TEXT,
    visit_id             TEXT,
    complaint_id         TEXT,
    channel              TEXT NOT NULL CHECK (channel IN ('sms', 'email')),
    recipient            TEXT,
    locale               TEXT NOT NULL,
    subject              TEXT,
    body                 TEXT NOT NULL,
    params               TEXT NOT NULL,     -- JSON: placeholder values, for template-based SMS providers
    status               TEXT NOT NULL,
    suppression_reason   TEXT,
    attempts             INTEGER NOT NULL DEFAULT 0,
    -- When it was first due to go (for delivery latency), and when to try next. While a
    -- worker holds it (`sending`), next_attempt_at is the end of that worker's lease.
    due_at               TIMESTAMP NOT NULL,
    next_attempt_at      TIMESTAMP,
    provider             TEXT,
    provider_message_id  TEXT,
    last_error           TEXT,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    sent_at              TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, occasion)
);
CREATE INDEX messages_next_attempt_idx ON messages (next_attempt_at) WHERE next_attempt_at IS NOT NULL;
CREATE INDEX messages_list_idx ON messages (tenant_id, created_at, id);
CREATE INDEX messages_client_idx ON messages (tenant_id, client_id, created_at);
