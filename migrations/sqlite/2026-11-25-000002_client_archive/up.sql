-- The client archive (客户档案): clients, their lookup keys, the service catalog, visits and
-- their lines (消费记录), the audit log, bulk-export requests and idempotency keys.

-- Money is integer minor units in the tenant's currency.
ALTER TABLE tenants ADD COLUMN currency TEXT NOT NULL DEFAULT 'CNY';

CREATE TABLE clients (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    id                 TEXT NOT NULL,
    name               TEXT NOT NULL,
    phone              TEXT,              -- E.164
    email              TEXT,
    gender             TEXT CHECK (gender IN ('female', 'male', 'other')),
    birthday_month     INTEGER CHECK (birthday_month BETWEEN 1 AND 12),
    birthday_day       INTEGER CHECK (birthday_day BETWEEN 1 AND 31),
    birth_year         INTEGER,
    locale             TEXT,
    preferred_channel  TEXT NOT NULL CHECK (preferred_channel IN ('sms', 'email')),
    marketing_consent  BOOLEAN NOT NULL,
    consent_changed_at TIMESTAMP,
    consent_source     TEXT,
    home_store_id      TEXT,
    consultant_id      TEXT,
    source             TEXT,
    referrer_id        TEXT,
    tags               TEXT NOT NULL,     -- JSON array of strings
    skin_type          TEXT,
    -- Allergies, medical notes and skin history, as one JSON document encrypted at rest
    -- (XChaCha20-Poly1305, key id in the value; see shared/src/crypto.rs).
    sensitive_enc      TEXT,
    preferences        TEXT,
    notes              TEXT,
    -- Derived from visits, kept in the same transaction as every visit write.
    visit_count        INTEGER NOT NULL DEFAULT 0,
    first_visit_at     TIMESTAMP,
    last_visit_at      TIMESTAMP,
    total_spent_cents  BIGINT NOT NULL DEFAULT 0,
    version            INTEGER NOT NULL DEFAULT 1,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    deleted_at         TIMESTAMP,
    erased_at          TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    CHECK ((birthday_month IS NULL) = (birthday_day IS NULL)),
    FOREIGN KEY (tenant_id, home_store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, consultant_id) REFERENCES staff (tenant_id, id),
    FOREIGN KEY (tenant_id, referrer_id) REFERENCES clients (tenant_id, id)
);
CREATE UNIQUE INDEX clients_phone_key ON clients (tenant_id, phone) WHERE phone IS NOT NULL AND deleted_at IS NULL;
CREATE INDEX clients_birthday_idx ON clients (birthday_month, birthday_day);
CREATE INDEX clients_last_visit_idx ON clients (last_visit_at);
CREATE INDEX clients_home_store_idx ON clients (tenant_id, home_store_id);
CREATE INDEX clients_name_idx ON clients (tenant_id, name, id);

-- Front-desk lookup keys, computed on write: every match is a prefix range scan.
-- kind: n name suffix, p pinyin from a syllable, i pinyin initials, t phone national digits,
-- r those digits reversed (for "the last four digits").
CREATE TABLE client_search (
    tenant_id  TEXT NOT NULL,
    kind       TEXT NOT NULL,
    term       TEXT NOT NULL,      -- SQLite compares bytes (BINARY) already
    client_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, kind, term, client_id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);
CREATE INDEX client_search_client_idx ON client_search (tenant_id, client_id);

-- The stores a client belongs to, for store roles: the home store and every store visited.
CREATE TABLE client_stores (
    tenant_id  TEXT NOT NULL,
    store_id   TEXT NOT NULL,
    client_id  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, store_id, client_id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id)
);
CREATE INDEX client_stores_client_idx ON client_stores (tenant_id, client_id);

CREATE TABLE services (
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    id               TEXT NOT NULL,
    name             TEXT NOT NULL,
    category         TEXT,
    duration_minutes INTEGER CHECK (duration_minutes > 0),
    price_cents      BIGINT NOT NULL CHECK (price_cents >= 0),
    active           BOOLEAN NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL,
    deleted_at       TIMESTAMP,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE visits (
    tenant_id      TEXT NOT NULL,
    id             TEXT NOT NULL,
    client_id      TEXT NOT NULL,
    store_id       TEXT NOT NULL,
    staff_id       TEXT,
    completed_at   TIMESTAMP NOT NULL,
    subtotal_cents BIGINT NOT NULL CHECK (subtotal_cents >= 0),
    discount_cents BIGINT NOT NULL CHECK (discount_cents >= 0),
    total_cents    BIGINT NOT NULL CHECK (total_cents >= 0),
    currency       TEXT NOT NULL,
    payment_method TEXT NOT NULL CHECK (payment_method IN ('cash', 'card', 'wechat_pay', 'alipay', 'stored_value', 'other')),
    notes          TEXT,
    status         TEXT NOT NULL CHECK (status IN ('completed', 'voided')),
    voided_at      TIMESTAMP,
    void_reason    TEXT,
    source         TEXT NOT NULL CHECK (source IN ('api', 'import')),
    version        INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, client_id) REFERENCES clients (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id)
);
CREATE INDEX visits_client_idx ON visits (tenant_id, client_id, completed_at);
CREATE INDEX visits_store_idx ON visits (tenant_id, store_id, completed_at);

CREATE TABLE visit_lines (
    tenant_id    TEXT NOT NULL,
    visit_id     TEXT NOT NULL,
    line_no      INTEGER NOT NULL,
    service_id   TEXT,
    description  TEXT NOT NULL,
    amount_cents BIGINT NOT NULL CHECK (amount_cents >= 0),
    PRIMARY KEY (tenant_id, visit_id, line_no),
    FOREIGN KEY (tenant_id, visit_id) REFERENCES visits (tenant_id, id),
    FOREIGN KEY (tenant_id, service_id) REFERENCES services (tenant_id, id)
);

-- Who read sensitive data, exported, erased, approved: readable by owners.
CREATE TABLE audit_log (
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    id           TEXT NOT NULL,
    at           TIMESTAMP NOT NULL,
    actor_id     TEXT,
    action       TEXT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id   TEXT,
    details      TEXT NOT NULL,  -- JSON object
    PRIMARY KEY (tenant_id, id)
);

-- Bulk exports need an owner's approval, with purpose and scope (数据导出需经负责人批准).
CREATE TABLE export_requests (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    purpose       TEXT NOT NULL,
    store_id      TEXT,
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'downloaded')),
    decided_by    TEXT,
    decided_at    TIMESTAMP,
    self_approved BOOLEAN NOT NULL DEFAULT FALSE,
    expires_at    TIMESTAMP,
    downloaded_at TIMESTAMP,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, requested_by) REFERENCES staff (tenant_id, id),
    FOREIGN KEY (tenant_id, decided_by) REFERENCES staff (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
);

-- A retried POST (double tap, flaky network) with the same Idempotency-Key gets the first
-- answer instead of a second record.
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, key)
);
