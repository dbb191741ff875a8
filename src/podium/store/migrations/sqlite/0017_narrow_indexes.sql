-- Indexes a task or an execution leaves when it no longer needs them (issue 18): each index a row
-- is in costs a b-tree write per insert and per change of its columns, on every hot path.
-- Pending tasks by type (the queue listing and the repair), ordered as the listing reads them.
DROP INDEX tasks_type_status;
CREATE INDEX tasks_pending_by_type ON tasks (task_type, scheduled_time) WHERE status IN ('SCHEDULED', 'IN_PROGRESS');
-- Started tasks for rate limits: a task enters when it starts, not when it is scheduled.
DROP INDEX tasks_started;
CREATE INDEX tasks_started ON tasks (task_def_name, start_time) WHERE start_time > 0;
-- Ended executions for retention and the TNC-O time search: an execution enters when it ends.
DROP INDEX executions_end_time;
CREATE INDEX executions_end_time ON executions (end_time, started_time) WHERE end_time > 0;
