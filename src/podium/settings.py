"""Settings are data: one typed object, read once at start-up from PODIUM_* variables, CLI flags and
an optional TOML file (PODIUM_CONFIG)."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from podium.cipher import parse_keys
from podium.outbound.policy import parse_network
from podium.web.origin import canonical


class Settings(BaseSettings):
    # Errors never quote the value given: a secret key or a database URL's password stays out of them.
    model_config = SettingsConfigDict(env_prefix="PODIUM_", extra="ignore", hide_input_in_errors=True)

    host: str = Field("127.0.0.1", description="Interface to listen on (0.0.0.0 for every interface).")
    port: int = Field(8080, description="HTTP port.")
    database_url: str = Field("sqlite:///podium.db",
                              description="sqlite:///path/to/file.db or postgresql://user@host/db.")
    database_pool_size: int = Field(10, description="PostgreSQL: connections in this process's pool.")
    database_statement_cache: int = Field(
        100, description="PostgreSQL: prepared statements kept per connection; 0 behind PgBouncer in "
                         "transaction mode.")
    role: Literal["all", "api", "engine"] = Field(
        "all", description="all: API and background work; api: the API only; engine: background work "
                           "only (timers, system tasks, events). Split roles need a shared PostgreSQL.")
    log_level: Literal["debug", "info", "warning", "error"] = Field("info", description="Log level.")
    log_json: bool = Field(False, description="Write logs as JSON lines.")
    metrics: bool = Field(True, description="Record Prometheus metrics and serve them at GET /metrics.")
    otel_endpoint: str | None = Field(
        None, description="OpenTelemetry collector (OTLP over HTTP, e.g. http://127.0.0.1:4318) to send a trace "
                          "of every execution to; unset: no tracing. Needs the podium[otel] extra.")
    auth: Literal["off", "keys"] = Field(
        "off", description="off: no authentication (refused on a non-loopback host unless insecure); keys: "
                           "every call carries a token from an API key (podium keys create).")
    insecure: bool = Field(
        False, description="Serve with auth off on a non-loopback host: anyone who reaches the port may do "
                           "everything.")
    token_ttl_s: float = Field(3600, gt=0, description="How long a token from POST /api/token (or a UI login) "
                                                       "stays good.")
    login_attempts: int = Field(
        10, gt=0, description="Failed token requests or UI logins an address may make per minute; more get 429.")
    max_payload_bytes: int = Field(10 * 1024 * 1024,
                                   description="Largest request body (workflow input, task output) accepted.")
    script_time_limit_s: float = Field(
        2.0, gt=0, description="Longest a JavaScript or jq evaluation may run (INLINE, SWITCH, DO_WHILE, "
                               "JSON_JQ_TRANSFORM, event conditions); past it, its task fails.")
    script_memory_limit_mb: int = Field(
        64, gt=0, description="Most memory a JavaScript or jq evaluation may use (and the largest result it "
                              "may give); past it, its task fails.")
    script_quick_limit_ms: int = Field(
        250, gt=0, description="Longest a script may run inside the decide pass (which holds its execution and, "
                               "on SQLite, the database's one writer); one that needs longer is handed to the "
                               "system-task runner and finishes there, within script_time_limit_s.")
    script_workers: int = Field(
        2, gt=0, description="Sandbox processes per runtime (JavaScript, jq): evaluations that run at once.")
    script_niceness: int = Field(
        10, ge=0, le=19, description="The sandbox processes' scheduling priority (nice): higher, a spinning "
                                     "script leaves more of a busy machine's CPU to the server; lower, scripts "
                                     "wait less for the CPU when the machine is busy (a 10,000-iteration loop "
                                     "took 10 times as long at 10 as at 0 beside three busy processes).")
    http_header_timeout_s: float = Field(
        10, gt=0, description="A request's line and headers must arrive within this many seconds (from the "
                              "connection, or from the request's first byte on a kept-alive one), else the "
                              "connection is closed.")
    http_limit_concurrency: int = Field(
        0, ge=0, description="Open connections (or requests) past which new requests get 503; 0 = no limit.")
    workflow_env: dict[str, str] = Field(default_factory=dict,
                                         description="Names readable as ${NAME} in workflow expressions.")
    http_allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Outbound calls (HTTP tasks, REMOTE/TANGO members, BBS callbacks, webhooks) may go only to "
                    "these hosts: globs such as *.example.com, or networks such as 10.0.0.0/8; empty = any host.")
    http_denied_hosts: list[str] = Field(
        default_factory=list,
        description="Outbound calls may never go to these hosts (globs) or addresses (networks such as "
                    "127.0.0.0/8, ::1); wins over allowed.")
    outbound_policy: Literal["default", "strict"] = Field(
        "default", description="default: outbound calls may reach loopback and private addresses; strict: "
                               "they may not (link-local and metadata addresses are always refused).")
    trusted_origins: list[str] = Field(
        default_factory=list,
        description="Other origins (scheme://host[:port]) whose pages may act on the UI and API from a browser, "
                    "besides the server's own (its Host header): the public address when a reverse proxy "
                    "rewrites Host.")
    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server for nats: event sinks and queues.")
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/",
                          description="AMQP broker (RabbitMQ) for amqp: event sinks and queues.")
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis server for redis: event sinks and queues.")
    kafka_bootstrap_servers: str | None = Field(
        None, description="Kafka brokers (host:port,...) for KAFKA_PUBLISH tasks and kafka: sinks and queues. This "
                          "build has no Kafka client: unset, they fail with 'Kafka is not configured'; set, with "
                          "'Kafka is not available in this build'.")
    status_webhook_url: str | None = Field(
        None, description="Status listeners: workflow (and task) status notices are also POSTed here, with retries.")
    task_status_listener: bool = Field(
        False, description="Announce task status changes (of tasks whose definition keeps taskStatusListenerEnabled).")
    bbs_max_task_retries: int = Field(3, description="BBS: rejections a task survives; the next one fails it.")
    bbs_converge_interval_s: float = Field(30, description="BBS: how often task convergence runs.")
    bbs_kick_s: float = Field(
        30, description="BBS: an offer is reserved to its cell this long; a Completed or Resolving task "
                        "untouched this long has its callback sent again.")
    bbs_expire_completed_s: float = Field(120, description="BBS: Completed tasks not resolved are deleted after this.")
    bbs_expire_pending_s: float = Field(1800, description="BBS: Pending tasks not started in this time fail.")
    bbs_cell_ttl_s: float = Field(30, description="BBS: a cell is present this long after it was last heard from.")
    bbs_callback_workers: int = Field(32, description="BBS: completion callbacks sent at once.")
    bbs_event_retention_s: float = Field(
        600, gt=0, description="BBS: the task event log keeps events this long (a reader that reconnects within it "
                               "misses nothing); older ones are deleted at each convergence pass.")
    tango_members: dict[str, Any] = Field(
        default_factory=dict,
        description="Member services by container id: a URL, or {url, retries, resume} (REMOTE tasks, TANGO).")
    tango_heartbeat_mode: Literal["poll", "push"] = Field(
        "poll", description="TANGO: poll: the server asks members' status_request; push: members report running.")
    tango_heartbeat_period_s: float = Field(2, description="TANGO: the heartbeat period.")
    tango_heartbeat_misses: int = Field(
        3, description="TANGO: heartbeats missed (push) or unreachable polls in a row (poll) that fail a stage; "
                       "0 = never.")
    tnco_intent_workflows: dict[str, str] = Field(
        default_factory=dict,
        description="TNC-O: the workflow each intent type starts, where not the definition named like it "
                    "(e.g. {\"CreateAssembly\": \"provision\"}).")
    sigma_delete_missing_status: int = Field(
        204, description="SIGMA: the answer to DELETE of a process that does not exist (204 as the seed says, "
                         "or 404 as DigitalOcean-style APIs do).")
    secret_key: SecretStr | None = Field(
        None, description="Key that encrypts secrets at rest (${workflow.secrets.NAME}): a Fernet key (32 bytes, "
                          "url-safe base64; `podium secrets keygen` makes one), or several separated by commas, "
                          "the first encrypting and every one decrypting. Unset, secrets cannot be stored or read.")
    audit_retention_days: int = Field(
        90, ge=0, description="Audit trail entries are deleted this many days after the call; 0 = kept forever.")
    audit_worker_calls: bool = Field(
        False, description="Record worker traffic in the audit trail too (task polls, updates and logs, BBS cell "
                           "calls, TANGO member reports): an extra write per call on the hot path.")
    dashboard_stuck_after_s: float = Field(
        60, gt=0, description="Dashboard: a queue whose tasks waited this long with no poll in that time is "
                              "flagged as stuck; an overdue schedule tick too.")
    retention_days: int = Field(
        30, ge=0, description="Finished executions (COMPLETED, FAILED, TIMED_OUT, TERMINATED) are deleted with their "
                              "tasks, logs and index entries this many days after they ended; 0 keeps them forever.")
    retention_by_workflow_type: dict[str, int] = Field(
        default_factory=dict, description="Per workflow type, days that win over retention_days (0 keeps that "
                                          "type forever), e.g. {\"nightly_report\": 7}.")
    retention_task_logs_days: int = Field(
        0, ge=0, description="Task logs older than this many days are deleted even while their execution is kept; "
                             "0: they go with their execution.")
    retention_schedule_runs_days: int = Field(
        30, ge=0, description="Schedule runs (the scheduler's execution history) older than this many days are "
                              "deleted; 0 keeps them forever.")
    retention_event_executions_days: int = Field(
        30, ge=0, description="Event executions (what event handlers did) older than this many days are deleted; "
                              "0 keeps them forever.")
    retention_archive_dir: Path | None = Field(
        None, description="Executions are written here (gzip'd JSON lines, one file per day and process) before "
                          "they are deleted; read them with `podium archive show FILE`. Unset: no archive.")
    retention_batch: int = Field(500, gt=0, description="Most executions (or other rows) deleted per transaction "
                                                         "(batches are sized to take about 50 ms, up to this).")
    retention_duty: float = Field(
        0.2, gt=0, le=1, description="Share of its time retention may spend deleting: after each batch it rests "
                                     "(duty 0.2: four times as long as the batch took), so the API's writes go "
                                     "first. 1: no rest.")
    retention_interval_s: float = Field(60, gt=0, description="How often the retention loop runs.")
    config: Path | None = Field(None, description="Optional TOML file with any of these settings.")

    @field_validator("http_allowed_hosts", "http_denied_hosts")
    @classmethod
    def _host_entries(cls, value: list[str]) -> list[str]:
        for entry in value:
            parse_network(entry.strip())  # a malformed CIDR raises
        return value

    @field_validator("trusted_origins")
    @classmethod
    def _origins(cls, value: list[str]) -> list[str]:
        found = [canonical(entry) for entry in value]
        wrong = [entry for entry, origin in zip(value, found, strict=True) if origin is None]
        if wrong:
            raise ValueError(f"not an origin (scheme://host[:port]): {', '.join(wrong)}")
        return [origin for origin in found if origin is not None]

    @field_validator("otel_endpoint")
    @classmethod
    def _otel_endpoint(cls, value: str | None) -> str | None:
        if not value:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("otel_endpoint must be an http:// or https:// URL (OTLP over HTTP)")
        if importlib.util.find_spec("opentelemetry.proto") is None:
            raise ValueError("otel_endpoint is set, but the podium[otel] extra is not installed "
                             "(pip install 'podium[otel]')")
        return value

    @field_validator("secret_key")
    @classmethod
    def _secret_key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value():
            parse_keys(value.get_secret_value())  # a malformed key stops the server at start-up
        return value

    @field_validator("retention_by_workflow_type")
    @classmethod
    def _retention_days(cls, value: dict[str, int]) -> dict[str, int]:
        wrong = [name for name, days in value.items() if days < 0]
        if wrong:
            raise ValueError(f"days must be 0 or more: {', '.join(wrong)}")
        return value

    @field_validator("sigma_delete_missing_status")
    @classmethod
    def _delete_status(cls, value: int) -> int:
        if value not in (204, 404):
            raise ValueError("must be 204 or 404")
        return value

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Environment and flags; a TOML file fills what neither gives."""
        given = {k: v for k, v in overrides.items() if v is not None}
        first = cls(**given)
        if first.config is None:
            return first
        from_file = tomllib.loads(first.config.read_text())
        return cls(**(from_file | first.model_dump(exclude_unset=True) | given))
