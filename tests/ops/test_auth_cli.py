"""The operator's CLI against a server with `--auth keys`: the key comes from PODIUM_KEY_ID and
PODIUM_KEY_SECRET (made with `podium keys create`); no key, a wrong secret, or a role without the
right all exit 3."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acceptance.test_auth_clients import make_key
from tests.conftest import ServerProcess, start_server
from tests.ops.support import flow, inline, podium, podium_json

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    folder = tmp_path_factory.mktemp("ops-auth")
    server = start_server(folder / "podium.db", folder / "server.log", args=["--auth", "keys"])
    try:
        yield server
    finally:
        server.stop()


def _env(key: dict[str, str], secret: str | None = None) -> dict[str, str]:
    return {"PODIUM_KEY_ID": key["keyId"], "PODIUM_KEY_SECRET": secret or key["keySecret"]}


def test_an_operator_key_from_the_environment(secured: ServerProcess, tmp_path: Path) -> None:
    operator = _env(make_key(secured.db_path, "operator"))
    folder = tmp_path / "defs" / "workflows"
    folder.mkdir(parents=True)
    (folder / "quick.v1.json").write_text(json.dumps(flow("ops_auth_quick", inline("a"))))
    imported = podium_json("defs", "import", str(folder.parent), server=secured.url, env=operator)
    assert [r["result"] for r in imported] == ["created"]
    started = podium_json("workflow", "start", "ops_auth_quick", "--wait", server=secured.url, env=operator)
    assert started["status"] == "COMPLETED"
    assert podium("queues", server=secured.url, env=operator).returncode == 0
    shown = podium_json("workflow", "show", started["workflowId"], server=secured.url, env=operator)
    assert shown["status"] == "COMPLETED"


def test_no_key_a_wrong_secret_or_too_small_a_role_exit_3(secured: ServerProcess) -> None:
    without = podium("queues", server=secured.url)
    assert without.returncode == 3 and "401" in without.stderr
    wrong = podium("workflow", "list", server=secured.url, env=_env(make_key(secured.db_path, "operator"), "nope"))
    assert wrong.returncode == 3 and "refused" in wrong.stderr
    viewer = _env(make_key(secured.db_path, "viewer"))
    assert podium("workflow", "list", server=secured.url, env=viewer).returncode == 0
    refused = podium("workflow", "terminate", "some-id", server=secured.url, env=viewer)
    assert refused.returncode == 3 and "403" in refused.stderr
