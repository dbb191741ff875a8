from podium.model.diego import environment_variables_pb2 as _environment_variables_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Action(_message.Message):
    __slots__ = ("download_action", "upload_action", "run_action", "timeout_action", "emit_progress_action", "try_action", "parallel_action", "serial_action", "codependent_action")
    DOWNLOAD_ACTION_FIELD_NUMBER: _ClassVar[int]
    UPLOAD_ACTION_FIELD_NUMBER: _ClassVar[int]
    RUN_ACTION_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_ACTION_FIELD_NUMBER: _ClassVar[int]
    EMIT_PROGRESS_ACTION_FIELD_NUMBER: _ClassVar[int]
    TRY_ACTION_FIELD_NUMBER: _ClassVar[int]
    PARALLEL_ACTION_FIELD_NUMBER: _ClassVar[int]
    SERIAL_ACTION_FIELD_NUMBER: _ClassVar[int]
    CODEPENDENT_ACTION_FIELD_NUMBER: _ClassVar[int]
    download_action: DownloadAction
    upload_action: UploadAction
    run_action: RunAction
    timeout_action: TimeoutAction
    emit_progress_action: EmitProgressAction
    try_action: TryAction
    parallel_action: ParallelAction
    serial_action: SerialAction
    codependent_action: CodependentAction
    def __init__(self, download_action: _Optional[_Union[DownloadAction, _Mapping]] = ..., upload_action: _Optional[_Union[UploadAction, _Mapping]] = ..., run_action: _Optional[_Union[RunAction, _Mapping]] = ..., timeout_action: _Optional[_Union[TimeoutAction, _Mapping]] = ..., emit_progress_action: _Optional[_Union[EmitProgressAction, _Mapping]] = ..., try_action: _Optional[_Union[TryAction, _Mapping]] = ..., parallel_action: _Optional[_Union[ParallelAction, _Mapping]] = ..., serial_action: _Optional[_Union[SerialAction, _Mapping]] = ..., codependent_action: _Optional[_Union[CodependentAction, _Mapping]] = ...) -> None: ...

class DownloadAction(_message.Message):
    __slots__ = ("artifact", "to", "cache_key", "log_source", "user", "checksum_algorithm", "checksum_value")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CACHE_KEY_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    CHECKSUM_VALUE_FIELD_NUMBER: _ClassVar[int]
    artifact: str
    to: str
    cache_key: str
    log_source: str
    user: str
    checksum_algorithm: str
    checksum_value: str
    def __init__(self, artifact: _Optional[str] = ..., to: _Optional[str] = ..., cache_key: _Optional[str] = ..., log_source: _Optional[str] = ..., user: _Optional[str] = ..., checksum_algorithm: _Optional[str] = ..., checksum_value: _Optional[str] = ..., **kwargs) -> None: ...

class UploadAction(_message.Message):
    __slots__ = ("artifact", "to", "log_source", "user")
    ARTIFACT_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    artifact: str
    to: str
    log_source: str
    user: str
    def __init__(self, artifact: _Optional[str] = ..., to: _Optional[str] = ..., log_source: _Optional[str] = ..., user: _Optional[str] = ..., **kwargs) -> None: ...

class RunAction(_message.Message):
    __slots__ = ("path", "args", "dir", "env", "resource_limits", "user", "log_source", "suppress_log_output")
    PATH_FIELD_NUMBER: _ClassVar[int]
    ARGS_FIELD_NUMBER: _ClassVar[int]
    DIR_FIELD_NUMBER: _ClassVar[int]
    ENV_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_LIMITS_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    SUPPRESS_LOG_OUTPUT_FIELD_NUMBER: _ClassVar[int]
    path: str
    args: _containers.RepeatedScalarFieldContainer[str]
    dir: str
    env: _containers.RepeatedCompositeFieldContainer[_environment_variables_pb2.EnvironmentVariable]
    resource_limits: ResourceLimits
    user: str
    log_source: str
    suppress_log_output: bool
    def __init__(self, path: _Optional[str] = ..., args: _Optional[_Iterable[str]] = ..., dir: _Optional[str] = ..., env: _Optional[_Iterable[_Union[_environment_variables_pb2.EnvironmentVariable, _Mapping]]] = ..., resource_limits: _Optional[_Union[ResourceLimits, _Mapping]] = ..., user: _Optional[str] = ..., log_source: _Optional[str] = ..., suppress_log_output: _Optional[bool] = ...) -> None: ...

class TimeoutAction(_message.Message):
    __slots__ = ("action", "deprecated_timeout_ns", "log_source", "timeout_ms")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DEPRECATED_TIMEOUT_NS_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    action: Action
    deprecated_timeout_ns: int
    log_source: str
    timeout_ms: int
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ..., deprecated_timeout_ns: _Optional[int] = ..., log_source: _Optional[str] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class EmitProgressAction(_message.Message):
    __slots__ = ("action", "start_message", "success_message", "failure_message_prefix", "log_source")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    START_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_PREFIX_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    action: Action
    start_message: str
    success_message: str
    failure_message_prefix: str
    log_source: str
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ..., start_message: _Optional[str] = ..., success_message: _Optional[str] = ..., failure_message_prefix: _Optional[str] = ..., log_source: _Optional[str] = ...) -> None: ...

class TryAction(_message.Message):
    __slots__ = ("action", "log_source")
    ACTION_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    action: Action
    log_source: str
    def __init__(self, action: _Optional[_Union[Action, _Mapping]] = ..., log_source: _Optional[str] = ...) -> None: ...

class ParallelAction(_message.Message):
    __slots__ = ("actions", "log_source")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    log_source: str
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., log_source: _Optional[str] = ...) -> None: ...

class SerialAction(_message.Message):
    __slots__ = ("actions", "log_source")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    log_source: str
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., log_source: _Optional[str] = ...) -> None: ...

class CodependentAction(_message.Message):
    __slots__ = ("actions", "log_source")
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    log_source: str
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ..., log_source: _Optional[str] = ...) -> None: ...

class ResourceLimits(_message.Message):
    __slots__ = ("nofile", "nproc")
    NOFILE_FIELD_NUMBER: _ClassVar[int]
    NPROC_FIELD_NUMBER: _ClassVar[int]
    nofile: int
    nproc: int
    def __init__(self, nofile: _Optional[int] = ..., nproc: _Optional[int] = ...) -> None: ...
