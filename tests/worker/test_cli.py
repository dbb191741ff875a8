"""`podium worker module:object` as a real process: SIGTERM or SIGINT while a task runs (it finishes
within the grace and is completed; or, with a short grace, it is handed back and a second worker
completes it), and the command's options and errors."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from podium.worker import Worker
from podium.worker.cli import build_parser, configure, main
from tests.conftest import ServerProcess
from tests.worker import apps
from tests.worker.conftest import Api, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def cli_api(server: ServerProcess) -> Iterator[Api]:
    """A fresh server per test: the app module's task names are fixed."""
    clients = Api(server)
    for task_type in (apps.SYNC_TASK, apps.ASYNC_TASK):
        clients.one_step(task_type)
    yield clients
    clients.close()


@contextmanager
def worker_process(log_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "podium.cli", "worker", "tests.worker.apps:worker", *args],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def in_progress(api: Api, wf_id: str) -> dict[str, Any]:
    return api.wait_task(wf_id, lambda t: t["status"] == "IN_PROGRESS", f"the task of {wf_id} running")


def in_hand(started: Path, count: int) -> None:
    """The worker runs `count` tasks (it has them in hand: a task it received after its shutdown
    began would be handed back at once, not run)."""
    wait_for(lambda: started.exists() and len(started.read_text().split()) >= count,
             f"the worker running {count} task(s)")


def exit_code(process: subprocess.Popen[bytes], log_path: Path) -> int:
    try:
        return process.wait(60)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"the worker did not exit: {log_path.read_text()[-3000:]}") from None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_task_that_finishes_within_the_grace_is_completed(cli_api: Api, tmp_path: Path,
                                                           signum: signal.Signals) -> None:
    hold, log_path, started = tmp_path / "release", tmp_path / "worker.log", tmp_path / "started"
    wf_id = cli_api.start(f"wf_{apps.SYNC_TASK}")
    with worker_process(log_path, "--server", cli_api.url, "--worker-id", "w1",
                        env={"WORKER_APP_HOLD": str(hold), "WORKER_APP_STARTED": str(started)}) as process:
        in_hand(started, 1)
        process.send_signal(signum)
        wait_for(lambda: "worker stopping" in log_path.read_text(), "the worker to begin its shutdown")
        hold.touch()  # the task ends during the grace
        assert exit_code(process, log_path) == 0

    done = cli_api.wait_status(wf_id, "COMPLETED")
    assert done["tasks"][0]["outputData"] == {"worker": "w1", "pollCount": 1}
    assert cli_api.logs(done["tasks"][0]["taskId"]) == ["sync task started by w1"]


def test_after_a_short_grace_tasks_are_handed_back_to_another_worker(cli_api: Api, tmp_path: Path) -> None:
    cancelled, first_log, second_log = tmp_path / "cancelled", tmp_path / "first.log", tmp_path / "second.log"
    ids = [cli_api.start(f"wf_{apps.SYNC_TASK}"), cli_api.start(f"wf_{apps.ASYNC_TASK}")]
    env = {"WORKER_APP_HOLD": str(tmp_path / "never"), "WORKER_APP_CANCELLED": str(cancelled),
           "WORKER_APP_STARTED": str(tmp_path / "started")}
    with worker_process(first_log, "--server", cli_api.url, "--worker-id", "first", "--shutdown-grace", "1",
                        env=env) as first:
        running = [in_progress(cli_api, wf_id) for wf_id in ids]
        in_hand(tmp_path / "started", 2)
        first.send_signal(signal.SIGTERM)
        assert exit_code(first, first_log) == 0

    assert cancelled.read_text() == running[1]["taskId"]  # the coroutine was cancelled
    for wf_id in ids:
        [task] = cli_api.workflow(wf_id)["tasks"]
        assert (task["status"], task["pollCount"]) == ("SCHEDULED", 1)
        assert "handed back" in cli_api.logs(task["taskId"])[-1]

    with worker_process(second_log, "--worker-id", "second", env={"PODIUM_SERVER_URL": cli_api.url}) as second:
        done = [cli_api.wait_status(wf_id, "COMPLETED") for wf_id in ids]
        second.send_signal(signal.SIGTERM)
        assert exit_code(second, second_log) == 0
    for wf in done:
        assert wf["tasks"][0]["outputData"] == {"worker": "second", "pollCount": 2}


@pytest.fixture
def podium_logging() -> Iterator[None]:
    """`main` configures the `podium` logger, as a command does: put it back afterwards."""
    logger = logging.getLogger("podium")
    handlers, level = list(logger.handlers), logger.level
    yield
    logger.handlers[:] = handlers
    logger.setLevel(level)


@pytest.mark.usefixtures("podium_logging")
def test_bad_targets_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no_such_module_here:worker"]) == 1
    assert main(["tests.worker.apps"]) == 1
    assert main(["tests.worker.apps:missing"]) == 1
    assert main(["tests.worker.apps:not_a_worker"]) == 1
    assert main(["tests.worker.apps:empty"]) == 1
    assert main(["--log-level", "loud", "tests.worker.apps:worker"]) == 1
    errors = capsys.readouterr().err
    assert "No module named 'no_such_module_here'" in errors
    assert "expected module:object" in errors
    assert "not a podium.worker.Worker" in errors
    assert "no task functions are registered" in errors
    assert "LOUD" in errors


def test_help_shows_every_option_with_its_variable(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    text = capsys.readouterr().out
    for flag, variable in (("--server", "PODIUM_SERVER_URL"), ("--worker-id", "PODIUM_WORKER_ID"),
                           ("--domain", "PODIUM_WORKER_DOMAIN"), ("--log-level", "PODIUM_LOG_LEVEL"),
                           ("--shutdown-grace", "PODIUM_WORKER_SHUTDOWN_GRACE")):
        assert flag in text and variable in text


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(["m:w", *argv])


def test_flags_win_over_the_environment_which_wins_over_the_code() -> None:
    worker = Worker("http://code:1", worker_id="code-id", domain="code-domain", shutdown_grace_s=3)
    configure(worker, parse(), {})
    assert (worker.server_url, worker.worker_id, worker.domain, worker.shutdown_grace_s) == (
        "http://code:1", "code-id", "code-domain", 3)

    env = {"PODIUM_SERVER_URL": "http://env:2", "PODIUM_WORKER_ID": "env-id", "PODIUM_WORKER_DOMAIN": "env-domain",
           "PODIUM_WORKER_SHUTDOWN_GRACE": "4"}
    configure(worker, parse(), env)
    assert (worker.server_url, worker.worker_id, worker.domain, worker.shutdown_grace_s) == (
        "http://env:2", "env-id", "env-domain", 4)

    configure(worker, parse("--server", "http://flag:3", "--worker-id", "flag-id", "--domain", "flag-domain",
                            "--shutdown-grace", "5"), env)
    assert (worker.server_url, worker.worker_id, worker.domain, worker.shutdown_grace_s) == (
        "http://flag:3", "flag-id", "flag-domain", 5)


def test_a_worker_defaults_to_the_local_server_and_hostname_pid() -> None:
    worker = Worker()
    assert worker.server_url == "http://127.0.0.1:8080"
    assert worker.worker_id.endswith(f"-{os.getpid()}")
