"""Modbus pack: every check passes and fails on recorded evidence; garbage and faults give ``error``."""

from __future__ import annotations

import base64
import json

import pytest
from modbus_evidence import PlcEvidence, b64

from auditor.assessment.profiles import load_profile
from auditor.facts import FactParseError, FactUnavailable
from auditor.registry import REGISTRY
from checks.modbus.facts import DEVID_BASIC, DEVID_REGULAR, HOLDING_READ, SERVER_ID, SESSION, TCP_PROBES, TLS_PROBE

REQUIRED = ["modbus.access.unauthenticated-read", "modbus.identity.device-identification",
            "modbus.transport.secure", "modbus.exposure.insecure-services"]


def modbus_checks() -> list[str]:
    REGISTRY.load()
    return sorted(c for c in REGISTRY.checks if c.startswith("modbus."))


# ----------------------------------------------------------------------------- metadata
def test_pack_metadata() -> None:
    ids = modbus_checks()
    assert set(REQUIRED) <= set(ids)
    for check_id in ids:
        spec = REGISTRY.check(check_id)
        assert spec.applies_to == ("embedded",)
        assert spec.rationale and spec.remediation and spec.title
        kinds = {r.split()[0] for r in spec.requirements}
        if check_id == "modbus.zone.boundary-protection":  # a zone firewall is no component capability: 3-3 only
            assert kinds == {"SR"}, spec.requirements
            continue
        assert "SR" in kinds and kinds & {"CR", "EDR"}, f"{check_id} maps SR and CR/EDR: {spec.requirements}"
        for fact_name in spec.facts:
            assert fact_name.startswith("modbus_") and REGISTRY.facts[fact_name].protocol == "modbus"


def test_zone_countermeasure_is_explained_where_the_protocol_cannot_prove() -> None:
    for check_id in ("modbus.access.unauthenticated-read", "modbus.access.write-protection",
                     "modbus.transport.secure", "modbus.zone.boundary-protection"):
        assert "SR 5.2" in REGISTRY.check(check_id).remediation


def test_profiles_load_and_tighten() -> None:
    sl2, sl3, sl4 = (load_profile(f"embedded-sl{n}") for n in (2, 3, 4))
    ident = REGISTRY.check("modbus.identity.device-identification")
    tls = REGISTRY.check("modbus.transport.tls-configuration")
    assert sl2.params_for(ident)["require_regular"] is False and sl3.params_for(ident)["require_regular"] is True
    assert sl2.params_for(tls)["minimum_rsa_bits"] == 2048 and sl3.params_for(tls)["minimum_rsa_bits"] == 3072
    assert sl4.params_for(tls)["minimum_version"] == "TLSv1.3"
    assert set(modbus_checks()) <= {c.id for c in sl2.selected_checks()}


# ----------------------------------------------------------------------------- weak vs hardened
@pytest.mark.parametrize("check_id", REQUIRED)
def test_required_checks_flip_between_weak_and_hardened(check_id: str) -> None:
    assert PlcEvidence("weak").check(check_id).status == "fail"
    assert PlcEvidence("hardened").check(check_id).status == "pass"


def test_verdicts_name_their_evidence() -> None:
    verdict, used = PlcEvidence("weak").check_with_evidence("modbus.access.unauthenticated-read")
    assert verdict.status == "fail" and used and all(u.startswith("weak#") for u in used)


def test_weak_plc_details() -> None:
    ev = PlcEvidence("weak")
    read = ev.check("modbus.access.unauthenticated-read")
    assert read.observed["endpoint"] == "tcp/502" and "never authenticated" in read.reason
    ident = ev.check("modbus.identity.device-identification")
    assert "exception 1" in ident.reason and "FW 1.0.2" in ident.reason
    assert ident.observed["report_server_id"]["run_indicator"] == "on"
    insecure = ev.check("modbus.exposure.insecure-services")
    assert insecure.observed["insecure_open"] == ["21 (FTP)", "23 (Telnet)", "80 (HTTP)"]
    assert ev.check("modbus.access.write-protection").status == "fail"
    assert "no write was sent" in ev.check("modbus.access.write-protection").reason
    assert ev.check("modbus.transport.tls-configuration").status == "not_applicable"
    assert ev.check("modbus.zone.boundary-protection").status == "manual"
    assert ev.check("modbus.zone.boundary-protection", vantage="outside").status == "fail"


