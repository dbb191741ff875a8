"""The operator's CLI: `podium workflow`, `podium defs`, `podium queues` (over HTTP, against a running
server's Conductor API) and `podium backup` (a SQLite file, straight from the database).

    exits.py     the exit codes and the exception tree that maps onto them
    client.py    the HTTP client: --server, the key, errors translated
    output.py    tables (rich), --json, progress bars
    workflow.py  podium workflow start|list|terminate|pause|resume|retry|restart
    show.py      podium workflow show: status, tasks, the tree of sub-workflows and forks
    defs.py      podium defs export|import
    files.py     the definition files: kinds, names, what changed
    queues.py    podium queues
    backup.py    podium backup
"""
