"""`podium`: the command line. Every option can also be given as the PODIUM_* variable shown."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Callable, Sequence

from podium.__about__ import __version__
from podium.errors import PodiumError
from podium.settings import Settings

_OPTIONS = (
    ("--host", "host", str, "interface to listen on"),
    ("--port", "port", int, "HTTP port"),
    ("--database-url", "database_url", str, "sqlite:///path.db (default ./podium.db) or postgresql://..."),
    ("--log-level", "log_level", str, "debug, info, warning or error"),
    ("--role", "role", str, "all (default), api (HTTP only) or engine (background work only)"),
    ("--outbound-policy", "outbound_policy", str,
     "default (outbound calls may reach loopback and private addresses) or strict (they may not)"),
    ("--kafka-bootstrap-servers", "kafka_bootstrap_servers", str,
     "Kafka brokers (host:port,...) for KAFKA_PUBLISH tasks and kafka: events; this build has no Kafka client"),
    ("--auth", "auth", str, "off (default: no authentication, loopback only) or keys (API keys and tokens)"),
    ("--insecure", "insecure", bool, "serve with auth off on a non-loopback host (anyone who reaches it may do "
                                     "everything)"),
    ("--otel-endpoint", "otel_endpoint", str, "OTLP/HTTP collector to send execution traces to, e.g. "
                                              "http://127.0.0.1:4318 (needs podium[otel])"),
    ("--config", "config", str, "TOML file with any of these settings"),
)


def add_settings_options(parser: argparse.ArgumentParser, names: Sequence[str]) -> None:
    defaults = Settings.model_fields
    for flag, name, kind, text in _OPTIONS:
        if name not in names:
            continue
        default = defaults[name].default
        text = f"{text} [env: PODIUM_{name.upper()}] [default: {default}]"
        if kind is bool:
            parser.add_argument(flag, dest=name, action="store_const", const=True, default=None, help=text)
        else:
            parser.add_argument(flag, dest=name, type=kind, default=None, help=text)


_PROGRAMS = {  # name: (module with main(argv), help)
    "worker": ("podium.worker.cli", "run Python task workers (podium worker module:object --help)"),
    "agent": ("podium.agent.cli", "run the command agent: BBS cell or COMMAND tasks (podium agent --help)"),
    "keys": ("podium.auth.cli", "manage API keys: create, list, revoke (podium keys --help)"),
    "secrets": ("podium.secrets.cli", "set, list and delete secrets in the database (podium secrets --help)"),
    "workflow": ("podium.ops.workflow", "start, show, list and control executions over HTTP (podium workflow --help)"),
    "defs": ("podium.ops.defs", "export and import every definition as JSON files (podium defs --help)"),
    "queues": ("podium.ops.queues", "queue depths, oldest waiting task and pollers (podium queues --help)"),
    "backup": ("podium.ops.backup", "copy a SQLite database online and check the copy (podium backup --help)"),
    "prune": ("podium.retention.cli", "delete finished executions older than a time (podium prune --help)"),
    "archive": ("podium.retention.archive_cli", "read retention archive files (podium archive show FILE)"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="podium", description="Podium workflow orchestration server.")
    commands = parser.add_subparsers(dest="command", required=True)
    server = commands.add_parser("server", help="run the server (API and background loops)")
    add_settings_options(server, ("host", "port", "database_url", "log_level", "role", "outbound_policy",
                                  "kafka_bootstrap_servers", "auth", "insecure", "otel_endpoint", "config"))
    db = commands.add_parser("db", help="database maintenance")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    upgrade = db_commands.add_parser("upgrade", help="create or migrate the database schema")
    add_settings_options(upgrade, ("database_url", "config"))
    commands.add_parser("version", help="print the version")
    for name, (_, text) in _PROGRAMS.items():  # their own parsers read the rest of the command line
        commands.add_parser(name, help=text, add_help=False).add_argument("rest", nargs=argparse.REMAINDER)
    return parser


def settings_from(args: argparse.Namespace) -> Settings:
    given = {name: getattr(args, name, None) for _, name, _, _ in _OPTIONS}
    return Settings.load(**given)


def serve(settings: Settings) -> None:
    import uvicorn

    from podium.app import create_app
    from podium.logs import configure
    from podium.serving import uvicorn_options

    configure(settings.log_level, settings.log_json)
    app = create_app(settings)
    # What imports and the app's construction made lives as long as the process: the collector's
    # full passes leave it out (46 ms each under load before; issue 18).
    gc.freeze()
    uvicorn.run(app, **uvicorn_options(settings))


async def upgrade(settings: Settings, *, audited: bool = False) -> list[int]:
    """Migrate the schema; with `audited` (`podium db upgrade`), an upgrade that applied migrations
    is recorded in the audit trail."""
    from podium.audit.cli import record_cli
    from podium.store import open_store

    store = open_store(settings.database_url)
    await store.open()
    try:
        applied = await store.migrate()
        if audited and applied:
            await record_cli(store, "db upgrade", [str(v) for v in applied])
        return applied
    finally:
        await store.close()


def main(argv: Sequence[str] | None = None) -> int:
    given = list(sys.argv[1:] if argv is None else argv)
    if given and given[0] in _PROGRAMS:  # their own parsers read every option, --help included
        return _run_program(given[0], given[1:])
    args = build_parser().parse_args(given)
    if args.command == "version":
        print(__version__)
        return 0
    settings = settings_from(args)
    if args.command == "server":
        from podium.serving import exposure_refusal

        refusal = exposure_refusal(settings)
        if refusal:
            print(f"podium: {refusal}", file=sys.stderr)
            return 2
    try:
        applied = asyncio.run(upgrade(settings, audited=args.command == "db"))
    except (PodiumError, ValueError, NotImplementedError) as exc:
        print(f"podium: {exc}", file=sys.stderr)
        return 1
    if args.command == "db":
        print(f"applied migrations: {applied}" if applied else "schema is up to date")
        return 0
    serve(settings)
    return 0


def _run_program(name: str, argv: list[str]) -> int:
    import importlib

    program: Callable[[list[str]], int] = importlib.import_module(_PROGRAMS[name][0]).main
    return program(argv)


if __name__ == "__main__":
    sys.exit(main())
