"""Scripts for expressions (SWITCH, DECISION, INLINE, LAMBDA, loop conditions, JSON_JQ_TRANSFORM,
event-handler conditions): what the engine asks of a script runner, which it reaches through its
context (`EngineContext.scripts`).

The server's runner is `podium.sandbox.Sandbox`: JavaScript in V8 and jq, in worker processes, with
a time and a memory limit per evaluation and pristine globals for each. Calling one blocks until
it answers, so a move that may run a script runs on a worker thread (`Executions.step`).
"""

from __future__ import annotations

import json
from typing import Any, Protocol


class ScriptError(Exception):
    """The script did not compile, threw, passed a limit, or returned no JSON value."""


class TooSlow(Exception):
    """A quick evaluation did not answer within its short budget: the caller, which holds a unit of
    work, hands the work on to be evaluated outside it with the full limits."""


class Scripts(Protocol):
    def javascript(self, script: str, bindings: Any, *, quick: bool = False) -> Any:
        """The completion value of `script` (an expression or statements), with `$` = `bindings`.
        `quick`: raise `TooSlow` rather than run past the short budget of a unit of work."""
        ...

    def jq(self, query: str, document: Any, *, quick: bool = False) -> list[Any]:
        """Every value the jq program gives for `document` (`quick` as for `javascript`)."""
        ...


def as_case(value: Any) -> str:
    """A value as Conductor names a case: Java's String.valueOf of the script's result."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)
