-- Diego BBS tasks. A BBS task is an execution (its workflow_id is the task_guid); this row holds
-- what the BBS dialect shows of it (times in Unix nanoseconds). Cells present by heartbeat, and
-- the task event log behind /v1/events/tasks.r1.
CREATE TABLE bbs_tasks (
    task_guid          TEXT PRIMARY KEY,
    domain             TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    cell_id            TEXT    NOT NULL DEFAULT '',
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    first_completed_at BIGINT NOT NULL DEFAULT 0,
    failed             BIGINT NOT NULL DEFAULT 0,
    failure_reason     TEXT    NOT NULL DEFAULT '',
    result             TEXT    NOT NULL DEFAULT '',
    rejection_count    BIGINT NOT NULL DEFAULT 0,
    rejection_reason   TEXT    NOT NULL DEFAULT '',
    definition         TEXT    NOT NULL
);
CREATE INDEX bbs_tasks_domain ON bbs_tasks (domain, cell_id);
CREATE INDEX bbs_tasks_cell ON bbs_tasks (cell_id);
CREATE INDEX bbs_tasks_created ON bbs_tasks (state, created_at);
CREATE INDEX bbs_tasks_updated ON bbs_tasks (state, updated_at);
CREATE INDEX bbs_tasks_completed ON bbs_tasks (state, first_completed_at);
CREATE TABLE bbs_cells (
    cell_id    TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX bbs_cells_expiry ON bbs_cells (expires_at);
CREATE TABLE bbs_events (
    seq        BIGSERIAL PRIMARY KEY,
    created_at BIGINT NOT NULL,
    kind       TEXT    NOT NULL,
    body       TEXT    NOT NULL
);
CREATE INDEX bbs_events_created ON bbs_events (created_at);
