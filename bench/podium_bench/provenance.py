"""What was measured: the code the server imports (commit, uncommitted changes, package versions)."""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
from pathlib import Path
from typing import Any

from .servers import server_env


def source_info(args: argparse.Namespace | None = None) -> dict[str, Any]:
    """What was measured: where `podium` is imported from, the commit, uncommitted changes under
    src/, and key package versions."""
    repo = Path(__file__).resolve().parents[2]
    out: dict[str, Any] = {}
    with contextlib.suppress(Exception):
        out["podium_imported_from"] = subprocess.run(
            [sys.executable, "-c", "import podium, os; print(os.path.dirname(podium.__file__))"],
            env=server_env(args) if args else None,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    if args is not None and getattr(args, "src", None):
        out["src"] = args.src
        marker = Path(args.src).parent / "COMMIT"  # written by whoever exported the snapshot, if anyone
        if marker.exists():
            out["commit"] = marker.read_text().strip()
        return out | {"versions": package_versions()}
    with contextlib.suppress(Exception):

        def git(*a: str) -> str:
            return subprocess.run(["git", *a], cwd=repo, capture_output=True, text=True, timeout=10).stdout

        out["commit"] = git("rev-parse", "HEAD").strip()
        out["uncommitted_src"] = [ln[3:] for ln in git("status", "--porcelain", "--", "src").splitlines()]
        if out["uncommitted_src"]:
            import hashlib

            out["src_diff_sha1"] = hashlib.sha1(git("diff", "HEAD", "--", "src").encode()).hexdigest()[:12]
    out["versions"] = package_versions()
    return out


def package_versions() -> dict[str, str]:
    import importlib.metadata
    import sqlite3

    versions = {}
    for pkg in (
        "podium",
        "fastapi",
        "starlette",
        "uvicorn",
        "uvloop",
        "httptools",
        "pydantic",
        "orjson",
        "httpx",
    ):
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            versions[pkg] = importlib.metadata.version(pkg)
    versions["sqlite"] = sqlite3.sqlite_version
    return versions
