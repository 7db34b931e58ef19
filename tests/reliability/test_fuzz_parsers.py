"""Property tests of the parsers of device output outside the fact parsers, and of every file loader.

Each property states the one exception a parser documents (``WireProbeError``, ``FrameError``, ``ValueError``,
``ConfigError``); anything else escaping is a bug in the parser. Example counts: ``conftest.py``.
"""

from __future__ import annotations

import json
import struct
import sys
import tempfile
from datetime import date
from pathlib import Path

import pytest
from asyncua import ua
from hypothesis import given
from hypothesis import strategies as st
from mutations import AWKWARD, SEEDS, mutated_json, mutated_text
from pysnmp.proto import rfc1902

from auditor.assessment.attestations import load_answers
from auditor.assessment.profiles import load_profile
from auditor.assessment.waivers import load_waivers
from auditor.errors import ConfigError
from auditor.facts import FactParseError
from auditor.plant.inventory import load_inventory
from auditor.safeload import yaml_loads
from checks.modbus import frames
from checks.modbus.frames import FrameError
from checks.opcua.facts import parse_endpoints
from connectors.opcua import describe
from connectors.snmp import values
from connectors.ssh import wire
from connectors.ssh.script import OutputSplitter, marker_prefix, split_output
from connectors.ssh.wire import KEXINIT_NAME_LISTS, WireProbeError

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "unit"))
from result_fixture import build_evidence, build_result  # noqa: E402

from reports.json_report import evidence_from_data, load_result  # noqa: E402

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

# --------------------------------------------------------------------------------------------- SSH wire


def _kexinit_seeds() -> list[bytes]:
    """KEXINIT payloads rebuilt from the name-lists the seed scans recorded."""
    payloads = []
    for items in SEEDS.values():
        for item in items:
            if item["request"]["op"] == "kexinit" or item["request"]["target"].endswith("kexinit"):
                data = json.loads(item["response"])
                lists = data.get("kexinit", data)
                body = bytes([20]) + bytes(16)
                for field in KEXINIT_NAME_LISTS:
                    names = ",".join(lists.get(field) or []).encode()
                    body += struct.pack(">I", len(names)) + names
                payloads.append(body + b"\x00" + bytes(4))
    return payloads


KEXINITS = _kexinit_seeds()


def test_the_seed_corpus_holds_kexinit_payloads() -> None:
    assert KEXINITS and all(wire.parse_kexinit(p)["kex_algorithms"] for p in KEXINITS)


def _mutated_bytes(seed: bytes) -> st.SearchStrategy[bytes]:
    return mutated_text(seed.decode("latin-1")).map(lambda text: text.encode("latin-1", "replace"))


@given(st.one_of(st.binary(max_size=300), st.sampled_from(KEXINITS).flatmap(_mutated_bytes)))
def test_kexinit_parser_raises_only_wire_probe_error(payload: bytes) -> None:
    try:
        result = wire.parse_kexinit(payload)
    except WireProbeError:
        return
    assert set(result) == {*KEXINIT_NAME_LISTS, "first_kex_packet_follows"}


@given(st.one_of(st.binary(max_size=400),
                 mutated_text("SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n").map(lambda t: t.encode("utf-8", "replace"))))
def test_identification_parser_raises_only_wire_probe_error(line: bytes) -> None:
    try:
        parts = wire.parse_identification(line)
    except WireProbeError:
        return
    assert parts["identification"].startswith("SSH-") and parts["software"]


# --------------------------------------------------------------------------------- SSH script output


NONCE = "fuzzNonce0123"


@st.composite
def script_output(draw: st.DrawFn) -> tuple[bytes, int]:
    """Markers (right, wrong, repeated, out of order) interleaved with arbitrary output."""
    count = draw(st.integers(1, 4))
    prefix = marker_prefix(NONCE)
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["begin", "end", "sudo", "noise", "noise"]))
        index = draw(st.integers(-1, count + 1))
        if kind == "begin":
            pieces.append(f"{prefix}B_{index}__\n".encode())
        elif kind == "end":
            code = draw(st.one_of(st.integers(-300, 300), st.just(int("9" * 100))))
            pieces.append(f"\n{prefix}E_{index}__ {code}\n".encode())
        elif kind == "sudo":
            pieces.append(f"{prefix}SUDO__ {draw(st.sampled_from(['yes', 'no', 'maybe']))}\n".encode())
        else:
            pieces.append(draw(st.binary(max_size=200)))
    return b"".join(pieces), count


