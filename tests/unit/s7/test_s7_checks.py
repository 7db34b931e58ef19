"""checks/s7: the SZL parsers and every S7 check passing and failing on the fixtures' answers; a refused list
is manual, a garbled one an error, never a pass."""

from __future__ import annotations

import struct

import pytest
from s7_evidence import S7Evidence, szl_list

from checks.s7.facts import COMPONENT_ID, MODE, MODULE_ID, PROTECTION, Module, Protection, Refused


def test_facts_parse_the_real_cpu_layouts() -> None:
    weak = S7Evidence("weak")
    assert weak.fact("s7_module") == Module(order_number="6ES7 315-2EH14-0AB0", hardware=4, firmware=(3, 2, 6))
    assert weak.fact("s7_protection") == Protection(selector=1, parameterized=0, effective=1, mode_selector="RUN-P",
                                                    startup_selector=0, checksums="a1c400005e21")
    assert weak.fact("s7_mode") == "RUN"
    component = S7Evidence("hardened").fact("s7_component")
    assert component["plant_id"] == "RIVERSIDE-FILL-2" and component["location"] == "Hall 2, cabinet 2.4"
    assert component["serial"] == "S C-X4UR55190344"


def test_component_records_are_matched_on_their_index_not_their_position() -> None:
    records = [struct.pack(">H", 0x0B) + b"Hall 9".ljust(32, b"\x00"), struct.pack(">H", 3) + b"P-1".ljust(32, b"\x00")]
    ev = S7Evidence("weak").answer(COMPONENT_ID, szl_list(34, records))
    assert ev.fact("s7_component") == {"location": "Hall 9", "plant_id": "P-1"}


@pytest.mark.parametrize("req, data, words", [
    (MODULE_ID, szl_list(28, [b"\x00" * 28])[:20], "header says"),
    (PROTECTION, szl_list(20, [struct.pack(">10H", 0x0004, 1, 9, 1, 1, 0, 0, 0, 0, 0)]), "out of range"),
    (PROTECTION, szl_list(20, [struct.pack(">10H", 0x0007, 1, 2, 2, 1, 0, 0, 0, 0, 0)]), "no record of index 4"),
    (MODULE_ID, b"\x00\x1c", "no SZL list header"),
])
def test_garbled_lists_are_errors(req, data, words) -> None:
    ev = S7Evidence("hardened").answer(req, data)
    check_id = "s7.identity.component" if req is MODULE_ID else "s7.protection.level"
    verdict = ev.check(check_id)
    assert verdict.status == "error" and words in verdict.reason


def test_protection_level_pass_fail() -> None:
    verdict = S7Evidence("hardened").check("s7.protection.level")
    assert verdict.status == "pass" and verdict.observed["effective_level"] == 3
    verdict = S7Evidence("weak").check("s7.protection.level")
    assert verdict.status == "fail" and "no password is configured" in verdict.reason
    write_only = S7Evidence("weak", protection={"parameterized": 2, "effective": 2})
    assert write_only.check("s7.protection.level").status == "pass"
    assert write_only.check("s7.protection.level", minimum_level=3).status == "fail"  # an SL 3 site asks for 3
    configured_not_in_force = S7Evidence("weak", protection={"parameterized": 3, "effective": 1})
    assert configured_not_in_force.check("s7.protection.level").status == "fail"


def test_refused_lists_are_manual() -> None:
    ev = S7Evidence("hardened").answer(PROTECTION, None).answer(MODULE_ID, None)
    for check_id in ("s7.protection.level", "s7.protection.mode-selector", "s7.identity.component",
                     "s7.identity.firmware"):
        verdict = ev.check(check_id)
        assert verdict.status == "manual" and "did not give SZL" in verdict.reason, check_id
    assert isinstance(ev.fact("s7_module"), Refused)


def test_mode_selector_pass_fail_manual() -> None:
    assert S7Evidence("hardened").check("s7.protection.mode-selector").status == "pass"
    verdict = S7Evidence("weak").check("s7.protection.mode-selector")
    assert verdict.status == "fail" and verdict.observed == {"mode_selector": "RUN-P", "operating_mode": "RUN"}
    no_key = S7Evidence("hardened", protection={"mode_selector": "none"})
    assert no_key.check("s7.protection.mode-selector").status == "manual"
    stopped = S7Evidence("hardened", mode="STOP").answer(MODE, None)
    verdict = stopped.check("s7.protection.mode-selector")
    assert verdict.status == "pass" and verdict.observed["operating_mode"].startswith("not read")


def test_component_identification_pass_fail() -> None:
    assert S7Evidence("hardened").check("s7.identity.component").status == "pass"
    verdict = S7Evidence("weak").check("s7.identity.component")
    assert verdict.status == "fail" and verdict.reason == "empty or missing: plant_id, location"
    assert S7Evidence("weak").check("s7.identity.component", required_fields=["serial"]).status == "pass"


def test_firmware_against_the_site_minimum() -> None:
    minimum = {"6ES7 315-2EH14-*": "V3.3.19"}
    verdict = S7Evidence("weak").check("s7.identity.firmware", minimum_firmware=minimum)
    assert verdict.status == "fail" and "V3.2.6 is older than V3.3.19" in verdict.reason
    assert S7Evidence("hardened").check("s7.identity.firmware", minimum_firmware=minimum).status == "pass"
    verdict = S7Evidence("hardened").check("s7.identity.firmware")
    assert verdict.status == "manual" and "no minimum firmware is given" in verdict.reason
    assert S7Evidence("hardened").check("s7.identity.firmware", minimum_firmware={"*": "latest"}).status == "manual"
    no_firmware = S7Evidence("hardened").answer(MODULE_ID, szl_list(28, [struct.pack(">H", 1) + b"6ES7".ljust(20) + b"\x00" * 6]))
    assert no_firmware.check("s7.identity.firmware", minimum_firmware=minimum).status == "fail"


def test_drift_snapshots() -> None:
    from auditor.registry import REGISTRY

    snapshots = REGISTRY.load().snapshots
    weak, hardened = S7Evidence("weak"), S7Evidence("hardened")
    assert snapshots["s7_firmware"].function(weak.fact("s7_module")) == "6ES7 315-2EH14-0AB0 V3.2.6"
    assert snapshots["s7_protection"].function(hardened.fact("s7_protection")) == "level 3, selector RUN"
    assert snapshots["s7_firmware"].function(Refused("0x0011,0x0000", "refused")) is None


def test_checksum_against_the_approved_values() -> None:
    hardened = S7Evidence("hardened")
    assert hardened.fact("s7_protection").checksums == "b7d2000091f3"
    assert hardened.check("s7.integrity.checksum", approved_checksums=["B7D2 0000 91F3"]).status == "pass"
    verdict = S7Evidence("weak").check("s7.integrity.checksum", approved_checksums=["b7d2000091f3"])
    assert verdict.status == "fail" and "a1c400005e21" in verdict.reason
    assert hardened.check("s7.integrity.checksum").status == "manual"
    invalid = S7Evidence("hardened", protection={"checksums": ""})
    assert invalid.fact("s7_protection").checksums is None
    assert invalid.check("s7.integrity.checksum", approved_checksums=["b7d2000091f3"]).status == "manual"
