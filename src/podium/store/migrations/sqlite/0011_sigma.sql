-- SIGMA processes: a named, controllable binding to a workflow, run once (ONE_SHOT) or every
-- period (PERIODIC, fixed rate from anchor). The next tick is a durable timer (kind sigma_tick,
-- key the id); the state shown is derived from control and the current run.
CREATE TABLE sigma_processes (
    id           TEXT PRIMARY KEY,
    process_name TEXT    NOT NULL,
    type         TEXT    NOT NULL,
    period_ms    INTEGER,
    workflow     TEXT    NOT NULL,
    partition    TEXT,
    control      TEXT    NOT NULL,
    resume_to    TEXT,
    anchor       INTEGER,
    next_due     INTEGER,
    run_count    INTEGER NOT NULL DEFAULT 0,
    missed_runs  INTEGER NOT NULL DEFAULT 0,
    last_run_at  INTEGER,
    last_result  TEXT,
    last_error   TEXT,
    current_run  TEXT,
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX sigma_processes_name ON sigma_processes (process_name, created_at);
