from podium.model.diego import actions_pb2 as _actions_pb2
from podium.model.diego import cached_dependency_pb2 as _cached_dependency_pb2
from podium.model.diego import certificate_properties_pb2 as _certificate_properties_pb2
from podium.model.diego import environment_variables_pb2 as _environment_variables_pb2
from podium.model.diego import files_pb2 as _files_pb2
from podium.model.diego import image_layer_pb2 as _image_layer_pb2
from podium.model.diego import log_rate_limit_pb2 as _log_rate_limit_pb2
from podium.model.diego import metric_tags_pb2 as _metric_tags_pb2
from podium.model.diego import network_pb2 as _network_pb2
from podium.model.diego import security_group_pb2 as _security_group_pb2
from podium.model.diego import volume_mount_pb2 as _volume_mount_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TaskDefinition(_message.Message):
    __slots__ = ("root_fs", "environment_variables", "action", "disk_mb", "memory_mb", "cpu_weight", "privileged", "log_source", "log_guid", "metrics_guid", "result_file", "completion_callback_url", "annotation", "egress_rules", "cached_dependencies", "legacy_download_user", "trusted_system_certificates_path", "volume_mounts", "network", "placement_tags", "max_pids", "certificate_properties", "image_username", "image_password", "image_layers", "log_rate_limit", "metric_tags", "service_binding_files")
    class MetricTagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: _metric_tags_pb2.MetricTagValue
        def __init__(self, key: _Optional[str] = ..., value: _Optional[_Union[_metric_tags_pb2.MetricTagValue, _Mapping]] = ...) -> None: ...
    ROOT_FS_FIELD_NUMBER: _ClassVar[int]
    ENVIRONMENT_VARIABLES_FIELD_NUMBER: _ClassVar[int]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DISK_MB_FIELD_NUMBER: _ClassVar[int]
    MEMORY_MB_FIELD_NUMBER: _ClassVar[int]
    CPU_WEIGHT_FIELD_NUMBER: _ClassVar[int]
    PRIVILEGED_FIELD_NUMBER: _ClassVar[int]
    LOG_SOURCE_FIELD_NUMBER: _ClassVar[int]
    LOG_GUID_FIELD_NUMBER: _ClassVar[int]
    METRICS_GUID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FILE_FIELD_NUMBER: _ClassVar[int]
    COMPLETION_CALLBACK_URL_FIELD_NUMBER: _ClassVar[int]
    ANNOTATION_FIELD_NUMBER: _ClassVar[int]
    EGRESS_RULES_FIELD_NUMBER: _ClassVar[int]
    CACHED_DEPENDENCIES_FIELD_NUMBER: _ClassVar[int]
    LEGACY_DOWNLOAD_USER_FIELD_NUMBER: _ClassVar[int]
    TRUSTED_SYSTEM_CERTIFICATES_PATH_FIELD_NUMBER: _ClassVar[int]
    VOLUME_MOUNTS_FIELD_NUMBER: _ClassVar[int]
    NETWORK_FIELD_NUMBER: _ClassVar[int]
    PLACEMENT_TAGS_FIELD_NUMBER: _ClassVar[int]
    MAX_PIDS_FIELD_NUMBER: _ClassVar[int]
    CERTIFICATE_PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    IMAGE_USERNAME_FIELD_NUMBER: _ClassVar[int]
    IMAGE_PASSWORD_FIELD_NUMBER: _ClassVar[int]
    IMAGE_LAYERS_FIELD_NUMBER: _ClassVar[int]
    LOG_RATE_LIMIT_FIELD_NUMBER: _ClassVar[int]
    METRIC_TAGS_FIELD_NUMBER: _ClassVar[int]
    SERVICE_BINDING_FILES_FIELD_NUMBER: _ClassVar[int]
    root_fs: str
    environment_variables: _containers.RepeatedCompositeFieldContainer[_environment_variables_pb2.EnvironmentVariable]
    action: _actions_pb2.Action
    disk_mb: int
    memory_mb: int
    cpu_weight: int
    privileged: bool
    log_source: str
    log_guid: str
    metrics_guid: str
    result_file: str
    completion_callback_url: str
    annotation: str
    egress_rules: _containers.RepeatedCompositeFieldContainer[_security_group_pb2.SecurityGroupRule]
    cached_dependencies: _containers.RepeatedCompositeFieldContainer[_cached_dependency_pb2.CachedDependency]
    legacy_download_user: str
    trusted_system_certificates_path: str
    volume_mounts: _containers.RepeatedCompositeFieldContainer[_volume_mount_pb2.VolumeMount]
    network: _network_pb2.Network
    placement_tags: _containers.RepeatedScalarFieldContainer[str]
    max_pids: int
    certificate_properties: _certificate_properties_pb2.CertificateProperties
    image_username: str
    image_password: str
    image_layers: _containers.RepeatedCompositeFieldContainer[_image_layer_pb2.ImageLayer]
    log_rate_limit: _log_rate_limit_pb2.LogRateLimit
    metric_tags: _containers.MessageMap[str, _metric_tags_pb2.MetricTagValue]
    service_binding_files: _containers.RepeatedCompositeFieldContainer[_files_pb2.Files]
    def __init__(self, root_fs: _Optional[str] = ..., environment_variables: _Optional[_Iterable[_Union[_environment_variables_pb2.EnvironmentVariable, _Mapping]]] = ..., action: _Optional[_Union[_actions_pb2.Action, _Mapping]] = ..., disk_mb: _Optional[int] = ..., memory_mb: _Optional[int] = ..., cpu_weight: _Optional[int] = ..., privileged: _Optional[bool] = ..., log_source: _Optional[str] = ..., log_guid: _Optional[str] = ..., metrics_guid: _Optional[str] = ..., result_file: _Optional[str] = ..., completion_callback_url: _Optional[str] = ..., annotation: _Optional[str] = ..., egress_rules: _Optional[_Iterable[_Union[_security_group_pb2.SecurityGroupRule, _Mapping]]] = ..., cached_dependencies: _Optional[_Iterable[_Union[_cached_dependency_pb2.CachedDependency, _Mapping]]] = ..., legacy_download_user: _Optional[str] = ..., trusted_system_certificates_path: _Optional[str] = ..., volume_mounts: _Optional[_Iterable[_Union[_volume_mount_pb2.VolumeMount, _Mapping]]] = ..., network: _Optional[_Union[_network_pb2.Network, _Mapping]] = ..., placement_tags: _Optional[_Iterable[str]] = ..., max_pids: _Optional[int] = ..., certificate_properties: _Optional[_Union[_certificate_properties_pb2.CertificateProperties, _Mapping]] = ..., image_username: _Optional[str] = ..., image_password: _Optional[str] = ..., image_layers: _Optional[_Iterable[_Union[_image_layer_pb2.ImageLayer, _Mapping]]] = ..., log_rate_limit: _Optional[_Union[_log_rate_limit_pb2.LogRateLimit, _Mapping]] = ..., metric_tags: _Optional[_Mapping[str, _metric_tags_pb2.MetricTagValue]] = ..., service_binding_files: _Optional[_Iterable[_Union[_files_pb2.Files, _Mapping]]] = ...) -> None: ...

