-- An execution's revision: one more with every unit that changes the execution or its tasks while
-- holding its row locked. A worker's update may read without the lock and write in one statement
-- that checks the revision it read (`PgSession`, optimistic units): no BEGIN, no COMMIT.
ALTER TABLE executions ADD COLUMN revision BIGINT NOT NULL DEFAULT 0;
