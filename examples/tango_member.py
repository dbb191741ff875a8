"""A TANGO member service: each start runs one shell command and reports the outcome to the leader.

    python examples/tango_member.py --port 9101 --leader http://127.0.0.1:8080 \\
        --container-id bms --work "sleep 3; echo done" [--heartbeat-s 2]

It serves what Podium calls (docs/tango.md): `GET /start` spawns the work and answers "started";
`GET /status_request` answers "running" while it runs, then "completed" or "failed" (HTTP 208);
`GET /stop` terminates it and answers "success". When the work ends on its own it reports
`completed` or `failed` to `{leader}/status_report`; with `--heartbeat-s N` (push mode) it also
reports `running` every N seconds while working. Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Member:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work: subprocess.Popen[bytes] | None = None
        self.ids: dict[str, str] = {}
        self.stopped = False
        self.lock = threading.Lock()

    def start(self, query: dict[str, str]) -> tuple[int, str]:
        with self.lock:
            self._terminate()
            self.ids = {k: query[k] for k in ("user_id", "project_id", "task_id") if k in query}
            self.stopped = False
            self.work = subprocess.Popen(self.args.work, shell=True, start_new_session=True)
            threading.Thread(target=self._watch, args=(self.work,), daemon=True).start()
        return 200, "started"

    def status(self, query: dict[str, str]) -> tuple[int, str]:
        work = self.work
        if work is None:
            return 200, "ready"
        if work.poll() is None:
            return 200, "running"
        return 208, "stopped" if self.stopped else "completed" if work.returncode == 0 else "failed"

    def stop(self, query: dict[str, str]) -> tuple[int, str]:
        with self.lock:
            self.stopped = True
            self._terminate()
        return 200, "success"

    def _terminate(self) -> None:
        if self.work is not None and self.work.poll() is None:
            os.killpg(self.work.pid, signal.SIGTERM)  # the shell and what it started
            self.work.wait()

    def _watch(self, work: subprocess.Popen[bytes]) -> None:
        while True:
            try:
                code = work.wait(timeout=self.args.heartbeat_s or None)
                break
            except subprocess.TimeoutExpired:
                self.report("running")
        if work is self.work and not self.stopped:
            self.report("completed" if code == 0 else "failed")

    def report(self, status: str) -> None:
        """`GET {leader}/status_report`; TANGO's form when started with a project, else the task's."""
        params = dict(self.ids, status=status)
        if "project_id" in params:
            params.pop("task_id", None)
            params["container_id"] = self.args.container_id
        url = f"{self.args.leader}/status_report?{urllib.parse.urlencode(params)}"
        try:
            urllib.request.urlopen(url, timeout=5).close()
        except (urllib.error.URLError, OSError) as exc:  # a 409 (stage over) or a leader away: only logged
            print(f"report {status!r} not applied: {exc}", flush=True)


def handler(member: Member) -> type[BaseHTTPRequestHandler]:
    routes = {"/start": member.start, "/status_request": member.status, "/stop": member.stop}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urllib.parse.urlsplit(self.path)
            route = routes.get(url.path)
            query = dict(urllib.parse.parse_qsl(url.query))
            code, text = route(query) if route else (404, "failed")
            body = text.encode()
            self.send_response(code)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--leader", required=True, help="Podium's base URL, e.g. http://127.0.0.1:8080")
    parser.add_argument("--container-id", required=True, help="the id this member is registered under")
    parser.add_argument("--work", required=True, help="shell command run on each start")
    parser.add_argument("--heartbeat-s", type=float, default=0, help="push mode: report running this often")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), handler(Member(args)))
    print(f"member {args.container_id} on http://{args.host}:{args.port}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