def test_hardened_plc_details() -> None:
    ev = PlcEvidence("hardened")
    ident = ev.check("modbus.identity.device-identification")
    assert ident.observed["identity"]["MajorMinorRevision"] == "4.2.1"
    assert ident.observed["identity"]["ModelName"] == "PLC-9000-S2"
    tls = ev.check("modbus.transport.tls-configuration")
    assert tls.status == "pass", tls
    assert tls.observed["client_certificate_requested"] is True and tls.observed["anonymous_session"] == "refused"
    assert ev.check("modbus.access.write-protection").status == "manual"
    assert ev.check("modbus.exposure.undocumented-services").status == "pass"
    assert ev.check("modbus.zone.boundary-protection", vantage="outside").status == "manual"


def test_hardened_without_client_certificate() -> None:
    """Anonymous auditor: access and transport are still judged; the identity needs an authorised client."""
    ev = PlcEvidence("hardened_no_client_cert")
    assert ev.check("modbus.access.unauthenticated-read").status == "pass"
    assert ev.check("modbus.transport.secure").status == "pass"
    ident = ev.check("modbus.identity.device-identification")
    assert ident.status == "error" and "client_cert_file and client_key_file" in ident.reason


def test_a_failed_own_session_never_outweighs_an_anonymous_probe_that_was_accepted() -> None:
    """The auditor's own TLS session failing (for any reason) is no proof that anonymous clients are refused
    when the anonymous probe was accepted, or when the failure was a timeout."""
    from checks.modbus.facts import TLS_PROBE

    accepted = PlcEvidence("hardened_no_client_cert").patch_json(
        TLS_PROBE, lambda d: d["tls"].update(anonymous_session="accepted"))
    assert accepted.check("modbus.access.unauthenticated-read").status == "manual"
    timed_out = PlcEvidence("hardened_no_client_cert").patch_json(
        TLS_PROBE, lambda d: d["tls"].update(anonymous_session=None)).patch_json(
        SESSION, lambda d: d.update(error="TLS handshake timed out", connected=False, fault=None))
    assert timed_out.check("modbus.access.unauthenticated-read").status != "pass"


# ----------------------------------------------------------------------------- identity parameters
def test_firmware_minimum_from_device_identification() -> None:
    """MajorMinorRevision against minimum_firmware (product code, then vendor); no minimum or no identity: manual."""
    ev = PlcEvidence("hardened")
    assert ev.check("modbus.firmware.minimum", minimum_firmware={"PLC-9000": "4.3"}).status == "fail"
    assert ev.check("modbus.firmware.minimum", minimum_firmware={"PLC-9000": "4.2.1"}).status == "pass"
    assert ev.check("modbus.firmware.minimum", minimum_firmware={"ACME*": "9"}).status == "fail"  # the vendor glob
    assert ev.check("modbus.firmware.minimum", minimum_firmware={"PLC-9000": "n/a"}).status == "manual"
    assert ev.check("modbus.firmware.minimum").status == "manual"  # the built-in profiles name no minimum
    assert ev.check("modbus.identity.device-identification").status == "pass"  # identity alone: no firmware judged
    unsupported = PlcEvidence("hardened").answer(DEVID_BASIC, bytes([0xAB, 0x01]))
    verdict = unsupported.check("modbus.firmware.minimum", minimum_firmware={"*": "1"})
    assert verdict.status == "manual" and "reports no firmware version" in verdict.reason


def test_identity_incomplete_basic_objects_fail() -> None:
    ev = PlcEvidence("hardened")
    # basic answer with an empty MajorMinorRevision; regular read declined
    basic = bytes([43, 14, 1, 0x81, 0, 0, 3, 0, 4]) + b"ACME" + bytes([1, 4]) + b"P-10" + bytes([2, 0])
    ev.answer(DEVID_BASIC, basic).answer(DEVID_REGULAR, bytes([0xAB, 0x02]))
    verdict = ev.check("modbus.identity.device-identification")
    assert verdict.status == "fail" and "MajorMinorRevision" in verdict.reason
    assert ev.check("modbus.identity.device-identification", require_regular=True).status == "fail"


def test_identity_follows_more_follows_pages() -> None:
    ev = PlcEvidence("hardened")
    page1 = bytes([43, 14, 1, 0x81, 0xFF, 2, 2, 0, 4]) + b"ACME" + bytes([1, 4]) + b"P-10"
    page2 = bytes([43, 14, 1, 0x81, 0, 0, 1, 2, 3]) + b"1.0"
    ev.answer(DEVID_BASIC, page1, page2)
    assert ev.fact("modbus_device_identification")["objects"]["MajorMinorRevision"] == "1.0"


