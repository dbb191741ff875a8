"""The dashboard's pure parts: the SVG charts (`ui.charts`) and the judgements of `service.dashboard`
(windows, stuck queues, failure-rate jumps, empty slices), without a server."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from podium.errors import BadRequest
from podium.service.dashboard import JUMP, MIN_FINISHED, every_bucket, jumped, stuck_queues, window_of
from podium.store.dashboard import Bucket, TypeFailures
from podium.ui.charts import HEIGHT, Point, bars, line

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ET.Element:
    return ET.fromstring(str(markup).replace("<svg ", '<svg xmlns="http://www.w3.org/2000/svg" ', 1))


def test_bars_draw_a_bar_per_value_and_the_part_over_it_with_the_figures_as_text() -> None:
    svg = parsed(bars("Finished <per> hour", [Point("00:00", 4, 1), Point("01:00", 0), Point("02:00", 8, 0)],
                      part_name="failed"))
    assert svg.get("role") == "img" and svg.get("aria-labelledby")
    assert svg.findtext(f"{SVG}title") == "Finished <per> hour"  # escaped in the markup, intact when read
    assert svg.findtext(f"{SVG}desc") == "00:00: 4 (1 failed), 01:00: 0, 02:00: 8"
    bar_rects = svg.findall(f"{SVG}rect[@class='bar']")
    assert len(bar_rects) == 2 and len(svg.findall(f"{SVG}rect[@class='part']")) == 1
    heights = [float(r.get("height", 0)) for r in bar_rects]
    assert heights[1] == pytest.approx(2 * heights[0])  # to scale: 8 is twice 4
    assert "00:00" in [t.text for t in svg.findall(f"{SVG}text")]


def test_a_line_breaks_where_there_is_no_data_and_a_lone_point_is_a_dot() -> None:
    svg = parsed(line("Failure rate", [Point("a", 0.5), Point("b", 0.25), Point("c", None), Point("d", 1.0)]))
    (run,) = svg.findall(f"{SVG}polyline")
    assert len(run.get("points", "").split()) == 2
    assert len(svg.findall(f"{SVG}circle")) == 1
    assert svg.findtext(f"{SVG}desc") == "a: 50 %, b: 25 %, c: no data, d: 100 %"
    ys = [float(p.split(",")[1]) for p in run.get("points", "").split()]
    assert ys[0] < ys[1] < HEIGHT  # a higher rate is drawn higher


def test_charts_use_the_stylesheets_colours_not_fixed_ones() -> None:
    markup = bars("t", [Point("a", 1, 1)]) + line("t", [Point("a", 0.1), Point("b", 0.2)])
    assert not re.search(r"(fill|stroke)=\"#", markup) and "style=" not in markup
    ids = re.findall(r'id="([^"]+)"', markup)
    assert len(ids) == len(set(ids)) == 4  # two charts on one page never share a title id


def test_an_empty_chart_still_renders() -> None:
    assert parsed(bars("nothing", [])).findtext(f"{SVG}desc") == ""


def test_windows_default_to_24_hours_and_an_unknown_one_is_refused() -> None:
    assert window_of(None).name == "24h" and window_of("7d").buckets == 28 and window_of("1h").buckets == 12
    with pytest.raises(BadRequest, match="window must be one of 1h, 24h, 7d"):
        window_of("2w")


def test_every_slice_is_listed_and_one_past_the_end_joins_the_last() -> None:
    found = every_bucket([Bucket(1, 3, 1), Bucket(3, 2, 0), Bucket(4, 1, 1)], 4)
    assert found == [Bucket(0, 0, 0), Bucket(1, 3, 1), Bucket(2, 0, 0), Bucket(3, 3, 1)]


def queue(name: str, depth: int, oldest: int | None, *polls: int) -> dict[str, object]:
    return {"queueName": name, "depth": depth, "oldestAgeMs": oldest,
            "pollers": [{"workerId": "w", "lastPollTime": p} for p in polls]}


def test_a_queue_is_stuck_when_its_tasks_waited_with_no_poll_in_that_time() -> None:
    now, after = 1_000_000, 60_000
    queues = [queue("never", 2, 61_000), queue("quiet", 1, 90_000, now - 70_000, now - 65_000),
              queue("polled", 5, 90_000, now - 1000), queue("fresh", 1, 1000), queue("empty", 0, None, 1)]
    assert [q["queueName"] for q in stuck_queues(queues, now, after)] == ["never", "quiet"]
    assert stuck_queues(queues, now, after)[1]["lastPollTime"] == now - 65_000


def failures(finished: int, failed: int, before_finished: int, before_failed: int) -> TypeFailures:
    return TypeFailures("t", finished, failed, finished - failed, before_finished, before_failed)


def test_a_jump_needs_enough_executions_in_both_windows_and_a_real_rise() -> None:
    n = MIN_FINISHED
    assert jumped([failures(10, 6, 10, 1)])  # 60 % from 10 %
    assert not jumped([failures(n - 1, n - 1, 10, 0)])  # too few now
    assert not jumped([failures(10, 9, n - 1, 0)])  # too few before to compare with
    assert not jumped([failures(10, 5, 10, 3)])  # 50 % from 30 %: not twice the rate
    rise = round(JUMP * 100) - 1
    assert not jumped([failures(100, rise, 100, 0)])  # twice, but fewer than JUMP points up
