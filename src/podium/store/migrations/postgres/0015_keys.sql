-- API keys (issue 16): the secret is kept only as a slow hash; a revoked key stays listed.
CREATE TABLE api_keys (
    key_id      TEXT    PRIMARY KEY,
    name        TEXT    NOT NULL,
    role        TEXT    NOT NULL,
    secret_hash TEXT    NOT NULL,
    create_time BIGINT NOT NULL,
    revoke_time BIGINT
);
-- Values every server process on the database shares, made once (the token signing key).
CREATE TABLE server_keys (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
