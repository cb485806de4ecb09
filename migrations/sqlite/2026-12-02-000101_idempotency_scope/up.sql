-- An Idempotency-Key belongs to the staff member who sent it and the route it was sent to, so
-- a colleague reusing a key (or the same key on another route) is a new request, never
-- someone else's stored answer. The client a stored answer is about is kept, so erasing the
-- client removes it; every answer expires after 24 hours (the worker's sweep deletes it).
-- Stored answers live a day at most: the few in flight during this migration are dropped.
DROP TABLE idempotency_keys;
CREATE TABLE idempotency_keys (
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    staff_id      TEXT NOT NULL,
    route         TEXT NOT NULL,
    key           TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT NOT NULL,
    client_id     TEXT,
    created_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (tenant_id, staff_id, route, key),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
CREATE INDEX idempotency_keys_client_idx ON idempotency_keys (tenant_id, client_id) WHERE client_id IS NOT NULL;
