"""asyncua, as the connector installs it, refuses an array announcing more elements than its answer has bytes."""

from __future__ import annotations

import time

import pytest
from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary
from asyncua.ua.uaerrors import UaError

from connectors.opcua import decoding, limits

# found by make fuzz: a DataValue of 68 bytes whose nested variant announces an array of 151 million
# Null elements (no byte each); asyncua built them all (8 s; 1.2 GB in the fuzzing process) before failing
AMPLIFIER = bytes.fromhex("03c0170317" + "09" * 47 + "03170000d040000d6d00000000000000")


def test_an_array_announcing_more_elements_than_bytes_is_refused_at_once() -> None:
    decoding.install()
    started = time.monotonic()
    with pytest.raises(UaError, match="announces .* elements with .* bytes left"):
        struct_from_binary(ua.DataValue, Buffer(AMPLIFIER))
    assert time.monotonic() - started < 0.5


def test_arrays_within_their_bytes_still_decode() -> None:
    decoding.install()
    values = [ua.Variant(v) for v in ("Acme", 7, 1.5)] + [ua.Variant(None)] * limits.MAX_ARRAY_ITEMS
    value = ua.DataValue(ua.Variant(values, ua.VariantType.Variant))
    decoded = struct_from_binary(ua.DataValue, Buffer(struct_to_binary(value)))
    assert len(decoded.Value.Value) == 3 + limits.MAX_ARRAY_ITEMS and decoded.Value.Value[0].Value == "Acme"
    endpoint = ua.EndpointDescription(EndpointUrl="opc.tcp://127.0.46.1:4840/")
    endpoints = ua.GetEndpointsResponse(Endpoints=[endpoint] * 3)
    assert len(struct_from_binary(ua.GetEndpointsResponse, Buffer(struct_to_binary(endpoints))).Endpoints) == 3
