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
