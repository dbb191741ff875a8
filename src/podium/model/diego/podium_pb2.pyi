from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class OffersRequest(_message.Message):
    __slots__ = ("domain", "cell_id", "count", "timeout_ms")
    DOMAIN_FIELD_NUMBER: _ClassVar[int]
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    domain: str
    cell_id: str
    count: int
    timeout_ms: int
    def __init__(self, domain: _Optional[str] = ..., cell_id: _Optional[str] = ..., count: _Optional[int] = ..., timeout_ms: _Optional[int] = ...) -> None: ...

class CellHeartbeatRequest(_message.Message):
    __slots__ = ("cell_id", "ttl_seconds")
    CELL_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    cell_id: str
    ttl_seconds: int
    def __init__(self, cell_id: _Optional[str] = ..., ttl_seconds: _Optional[int] = ...) -> None: ...
