"""Retention: finished executions (and the side tables that grow with time) deleted once they are
older than their settings allow, in small batches, optionally archived first.

`policy` (what is kept, pure), `archive` (gzip'd JSON lines), `pruner` (the batches), `cli`
(`podium prune`, `podium archive show`); the server's loop is `podium.loops.retention`.
"""
