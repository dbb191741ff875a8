"""Prometheus metrics: the families recorded on the hot path (`families`), the gauges read from the
database at scrape time (`gauges`), and the HTTP request histogram (`http`)."""
