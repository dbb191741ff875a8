-- When an execution's first task started (0 until then): the start of its work, as the process
-- dialects show it (TNC-O's startTime, SIGMA's READY -> RUNNING).
ALTER TABLE executions ADD COLUMN started_time BIGINT NOT NULL DEFAULT 0;
CREATE INDEX executions_started ON executions (started_time, create_time);
CREATE INDEX executions_end_time ON executions (end_time, started_time);

-- Search attributes: named values on an execution, set from its definition's declaration or by
-- the dialect that starts it (TNC-O's assembly fields), searched by index, never by scanning JSON.
CREATE TABLE search_attrs (
    workflow_id TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (workflow_id, name)
);
CREATE INDEX search_attrs_value ON search_attrs (name, value, workflow_id);
