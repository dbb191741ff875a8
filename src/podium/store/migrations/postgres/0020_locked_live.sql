-- A worker's update locks its execution and reads its live tasks in one round trip (issue 18), by
-- this function: the first row is the execution's, locked; the others are its live tasks and every
-- settled attempt of the reference names given. The read of the tasks is a query of its own, whose
-- snapshot is taken once the lock is held (a VOLATILE function's queries each take a fresh one in
-- READ COMMITTED), so it sees what the unit that held the lock before wrote, as a second statement
-- would; the reads of one statement would all see the snapshot taken before it waited.
CREATE OR REPLACE FUNCTION podium_locked_live(p_workflow_id TEXT, p_refs TEXT[])
RETURNS TABLE (ex executions, task tasks) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  SELECT * INTO ex FROM executions e WHERE e.workflow_id = p_workflow_id FOR UPDATE;
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
