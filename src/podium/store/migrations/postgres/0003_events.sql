-- Event handlers (/api/event), the built-in `conductor` event queue, the record of what handlers
-- did, and the outbox of notifications (status listeners) still to deliver.
CREATE TABLE event_handlers (
    name         TEXT PRIMARY KEY,
    event        TEXT    NOT NULL,
    active       BIGINT NOT NULL,
    body         TEXT    NOT NULL
);
CREATE INDEX event_handlers_event ON event_handlers (event);
CREATE TABLE event_messages (
    id           BIGSERIAL PRIMARY KEY,
    queue        TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    created_time BIGINT NOT NULL
);
CREATE INDEX event_messages_queue ON event_messages (queue, id);
CREATE TABLE event_executions (
    id           TEXT PRIMARY KEY,
    handler      TEXT    NOT NULL,
    event        TEXT    NOT NULL,
    message_id   TEXT    NOT NULL,
    created      BIGINT NOT NULL,
    status       TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    output       TEXT    NOT NULL DEFAULT '{}'
);
CREATE INDEX event_executions_handler ON event_executions (handler, created);
CREATE INDEX event_executions_event ON event_executions (event, created);
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    destination  TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    attempts     BIGINT NOT NULL DEFAULT 0,
    due_at       BIGINT NOT NULL,
    last_error   TEXT
);
CREATE INDEX outbox_due ON outbox (due_at);
