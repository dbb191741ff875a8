-- The whole Podium schema for a fresh PostgreSQL database (equal to applying every migration; tested).

-- Podium schema, version 1 (PostgreSQL).
CREATE TABLE workflow_defs (
    name        TEXT    NOT NULL,
    version     BIGINT NOT NULL,
    body        TEXT    NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT,
    PRIMARY KEY (name, version)
);

CREATE TABLE task_defs (
    name        TEXT PRIMARY KEY,
    body        TEXT    NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT
);

-- The exact definition an execution runs, shared by every execution of it.
CREATE TABLE def_snapshots (
    hash TEXT PRIMARY KEY,
    body TEXT NOT NULL
);

CREATE TABLE executions (
    row_id             BIGSERIAL PRIMARY KEY,
    workflow_id        TEXT    NOT NULL UNIQUE,
    workflow_type      TEXT    NOT NULL,
    version            BIGINT NOT NULL,
    status             TEXT    NOT NULL,
    correlation_id     TEXT,
    priority           BIGINT NOT NULL DEFAULT 0,
    parent_workflow_id TEXT,
    parent_task_id     TEXT,
    idempotency_key    TEXT,
    create_time        BIGINT NOT NULL,
    update_time        BIGINT NOT NULL,
    end_time           BIGINT NOT NULL DEFAULT 0,
    def_hash           TEXT    NOT NULL,
    task_seq           BIGINT NOT NULL DEFAULT 0,
    input              TEXT    NOT NULL DEFAULT '{}',
    output             TEXT    NOT NULL DEFAULT '{}',
    variables          TEXT    NOT NULL DEFAULT '{}',
    state              TEXT    NOT NULL DEFAULT '{}',
    indexed            BIGINT NOT NULL DEFAULT 0  -- 0 = its full-text entry is due (re)writing
);
CREATE INDEX executions_to_index ON executions (row_id) WHERE indexed = 0;
CREATE INDEX executions_type_status ON executions (workflow_type, status, create_time);
CREATE INDEX executions_status_time ON executions (status, create_time);
CREATE INDEX executions_create_time ON executions (create_time);
CREATE INDEX executions_correlation ON executions (correlation_id) WHERE correlation_id IS NOT NULL;
CREATE INDEX executions_idempotency ON executions (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX executions_parent ON executions (parent_workflow_id) WHERE parent_workflow_id IS NOT NULL;

-- When an execution's first task started (0 until then): the start of its work, as the process
-- dialects show it (TNC-O's startTime, SIGMA's READY -> RUNNING).
ALTER TABLE executions ADD COLUMN started_time BIGINT NOT NULL DEFAULT 0;
CREATE INDEX executions_started ON executions (started_time, create_time);
CREATE INDEX executions_end_time ON executions (end_time, started_time);

-- Its revision: one more with every unit that changes it or its tasks holding its row locked (a
-- worker's update may read without the lock and write only if the revision is still the one read).
ALTER TABLE executions ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

-- Search attributes: named values on an execution, set from its definition's declaration or by
-- the dialect that starts it (TNC-O's assembly fields), searched by index, never by scanning JSON.
CREATE TABLE search_attrs (
    workflow_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (workflow_id, name)
);
CREATE INDEX search_attrs_value ON search_attrs (name, value, workflow_id);

CREATE TABLE tasks (
    task_id        TEXT PRIMARY KEY,
    workflow_id    TEXT    NOT NULL,
    seq            BIGINT NOT NULL,
    ref_name       TEXT    NOT NULL,
    retry_count    BIGINT NOT NULL,
    task_type      TEXT    NOT NULL,
    task_def_name  TEXT    NOT NULL,
    status         TEXT    NOT NULL,
    executed       BIGINT NOT NULL DEFAULT 0,
    scheduled_time BIGINT NOT NULL,
    start_time     BIGINT NOT NULL DEFAULT 0,
    end_time       BIGINT NOT NULL DEFAULT 0,
    update_time    BIGINT NOT NULL,
    worker_id      TEXT,
    domain         TEXT,
    due_at         BIGINT,  -- the task's durable timer: when a timeout rule may next fire
    input          TEXT    NOT NULL DEFAULT '{}',
    output         TEXT    NOT NULL DEFAULT '{}',
    state          TEXT    NOT NULL DEFAULT '{}',
    UNIQUE (workflow_id, ref_name, retry_count)
);
CREATE INDEX tasks_by_workflow ON tasks (workflow_id, seq);
CREATE INDEX tasks_live ON tasks (workflow_id) WHERE executed = 0;
CREATE INDEX tasks_in_progress ON tasks (task_def_name, status) WHERE status = 'IN_PROGRESS';
CREATE INDEX tasks_started ON tasks (task_def_name, start_time) WHERE start_time > 0;
CREATE INDEX tasks_pending_by_type ON tasks (task_type, scheduled_time) WHERE status IN ('SCHEDULED', 'IN_PROGRESS');
CREATE INDEX tasks_due ON tasks (due_at) WHERE due_at IS NOT NULL;

-- Work waiting for a worker. Claim order: priority, then visible time.
CREATE TABLE queue (
    task_id     TEXT PRIMARY KEY,
    queue_name  TEXT    NOT NULL,
    priority    BIGINT NOT NULL DEFAULT 0,
    visible_at  BIGINT NOT NULL,
    workflow_id TEXT    NOT NULL
);
CREATE INDEX queue_claim ON queue (queue_name, priority DESC, visible_at, task_id);

-- Durable timers of executions (a task's own timer is its row's due_at).
CREATE TABLE timers (
    kind        TEXT    NOT NULL,
    key         TEXT    NOT NULL,
    workflow_id TEXT    NOT NULL,
    due_at      BIGINT NOT NULL,
    PRIMARY KEY (kind, key)
);
CREATE INDEX timers_due ON timers (due_at);

CREATE TABLE poll_data (
    queue_name     TEXT NOT NULL,
    domain         TEXT NOT NULL DEFAULT '',
    worker_id      TEXT,
    last_poll_time BIGINT NOT NULL,
    PRIMARY KEY (queue_name, domain)
);

CREATE TABLE task_logs (
    id           BIGSERIAL PRIMARY KEY,
    task_id      TEXT    NOT NULL,
    log          TEXT    NOT NULL,
    created_time BIGINT NOT NULL
);
CREATE INDEX task_logs_task ON task_logs (task_id, id);
CREATE INDEX task_logs_created ON task_logs (created_time);

-- Executions removed with archiveWorkflow=true: their last JSON, still readable by id.
CREATE TABLE archived_executions (
    workflow_id TEXT PRIMARY KEY,
    body        TEXT NOT NULL
);

-- Full-text index of executions, by executions.row_id.
CREATE TABLE executions_fts (
    row_id BIGINT PRIMARY KEY,
    body   TSVECTOR NOT NULL
);
CREATE INDEX executions_fts_body ON executions_fts USING GIN (body);

-- A task inside a DO_WHILE carries its iteration in its reference name (`step__3`); `loop_ref`
-- keeps the name without it (`step`), so the latest iteration of a step is one index probe.
ALTER TABLE tasks ADD COLUMN loop_ref TEXT;
CREATE INDEX tasks_loop_latest ON tasks (workflow_id, loop_ref, seq) WHERE loop_ref IS NOT NULL;

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

ALTER TABLE event_messages ADD COLUMN leased_until BIGINT NOT NULL DEFAULT 0;
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
CREATE TABLE remote_members (
    container_id TEXT PRIMARY KEY,
    url          TEXT    NOT NULL,
    retries      BIGINT NOT NULL DEFAULT 0,
    resume       BIGINT NOT NULL DEFAULT 0
);
CREATE TABLE tango_projects (
    user_id      TEXT    NOT NULL,
    project_id   TEXT    NOT NULL,
    project_type TEXT    NOT NULL,
    stages       TEXT    NOT NULL,
    target       TEXT    NOT NULL DEFAULT '',
    workflow_id  TEXT,
    log          TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (user_id, project_id)
);
CREATE TABLE schedules (
    name        TEXT PRIMARY KEY,
    body        TEXT    NOT NULL,
    paused      BIGINT NOT NULL DEFAULT 0,
    next_due    BIGINT,
    runs        BIGINT NOT NULL DEFAULT 0,
    missed      BIGINT NOT NULL DEFAULT 0,
    last_run    TEXT,
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
CREATE TABLE schedule_runs (
    execution_id   TEXT PRIMARY KEY,
    schedule_name  TEXT    NOT NULL,
    workflow_name  TEXT    NOT NULL,
    scheduled_time BIGINT  NOT NULL,
    execution_time BIGINT  NOT NULL,
    workflow_id    TEXT,
    state          TEXT    NOT NULL,
    reason         TEXT,
    start_request  TEXT    NOT NULL,
    zone_id        TEXT    NOT NULL
);
CREATE INDEX schedule_runs_recent ON schedule_runs (execution_time DESC, execution_id DESC);
CREATE INDEX schedule_runs_schedule ON schedule_runs (schedule_name, execution_time DESC);

-- SIGMA processes: a named, controllable binding to a workflow, run once (ONE_SHOT) or every
-- period (PERIODIC, fixed rate from anchor). The next tick is a durable timer (kind sigma_tick,
-- key the id); the state shown is derived from control and the current run.
CREATE TABLE sigma_processes (
    id           TEXT PRIMARY KEY,
    process_name TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    period_ms    BIGINT,
    workflow     TEXT    NOT NULL,
    partition    TEXT,
    control      TEXT    NOT NULL,
    resume_to    TEXT,
    anchor       BIGINT,
    next_due     BIGINT,
    run_count    BIGINT NOT NULL DEFAULT 0,
    missed_runs  BIGINT NOT NULL DEFAULT 0,
    last_run_at  BIGINT,
    last_result  TEXT,
    last_error   TEXT,
    current_run  TEXT,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL
);
CREATE INDEX sigma_processes_name ON sigma_processes (process_name, created_at);

-- Input and output schemas (the Orkes schema API): one row per name and version; the body is the
-- SchemaDef as registered (type, data, externalRef, audit fields).
CREATE TABLE schema_defs (
    name        TEXT    NOT NULL,
    version     BIGINT NOT NULL,
    body        TEXT    NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT,
    PRIMARY KEY (name, version)
);

-- Secrets (the Orkes secret API, ${workflow.secrets.NAME}): the value encrypted with the server's
-- secret key (a Fernet token), never in clear; tags as a JSON list of {key, value, type}.
CREATE TABLE secrets (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    tags        TEXT    NOT NULL DEFAULT '[]',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);

-- API keys (issue 16): the secret is kept only as a slow hash; a revoked key stays listed.
CREATE TABLE api_keys (
    key_id      TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    create_time BIGINT NOT NULL,
    revoke_time BIGINT
);
-- Values every server process on the database shares, made once (the token signing key).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

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
-- A task a dynamic fork made names that fork in `fork` (as its state does, `forkedBy`), so that a
-- worker's update in a wide fork reads its own branch and only counts the other open ones (issue
-- 18: it read every open branch's whole row). The live-task index keeps the column (a workflow
-- without dynamic forks reads its live tasks as before; `fork` never changes), and the open and
-- settling tasks of forks have an index of their own, which the count reads alone (`executed`
-- is in it only so that SQLite sees the index covers the count). Tasks written before have no
-- `fork` and are read whole, as before.
ALTER TABLE tasks ADD COLUMN fork TEXT;
DROP INDEX tasks_live;
CREATE INDEX tasks_live ON tasks (workflow_id, fork) WHERE executed = 0;
CREATE INDEX tasks_forked ON tasks (workflow_id, fork, status, executed) WHERE executed = 0 AND fork IS NOT NULL;

-- A worker's update locks its execution and reads its live tasks in one round trip (issue 18), by
-- this function: the first row is the execution's, locked; the others are its live tasks and every
-- settled attempt of the reference names given. The read of the tasks is a query of its own, whose
-- snapshot is taken once the lock is held (a VOLATILE function's queries each take a fresh one in
-- READ COMMITTED), so it sees what the unit that held the lock before wrote, as a second statement
-- would; the reads of one statement would all see the snapshot taken before it waited.
CREATE OR REPLACE FUNCTION podium_locked_live(p_workflow_id TEXT, p_refs TEXT[])
RETURNS TABLE (ex executions, task tasks) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO ex FROM executions e WHERE e.workflow_id = p_workflow_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  task := NULL;
  RETURN NEXT;
  RETURN QUERY
    SELECT NULL::executions, t FROM tasks t WHERE t.workflow_id = p_workflow_id AND t.executed = 0
    UNION ALL
    SELECT NULL::executions, t FROM tasks t
    WHERE t.workflow_id = p_workflow_id AND t.ref_name = ANY(p_refs) AND t.executed = 1;
END $$;

-- The same read without the lock (an optimistic unit, `store/pg_unit.py`): the execution's row
-- first, with its revision, then its live tasks and every settled attempt of the reference names
-- given, all in the snapshot of the calling statement (STABLE). Both functions plan their queries
-- once (a generic plan): each is a lookup by execution id, and PostgreSQL's default would plan them
-- anew at every call, which cost as much CPU as running them.
CREATE OR REPLACE FUNCTION podium_live(p_workflow_id TEXT, p_refs TEXT[])
RETURNS TABLE (ex executions, task tasks) LANGUAGE plpgsql STABLE
SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  SELECT * INTO ex FROM executions e WHERE e.workflow_id = p_workflow_id;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  task := NULL;
  RETURN NEXT;
  RETURN QUERY
    SELECT NULL::executions, t FROM tasks t WHERE t.workflow_id = p_workflow_id AND t.executed = 0
    UNION ALL
    SELECT NULL::executions, t FROM tasks t
    WHERE t.workflow_id = p_workflow_id AND t.ref_name = ANY(p_refs) AND t.executed = 1;
END $$;
ALTER FUNCTION podium_locked_live(TEXT, TEXT[]) SET plan_cache_mode = force_generic_plan;
