-- Retention by age of task logs (retention_task_logs_days) finds the old ones by this index, not a scan.
CREATE INDEX task_logs_created ON task_logs (created_time);
