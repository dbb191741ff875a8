"""py-spy's raw output of the server, summarized: self time by area, the hottest Podium functions."""

from __future__ import annotations

import collections
import re
from pathlib import Path

AREAS = [  # (label, substrings of a py-spy frame "function (file:line)"), first match wins
    ("SQLite (C library, in the store's execute/commit calls)", ("store/sqlite.py",)),
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
