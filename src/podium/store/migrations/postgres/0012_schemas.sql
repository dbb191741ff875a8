-- Input and output schemas (the Orkes schema API): one row per name and version; the body is the
-- SchemaDef as registered (type, data, externalRef, audit fields).
CREATE TABLE schema_defs (
    name        TEXT    NOT NULL,
    version     BIGINT NOT NULL,
    body        TEXT    NOT NULL,
    create_time BIGINT NOT NULL,
    update_time BIGINT,
    PRIMARY KEY (name, version)
);
