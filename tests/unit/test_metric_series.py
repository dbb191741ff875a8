"""`podium.metrics.series` exposes the same samples as prometheus-client's own Counter and Histogram
given the same updates (bucket edges included: a value equal to a bound is in that bound's bucket)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

from podium.metrics.series import CounterSeries, HistogramSeries, SeriesCollector

BUCKETS = (0.001, 0.01, 0.1, 1.0)
VALUES = (0.0, 0.001, 0.0011, 0.01, 0.5, 1.0, 1.5, 30.0)


def _exposed(registry: CollectorRegistry) -> list[str]:
    """The exposition's sample lines, without the `_created` series prometheus-client adds."""
    return sorted(line for line in generate_latest(registry).decode().splitlines()
                  if line and not line.startswith("#") and "_created" not in line)


def test_the_same_samples_as_prometheus_clients_own() -> None:
    theirs, ours = CollectorRegistry(), CollectorRegistry()
    counter = Counter("jobs", "Jobs", ["kind", "status"], registry=theirs)
    histogram = Histogram("took_seconds", "Took", ["kind"], buckets=BUCKETS, registry=theirs)
    jobs, took = CounterSeries("jobs", "Jobs", ["kind", "status"]), HistogramSeries("took_seconds", "Took",
                                                                                   ["kind"], BUCKETS)
    ours.register(SeriesCollector([jobs, took]))
    for i, value in enumerate(VALUES):
        kind, status = ("a", "ok") if i % 3 else ("b", "failed")
        counter.labels(kind, status).inc()
        jobs.inc(kind, status)
        histogram.labels(kind).observe(value)
        took.observe(value, kind)
    assert _exposed(ours) == _exposed(theirs)
    assert 'took_seconds_bucket{kind="a",le="0.001"} 1.0' in _exposed(ours)  # 0.001 itself: le 0.001


def test_no_labels_and_nothing_observed() -> None:
    registry = CollectorRegistry()
    commits = HistogramSeries("commit_seconds", "Commits", [], BUCKETS)
    registry.register(SeriesCollector([commits]))
    assert _exposed(registry) == []
    commits.observe(0.05)
    assert 'commit_seconds_bucket{le="0.1"} 1.0' in _exposed(registry)
    assert "commit_seconds_count 1.0" in _exposed(registry) and "commit_seconds_sum 0.05" in _exposed(registry)
