#!/usr/bin/env python
"""Podium end-to-end benchmark: throughput, dispatch latency and memory of one server over HTTP.

    python bench/run.py                      # fresh server on a temp SQLite file, default sizes
    python bench/run.py --json out.json      # also write every number as JSON
    python bench/run.py --runs 3             # three full runs (fresh server each), medians reported
    python bench/run.py --server-url http://127.0.0.1:8080 --server-pid 1234   # an already running server
    python bench/run.py --database-url postgresql://postgres@127.0.0.1/db --servers 2   # 2 servers, one database

The code is the package beside this file, `podium_bench` (see its docstring and bench/README.md for
what each phase measures); this file is its entry point.
"""

from __future__ import annotations

import sys

from podium_bench.cli import main  # bench/podium_bench, beside this file

if __name__ == "__main__":
    sys.exit(main())
