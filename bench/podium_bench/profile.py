"""The server's recordings, summarized: py-spy's raw output (self time by area, the hottest Podium
functions) and `perf record`'s (each shared library's share of the CPU cycles)."""

from __future__ import annotations

import collections
import re
import shutil
import subprocess
from pathlib import Path

AREAS = [  # (label, substrings of a py-spy frame "function (file:line)"), first match wins
    # the library and the sqlite3 module's binding, row and text work: perf tells them apart (--perf)
    ("SQLite calls (the library and the sqlite3 module's work)", ("store/sqlite.py",)),
    ("uvicorn: HTTP parsing and socket writes", ("uvicorn/", "httptools")),
    ("FastAPI / Starlette routing and dependencies", ("fastapi/", "starlette/")),
    ("pydantic (request bodies, models)", ("pydantic",)),
    (
        "Podium Python (engine, service, store rows, wire)",
        ("service/", "engine/", "store/", "model/", "api/"),
    ),
    ("asyncio / event loop / other", ("",)),
]


def _area(frame: str) -> str:
    return next(label for label, keys in AREAS if any(k in frame for k in keys))


def summarize_profile(path: Path, top: int = 25) -> str:
    """From py-spy's raw (collapsed) output of the server: self time by area, then the functions
    with the most inclusive time (line numbers folded). Idle worker threads are left out."""
    areas: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    self_t: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or "Thread._bootstrap" in stack:
            continue
        k = int(count)
        frames = [f.strip() for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        total += k
        areas[_area(frames[-1])] += k
        self_t[re.sub(r":\d+\)$", ")", frames[-1])] += k
        for f in {re.sub(r":\d+\)$", ")", f) for f in frames}:
            incl[f] += k
    if not total:
        return f"{path.name}: no samples"
    lines = [f"{path.name}: {total} samples of the server's busy main thread", "  self time by area:"]
    lines += [f"    {100 * c / total:5.1f}%  {a}" for a, c in areas.most_common()]
    lines.append("  self time, top functions:")
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in self_t.most_common(top // 2)]
    lines.append("  inclusive time, Podium functions:")
    podium = [(f, c) for f, c in incl.most_common() if _area(f).startswith(("Podium", "SQLite"))]
    lines += [f"    {100 * c / total:5.1f}%  {f}" for f, c in podium[:top]]
    return "\n".join(lines)


def summarize_perf(path: Path, top: int = 12) -> str:
    """Each shared library's share of the cycles `perf record` sampled in the server (`perf report
    --sort dso`): the interpreter, SQLite, the kernel, asyncpg's protocol, uvloop..."""
    perf = shutil.which("perf")
    if perf is None:
        return f"{path.name}: perf is not installed"
    report = subprocess.run([perf, "report", "-i", str(path), "--sort", "dso", "--stdio"],
                            capture_output=True, text=True, check=False)
    shares = [line.split(None, 1) for line in report.stdout.splitlines()
              if line.strip() and not line.lstrip().startswith("#") and line.strip()[0].isdigit()]
    if not shares:
        return f"{path.name}: no samples ({report.stderr.strip()[:200]})"
    lines = [f"{path.name}: the server's CPU cycles by shared library (perf)"]
    lines += [f"    {share:>7}  {dso.strip()}" for share, dso in shares[:top]]
    return "\n".join(lines)
