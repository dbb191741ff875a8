#!/usr/bin/env python
"""An OTLP/HTTP trace sink for measuring what tracing costs the server: accepts `POST /v1/traces`,
decodes each request (as a collector would) and counts the spans; `GET /count` answers the count.

    .venv/bin/python bench/otlp_sink.py --port 4318 &
    PODIUM_OTEL_ENDPOINT=http://127.0.0.1:4318 .venv/bin/python bench/run.py --phases simple,chain ...
    curl -s http://127.0.0.1:4318/count
"""

from __future__ import annotations

import argparse
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

_lock = threading.Lock()
_counts = {"spans": 0, "requests": 0}
_ANSWER = ExportTraceServiceResponse().SerializeToString()


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a collector serves it

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        request = ExportTraceServiceRequest.FromString(body)
        spans = sum(len(s.spans) for r in request.resource_spans for s in r.scope_spans)
        with _lock:
            _counts["spans"] += spans
            _counts["requests"] += 1
        self._answer(_ANSWER, "application/x-protobuf")

    def do_GET(self) -> None:
        with _lock:
            text = f"{_counts['spans']} spans in {_counts['requests']} requests\n"
        self._answer(text.encode(), "text/plain")

    def _answer(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--port", type=int, default=4318)
    ThreadingHTTPServer(("127.0.0.1", p.parse_args().port), Sink).serve_forever()


if __name__ == "__main__":
    main()
