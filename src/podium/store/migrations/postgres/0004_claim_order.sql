-- Claims take equal-priority, equally visible entries in the order they were queued (task ids
-- are time-ordered), so a batch poll hands them out in a stable order on every backend.
DROP INDEX queue_claim;
CREATE INDEX queue_claim ON queue (queue_name, priority DESC, visible_at, task_id);
