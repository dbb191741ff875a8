"""The peer's own virtual environment: Celery and its Redis client, installed by the benchmark
itself (once, then reused), never a dependency of the project."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .util import log

REQUIREMENT = "celery[redis]==5.7.0"  # the newest Celery 5.x on PyPI when this was written
DEFAULT_VENV = Path.home() / ".cache" / "podium-bench" / "celery-venv"
MARKER = "podium-bench-requirement"  # what the benchmark installed there, to know when to reinstall


def ensure_venv(path: Path, requirement: str = REQUIREMENT) -> Path:
    """The peer venv's Python, with `requirement` installed: made on first use, reused after."""
    python = path / "bin" / "python"
    marker = path / MARKER
    if python.exists() and marker.exists() and marker.read_text().strip() == requirement:
        return python
    log(f"peer: installing {requirement} into {path} (once)")
    path.parent.mkdir(parents=True, exist_ok=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "-q", requirement], check=True)
    marker.write_text(requirement + "\n")
    return python


def peer_versions(python: Path) -> dict[str, str]:
    """Versions of Celery, kombu and redis-py in the peer venv, for the JSON."""
    code = (
        "import importlib.metadata as m, json; "
        "print(json.dumps({p: m.version(p) for p in ('celery', 'kombu', 'redis', 'billiard')}))"
    )
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, timeout=60)
    return dict(json.loads(out.stdout)) if out.returncode == 0 else {"error": out.stderr[-300:]}
