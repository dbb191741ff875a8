-- A task inside a DO_WHILE carries its iteration in its reference name (`step__3`); `loop_ref`
-- keeps the name without it (`step`), so the latest iteration of a step is one index probe.
ALTER TABLE tasks ADD COLUMN loop_ref TEXT;
CREATE INDEX tasks_loop_latest ON tasks (workflow_id, loop_ref, seq) WHERE loop_ref IS NOT NULL;
