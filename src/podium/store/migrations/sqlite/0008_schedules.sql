-- Schedules: a workflow started at each fire of a cadence (a period or a cron expression). The
-- next fire is a durable timer (kind schedule_tick, key the name); the row counts runs and skips.
CREATE TABLE schedules (
    name        TEXT PRIMARY KEY,
    body        TEXT    NOT NULL,
    paused      INTEGER NOT NULL DEFAULT 0,
    next_due    INTEGER,
    runs        INTEGER NOT NULL DEFAULT 0,
    missed      INTEGER NOT NULL DEFAULT 0,
    last_run    TEXT,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
);
