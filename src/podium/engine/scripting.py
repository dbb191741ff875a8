"""JavaScript for expressions (SWITCH, DECISION, INLINE, loop conditions): embedded V8 through
mini-racer, with `$` bound to the task's input, a time limit and a memory limit per evaluation.

The process's one V8 context (`podium.jsruntime`) serves every evaluation. Each script runs inside
a function scope, so its `var`s do not outlive it; it has no host access (no require, no network,
no files).
"""

from __future__ import annotations

import json
from typing import Any

from podium import jsruntime

TIME_LIMIT_S = 2.0
MEMORY_LIMIT_BYTES = 64 * 1024 * 1024

_WRAPPER = ("(function () { var $ = %s; var __r = eval(%s); "
            "return __r === undefined ? 'null' : JSON.stringify(__r); })()")
class ScriptError(Exception):
    """The script did not compile, threw, ran out of time or memory, or returned no JSON value."""


def evaluate(script: str, bindings: Any) -> Any:
    """The completion value of `script` (an expression or statements), with `$` = `bindings`."""
    code = _WRAPPER % (json.dumps(bindings, default=str), json.dumps(script))
    try:
        text = jsruntime.run(code, timeout_s=TIME_LIMIT_S, max_memory=MEMORY_LIMIT_BYTES)
    except Exception as exc:  # mini-racer's own error tree: parse, runtime, timeout, memory
        raise ScriptError(f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(text, str):
        raise ScriptError("the script's value cannot be expressed as JSON")
    return json.loads(text)


def as_case(value: Any) -> str:
    """A value as Conductor names a case: Java's String.valueOf of the script's result."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else json.dumps(value)
