-- Schedule runs: one row per tick of a schedule, written in the tick's unit of work (EXECUTED with
-- the workflow started, or FAILED with the reason). Kept when the schedule is deleted, as Conductor
-- keeps them, and never purged yet: the table grows by one row per tick (see docs/operations.md).
CREATE TABLE schedule_runs (
    execution_id   TEXT PRIMARY KEY,
    schedule_name  TEXT    NOT NULL,
    workflow_name  TEXT    NOT NULL,
    scheduled_time INTEGER NOT NULL,
    execution_time INTEGER NOT NULL,
    workflow_id    TEXT,
    state          TEXT    NOT NULL,
    reason         TEXT,
    start_request  TEXT    NOT NULL,
    zone_id        TEXT    NOT NULL
);
CREATE INDEX schedule_runs_recent ON schedule_runs (execution_time DESC, execution_id DESC);
CREATE INDEX schedule_runs_schedule ON schedule_runs (schedule_name, execution_time DESC);
