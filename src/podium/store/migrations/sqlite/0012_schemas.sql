-- Input and output schemas (the Orkes schema API): one row per name and version; the body is the
-- SchemaDef as registered (type, data, externalRef, audit fields).
CREATE TABLE schema_defs (
    name        TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    body        TEXT    NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER,
    PRIMARY KEY (name, version)
);
