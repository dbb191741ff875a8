"""Make the fixtures of tests/acceptance/test_bbs_upstream_wire.py from upstream's own .proto files.

    python tests/acceptance/upstream_bbs/make_fixtures.py MODELS_DIR GOGO_INCLUDE_DIR

MODELS_DIR holds cloudfoundry/bbs's models/*.proto (task_requests, task, actions, error, cells, events and
what they import); GOGO_INCLUDE_DIR is where `github.com/gogo/protobuf/gogoproto/gogo.proto` is found. It
compiles them with protoc (grpcio-tools) into a temporary folder, encodes the requests of the test's task
lifecycle with the messages so generated, and writes beside this file:

- `requests.json`: each request's bytes, base64;
- `models.binpb`: the compiled descriptors (a FileDescriptorSet, imports included), from which the test
  builds upstream's message classes to decode the server's answers.

The test reads only these two files: it fetches and compiles nothing at run time. See README.md for how the
committed files were produced.
"""

from __future__ import annotations

import base64
import importlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
FILES = ["task_requests.proto", "cells.proto", "events.proto"]
GOGO = "github.com/gogo/protobuf/gogoproto/gogo.proto"


def compile_models(models: Path, gogo: Path, out: Path) -> None:
    protos = sorted(p.name for p in models.glob("*.proto") if p.name in _needed(models))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", str(models), "-I", str(gogo),
                    f"--python_out={out}", f"--descriptor_set_out={out / 'models.binpb'}", "--include_imports",
                    GOGO, *protos], check=True)


def _needed(models: Path) -> set[str]:
    """FILES and what they import from MODELS_DIR, transitively."""
    seen: set[str] = set()
    todo = list(FILES)
    while todo:
        name = todo.pop()
        if name in seen or not (models / name).exists():
            continue
        seen.add(name)
        for line in (models / name).read_text().splitlines():
            if line.startswith("import ") and '"' in line:
                todo.append(line.split('"')[1])
    return seen


def requests(r: Any, t: Any, a: Any, e: Any) -> dict[str, Any]:
    """The lifecycle's requests, built with upstream's generated classes (r: task_requests_pb2, t: task_pb2,
    a: actions_pb2, e: environment_variables_pb2)."""
    run = a.Action(run_action=a.RunAction(path="sh", args=["-c", "echo hi > /tmp/result"],
                                          env=[e.EnvironmentVariable(name="GREETING", value="hi")]))
    full = t.TaskDefinition(
        root_fs="docker:///busybox", environment_variables=[e.EnvironmentVariable(name="A", value="1")],
        action=a.Action(timeout_action=a.TimeoutAction(action=run, timeout_ms=5000)),
        memory_mb=64, disk_mb=128, max_pids=10, privileged=False, result_file="/tmp/result",
        annotation="from upstream", placement_tags=["tag-a"], log_guid="log-guid")
    full.log_rate_limit.bytes_per_second = -1
    plain = t.TaskDefinition(root_fs="docker:///busybox", action=a.Action(run_action=a.RunAction(path="true")))
    return {
        "desire_a": r.DesireTaskRequest(task_guid="upstream-a", domain="upstream", task_definition=full),
        "desire_b": r.DesireTaskRequest(task_guid="upstream-b", domain="upstream", task_definition=plain),
        "desire_c": r.DesireTaskRequest(task_guid="upstream-c", domain="upstream", task_definition=plain),
        "desire_invalid": r.DesireTaskRequest(task_guid="a/b", domain="",
                                              task_definition=t.TaskDefinition(root_fs="busybox")),
        "list_domain": r.TasksRequest(domain="upstream"),
        "list_cell": r.TasksRequest(cell_id="cell-1"),
        "list_all": r.TasksRequest(),
        "get_a": r.TaskByGuidRequest(task_guid="upstream-a"),
        "get_b": r.TaskByGuidRequest(task_guid="upstream-b"),
        "get_c": r.TaskByGuidRequest(task_guid="upstream-c"),
        "get_missing": r.TaskByGuidRequest(task_guid="nope"),
        "start_a": r.StartTaskRequest(task_guid="upstream-a", cell_id="cell-1"),
        "start_a_other_cell": r.StartTaskRequest(task_guid="upstream-a", cell_id="cell-2"),
        "reject_b": r.RejectTaskRequest(task_guid="upstream-b", rejection_reason="no room"),
        "fail_b": r.FailTaskRequest(task_guid="upstream-b", failure_reason="gave up"),
        "complete_a_other_cell": r.CompleteTaskRequest(task_guid="upstream-a", cell_id="cell-2", result="x"),
        "complete_a": r.CompleteTaskRequest(task_guid="upstream-a", cell_id="cell-1", failed=False,
                                            failure_reason="", result="hi\n"),
        "cancel_c": r.TaskGuidRequest(task_guid="upstream-c"),
        "resolving_a": r.TaskGuidRequest(task_guid="upstream-a"),
        "delete_a": r.TaskGuidRequest(task_guid="upstream-a"),
        "delete_b": r.TaskGuidRequest(task_guid="upstream-b"),
    }


def main() -> None:
    models, gogo = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder)
        compile_models(models, gogo, out)
        sys.path.insert(0, str(out))
        modules = [importlib.import_module(name) for name in
                   ("task_requests_pb2", "task_pb2", "actions_pb2", "environment_variables_pb2")]
        built = requests(*modules)
        encoded = {name: base64.b64encode(message.SerializeToString()).decode() for name, message in built.items()}
        (HERE / "requests.json").write_text(json.dumps(encoded, indent=1) + "\n")
        (HERE / "models.binpb").write_bytes((out / "models.binpb").read_bytes())


if __name__ == "__main__":
    main()
