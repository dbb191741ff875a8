"""Exit codes scripts can rely on, and the exceptions that end a command with one of them:

    OpsError            exit 1: an operation failed (the server refused it, a file was broken)
    ├── UsageError      exit 2: the command line or its input is wrong (argparse also exits 2)
    └── Unreachable     exit 3: the server did not answer, or refused the key (401, 403)
"""

from __future__ import annotations

OK, FAILED, USAGE, UNREACHABLE = 0, 1, 2, 3


class OpsError(Exception):
    code = FAILED


class UsageError(OpsError):
    code = USAGE


class Unreachable(OpsError):
    code = UNREACHABLE
