-- The audit trail: one row per state-changing call (API, UI, CLI): who made it (key id and name, or
-- anonymous), what (the method and route template, or "cli: ..."), the path called, when (epoch ms),
-- from which address, and its outcome (the HTTP status, none for the CLI; applied or refused).
-- Written in the same transaction as the change where there is one. Ids are time-ordered (UUIDv7).
CREATE TABLE audit_log (
    id      TEXT    NOT NULL PRIMARY KEY,
    at      BIGINT  NOT NULL,
    key_id  TEXT,
    who     TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    path    TEXT    NOT NULL,
    targets TEXT    NOT NULL,
    status  BIGINT ,
    outcome TEXT    NOT NULL,
    address TEXT    NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
-- The ids each call was about (its path parameters, a started workflow's id, the ids of a bulk
-- call), one row each, so "every action on this execution" is an index lookup.
CREATE TABLE audit_targets (
    target   TEXT NOT NULL,
    audit_id TEXT NOT NULL,
    PRIMARY KEY (target, audit_id)
);
CREATE INDEX audit_targets_audit_id ON audit_targets (audit_id);