def test_identity_refused_over_tls_is_manual() -> None:
    ev = PlcEvidence("hardened").answer(DEVID_BASIC, bytes([0xAB, 0x01]))
    assert ev.check("modbus.identity.device-identification").status == "manual"


# ----------------------------------------------------------------------------- access variants
def test_unauthenticated_read_exception_variants() -> None:
    refused_address = PlcEvidence("weak").answer(HOLDING_READ, bytes([0x83, 0x02]))
    assert refused_address.check("modbus.access.unauthenticated-read").status == "fail"
    illegal_function = PlcEvidence("weak").answer(HOLDING_READ, bytes([0x83, 0x01]))
    assert illegal_function.check("modbus.access.unauthenticated-read").status == "manual"
    busy = PlcEvidence("weak").answer(HOLDING_READ, bytes([0x83, 0x06]))
    verdict = busy.check("modbus.access.unauthenticated-read")
    assert verdict.status == "error" and "exception 6" in verdict.reason


def test_tls_plc_that_accepts_anonymous_clients() -> None:
    ev = PlcEvidence("hardened")
    ev.patch_json(TLS_PROBE, lambda d: d["tls"].update(anonymous_session="accepted", certificate_request=False))
    assert ev.check("modbus.access.unauthenticated-read").status == "manual"
    tls = ev.check("modbus.transport.tls-configuration")
    assert tls.status == "fail" and "no mutual authentication" in tls.reason
    ev.patch_json(SESSION, lambda d: d["tls"]["client_certificate"].update(configured=False))
    assert ev.check("modbus.access.unauthenticated-read").status == "fail"


def test_tls_configuration_weaknesses() -> None:
    ev = PlcEvidence("hardened")
    ev.patch_json(TLS_PROBE, lambda d: d["tls"].update(version="TLSv1.1"))
    assert "TLSv1.1" in ev.check("modbus.transport.tls-configuration").reason
    hardened = PlcEvidence("hardened")
    assert hardened.check("modbus.transport.tls-configuration", minimum_version="TLSv1.3").status == "pass"
    assert hardened.check("modbus.transport.tls-configuration", signature_hashes=["sha512"]).status == "fail"
    assert hardened.check("modbus.transport.tls-configuration", minimum_ec_bits=384).status == "fail"
    assert hardened.check("modbus.transport.tls-configuration", minimum_version="TLSv9").status == "error"


def test_plain_502_beside_802_fails_transport() -> None:
    ev = PlcEvidence("hardened").patch_json(TCP_PROBES[502], lambda d: d.update(state="open", error=None))
    verdict = ev.check("modbus.transport.secure")
    assert verdict.status == "fail" and "502" in verdict.reason
    assert ev.check("modbus.access.unauthenticated-read").status == "manual"


@pytest.mark.parametrize("state", ["filtered", "unreachable", "error"])
def test_only_a_refused_connection_proves_a_port_closed(state: str) -> None:
    """A probe of 502 (or of telnet) that timed out or failed proves nothing: never a pass on it."""
    ev = PlcEvidence("hardened").patch_json(TCP_PROBES[502], lambda d: d.update(state=state))
    secure = ev.check("modbus.transport.secure")
    assert secure.status == "manual" and "only a refused connection" in secure.reason
    assert secure.observed["plain_modbus"].startswith("unknown")
    assert ev.check("modbus.access.unauthenticated-read").status == "manual"
    assert PlcEvidence("hardened").check("modbus.transport.secure").status == "pass"  # refused: proven closed
    other = PlcEvidence("hardened").patch_json(TCP_PROBES[102], lambda d: d.update(state=state))
    assert other.check("modbus.exposure.undocumented-services").status == "manual"
    insecure = PlcEvidence("hardened").patch_json(TCP_PROBES[23], lambda d: d.update(state=state))
    verdict = insecure.check("modbus.exposure.insecure-services")
    assert verdict.status == "manual" and "23" in verdict.reason


def test_undocumented_services() -> None:
    ev = PlcEvidence("weak").patch_json(TCP_PROBES[102], lambda d: d.update(state="open", error=None))
    assert ev.check("modbus.exposure.undocumented-services").status == "manual"
    assert ev.check("modbus.exposure.undocumented-services", documented_ports=[102]).status == "pass"
    assert ev.check("modbus.exposure.undocumented-services", documented_ports=[4840]).status == "fail"


