"""Fuzz targets: every parser of device output and every file loader, as a function of one byte string.

``make fuzz`` (:mod:`fuzz`) hands each target to a coverage-guided fuzzer (atheris, libFuzzer's engine),
which starts from the target's seeds and mutates them, keeping the inputs that reach new code. A target
returns when the parser gives a value or raises its documented error; any other exception escapes and is
a bug in the parser (the fuzzer stops and writes the input to a ``crash-*`` file).

* ``fact:<name>``: one fact parser of a pack. The input is a seed asset's name and then one section per
  evidence request the fact reads (``SEP`` between them), each section a header line (the exit code,
  ``-`` for none, ``E`` for an item that failed, ``X`` for an item never collected) and the device's
  answer (raw bytes for a base64 item). Seeds: what a scan of the simulated plant collected
  (``seeds/evidence.json``). Every check the fact feeds then runs on the parsed value, the asset's other
  facts parsed from the seed, so a check meeting an odd but parseable value is fuzzed too.
* ``wire:*``, ``snmp:*``, ``modbus:*``, ``s7:*``, ``opcua:*``: the parsers inside the connectors that read raw
  device bytes before any evidence exists.
* ``file:*``: every loader of a file a user hands the auditor, the input being the file's bytes.

Targets import lazily (:func:`build`), so that the fuzzer can instrument the modules as they load.
"""

from __future__ import annotations

import atexit
import base64
import json
import os
import shutil
import struct
import sys
import tempfile
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
SEP = b"\n\x1e\x1e\n"
MISSING, FAILED, NO_CODE = b"X", b"E", b"-"


@dataclass(frozen=True)
class Target:
    """One parser: its seeds, and ``run`` that returns or raises the documented error (both fine)."""

    name: str
    seeds: list[bytes]
    run: Callable[[bytes], None]
    documented: tuple[type[BaseException], ...]

    def one(self, data: bytes) -> None:
        """Run the parser on ``data``; only an exception outside :attr:`documented` escapes."""
        try:
            self.run(data)
        except self.documented:
            pass


# ------------------------------------------------------------------------------------------------ facts


def _fact_targets() -> list[Target]:
    from auditor.assessment.evaluate import FactCache
    from auditor.evidence import EvidenceItem
    from auditor.facts import FactEvidence, FactParseError, FactUnavailable
    from auditor.registry import REGISTRY

    reg = REGISTRY.load()
    seeds = json.loads((HERE / "seeds" / "evidence.json").read_text())
    assets: dict[str, dict[str, EvidenceItem]] = {}
    caches: dict[str, FactCache] = {}
    for asset, raw_items in seeds.items():
        items = [EvidenceItem(id=f"{asset}#{index}", asset=asset, endpoint="fuzz", **item)
                 for index, item in enumerate(raw_items)]
        assets[asset] = {item.request.key: item for item in items}
        caches[asset] = FactCache(items, reg)

    def encode(item: EvidenceItem | None) -> bytes:
        if item is None:
            return MISSING + b"\n"
        if item.status == "error":
            return FAILED + b"\n"
        head = NO_CODE if item.exit_code is None else str(item.exit_code).encode()
        body = base64.b64decode(item.response) if item.encoding == "base64" else item.response.encode("utf-8",
                                                                                                        "replace")
        return head + b"\n" + body

    def target(name: str) -> Target:
        spec = reg.facts[name]
        reads = [request for request in spec.requests]
        keys = [request.key for request in reads]
        mine = sorted(asset for asset, items in assets.items() if set(keys) & set(items))
        checks = [check for check in reg.checks.values() if name in check.facts]
        target_seeds = [SEP.join([asset.encode()] + [encode(assets[asset].get(key)) for key in keys])
                        for asset in mine]

        def items_from(data: bytes) -> tuple[str, dict[str, EvidenceItem]]:
            parts = data.split(SEP)
            asset = parts[0].decode("utf-8", "replace")
            if asset not in assets:
                asset = mine[0]
            found: dict[str, EvidenceItem] = {}
            for index, (request, section) in enumerate(zip(reads, parts[1:])):
                head, _, body = section.partition(b"\n")
                if head == MISSING:
                    continue
                seed = assets[asset].get(request.key)
                encoding = seed.encoding if seed is not None else "text"
                fields: dict[str, Any] = {"id": f"{asset}#fuzz{index}", "asset": asset, "endpoint": "fuzz",
                                          "request": seed.request if seed is not None else request,
                                          "encoding": encoding, "meta": dict(seed.meta) if seed is not None else {}}
                if head == FAILED:
                    fields.update(status="error", error=body.decode("utf-8", "replace")[:200], response="")
                else:
                    try:
                        code = None if head == NO_CODE else int(head[:20])
                    except ValueError:
                        code = None
                    fields.update(exit_code=code, response=base64.b64encode(body).decode()
                                  if encoding == "base64" else body.decode("utf-8", "replace"))
                found[request.key] = EvidenceItem.model_construct(**fields)
            return asset, found

        def run(data: bytes) -> None:
            asset, found = items_from(data)
            value = spec.parser(FactEvidence(name, spec.requests, found))
            # the checks this fact feeds, on this value and the asset's other facts as the seed gives them
            for check in checks:
                arguments: dict[str, Any] = {}
                for other in check.facts:
                    if other == name:
                        arguments[other] = value
                        continue
                    other_value, problem, _ = caches[asset].get(other)
                    if problem is not None:
                        break
                    arguments[other] = other_value
                else:
                    if check.takes_params:
                        arguments["params"] = check.params
                    check.function(**arguments)

        return Target(f"fact:{name}", target_seeds, run, (FactUnavailable, FactParseError))

    return [target(name) for name in sorted(reg.facts)]


