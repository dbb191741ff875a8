"""Counters and histograms kept as plain numbers, exposed through a Collector at scrape time.

prometheus-client's own `Counter` and `Histogram` take a lock and a few checks per update (2-7 us
each on the benchmark machine); these cost a dict lookup and an addition, which is what the hot path
can afford (a task's update records half a dozen of them). They are updated from the event loop's
thread only (the engine records after its moves, the store after its commits), so they need no lock.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector


class CounterSeries:
    def __init__(self, name: str, documentation: str, labels: Sequence[str]) -> None:
        self.name, self.documentation, self.labels = name, documentation, list(labels)
        self.values: dict[tuple[str, ...], float] = {}

    def inc(self, *labels: str) -> None:
        self.values[labels] = self.values.get(labels, 0.0) + 1.0

    def family(self) -> Metric:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, value in sorted(self.values.items()):
            family.add_metric(list(labels), value)
        return family


class HistogramSeries:
    def __init__(self, name: str, documentation: str, labels: Sequence[str], buckets: Sequence[float]) -> None:
        self.name, self.documentation, self.labels = name, documentation, list(labels)
        self.bounds = tuple(float(b) for b in buckets)
        #: per label values: the count in each bucket (not cumulative), +Inf's last, then the sum
        self.series: dict[tuple[str, ...], list[float]] = {}

    def observe(self, value: float, *labels: str) -> None:
        counts = self.series.get(labels)
        if counts is None:
            counts = self.series[labels] = [0.0] * (len(self.bounds) + 2)
        counts[bisect_left(self.bounds, value)] += 1
        counts[-1] += value

    def family(self) -> Metric:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labels)
        for labels, counts in sorted(self.series.items()):
            total, buckets = 0.0, []
            for bound, count in zip((*self.bounds, float("inf")), counts[:-1], strict=True):
                total += count
                buckets.append((_le(bound), total))
            family.add_metric(list(labels), buckets, counts[-1])
        return family


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else repr(bound)


class SeriesCollector(Collector):
    def __init__(self, series: Iterable[CounterSeries | HistogramSeries]) -> None:
        self.series = list(series)

    def collect(self) -> Iterator[Metric]:
        for one in self.series:
            yield one.family()
