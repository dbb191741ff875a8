"""`podium keys` against the database: create, list, revoke, each recorded in the audit trail."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from podium.auth.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_create_list_revoke_and_their_audit_entries(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = f"sqlite:///{tmp_path}/podium.db"
    code, out, _ = run(capsys, "create", "--role", "operator", "--name", "deploy", "--database-url", db)
    assert code == 0
    made = json.loads(out)
    assert made["role"] == "operator" and made["name"] == "deploy" and len(made["keySecret"]) >= 40
    code, out, _ = run(capsys, "list", "--database-url", db)
    [listed] = [json.loads(line) for line in out.splitlines()]
    assert listed["keyId"] == made["keyId"] and listed["active"] and "keySecret" not in listed
    assert made["keySecret"] not in (tmp_path / "podium.db").read_bytes().decode("latin-1")  # only its hash
    assert run(capsys, "revoke", made["keyId"], "--database-url", db)[0] == 0
    code, _, err = run(capsys, "revoke", "no-such-key", "--database-url", db)
    assert code == 1 and "No API key no-such-key" in err
    with sqlite3.connect(tmp_path / "podium.db") as conn:
        rows = conn.execute("SELECT action, targets, outcome, who FROM audit_log ORDER BY at, id").fetchall()
    actions = [(action, json.loads(targets), outcome) for action, targets, outcome, _ in rows]
    assert actions == [("cli: keys create", [made["keyId"]], "applied"),
                       ("cli: keys revoke", [made["keyId"]], "applied"),
                       ("cli: keys revoke", ["no-such-key"], "refused")]
    assert all(who.startswith("cli:") for *_, who in rows)


def test_an_unknown_role_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["create", "--role", "root", "--database-url", f"sqlite:///{tmp_path}/podium.db"])
    assert exited.value.code == 2
