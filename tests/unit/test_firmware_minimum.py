"""Firmware against the site's minimum (profile parameter ``minimum_firmware``): the comparison, and the CLI
and SNMP checks on recorded evidence: pass, fail, and manual when no minimum names the device."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from auditor.firmware import firmware_key, judge_minimum

sys.path[:0] = [str(Path(__file__).parent / "netcli"), str(Path(__file__).parent / "snmp")]
from cli_evidence import Recording as CliRecording  # noqa: E402
from snmp_evidence import Recording as SnmpRecording  # noqa: E402


@pytest.mark.parametrize("text, key", [("HiOS-2S-09.4.04", (9, 4, 4)), ("HiOS-3A-10.3.04 2025-12-08", (10, 3, 4, 2025, 12, 8)),
                                       ("15.2(7)E4", (15, 2, 7, 4)), ("V4.1.7", (4, 1, 7)), ("none", None)])
def test_release_numbers(text: str, key: tuple[int, ...] | None) -> None:
    assert firmware_key(text) == key


def test_the_comparison_pads_and_takes_the_first_matching_glob() -> None:
    minimums = {"RSP20-*": "09.4", "*": "99"}
    assert judge_minimum("HiOS-2S-09.4.04", "x", minimums, model="RSP20-1").status == "pass"
    assert judge_minimum("HiOS-2S-09.4.00", "x", {"RSP20-*": "09.4.0.0"}, model="RSP20-1").status == "pass"
    assert judge_minimum("HiOS-2S-09.3.99", "x", minimums, model="RSP20-1").status == "fail"
    assert judge_minimum("1.0", "x", {"hirschmann_hios": "2.0"}, model="OS3", platform="hirschmann_hios").status == "fail"
    assert judge_minimum("1.0", "x", {"*": "2.0"}).status == "fail"  # no model known: only "*" applies
    assert judge_minimum("1.0", "x", {"RSP*": "2.0"}).status == "manual"
    assert judge_minimum(None, "show version", {"*": "1"}).status == "manual"  # unknown is a question, not a failure
    assert judge_minimum("1.0", "x", {"*": "latest"}).status == "manual"
    assert judge_minimum("1.0", "x", ["1.0"]).status == "manual"


def test_cli_firmware_from_show_system_info_and_show_version() -> None:
    hios = CliRecording("hios-weak")
    assert hios.check("netcli.firmware.minimum").status == "manual"  # the built-in profiles name no minimum
    verdict = hios.check("netcli.firmware.minimum", minimum_firmware={"RSP20-*": "09.4.00"})
    assert verdict.status == "fail" and "HiOS-2S-07.1.03 is older than 09.4.00" in verdict.reason
    assert verdict.observed["source"] == "show system info"
    hardened = CliRecording("hios-hardened").check("netcli.firmware.minimum", minimum_firmware={"RSP20-*": "09.4.00"})
    assert hardened.status == "pass"
    ios = CliRecording("ios-hardened")
    release = ios.fact("cli_version").version
    assert ios.check("netcli.firmware.minimum", minimum_firmware={"IE-4000-*": release}).status == "pass"
    assert ios.check("netcli.firmware.minimum", minimum_firmware={"cisco_ios": "99.1"}).status == "fail"


def test_snmp_firmware_from_entity_mib() -> None:
    weak = SnmpRecording("sim-weak")
    verdict = weak.check("snmp.firmware.minimum", minimum_firmware={"IS-2008": "V2.0"})
    assert verdict.status == "fail" and verdict.observed["source"].startswith("ENTITY-MIB entPhysicalSoftwareRev")
    assert SnmpRecording("sim-hardened").check("snmp.firmware.minimum", minimum_firmware={"IS-*": "4.1.7"}).status \
        == "pass"
    assert weak.check("snmp.firmware.minimum").status == "manual"
    real = SnmpRecording("real-weak").check("snmp.firmware.minimum", minimum_firmware={"*": "7"})
    assert real.status == "fail" and real.observed["source"] == "sysDescr.0 (parsed)"
