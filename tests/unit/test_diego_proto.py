"""The Diego wire messages (podium.model.diego): the committed modules are what scripts/gen-proto makes of
the .proto files, the numbers that make the interface are upstream's, and the codec maps them onto the BBS
dialect's JSON shapes (docs/bbs.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf.descriptor import FieldDescriptor

from podium.model.diego import actions_pb2, codec, error_pb2, events_pb2, task_pb2, task_requests_pb2

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "podium" / "model" / "diego"


def test_the_committed_modules_match_the_proto_files(tmp_path: Path) -> None:
    protoc = pytest.importorskip("grpc_tools.protoc")
    assert protoc is not None
    src = PACKAGE.parents[2]
    protos = sorted(str(p.relative_to(src)) for p in PACKAGE.glob("*.proto"))
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", str(src), f"--python_out={tmp_path}",
                    f"--pyi_out={tmp_path}", *protos], check=True, cwd=src)
    generated = sorted((tmp_path / "podium" / "model" / "diego").iterdir())
    assert [p.name for p in generated] == sorted(p.name for p in PACKAGE.glob("*_pb2.py*"))
    stale = [p.name for p in generated if p.read_bytes() != (PACKAGE / p.name).read_bytes()]
    assert not stale, f"run scripts/gen-proto: {stale} differ from the .proto files"


def test_upstream_numbers() -> None:
    states = task_pb2.Task.State
    assert [states.Value(n) for n in ("Invalid", "Pending", "Running", "Completed", "Resolving")] == [0, 1, 2, 3, 4]
    types = error_pb2.Error.Type
    assert {n: types.Value(n) for n in ("UnknownError", "InvalidRequest", "InvalidStateTransition",
                                        "ResourceExists", "ResourceNotFound", "RunningOnDifferentCell",
                                        "Deserialize", "Deadlock", "Unrecoverable")} == {
        "UnknownError": 0, "InvalidRequest": 4, "InvalidStateTransition": 9, "ResourceExists": 12,
        "ResourceNotFound": 13, "RunningOnDifferentCell": 24, "Deserialize": 27, "Deadlock": 28, "Unrecoverable": 29}
    numbers = {f.name: f.number for f in actions_pb2.Action.DESCRIPTOR.fields}
    assert numbers == {"download_action": 1, "upload_action": 2, "run_action": 3, "timeout_action": 4,
                       "emit_progress_action": 5, "try_action": 6, "parallel_action": 7, "serial_action": 8,
                       "codependent_action": 9}
    task = {f.name: (f.number, f.type) for f in task_pb2.Task.DESCRIPTOR.fields}
    int64, string = FieldDescriptor.TYPE_INT64, FieldDescriptor.TYPE_STRING
    assert [task[name] for name in ("task_guid", "created_at", "first_completed_at", "rejection_reason")] == [
        (2, string), (4, int64), (6, int64), (13, string)]
    assert task_requests_pb2.StartTaskResponse.DESCRIPTOR.fields_by_name["should_start"].number == 2
    assert events_pb2.TaskChangedEvent.DESCRIPTOR.fields_by_name["after"].number == 2


def test_a_definition_round_trips_with_upstreams_json_names() -> None:
    definition = {
        "rootfs": "docker:///busybox", "env": [{"name": "A", "value": "1"}], "memory_mb": 64,
        "action": {"timeout": {"action": {"serial": {"actions": [{"run": {"path": "sh", "args": ["-c", "true"]}},
                                                                  {"try": {"action": {"run": {"path": "false"}}}}]}},
                               "timeout_ms": 1500}},
        "network": {"properties": {"app": "x"}}, "metric_tags": {"source": {"static": "s"}, "i": {"dynamic": "INDEX"}},
        "log_rate_limit": {"bytes_per_second": -1}, "image_layers": [{"url": "u", "layer_type": "SHARED"}],
    }
    message = codec.from_dict(definition, task_pb2.TaskDefinition, strict=True)
    assert message.root_fs == "docker:///busybox" and message.environment_variables[0].name == "A"
    assert message.action.timeout_action.action.serial_action.actions[1].try_action.action.run_action.path == "false"
    assert codec.to_dict(message) == definition
    assert codec.to_dict(task_pb2.TaskDefinition.FromString(message.SerializeToString())) == definition


def test_zero_values_unknown_keys_and_wrong_types() -> None:
    task = codec.from_dict({"task_guid": "t", "state": "Running", "created_at": 2**62, "extra": 1}, task_pb2.Task)
    assert codec.to_dict(task) == {"task_guid": "t", "state": "Running", "created_at": 2**62}
    filled = codec.to_dict(task, defaults=True)
    assert filled["cell_id"] == "" and filled["failed"] is False and filled["rejection_count"] == 0
    lenient = codec.from_dict({"rootfs": 5, "memory_mb": "x", "annotation": "a"}, task_pb2.TaskDefinition)
    assert codec.to_dict(lenient) == {"annotation": "a"}
    with pytest.raises(codec.WrongType):
        codec.from_dict({"task_guid": 5}, task_requests_pb2.TaskGuidRequest, strict=True)
    with pytest.raises(codec.WrongType):
        codec.from_dict({"memory_mb": 2**40}, task_pb2.TaskDefinition, strict=True)