@given(script_output(), st.lists(st.integers(1, 64), max_size=8), st.integers(1, 300))
def test_output_splitter_is_total_and_chunking_does_not_matter(output: tuple[bytes, int], cuts: list[int],
                                                              max_section: int) -> None:
    data, count = output
    sudo, whole = split_output(data, NONCE, count, max_section=max_section)
    splitter = OutputSplitter(NONCE, count, max_section=max_section)
    start = 0
    for size in cuts:
        splitter.feed(data[start:start + size])
        start += size
    splitter.feed(data[start:])
    assert splitter.sections() == whole and splitter.sudo_ok == sudo
    assert all(0 <= index < count and len(section.text.encode()) <= 3 * max_section + 3
               for index, section in whole.items())


# ------------------------------------------------------------------------------------- SNMP values


snmp_values = st.one_of(
    st.binary(max_size=64).map(rfc1902.OctetString), st.binary(max_size=64).map(rfc1902.Opaque),
    st.integers(-2 ** 31, 2 ** 31 - 1).map(rfc1902.Integer), st.integers(0, 2 ** 32 - 1).map(rfc1902.Counter32),
    st.integers(0, 2 ** 32 - 1).map(rfc1902.Gauge32), st.integers(0, 2 ** 32 - 1).map(rfc1902.TimeTicks),
    st.integers(0, 2 ** 64 - 1).map(rfc1902.Counter64), st.binary(min_size=4, max_size=4).map(rfc1902.IpAddress),
    st.lists(st.integers(0, 2 ** 32 - 1), min_size=2, max_size=12).map(
        lambda parts: rfc1902.ObjectIdentifier((1, 3, *parts[2:]))))


@given(st.lists(st.integers(0, 2 ** 32 - 1), min_size=1, max_size=20).map(tuple), snmp_values)
def test_snmp_value_encoding_is_json_for_every_value(oid: tuple[int, ...], value) -> None:
    entry = values.encode_value(oid, value)
    assert json.loads(json.dumps(entry))["oid"] == ".".join(map(str, oid))


@given(st.one_of(st.text(max_size=60), mutated_text("1.3.6.1.2.1.1.1.0")))
def test_oid_parsing_raises_only_value_error(text: str) -> None:
    try:
        parsed = values.oid_tuple(text)
    except ValueError:
        return
    assert parsed and all(isinstance(part, int) for part in parsed)


@given(st.binary(max_size=200))
def test_printable_text_never_raises(raw: bytes) -> None:
    text = values.printable_text(raw)
    assert text is None or text.encode() == raw


# ------------------------------------------------------------------------------ Modbus frames


# an FC 3 answer, an exception, a Read Device Identification answer (Acme, C1, v1.0), a Report Server ID
MODBUS_FRAMES = [bytes.fromhex(h) for h in (
    "00010000000501030204b0", "000200000003018302",
    "000300000018012b0e0101000003000441636d6501024331020476312e30", "00040000000801110541424301ff")]


def test_the_modbus_seed_frames_are_well_formed() -> None:
    assert [frames.parse_response(frame).function_code for frame in MODBUS_FRAMES] == [3, 3, 43, 17]
    assert frames.device_identification([frames.parse_response(MODBUS_FRAMES[2])])[1][0] == b"Acme"


@given(st.one_of(st.binary(max_size=300), st.sampled_from(MODBUS_FRAMES).flatmap(_mutated_bytes)),
       st.one_of(st.none(), st.binary(max_size=12)))
def test_modbus_frame_parsers_raise_only_frame_error(frame: bytes, request: bytes | None) -> None:
    try:
        response = frames.parse_response(frame, request)
    except FrameError:
        return
    for parse in (lambda: frames.device_identification([response]), lambda: frames.server_id(response),
                  lambda: frames.registers(response, 1)):
        try:
            json.dumps(parse(), default=lambda b: b.hex())
        except FrameError:
            pass


# ------------------------------------------------------------------------------------ OPC UA describe


texts = st.one_of(st.none(), st.text(max_size=30), st.sampled_from(AWKWARD))
applications = st.builds(ua.ApplicationDescription, ApplicationUri=texts, ProductUri=texts,
                         ApplicationName=st.builds(ua.LocalizedText, Text=texts),
                         ApplicationType=st.sampled_from(list(ua.ApplicationType)),
                         DiscoveryUrls=st.lists(st.text(max_size=20), max_size=3))
