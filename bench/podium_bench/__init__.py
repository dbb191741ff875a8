"""Podium's end-to-end benchmark, behind `bench/run.py`.

Phases (each bounded in time and count; see bench/README.md for what is measured exactly):

  idle      memory of the idle server, then dispatch latency on the idle server: one worker is
            parked in a long poll, a 1-task workflow is started, the time from the start call
            returning to the worker holding the task is recorded; sequential samples.
  simple    a backlog of 1-task workflows is started (start rate is reported too), then N
            pollers (batch poll + update-v2) drain it; completions are counted over a fixed
            window after a warm-up.
  chain     a starter sustains starts of 3-step workflows (3 sequential SIMPLE tasks of 3 types)
            while pollers work all three types; workflows/s = completed / (last completion - first
            start). The dispatch-latency probe runs at the same time ("under load").

The load (pollers, starters) runs in --procs child processes, each an asyncio loop in which every
worker coroutine holds one keep-alive connection (--client raw: a minimal HTTP/1.1 client on
asyncio streams; --client httpx: httpx.AsyncClient). The main process orchestrates, samples the
server's memory, CPU and I/O from /proc, measures the CPU of the clients and of everything else on
the machine, and runs the latency probe. Loopback only.

With --servers N (PostgreSQL only), N server processes share the database: the load's connections
go to them round-robin, the probe parks its worker on the last and starts on the first, and the
servers' memory, CPU and I/O are summed (per-server figures in the JSON). With PostgreSQL, the CPU
and disk writes of its processes on this machine are reported too.

With --auth keys the started server runs with auth = keys: an admin key is made in its database
before it starts, and every request of the benchmark carries its token (X-Authorization).

Modules:

    util         the clock, percentiles, free ports, the log line
    client       the HTTP clients of the load (a raw HTTP/1.1 one, or httpx)
    definitions  the task and workflow definitions, under per-run names
    servers      the server processes under test
    auth         --auth keys: the key made before the server starts, the token every request carries
    load         the load processes: pollers (batch poll + update-v2) and starters
    probe        the dispatch-latency probe
    observe      /proc readings: memory, CPU and I/O of the servers, PostgreSQL, clients, machine
    phases       the measured phases: idle, simple tasks, three-step chains
    runs         one full run: a fresh server, the phases, the memory readings
    report       medians, the targets' verdicts, the table
    profile      py-spy's output summarized
    provenance   the code measured: commit, uncommitted changes, package versions
    cli          the command line
    seed         a filled store (finished executions) and a server on it: retention.py, big_store.py
"""
