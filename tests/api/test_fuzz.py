"""Fuzzing the app's own `/openapi.json` with schemathesis (issue 13, item 10), on both backends.

A real `podium server` on a loopback port serves the document, and every operation in it gets
`EXAMPLES` generated requests, valid and invalid by the document (Hypothesis, derandomized: the
same requests on every run). Every answer must be no 5xx, a documented status code, a documented
content type, and a body that conforms to the documented schema. All problems are collected and
reported together, one line each, with the request that showed it.

Budget: about 20-40 s per backend on a 2-core machine (the timing is printed with `-s`), in
SHARDS tests that xdist runs side by side.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests import pg
from tests.conftest import ServerProcess, start_server
from tests.pg import backends

EXAMPLES = 5  # per operation and generation mode (valid, invalid)
SHARDS = 3  # the operations are shared out among this many tests (and servers), which xdist runs side by side
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]

# Not fuzzed: a stream that answers until the client goes away (Server-Sent Events).
EXCLUDED = {"GET /v1/events/tasks.r1", "POST /v1/events/tasks.r1"}


def _query(name: str, most: int) -> Callable[[Case], None]:
    def clamp(case: Case) -> None:
        value = (case.query or {}).get(name)
        if isinstance(value, str) and value.lstrip("-").isdigit() and int(value) > most:
            case.query[name] = str(most)
    return clamp


def _body(name: str, most: int) -> Callable[[Case], None]:
    def clamp(case: Case) -> None:
        if isinstance(case.body, dict) and isinstance(case.body.get(name), int | float):
            case.body[name] = min(case.body[name], most)
    return clamp


# Long polls and waits are fuzzed with a short wait: each may otherwise hold a request for seconds.
SHORT_WAITS: dict[str, Callable[[Case], None]] = {
    "GET /api/tasks/poll/batch/{task_type}": _query("timeout", 10),
    "POST /api/workflow/execute/{name}/{version}": _query("waitForSeconds", 1),
    "POST /api/tasks/{workflow_id}/{status}/signal/sync": _query("timeoutMillis", 10),
    "POST /v1/tasks/offers": _body("timeout_ms", 10),
}


@pytest.fixture(params=backends())
def fuzzed(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ServerProcess]:
    """A real server on a fresh database: SQLite in a temp file, or a PostgreSQL clone; with a secret
    key, so that storing a secret is not refused (503)."""
    monkeypatch.setenv("PODIUM_SECRET_KEY", Fernet.generate_key().decode())
    if request.param == "sqlite":
        server = start_server(tmp_path / "podium.db", tmp_path / "server.log")
        name = None
    else:
        name = asyncio.run(pg.fresh_database())
        server = start_server(tmp_path / "unused.db", tmp_path / "server.log", database_url=pg.database_url(name))
    try:
        yield server
    finally:
        server.stop()
        if name is not None:
            asyncio.run(pg.drop_database(name))


def _strategy(operation: Any) -> st.SearchStrategy[Case]:
    modes = [operation.as_strategy(generation_mode=mode) for mode in (GenerationMode.POSITIVE,
                                                                     GenerationMode.NEGATIVE)]
    shorten = SHORT_WAITS.get(operation.label)

    def shortened(case: Case) -> Case:
        if shorten is not None:
            shorten(case)
        return case

    return st.one_of(modes).map(shortened)


def _fuzz(operation: Any, url: str, session: requests.Session) -> str | None:
    """The first problem found in `operation`, or None."""

    @settings(max_examples=2 * EXAMPLES, derandomize=True, database=None, deadline=None,
              suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate],
              report_multiple_bugs=False)
    @given(case=_strategy(operation))
    def run(case: Case) -> None:
        response = case.call(base_url=url, session=session, timeout=30)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:
        return f"{operation.label}: {exc}"
    return None


@pytest.mark.parametrize("shard", range(SHARDS))
def test_no_answer_breaks_the_openapi_document(fuzzed: ServerProcess, shard: int) -> None:
    """Every operation whose place in the document is `shard` modulo SHARDS."""
    began = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{fuzzed.url}/openapi.json")
    problems, took = [], []
    with requests.Session() as session:  # one keep-alive connection, as a client would
        for index, result in enumerate(schema.get_all_operations()):
            operation = result.ok()
            if operation.label in EXCLUDED or index % SHARDS != shard:
                continue
            start = time.monotonic()
            problem = _fuzz(operation, fuzzed.url, session)
            took.append((time.monotonic() - start, operation.label))
            if problem is not None:
                problems.append(problem)
    slowest = ", ".join(f"{label} {seconds:.1f} s" for seconds, label in sorted(took, reverse=True)[:5])
    print(f"fuzzed {len(took)} operations in {time.monotonic() - began:.1f} s; slowest: {slowest}")
    assert len(took) > 100 // SHARDS
    assert "Traceback" not in fuzzed.log_path.read_text(), "the server logged a traceback"
    assert not problems, f"{len(problems)} operations broke the document:\n\n" + "\n\n".join(problems)
