from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ImageLayer(_message.Message):
    __slots__ = ("name", "url", "destination_path", "layer_type", "media_type", "digest_algorithm", "digest_value")
    class DigestAlgorithm(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        DigestAlgorithmInvalid: _ClassVar[ImageLayer.DigestAlgorithm]
        SHA256: _ClassVar[ImageLayer.DigestAlgorithm]
        SHA512: _ClassVar[ImageLayer.DigestAlgorithm]
        SHA1: _ClassVar[ImageLayer.DigestAlgorithm]
    DigestAlgorithmInvalid: ImageLayer.DigestAlgorithm
    SHA256: ImageLayer.DigestAlgorithm
    SHA512: ImageLayer.DigestAlgorithm
    SHA1: ImageLayer.DigestAlgorithm
    class MediaType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        MediaTypeInvalid: _ClassVar[ImageLayer.MediaType]
        TGZ: _ClassVar[ImageLayer.MediaType]
        TAR: _ClassVar[ImageLayer.MediaType]
        ZIP: _ClassVar[ImageLayer.MediaType]
    MediaTypeInvalid: ImageLayer.MediaType
    TGZ: ImageLayer.MediaType
    TAR: ImageLayer.MediaType
    ZIP: ImageLayer.MediaType
    class Type(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LayerTypeInvalid: _ClassVar[ImageLayer.Type]
        SHARED: _ClassVar[ImageLayer.Type]
        EXCLUSIVE: _ClassVar[ImageLayer.Type]
    LayerTypeInvalid: ImageLayer.Type
    SHARED: ImageLayer.Type
    EXCLUSIVE: ImageLayer.Type
    NAME_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    DESTINATION_PATH_FIELD_NUMBER: _ClassVar[int]
    LAYER_TYPE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIGEST_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    DIGEST_VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    url: str
    destination_path: str
    layer_type: ImageLayer.Type
    media_type: ImageLayer.MediaType
    digest_algorithm: ImageLayer.DigestAlgorithm
    digest_value: str
    def __init__(self, name: _Optional[str] = ..., url: _Optional[str] = ..., destination_path: _Optional[str] = ..., layer_type: _Optional[_Union[ImageLayer.Type, str]] = ..., media_type: _Optional[_Union[ImageLayer.MediaType, str]] = ..., digest_algorithm: _Optional[_Union[ImageLayer.DigestAlgorithm, str]] = ..., digest_value: _Optional[str] = ...) -> None: ...
