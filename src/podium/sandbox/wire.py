"""The frames between the server and its sandbox workers: a 4-byte big-endian length, then the
bytes. A request is a JSON header line (the operation and its limits) followed by the raw JSON
body (the script's bindings or the jq document), so the body is never decoded and encoded again.
A reply's first byte says what it holds (`Status`), the rest is its text."""

from __future__ import annotations

import os
import struct
from enum import Enum

_LENGTH = struct.Struct(">I")


class Status(bytes, Enum):
    VALUE = b"v"  # the JSON text of the value
    ERROR = b"e"  # the script's own error (it did not compile, it threw): the worker is reused
    LIMIT = b"l"  # the memory limit was passed: the worker is stopped, never reused
    LATE = b"s"  # the time limit was passed: the worker is stopped, never reused
    TAINTED = b"t"  # a value, but the worker cannot be made pristine again: it is stopped after it
    READY = b"r"  # the worker has started and locked down its runtime


def write_frame(fd: int, data: bytes) -> None:
    view = memoryview(_LENGTH.pack(len(data)) + data)
    while view:
        view = view[os.write(fd, view):]


def read_exactly(fd: int, size: int) -> bytes | None:
    """`size` bytes from `fd`, or None at end of file (the other side went away)."""
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(fd: int) -> bytes | None:
    head = read_exactly(fd, _LENGTH.size)
    if head is None:
        return None
    return read_exactly(fd, _LENGTH.unpack(head)[0])


def frame_length(head: bytes) -> int:
    return int(_LENGTH.unpack(head)[0])


HEAD_SIZE = _LENGTH.size
