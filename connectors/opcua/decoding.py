"""Bounded array decoding for asyncua: an array cannot announce more elements than its answer has bytes.

asyncua decodes an array of variants or structures element by element and trusts the length the server
announces. An element may take no byte at all (a Null variant), so a few bytes can announce 150 million of
them and the decoder builds every one: a 68-byte DataValue took 8 s to fail and grew the fuzzing process
to 1.2 GB (found by ``make fuzz``), far under the message limit of :mod:`connectors.opcua.limits`. Every element but a
Null variant takes at least one byte, so :func:`install` makes asyncua refuse, before building anything,
an array announcing more elements than the bytes left in the message (or, when the elements take none,
more than :data:`~connectors.opcua.limits.MAX_ARRAY_ITEMS`). The refusal is a ``UaError``, which fails
that request like any answer that cannot be decoded. Arrays of fixed-size numbers were already safe:
asyncua reads them in one piece, and a short answer is an error.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from asyncua.ua import ua_binary
from asyncua.ua.uaerrors import UaError

from connectors.opcua import limits

_installed = False


def _check(length: int, data: Any) -> None:
    if length > limits.MAX_ARRAY_ITEMS and hasattr(data, "__len__") and length > len(data):
        raise UaError(f"an array announces {length} elements with {len(data)} bytes left in the answer")


@functools.cache
def _uatype_array_deserializer(vtype: Any) -> Callable[[Any], list[Any] | None]:
    """asyncua's own, with :func:`_check` before the elements are read."""
    if hasattr(ua_binary.Primitives1, vtype.name):  # fixed-size numbers: read in one piece, bounded
        return _original_uatype_array(vtype)
    element = ua_binary._create_uatype_deserializer(vtype)

    def deserialize(data: Any) -> list[Any] | None:
        length = ua_binary.Primitives.Int32.unpack(data)
        if length == -1:
            return None
        _check(length, data)
        return [element(data) for _ in range(length)]

    return deserialize


def _list_deserializer(uatype: Any) -> Callable[[Any], list[Any]]:
    element: Callable[[Any], Any] | None = None

    def deserialize(data: Any) -> list[Any]:
        nonlocal element
        size = ua_binary.Primitives.Int32.unpack(data)
        _check(size, data)
        if element is None:
            element = ua_binary._create_type_deserializer(uatype, type(None))
        return [element(data) for _ in range(size)]

    return deserialize


_original_uatype_array = ua_binary._create_uatype_array_deserializer


def install() -> None:
    """Replace asyncua's two array decoders (once per process) and forget decoders built with the old ones."""
    global _installed
    if _installed:
        return
    ua_binary._create_uatype_array_deserializer = _uatype_array_deserializer
    ua_binary._create_list_deserializer = _list_deserializer
    for cached in (ua_binary._create_type_deserializer, ua_binary._create_dataclass_deserializer,
                   _original_uatype_array):
        cached.cache_clear()
    _installed = True
