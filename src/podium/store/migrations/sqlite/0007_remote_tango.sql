-- Member services that REMOTE tasks call (by container id), and TANGO projects: a project's
-- stages in order, and the workflow of its current run.
CREATE TABLE remote_members (
    container_id TEXT PRIMARY KEY,
    url          TEXT    NOT NULL,
    retries      INTEGER NOT NULL DEFAULT 0,
    resume       INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE tango_projects (
    user_id      TEXT    NOT NULL,
    project_id   TEXT    NOT NULL,
    project_type TEXT    NOT NULL,
    stages       TEXT    NOT NULL,
    target       TEXT    NOT NULL DEFAULT '',
    workflow_id  TEXT,
    log          TEXT    NOT NULL DEFAULT '[]',
    PRIMARY KEY (user_id, project_id)
);
