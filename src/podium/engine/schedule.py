"""When a schedule fires: fixed-rate periods and cron expressions, pure functions of the time.

Cron expressions are matched on the wall clock of the schedule's time zone (croniter does the
matching on naive local times), then turned into instants here, so a daylight-saving change never
makes a tick fire twice or vanish:

- a local time that happens twice (the clocks go back) fires once, at its first occurrence;
- a local time that does not exist (the clocks go forward) fires once, at the instant the clocks
  jump over it (02:30 in a 02:00 -> 03:00 gap fires at 03:00 local time);
- two local times that land on one instant fire once.

Times are epoch milliseconds, as everywhere in the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import CroniterBadCronError, CroniterBadDateError, croniter

MAX_SCAN = 10_000  # wall-clock matches looked at for one fire (enough to cross an hour of seconds)
LATEST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z: the last instant a datetime can hold
# What croniter and datetime raise for a time they cannot reach: no match left (Feb 30), or a year
# past 9999 or before 1.
_UNREACHABLE = (CroniterBadDateError, ValueError, OverflowError, OSError)


class BadSchedule(ValueError):
    """The cadence cannot be used: no period or cron, a bad expression, an unknown zone."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """Every `period_ms` from `anchor_ms` (fixed rate), or at each match of `cron` (6 fields,
    seconds first, as Conductor's scheduler writes them; 5 fields are minutes first) in `zone`."""

    period_ms: int | None = None
    cron: str | None = None
    zone: str = "UTC"
    anchor_ms: int = 0

    def check(self) -> None:
        if (self.period_ms is None) == (self.cron is None):
            raise BadSchedule("a schedule has either a period or a cron expression")
        if self.period_ms is not None and self.period_ms <= 0:
            raise BadSchedule(f"period must be a positive number of milliseconds, not {self.period_ms}")
        if self.cron is not None:
            _zone(self.zone)
            try:
                matches = croniter(self.cron, datetime(2000, 1, 1), second_at_beginning=_with_seconds(self.cron))
            except (CroniterBadCronError, ValueError, KeyError) as exc:
                raise BadSchedule(f"bad cron expression '{self.cron}': {exc}") from exc
            try:
                matches.get_next(datetime)
            except _UNREACHABLE as exc:  # e.g. `0 0 0 30 2 ?`: February has no 30th
                raise BadSchedule(f"cron expression '{self.cron}' never fires") from exc


def check_time(name: str, ms: int | None) -> None:
    """A schedule's time (epoch milliseconds) must be one a calendar can show: 0 to `LATEST_MS`."""
    if ms is not None and not 0 <= ms <= LATEST_MS:
        raise BadSchedule(f"{name} must be between 0 and {LATEST_MS} (epoch milliseconds), not {ms}")


def next_fire(cadence: Cadence, after_ms: int) -> int | None:
    """The first fire strictly after `after_ms`; None if there is none."""
    if cadence.period_ms is not None:
        period, anchor = cadence.period_ms, cadence.anchor_ms
        if after_ms < anchor:
            return anchor
        return anchor + ((after_ms - anchor) // period + 1) * period
    return next(_cron_fires(cadence, after_ms), None)


def preview(cadence: Cadence, after_ms: int, count: int) -> list[int]:
    """The next `count` fires after `after_ms`."""
    fires: list[int] = []
    at = after_ms
    while len(fires) < count:
        found = next_fire(cadence, at)
        if found is None:
            break
        fires.append(found)
        at = found
    return fires


def catch_up(cadence: Cadence, due_ms: int, now_ms: int) -> tuple[int | None, int]:
    """A tick due at `due_ms` fires at `now_ms`: the ticks missed in between are skipped. Returns
    the next fire after now and how many ticks were skipped (those due after `due_ms`, up to now)."""
    if cadence.period_ms is not None:
        missed = max((now_ms - due_ms) // cadence.period_ms, 0)
        return next_fire(cadence, now_ms), missed
    missed, at = 0, due_ms
    for fire in _cron_fires(cadence, due_ms):
        if fire > now_ms:
            return fire, missed
        missed += 1
        at = fire
    return next_fire(cadence, max(at, now_ms)), missed


def _cron_fires(cadence: Cadence, after_ms: int) -> Iterator[int]:
    """The cron's fires after `after_ms`, in order, each instant once."""
    zone = _zone(cadence.zone)
    assert cadence.cron is not None
    # Wall-clock times map to instants in the same order (a repeated time takes its first
    # occurrence, a skipped one the end of its gap), so matching on from the wall-clock time of
    # `after_ms` and dropping instants not after it finds every fire, each once.
    # Past the last match a calendar can show (or none at all), there are no more fires.
    try:
        start = datetime.fromtimestamp(after_ms / 1000, zone).replace(tzinfo=None, microsecond=0)
        matches = croniter(cadence.cron, start, second_at_beginning=_with_seconds(cadence.cron))
    except _UNREACHABLE:
        return
    last = after_ms
    for _ in range(MAX_SCAN):
        try:
            local: datetime = matches.get_next(datetime)
            instant = _instant(local, zone)
        except _UNREACHABLE:
            return
        if instant > last:
            last = instant
            yield instant


def _instant(local: datetime, zone: ZoneInfo) -> int:
    """The instant of a wall-clock time: its first occurrence if it happens twice; the end of the
    gap if it does not exist."""
    utc = local.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if utc.astimezone(zone).replace(tzinfo=None) != local:  # in a gap: fire when the clocks land
        utc = _gap_end(local, zone) or utc
    return int(utc.timestamp() * 1000)


def _gap_end(local: datetime, zone: ZoneInfo) -> datetime | None:
    """The first instant after a skipped wall-clock time (where the clocks jumped to)."""
    probe = local.replace(tzinfo=zone, fold=0).astimezone(UTC) - timedelta(hours=3)
    end = probe + timedelta(hours=6)
    step = timedelta(minutes=15)
    while probe < end:  # find the transition: the offset changes between two probes
        after = probe + step
        if probe.astimezone(zone).utcoffset() != after.astimezone(zone).utcoffset():
            low, high = probe, after
            while high - low > timedelta(seconds=1):
                mid = low + (high - low) / 2
                if mid.astimezone(zone).utcoffset() == low.astimezone(zone).utcoffset():
                    low = mid
                else:
                    high = mid
            return high.replace(microsecond=0)
        probe = after
    return None


def _with_seconds(cron: str) -> bool:
    return len(cron.split()) == 6


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadSchedule(f"unknown time zone '{name}'") from exc
