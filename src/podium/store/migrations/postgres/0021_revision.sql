-- An execution's revision: one more with every unit that changes the execution or its tasks while
-- holding its row locked. A worker's update may read without the lock and write in one statement
-- that checks the revision it read (`PgSession`, optimistic units): no BEGIN, no COMMIT.
ALTER TABLE executions ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;

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
