from podium.model.diego import error_pb2 as _error_pb2
from podium.model.diego import task_pb2 as _task_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskLifecycleResponse(_message.Message):
    __slots__ = ("error",)
    ERROR_FIELD_NUMBER: _ClassVar[int]
    error: _error_pb2.Error
    def __init__(self, error: _Optional[_Union[_error_pb2.Error, _Mapping]] = ...) -> None: ...

class DesireTaskRequest(_message.Message):
    __slots__ = ("task_definition", "task_guid", "domain")
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    task_definition: _task_pb2.TaskDefinition
    task_guid: str
    domain: str
    def __init__(self, task_definition: _Optional[_Union[_task_pb2.TaskDefinition, _Mapping]] = ..., task_guid: _Optional[str] = ..., domain: _Optional[str] = ...) -> None: ...

class StartTaskRequest(_message.Message):
    __slots__ = ("task_guid", "cell_id")
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    cell_id: str
    def __init__(self, task_guid: _Optional[str] = ..., cell_id: _Optional[str] = ...) -> None: ...

class StartTaskResponse(_message.Message):
    __slots__ = ("error", "should_start")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    SHOULD_START_FIELD_NUMBER: _ClassVar[int]
    error: _error_pb2.Error
    should_start: bool
    def __init__(self, error: _Optional[_Union[_error_pb2.Error, _Mapping]] = ..., should_start: _Optional[bool] = ...) -> None: ...

class FailTaskRequest(_message.Message):
    __slots__ = ("task_guid", "failure_reason")
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    failure_reason: str
    def __init__(self, task_guid: _Optional[str] = ..., failure_reason: _Optional[str] = ...) -> None: ...

class RejectTaskRequest(_message.Message):
    __slots__ = ("task_guid", "rejection_reason")
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    rejection_reason: str
    def __init__(self, task_guid: _Optional[str] = ..., rejection_reason: _Optional[str] = ...) -> None: ...

class TaskGuidRequest(_message.Message):
    __slots__ = ("task_guid",)
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    def __init__(self, task_guid: _Optional[str] = ...) -> None: ...

class CompleteTaskRequest(_message.Message):
    __slots__ = ("task_guid", "cell_id", "failed", "failure_reason", "result")
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    cell_id: str
    failed: bool
    failure_reason: str
    result: str
    def __init__(self, task_guid: _Optional[str] = ..., cell_id: _Optional[str] = ..., failed: _Optional[bool] = ..., failure_reason: _Optional[str] = ..., result: _Optional[str] = ...) -> None: ...

class TaskCallbackResponse(_message.Message):
    __slots__ = ("task_guid", "failed", "failure_reason", "result", "annotation", "created_at")
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    failed: bool
    failure_reason: str
    result: str
    annotation: str
    created_at: int
    def __init__(self, task_guid: _Optional[str] = ..., failed: _Optional[bool] = ..., failure_reason: _Optional[str] = ..., result: _Optional[str] = ..., annotation: _Optional[str] = ..., created_at: _Optional[int] = ...) -> None: ...

class TasksRequest(_message.Message):
    __slots__ = ("domain", "cell_id")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    domain: str
    cell_id: str
    def __init__(self, domain: _Optional[str] = ..., cell_id: _Optional[str] = ...) -> None: ...

class TasksResponse(_message.Message):
    __slots__ = ("error", "tasks")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TASKS_FIELD_NUMBER: _ClassVar[int]
    error: _error_pb2.Error
    tasks: _containers.RepeatedCompositeFieldContainer[_task_pb2.Task]
    def __init__(self, error: _Optional[_Union[_error_pb2.Error, _Mapping]] = ..., tasks: _Optional[_Iterable[_Union[_task_pb2.Task, _Mapping]]] = ...) -> None: ...

class TaskByGuidRequest(_message.Message):
    __slots__ = ("task_guid",)
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    task_guid: str
    def __init__(self, task_guid: _Optional[str] = ...) -> None: ...

class TaskResponse(_message.Message):
    __slots__ = ("error", "task")
    ERROR_FIELD_NUMBER: _ClassVar[int]
    TASK_FIELD_NUMBER: _ClassVar[int]
    error: _error_pb2.Error
    task: _task_pb2.Task
    def __init__(self, error: _Optional[_Union[_error_pb2.Error, _Mapping]] = ..., task: _Optional[_Union[_task_pb2.Task, _Mapping]] = ...) -> None: ...
