"""When schedules fire: fixed rate, cron in a time zone, and daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from podium.engine.schedule import BadSchedule, Cadence, catch_up, next_fire, preview

NEW_YORK = ZoneInfo("America/New_York")


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def local(ms_value: int, zone: ZoneInfo = NEW_YORK) -> str:
    return datetime.fromtimestamp(ms_value / 1000, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def test_fixed_rate_keeps_its_cadence_from_the_anchor() -> None:
    cadence = Cadence(period_ms=200, anchor_ms=1_000)
    assert next_fire(cadence, 0) == 1_000
    assert next_fire(cadence, 1_000) == 1_200
    assert next_fire(cadence, 1_199) == 1_200
    assert preview(cadence, 1_050, 3) == [1_200, 1_400, 1_600]


def test_fixed_rate_catch_up_skips_and_counts_missed_ticks() -> None:
    cadence = Cadence(period_ms=200, anchor_ms=0)
    assert catch_up(cadence, due_ms=1_000, now_ms=1_000) == (1_200, 0)
    assert catch_up(cadence, due_ms=1_000, now_ms=1_650) == (1_800, 3)  # 1200, 1400 and 1600 skipped


def test_cron_with_seconds_in_utc() -> None:
    cadence = Cadence(cron="0 */15 * * * *")  # Conductor's form: seconds first
    start = ms(datetime(2026, 1, 1, 10, 7, tzinfo=UTC))
    assert [local(t, ZoneInfo("UTC")) for t in preview(cadence, start, 3)] == [
        "2026-01-01 10:15:00 UTC", "2026-01-01 10:30:00 UTC", "2026-01-01 10:45:00 UTC"]


def test_five_field_cron_is_minutes_first() -> None:
    cadence = Cadence(cron="30 9 * * 1-5", zone="Europe/Berlin")  # 09:30 on weekdays
    start = ms(datetime(2026, 1, 2, 12, 0, tzinfo=UTC))  # a Friday
    assert [local(t, ZoneInfo("Europe/Berlin")) for t in preview(cadence, start, 2)] == [
        "2026-01-05 09:30:00 CET", "2026-01-06 09:30:00 CET"]


def test_spring_forward_fires_once_for_a_skipped_local_time() -> None:
    """02:30 does not exist on 2026-03-08 in New York (02:00 -> 03:00): it fires once, at 03:00 EDT."""
    cadence = Cadence(cron="0 30 2 * * *", zone="America/New_York")
    start = ms(datetime(2026, 3, 6, 12, 0, tzinfo=NEW_YORK))
    assert [local(t) for t in preview(cadence, start, 3)] == [
        "2026-03-07 02:30:00 EST", "2026-03-08 03:00:00 EDT", "2026-03-09 02:30:00 EDT"]


def test_fall_back_fires_once_for_a_repeated_local_time() -> None:
    """01:30 happens twice on 2026-11-01 in New York (02:00 -> 01:00): it fires once, the first time."""
    cadence = Cadence(cron="0 30 1 * * *", zone="America/New_York")
    start = ms(datetime(2026, 10, 31, 12, 0, tzinfo=NEW_YORK))
    fires = preview(cadence, start, 3)
    assert [local(t) for t in fires] == [
        "2026-11-01 01:30:00 EDT", "2026-11-02 01:30:00 EST", "2026-11-03 01:30:00 EST"]


def test_every_quarter_hour_across_both_changes_fires_once_per_intended_local_time() -> None:
    cadence = Cadence(cron="0 */15 * * * *", zone="America/New_York")
    spring = preview(cadence, ms(datetime(2026, 3, 8, 1, 40, tzinfo=NEW_YORK)), 4)
    assert [local(t) for t in spring] == [  # 02:00-02:45 do not exist: one fire as the clocks land
        "2026-03-08 01:45:00 EST", "2026-03-08 03:00:00 EDT", "2026-03-08 03:15:00 EDT", "2026-03-08 03:30:00 EDT"]
    autumn = preview(cadence, ms(datetime(2026, 11, 1, 0, 40, tzinfo=NEW_YORK)), 7)
    assert [local(t) for t in autumn] == [  # 01:00-01:45 happen twice: each fires once, the first time
        "2026-11-01 00:45:00 EDT", "2026-11-01 01:00:00 EDT", "2026-11-01 01:15:00 EDT", "2026-11-01 01:30:00 EDT",
        "2026-11-01 01:45:00 EDT", "2026-11-01 02:00:00 EST", "2026-11-01 02:15:00 EST"]
    assert len(set(spring + autumn)) == len(spring + autumn)


def test_cron_catch_up_counts_the_ticks_it_skips() -> None:
    cadence = Cadence(cron="0 * * * * *")  # every minute
    due = ms(datetime(2026, 1, 1, 10, 0, tzinfo=UTC))
    now = ms(datetime(2026, 1, 1, 10, 3, 30, tzinfo=UTC))
    assert catch_up(cadence, due, now) == (ms(datetime(2026, 1, 1, 10, 4, tzinfo=UTC)), 3)


@pytest.mark.parametrize("cadence", [
    Cadence(), Cadence(period_ms=0), Cadence(period_ms=100, cron="* * * * *"),
    Cadence(cron="not a cron"), Cadence(cron="0 61 * * * *"), Cadence(cron="* * * * *", zone="Mars/Olympus"),
])
def test_bad_cadences_are_refused(cadence: Cadence) -> None:
    with pytest.raises(BadSchedule):
        cadence.check()


def test_a_schedule_looked_at_during_the_repeated_hour_does_not_fire_its_first_occurrence_again() -> None:
    cadence = Cadence(cron="0 30 1 * * *", zone="America/New_York")
    second_pass = ms(datetime(2026, 11, 1, 1, 20, tzinfo=NEW_YORK).replace(fold=1))  # 01:20 EST
    assert local(next_fire(cadence, second_pass) or 0) == "2026-11-02 01:30:00 EST"


def test_every_second_finds_the_next_second() -> None:
    cadence = Cadence(cron="* * * * * *")
    start = ms(datetime(2026, 3, 8, 1, 59, 59, tzinfo=NEW_YORK))
    assert [local(t) for t in preview(Cadence(cron="* * * * * *", zone="America/New_York"), start, 2)] == [
        "2026-03-08 03:00:00 EDT", "2026-03-08 03:00:01 EDT"]
    assert next_fire(cadence, 5_000) == 6_000
