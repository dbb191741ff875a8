"""An execution's task attempts on a time axis: each attempt waiting (scheduled -> started), then
running (started -> ended, or now), in percent of the track's width.

A long stretch in which no attempt runs (a retry due minutes later, a task waiting for a worker)
is drawn narrow, as a marked gap with its length, so that attempts seconds long on either side of
it stay readable instead of shrinking to slivers. The axis under the rows is labelled with the
time since the first task was scheduled.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from podium.ui.pages import span, took

GAP_WIDTH = 6.0  # percent of the track a collapsed stretch takes
GAPS_AT_MOST = 50.0  # percent all collapsed stretches take together at most
MIN_GAP_MS = 1000  # a stretch shorter than this is never collapsed
MIN_GAP_SHARE = 0.2  # ... nor one shorter than this share of the whole span
TICKS = 5


@dataclass(frozen=True)
class Stretch:
    begin: int
    end: int
    collapsed: bool
    left: float  # percent
    width: float


@dataclass(frozen=True)
class Scale:
    """Time to percent of the track, piecewise linear over its stretches."""

    stretches: tuple[Stretch, ...]

    @classmethod
    def of(cls, begin: int, end: int, running: list[tuple[int, int]]) -> Scale:
        whole = max(end - begin, 1)
        idle = [(a, b) for a, b in _idle(begin, end, running) if b - a >= max(MIN_GAP_MS, whole * MIN_GAP_SHARE)]
        idle = idle if running and sum(b - a for a, b in idle) < whole else []
        gap = min(GAP_WIDTH, GAPS_AT_MOST / len(idle)) if idle else 0.0
        kept_ms = max(whole - sum(b - a for a, b in idle), 1)
        per_ms = (100.0 - gap * len(idle)) / kept_ms
        stretches: list[Stretch] = []
        at, left = begin, 0.0
        for a, b in [*idle, (end, end)]:
            if a > at:
                stretches.append(Stretch(at, a, False, left, (a - at) * per_ms))
                left += (a - at) * per_ms
            if b > a:
                stretches.append(Stretch(a, b, True, left, gap))
                left += gap
            at = b
        return cls(tuple(stretches) or (Stretch(begin, end, False, 0.0, 100.0),))

    def at(self, t: int) -> float:
        for s in self.stretches:
            if t <= s.end:
                inside = (max(t, s.begin) - s.begin) / max(s.end - s.begin, 1)
                return round(s.left + inside * s.width, 3)
        return 100.0

    def time_at(self, percent: float) -> int | None:
        """The moment at `percent` of the track; None inside a collapsed stretch."""
        for s in self.stretches:
            if percent <= s.left + s.width + 1e-9:
                if s.collapsed:
                    return None
                return int(s.begin + (percent - s.left) / max(s.width, 1e-9) * (s.end - s.begin))
        return self.stretches[-1].end


def _idle(begin: int, end: int, running: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The stretches of [begin, end] in which nothing runs."""
    found: list[tuple[int, int]] = []
    at = begin
    for a, b in sorted(running):
        if a > at:
            found.append((at, a))
        at = max(at, b)
    if end > at:
        found.append((at, end))
    return found


def timeline(wf: dict[str, Any], now_ms: int) -> dict[str, Any] | None:
    """The rows (one per attempt), the axis's ticks and the collapsed gaps of an execution."""
    tasks = [t for t in wf.get("tasks") or [] if t.get("scheduledTime")]
    if not tasks:
        return None
    begin = min([wf.get("startTime") or tasks[0]["scheduledTime"], *(t["scheduledTime"] for t in tasks)])
    end = max([wf.get("endTime") or now_ms, *(t.get("endTime") or 0 for t in tasks)])
    running = []
    for t in tasks:
        started = t.get("startTime") or 0
        if started:
            running.append((started, max(t.get("endTime") or now_ms, started)))
    scale = Scale.of(begin, max(end, begin + 1), running)
    rows = []
    for t in tasks:
        started = t.get("startTime") or 0
        finished = t.get("endTime") or (now_ms if started else 0)
        left = scale.at(t["scheduledTime"])
        waited_until = scale.at(started or finished or t["scheduledTime"])
        ran = scale.at(finished) - scale.at(started) if started and finished >= started else 0
        rows.append({"ref": t.get("referenceTaskName"), "task_id": t.get("taskId"),
                     "attempt": (t.get("retryCount") or 0) + 1, "status": t.get("status"), "left": left,
                     "wait": round(max(waited_until - left, 0), 3), "run": round(max(ran, 0.15), 3),
                     "took": took(started, finished)})
    return {"rows": rows, "ticks": _ticks(scale, begin), "gaps": [
        {"left": round(s.left, 3), "width": round(s.width, 3), "label": span(s.end - s.begin)}
        for s in scale.stretches if s.collapsed]}


def _ticks(scale: Scale, begin: int) -> list[dict[str, Any]]:
    ticks = []
    for i in range(TICKS + 1):
        percent = 100.0 * i / TICKS
        moment = scale.time_at(percent)
        if moment is not None:
            ticks.append({"left": round(percent, 3), "label": "0" if moment == begin else f"+{span(moment - begin)}"})
    return ticks