tokens = st.builds(ua.UserTokenPolicy, PolicyId=texts, TokenType=st.sampled_from(list(ua.UserTokenType)),
                   SecurityPolicyUri=texts)
endpoints = st.builds(ua.EndpointDescription, EndpointUrl=texts, Server=applications,
                      ServerCertificate=st.one_of(st.none(), st.binary(max_size=64)),
                      SecurityMode=st.sampled_from(list(ua.MessageSecurityMode)), SecurityPolicyUri=texts,
                      UserIdentityTokens=st.lists(tokens, max_size=3), SecurityLevel=st.integers(0, 255))


@given(st.lists(endpoints, max_size=4))
def test_opcua_describe_gives_json_the_pack_parses_or_refuses(described: list) -> None:
    data = json.loads(json.dumps([describe.endpoint(ep) for ep in described]))
    try:
        parse_endpoints(data)
    except FactParseError:
        pass


@given(st.recursive(st.none() | st.integers() | st.text(max_size=10) | st.binary(max_size=10) | st.floats() |
                    st.builds(ua.LocalizedText, Text=texts) | st.integers(0, 2 ** 32 - 1).map(ua.StatusCode),
                    lambda children: st.lists(children, max_size=3), max_leaves=20))
def test_opcua_values_are_always_json(value) -> None:
    json.dumps(describe.jsonable(value))
    describe.status_name(value if not isinstance(value, list) else 0)


# -------------------------------------------------------------------------------------- file loaders


def _through_file(text: str, suffix: str, load) -> None:
    with tempfile.TemporaryDirectory(prefix="iacs-fuzz-") as folder:
        path = Path(folder) / f"fuzzed{suffix}"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load(path)
        except ConfigError as exc:
            assert str(exc).startswith(str(path))


LOADERS = {
    "inventory": ((HERE / "seeds" / "inventory.yaml").read_text(), ".yaml", load_inventory),
    "profile": ((REPO / "profiles" / "host-sl2.yaml").read_text(), ".yaml", load_profile),
    "waivers": ((HERE / "seeds" / "waivers.yaml").read_text(), ".yaml", load_waivers),
    "answers": ((REPO / "simulators" / "demo_answers.yaml").read_text(), ".yaml",
                lambda path: load_answers(path, as_of=date(2026, 1, 1))),
    "answers-csv": ("requirement,check,assets,answer,attested_by,date,justification,evidence\n"
                    "SR 1.1,,hmi-01,met,J. Doe,2025-01-01,\"MFA, see doc\",DOC-1;DOC-2\n"
                    "CR 2.8,,*,not_met,J. Doe,2025-02-01,,\n", ".csv",
                    lambda path: load_answers(path, as_of=date(2026, 1, 1))),
}


@pytest.mark.parametrize("loader", sorted(LOADERS))
@given(data=st.data())
def test_file_loader_raises_only_config_error(loader: str, data: st.DataObject) -> None:
    seed, suffix, load = LOADERS[loader]
    _through_file(data.draw(mutated_text(seed)), suffix, load)


@given(mutated_text((HERE / "seeds" / "inventory.yaml").read_text()))
def test_yaml_loader_raises_only_config_error(text: str) -> None:
    try:
        yaml_loads(text, "fuzzed.yaml")
    except ConfigError as exc:
        assert str(exc).startswith("fuzzed.yaml")


EVIDENCE_SEED = build_evidence().model_dump(mode="json")
RESULT_SEED = build_result().model_dump(mode="json")


@given(mutated_json(EVIDENCE_SEED))
def test_evidence_bundle_loader_raises_only_value_error(data) -> None:
    try:
        evidence_from_data(data)
    except ValueError:
        pass


@given(st.one_of(mutated_json(RESULT_SEED).map(json.dumps), mutated_text(json.dumps(RESULT_SEED)[:4000])))
def test_result_loader_raises_only_value_or_config_error(text: str) -> None:
    with tempfile.TemporaryDirectory(prefix="iacs-fuzz-") as folder:
        path = Path(folder) / "result.json"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        try:
            load_result(path)
        except (ValueError, ConfigError):
            pass
