from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CertificateProperties(_message.Message):
    __slots__ = ("organizational_units",)
    ORGANIZATIONAL_UNITS_FIELD_NUMBER: _ClassVar[int]
    organizational_units: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, organizational_units: _Optional[_Iterable[str]] = ...) -> None: ...
