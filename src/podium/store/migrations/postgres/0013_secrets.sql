-- Secrets (the Orkes secret API, ${workflow.secrets.NAME}): the value encrypted with the server's
-- secret key (a Fernet token), never in clear; tags as a JSON list of {key, value, type}.
CREATE TABLE secrets (
    name        TEXT    PRIMARY KEY,
    value       TEXT    NOT NULL,
    tags        TEXT    NOT NULL DEFAULT '[]',
    create_time BIGINT NOT NULL,
    update_time BIGINT NOT NULL
);