# ------------------------------------------------------------------------- device bytes in the connectors


def _connector_targets() -> list[Target]:
    from checks.modbus import frames
    from connectors.snmp import values
    from connectors.ssh import wire
    from connectors.ssh.script import OutputSplitter, marker_prefix, split_output

    from connectors.s7.connector import _SessionEnded, S7Connector

    targets: list[Target] = []
    seeds = json.loads((HERE / "seeds" / "evidence.json").read_text())

    # SSH: the server's identification line and its KEXINIT packet, before any session exists
    kexinits = []
    for items in seeds.values():
        for item in items:
            if item["request"]["op"] == "kexinit" or item["request"]["target"].endswith("kexinit"):
                data = json.loads(item["response"])
                lists = data.get("kexinit", data)
                body = bytes([20]) + bytes(16)
                for field in wire.KEXINIT_NAME_LISTS:
                    names = ",".join(lists.get(field) or []).encode()
                    body += struct.pack(">I", len(names)) + names
                kexinits.append(body + b"\x00" + bytes(4))

    def kexinit(data: bytes) -> None:
        result = wire.parse_kexinit(data)
        assert set(result) == {*wire.KEXINIT_NAME_LISTS, "first_kex_packet_follows"}

    def identification(data: bytes) -> None:
        parts = wire.parse_identification(data)
        assert parts["identification"].startswith("SSH-") and parts["software"]

    targets += [Target("wire:ssh-kexinit", kexinits, kexinit, (wire.WireProbeError,)),
                Target("wire:ssh-identification", [b"SSH-2.0-OpenSSH_9.6p1 Debian-3\r\n", b"SSH-1.99-Cisco-1.25\r\n"],
                       identification, (wire.WireProbeError,))]

    # SSH: the script's output, split at its markers; the same sections whichever way the stream is cut
    nonce = "fuzzNonce0123"
    prefix = marker_prefix(nonce)

    def splitter(data: bytes) -> None:
        count = 1 + (data[0] % 4 if data else 0)
        body = data[1:]
        sudo, whole = split_output(body, nonce, count, max_section=256)
        streamed = OutputSplitter(nonce, count, max_section=256)
        step = 1 + (data[0] // 4 if data else 0)
        for start in range(0, len(body), step):
            streamed.feed(body[start:start + step])
        assert streamed.sections() == whole and streamed.sudo_ok == sudo
        assert all(0 <= index < count and len(section.text.encode()) <= 3 * 256 + 3
                   for index, section in whole.items())

    script_seed = (f"{prefix}SUDO__ yes\n{prefix}B_0__\nPermitRootLogin no\n\n{prefix}E_0__ 0\n"
                   f"{prefix}B_1__\nuid=0(root)\n\n{prefix}E_1__ 1\n").encode()
    targets.append(Target("ssh:script-output", [b"\x05" + script_seed, b"\x42" + script_seed], splitter, ()))

    # SNMP: OIDs as text, OCTET STRINGs as text, and any decoded value as JSON
    def oid(data: bytes) -> None:
        parsed = values.oid_tuple(data.decode("utf-8", "replace"))
        assert parsed and all(isinstance(part, int) for part in parsed)

    def printable(data: bytes) -> None:
        text = values.printable_text(data)
        assert text is None or text.encode() == data

    from pyasn1.codec.ber import decoder, encoder
    from pysnmp.proto import rfc1902

    def varbind(data: bytes) -> None:
        # what a device's answer decodes to (pyasn1's BER decoder, as pysnmp uses it); what it refuses, in
        # whatever way (PyAsn1Error, or OverflowError for a length beyond any size), never reaches our code
        try:
            value, _ = decoder.decode(data, asn1Spec=rfc1902.ObjectSyntax())
            while hasattr(value, "getComponent"):  # the CHOICEs around the value (none chosen: no value)
                value = value.getComponent(True)
        except Exception:
            return
        json.dumps(values.encode_value((1, 3, 6, 1, 2, 1, 1, 1, 0), value))

    varbind_seeds = [encoder.encode(value) for value in (
        rfc1902.OctetString(b"Acme PLC \x00\xff"), rfc1902.Integer(-5), rfc1902.Counter64(2 ** 64 - 1),
        rfc1902.Counter32(7), rfc1902.Gauge32(9), rfc1902.IpAddress("127.0.46.1"),
        rfc1902.ObjectIdentifier((1, 3, 6, 1, 4, 1, 9)), rfc1902.TimeTicks(123456), rfc1902.Opaque(b"\x9f\x78"))]
    targets += [Target("snmp:oid", [b"1.3.6.1.2.1.1.1.0", b".1.3.6.1.4.1.9.9.41.1.3.1.0"], oid, (ValueError,)),
                Target("snmp:printable-text", [b"Acme switch v1.2.3", "Gr\u00fc\u00dfe".encode(), b"\x00\x01\xff"],
                       printable, ()),
                Target("snmp:value", varbind_seeds, varbind, ())]

    # Modbus: a response frame (FC 3, an exception, device identification, report server id)
    modbus_frames = [bytes.fromhex(h) for h in (
        "00010000000501030204b0", "000200000003018302",
        "000300000018012b0e0101000003000441636d6501024331020476312e30", "00040000000801110541424301ff")]

    def modbus(data: bytes) -> None:
        request = data[:12] if data[:1] == b"\x01" else None
        response = frames.parse_response(data[1:], request)
        for parse in (lambda: frames.device_identification([response]), lambda: frames.server_id(response),
                      lambda: frames.registers(response, 1)):
            try:
                json.dumps(parse(), default=lambda b: b.hex())
            except frames.FrameError:
                pass

    targets.append(Target("modbus:frame", [b"\x00" + frame for frame in modbus_frames], modbus, (frames.FrameError,)))

    # S7: a Read SZL answer as it comes off the socket, through the connector's own parsing

    class _Connection:
        def __init__(self, answers: list[bytes]):
            self.answers = answers

        def send_data(self, pdu: bytes) -> None:
            pass

        def receive_data(self) -> bytes:
            if not self.answers:
                raise OSError("closed")
            return self.answers.pop(0)

    connector = _s7_connector(S7Connector)

    def szl(data: bytes) -> None:
        connector._sent.clear()
        connector._last_send = 0.0
        from auditor.evidence import EvidenceRequest
        request = EvidenceRequest(protocol="s7", op="szl", target="0x0011,0x0000")
        item = connector._read_szl(_Connection(data.split(SEP)), request, 0x0011, 0, 0.0)
        json.loads(item.response)

    szl_seeds = [SEP.join(answers) for answers in _s7_seed_answers()]
    targets.append(Target("s7:szl-answer", szl_seeds, szl, (_SessionEnded,)))

    # OPC UA: a GetEndpoints answer decoded by the library, then described as evidence and parsed by the pack
    from asyncua import ua
    from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary
    from asyncua.common.utils import Buffer

    from checks.opcua.facts import parse_endpoints
    from connectors.opcua import decoding, describe

    decoding.install()  # as the connector does before its first request
    from auditor.facts import FactParseError

    def endpoints(data: bytes) -> None:
        try:
            answer = struct_from_binary(ua.GetEndpointsResponse, Buffer(data))
        except Exception:  # the library refuses what is not an OPC UA encoding: nothing reaches our code
            return
        described = json.loads(json.dumps([describe.endpoint(ep, describe.Cuts()) for ep in answer.Endpoints or []]))
        parse_endpoints(described)

    endpoint = ua.EndpointDescription(EndpointUrl="opc.tcp://127.0.46.1:4840/",
                                      SecurityMode=ua.MessageSecurityMode.None_,
                                      SecurityPolicyUri="http://opcfoundation.org/UA/SecurityPolicy#None",
                                      Server=ua.ApplicationDescription(ApplicationUri="urn:fuzz",
                                                                       ApplicationName=ua.LocalizedText("PLC")),
                                      UserIdentityTokens=[ua.UserTokenPolicy(PolicyId="anon",
                                                                             TokenType=ua.UserTokenType.Anonymous)],
                                      ServerCertificate=b"\x30\x82\x01\x00", SecurityLevel=1)
    answer = ua.GetEndpointsResponse(Endpoints=[endpoint, endpoint])
    targets.append(Target("opcua:endpoints", [struct_to_binary(answer)], endpoints, (FactParseError,)))

    def data_value(data: bytes) -> None:
        try:
            value = struct_from_binary(ua.DataValue, Buffer(data))
        except Exception:  # the library refuses what is not an OPC UA encoding
            return
        json.dumps(describe.data_value(value, describe.Cuts()))

    dv_seeds = [struct_to_binary(ua.DataValue(ua.Variant(v))) for v in
                ("Acme", 7, [1, 2, 3], ua.LocalizedText("x"), b"\x00\x01", 1.5)]
    targets.append(Target("opcua:data-value", dv_seeds, data_value, ()))
    return targets


def _s7_connector(cls: type) -> Any:
    from auditor.plant.inventory import Asset
    asset = Asset.model_validate({"id": "plc", "address": "127.0.46.1", "type": "embedded", "zone": "field",
                                  "endpoints": [{"protocol": "s7", "port": 102}]})
    from connectors.base import ScanOptions
    connector = cls(asset, asset.endpoints[0], ScanOptions())
    connector.endpoint = connector.endpoint.model_copy(update={"requests_per_second": 1e9})  # no pacing
    return connector


def _s7_seed_answers() -> list[list[bytes]]:
    """Read SZL answers from the S7 simulator's encoder (python-snap7's server), never started: each list it
    knows, an unknown list (refused), and the identification list announced as the first of two fragments."""
    from snap7.s7protocol import S7Protocol

    from simulators.s7.server import S7Simulator

    protocol, simulator = S7Protocol(), S7Simulator("weak", host="127.0.46.1", port=102)
    answers = [simulator._server._process_request(protocol.build_read_szl_request(szl_id, index), None)
               for szl_id, index in ((0x0011, 0), (0x001C, 0), (0x0232, 4), (0x0424, 0), (0x0132, 8),
                                                  (0x0037, 0), (0x01A0, 10), (0x0099, 0))]
    first = bytearray(answers[0])
    first[19] = 1  # last_data_unit: more follows
    return [[answer] for answer in answers] + [[bytes(first), answers[1]]]


# -------------------------------------------------------------------------------------------- file loaders


def _file_targets() -> list[Target]:
    from auditor.assessment.attestations import load_answers
    from auditor.assessment.profiles import load_profile
    from auditor.assessment.waivers import load_waivers
    from auditor.errors import ConfigError
    from auditor.plant.importers import validate
    from auditor.plant.importers.ansible import import_ansible
    from auditor.plant.importers.nmap import import_nmap
    from auditor.plant.importers.register import import_register
    from auditor.plant.inventory import load_inventory
    from auditor.safeload import yaml_loads
    from reports.json_report import load_evidence, load_result

    sys.path.insert(0, str(REPO / "tests" / "unit"))
    from result_fixture import build_evidence, build_result

    # a file per input: in memory where the system has it (a disk write costs more than most parses)
    folder = Path(tempfile.mkdtemp(prefix="iacs-fuzz-", dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    atexit.register(shutil.rmtree, folder, True)
    scoping = REPO / "tests" / "unit" / "scoping"

    def through(suffix: str, load: Callable[[Path], Any]) -> Callable[[bytes], None]:
        path = folder / f"fuzzed{suffix}"

        def run(data: bytes) -> None:
            path.write_bytes(data)
            try:
                load(path)
            except ConfigError as exc:
                assert str(exc).startswith(str(path)), str(exc)
                raise
        return run

    def imported(importer: Callable[[Path], Any]) -> Callable[[Path], Any]:
        def load(path: Path) -> None:
            validate(path, importer(path))
        return load

    def read(path: Path) -> bytes:
        return path.read_bytes()

    evidence = json.dumps(build_evidence().model_dump(mode="json"), indent=1).encode()
    evidence_plain = evidence.replace(b'"sha256"', b'"sha256_"')  # a hash mismatch: the ValueError path
    result = json.dumps(build_result().model_dump(mode="json"), indent=1).encode()
    ansible_yaml = (b"all:\n  vars:\n    ansible_user: audit\n  children:\n    plcs:\n      hosts:\n"
                    b"        plc-[01:03].plant.invalid:\n          ansible_port: 2222\n    web:\n      hosts:\n"
                    b"        127.0.46.7:\n")
    yaml_seeds = [read(HERE / "seeds" / "inventory.yaml")]
    answers = lambda path: load_answers(path, as_of=date(2026, 1, 1))  # noqa: E731
    answers_csv = (b"requirement,check,assets,answer,attested_by,date,justification,evidence\n"
                   b"SR 1.1,,hmi-01,met,J. Doe,2025-01-01,\"MFA, see doc\",DOC-1;DOC-2\n"
                   b"CR 2.8,,*,not_met,J. Doe,2025-02-01,,\n")
    specs = [
        ("file:inventory", [read(HERE / "seeds" / "inventory.yaml")], ".yaml", load_inventory, ()),
        ("file:profile", [read(REPO / "profiles" / "host-sl2.yaml")], ".yaml", load_profile, ()),
        ("file:waivers", [read(HERE / "seeds" / "waivers.yaml")], ".yaml", load_waivers, ()),
        ("file:answers", [_answers_seed()], ".yaml", answers, ()),
        ("file:answers-csv", [answers_csv], ".csv", answers, ()),
        ("file:yaml", yaml_seeds, ".yaml", lambda path: yaml_loads(path.read_text("utf-8", "surrogateescape"), path),
         (UnicodeError,)),
        ("file:result-json", [result], ".json", load_result, (ValueError,)),
        ("file:evidence-json", [evidence, evidence_plain], ".json", load_evidence, (ValueError,)),
        ("file:import-register-csv", [read(scoping / "register.csv")], ".csv", imported(import_register), ()),
        ("file:import-ansible-ini", [read(scoping / "hosts.ini")], ".ini", imported(import_ansible), ()),
        ("file:import-ansible-yaml", [ansible_yaml], ".yml", imported(import_ansible), ()),
        ("file:import-nmap-xml", [read(scoping / "scan.xml")], ".xml", imported(import_nmap), ()),
    ]
    return [Target(name, seeds, through(suffix, load), (ConfigError, *extra))
            for name, seeds, suffix, load, extra in specs]


def _answers_seed() -> bytes:
    """The demo plant's answers file cut to a few entries of each kind (an asset list, a vendor capability
    claim, an expiry, a justification): parse time grows with the size, coverage does not."""
    head, *entries = (REPO / "simulators" / "demo_answers.yaml").read_text().split("\n- ")
    kept = entries[:2] + [next(entry for entry in entries if f"\n  {key}:" in entry)
                          for key in ("assets", "capability", "expires", "justification")]
    return "\n- ".join([head, *kept]).encode() + b"\n"


GROUPS = {"fact": "_fact_targets", "file": "_file_targets"}  # any other prefix: the connectors' parsers


def build(only: str | None = None) -> dict[str, Target]:
    """Every target by name, or only the group of target ``only`` (imports the parsers: call it inside the
    fuzzer's instrumentation)."""
    os.environ.setdefault("IACS_NO_COLOR", "1")
    makers = [_fact_targets, _connector_targets, _file_targets]
    if only is not None:
        group = GROUPS.get(only.partition(":")[0], "_connector_targets")
        makers = [maker for maker in makers if maker.__name__ == group]
    targets = [target for maker in makers for target in maker()]
    return {target.name: target for target in targets}