class Task(_message.Message):
    __slots__ = ("task_definition", "task_guid", "domain", "created_at", "updated_at", "first_completed_at", "state", "cell_id", "result", "failed", "failure_reason", "rejection_count", "rejection_reason")
    class State(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        Invalid: _ClassVar[Task.State]
        Pending: _ClassVar[Task.State]
        Running: _ClassVar[Task.State]
        Completed: _ClassVar[Task.State]
        Resolving: _ClassVar[Task.State]
    Invalid: Task.State
    Pending: Task.State
    Running: Task.State
    Completed: Task.State
    Resolving: Task.State
    TASK_DEFINITION_FIELD_NUMBER: _ClassVar[int]
    TASK_GUID_FIELD_NUMBER: _ClassVar[int]
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    FIRST_COMPLETED_AT_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    REJECTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    REJECTION_REASON_FIELD_NUMBER: _ClassVar[int]
    task_definition: TaskDefinition
    task_guid: str
    domain: str
    created_at: int
    updated_at: int
    first_completed_at: int
    state: Task.State
    cell_id: str
    result: str
    failed: bool
    failure_reason: str
    rejection_count: int
    rejection_reason: str
    def __init__(self, task_definition: _Optional[_Union[TaskDefinition, _Mapping]] = ..., task_guid: _Optional[str] = ..., domain: _Optional[str] = ..., created_at: _Optional[int] = ..., updated_at: _Optional[int] = ..., first_completed_at: _Optional[int] = ..., state: _Optional[_Union[Task.State, str]] = ..., cell_id: _Optional[str] = ..., result: _Optional[str] = ..., failed: _Optional[bool] = ..., failure_reason: _Optional[str] = ..., rejection_count: _Optional[int] = ..., rejection_reason: _Optional[str] = ...) -> None: ...
