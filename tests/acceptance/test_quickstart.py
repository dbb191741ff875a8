"""The README's quickstart, as a newcomer runs it, against a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ServerProcess

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "quickstart.py"


@pytest.mark.slow
def test_the_quickstart_workflow_completes(server: ServerProcess) -> None:
    env = dict(os.environ, CONDUCTOR_SERVER_URL=server.api)
    done = subprocess.run([sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "COMPLETED {'result': 'HELLO, PODIUM!'}" in done.stdout
