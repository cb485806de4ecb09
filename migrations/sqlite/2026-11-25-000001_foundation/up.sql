-- The foundation: tenants (salon chains), their stores, staff and login sessions.
-- Every tenant table carries tenant_id and is keyed (tenant_id, id); references between
-- tenant tables include tenant_id, so a row can never point into another tenant.
-- Times are UTC in TIMESTAMP columns; ids are UUIDv7 text.

CREATE TABLE tenants (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    locale      TEXT NOT NULL,
    country     TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

CREATE TABLE stores (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    id          TEXT NOT NULL,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    address     TEXT,
    phone       TEXT,
    quiet_start TEXT,
    quiet_end   TEXT,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    deleted_at  TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);

CREATE TABLE staff (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    id            TEXT NOT NULL,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    phone         TEXT,
    role          TEXT NOT NULL CHECK (role IN ('owner', 'hq_manager', 'store_manager', 'front_desk', 'beautician')),
    store_id      TEXT,
    password_hash TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    deleted_at    TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, store_id) REFERENCES stores (tenant_id, id)
);
-- Logins are by email alone, so an email names one current staff member across tenants.
CREATE UNIQUE INDEX staff_email_key ON staff (email) WHERE deleted_at IS NULL;
CREATE INDEX staff_store_idx ON staff (tenant_id, store_id);

CREATE TABLE sessions (
    tenant_id   TEXT NOT NULL,
    id          TEXT NOT NULL,
    staff_id    TEXT NOT NULL,
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash  TEXT NOT NULL UNIQUE,
    created_at  TIMESTAMP NOT NULL,
    expires_at  TIMESTAMP NOT NULL,
    revoked_at  TIMESTAMP,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id)
);
CREATE INDEX sessions_staff_idx ON sessions (tenant_id, staff_id);
