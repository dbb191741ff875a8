"""The agent's exceptions, one tree under Podium's own.

    PodiumError
    └── AgentError
        ├── LaunchError          the command could not be started (missing executable, bad dir): reject the task
        ├── ActionError          a task definition the agent cannot run
        │   ├── UnsupportedAction   download, upload or an unknown action: reject the task
        │   └── InvalidAction       a malformed action: fail the task
        ├── InvalidCommand       a COMMAND task's input that cannot be run (no command ...): fail it for good
        └── ServerProblem        a call to the server did not succeed
            ├── Unreachable         no answer, or not a BBS answer (network, HTTP status): retry
            ├── Refused             a Conductor route answered 4xx (no such task or workflow): final
            └── BbsError            the server answered with `error: {type, message}`: final
"""

from __future__ import annotations

from podium.errors import PodiumError


class AgentError(PodiumError):
    """Base of every error the agent raises on purpose."""


class LaunchError(AgentError):
    """The process could not be started: the task cannot run on this host, so it is rejected."""


class ActionError(AgentError):
    """The task definition holds an action the agent cannot run."""


class UnsupportedAction(ActionError):
    """A valid action this agent does not implement (download, upload, ...)."""


class InvalidAction(ActionError):
    """An action that is malformed (missing path, a negative timeout ...)."""


class InvalidCommand(AgentError):
    """A COMMAND task's input that no retry can fix: a missing command, args that are not a list ..."""


class ServerProblem(AgentError):
    """A call to the server did not succeed."""


class Unreachable(ServerProblem):
    """No usable answer: a network failure, a timeout, or an HTTP status other than 200."""

    retryable = True


class Refused(ServerProblem):
    """A Conductor route answered with a 4xx status: the task or its workflow is not there (any more)."""


class BbsError(ServerProblem):
    """The server answered with a BBS error object."""

    def __init__(self, type_: str, message: str) -> None:
        super().__init__(f"{type_}: {message}")
        self.type = type_
        self.detail = message