def test_insecure_services_allowed_ports_and_bad_params() -> None:
    ev = PlcEvidence("weak")
    assert ev.check("modbus.exposure.insecure-services", allowed_ports=[21, 23, 80]).status == "pass"
    assert ev.check("modbus.exposure.insecure-services", insecure_ports={"x": "y"}).status == "error"
    assert ev.check("modbus.zone.boundary-protection", vantage="somewhere").status == "error"


# ----------------------------------------------------------------------------- garbage and faults
@pytest.mark.parametrize("check_id", REQUIRED)
def test_garbage_evidence_is_an_error_not_a_crash(check_id: str) -> None:
    for name in ("weak", "hardened"):
        ev = PlcEvidence(name)
        for item in list(ev.items):
            ev.replace(item.request, "{not json")
        verdict = ev.check(check_id)
        assert verdict.status == "error", (name, check_id, verdict)
        assert "unparseable" in verdict.reason


def test_malformed_frames_are_errors() -> None:
    ev = PlcEvidence("weak")
    ev.patch_json(HOLDING_READ, lambda d: d["exchanges"][0].update(response=b64(b"\x00\x01\x00\x05\x00\x06\x01\x03")))
    verdict = ev.check("modbus.access.unauthenticated-read")
    assert verdict.status == "error" and "Modbus" in verdict.reason
    ev = PlcEvidence("weak")
    ev.patch_json(HOLDING_READ, lambda d: d["exchanges"][0].update(response="%%%"))
    assert "base64" in ev.check("modbus.access.unauthenticated-read").reason
    ev = PlcEvidence("weak").answer(HOLDING_READ, bytes([0x10, 0x02, 0x00, 0x01]))  # answers another function
    assert "does not answer" in ev.check("modbus.access.unauthenticated-read").reason


@pytest.mark.parametrize("reason", ["read_holding_registers: no response within 2 s",
                                    "read_holding_registers: truncated response: the connection closed after 5 bytes",
                                    "read_holding_registers: connection lost while waiting for the response: "
                                    "ConnectionResetError"])
def test_transport_faults_are_errors_with_the_reason(reason: str) -> None:
    ev = PlcEvidence("weak").fail(HOLDING_READ, reason)
    verdict = ev.check("modbus.access.unauthenticated-read")
    assert verdict.status == "error" and reason in verdict.reason


def test_device_failure_exception_on_identity_is_an_error() -> None:
    ev = PlcEvidence("hardened").answer(DEVID_BASIC, bytes([0xAB, 0x04]))
    verdict = ev.check("modbus.identity.device-identification")
    assert verdict.status == "error" and "server device failure" in verdict.reason


def test_server_id_problems_never_block_identity() -> None:
    ev = PlcEvidence("hardened").fail(SERVER_ID, "report_server_id: no response within 2 s")
    assert ev.check("modbus.identity.device-identification").status == "pass"
    ev = PlcEvidence("hardened").answer(SERVER_ID, bytes([17, 9, 1, 2]))
    assert ev.fact("modbus_server_id")["answered"] is False


def test_probe_records_are_validated() -> None:
    ev = PlcEvidence("weak").replace(TCP_PROBES[23], json.dumps({"port": 23, "state": "maybe"}))
    with pytest.raises(FactParseError):
        ev.fact("modbus_open_ports")
    ev = PlcEvidence("weak").fail(TCP_PROBES[23], "probe failed")
    with pytest.raises(FactUnavailable):
        ev.fact("modbus_open_ports")
    assert ev.check("modbus.exposure.insecure-services").status == "error"


def test_certificate_garbage_is_an_error() -> None:
    ev = PlcEvidence("hardened").patch_json(TLS_PROBE, lambda d: d["tls"].update(certificate=b64(b"not a cert")))
    verdict = ev.check("modbus.transport.tls-configuration")
    assert verdict.status == "error" and "certificate" in verdict.reason


def test_a_certificate_whose_subject_cannot_be_read_is_an_error_not_a_crash() -> None:
    # found by the fuzzer: the certificate loads, its subject (invalid UTF-8) fails only when read
    def broken(data: dict) -> None:
        der = base64.b64decode(data["tls"]["certificate"])
        data["tls"]["certificate"] = b64(der.replace(b"ACME PLC", b"\xff\xfeME PLC", 1))

    verdict = PlcEvidence("hardened").patch_json(TLS_PROBE, broken).check("modbus.transport.tls-configuration")
    assert verdict.status == "error" and "cannot be read" in verdict.reason and "crashed" not in verdict.reason

