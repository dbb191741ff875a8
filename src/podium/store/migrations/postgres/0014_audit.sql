-- The audit trail: one row per state-changing call (API, UI, CLI): who made it (key id and name, or
-- anonymous), what (the method and route template, or "cli: ..."), the path called, when (epoch ms),
-- from which address, and its outcome (the HTTP status, none for the CLI; applied or refused).
-- Written in the same transaction as the change where there is one. The key is (at, id), ids unique
-- and ordered within a process: newest first and retention read it in order.
CREATE TABLE audit_log (
    at      BIGINT  NOT NULL,
    id      TEXT    NOT NULL,
    key_id  TEXT,
    who     TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    path    TEXT    NOT NULL,
    targets TEXT    NOT NULL,
    status  BIGINT,
    outcome TEXT    NOT NULL,
    address TEXT    NOT NULL,
    PRIMARY KEY (at, id)
);
-- The ids each call was about (its path parameters, a started workflow's id, the ids of a bulk
-- call), one row each, with their entry's key: "every action on this execution, newest first" is
-- one range of this key. Retention deletes them by key, from the entry's own list of targets.
CREATE TABLE audit_targets (
    target   TEXT    NOT NULL,
    at       BIGINT  NOT NULL,
    audit_id TEXT    NOT NULL,
    PRIMARY KEY (target, at, audit_id)
);
