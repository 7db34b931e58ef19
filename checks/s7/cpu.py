"""S7 CPU identity, firmware and protection, read with Read SZL only (nothing is written, started or stopped)."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.s7.facts import Module, Protection, Refused

_IDENTITY_FIELDS = ("plant_id", "location", "serial")


def _refused(value: Any, what: str, expected: str) -> Verdict | None:
    if isinstance(value, Refused):
        return manual(f"the CPU did not give SZL {value.szl} ({what}): {value.reason}; read it in the engineering "
                      "tool (TIA Portal / STEP 7 online diagnostics)", expected)
    return None


@check("s7.identity.component", title="S7 CPU reports its order number, firmware and plant identification",
       requirements=["SR 7.8", "CR 7.8"], applies_to=["embedded"], severity="low",
       params={"required_fields": list(_IDENTITY_FIELDS)},
       remediation="Fill the CPU's plant designation (plant id) and location in the hardware configuration and "
                   "download it in a maintenance window, so the CPU names itself for the component inventory; "
                   "record order number, firmware and serial number in the asset register.")
def component(s7_module: Module | Refused, s7_component: dict[str, str] | Refused, params: dict[str, Any]) -> Verdict:
    """The inventory (SR 7.8) matches advisories by order number and firmware, and the asset register by serial
    number, plant id and location: a CPU that leaves them empty cannot be told apart from its spare."""
    expected = "order number and firmware (SZL 0x0011) and " + ", ".join(params["required_fields"]) + " (SZL 0x001C)"
    if (skip := _refused(s7_module, "module identification", expected)
            or _refused(s7_component, "component identification", expected)):
        return skip
    assert isinstance(s7_module, Module) and isinstance(s7_component, dict)
    observed = {"order_number": s7_module.order_number, "firmware": s7_module.firmware_text,
                **{name: s7_component.get(name, "") for name in ("plc_name", "module_name", *params["required_fields"])}}
    missing = [name for name in params["required_fields"] if not s7_component.get(name)]
    if not s7_module.order_number:
        missing.insert(0, "order_number")
    if s7_module.firmware is None:
        missing.insert(0, "firmware")
    if missing:
        return failed(observed, expected, "empty or missing: " + ", ".join(missing))
    return passed(observed, expected)


def _version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"\s*[vV]?(\d+(?:\.\d+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


@check("s7.identity.firmware", title="S7 CPU firmware is at or above the site's minimum version",
       requirements=["SR 7.8", "CR 7.8", "EDR 3.10"], applies_to=["embedded"], severity="high",
       params={"minimum_firmware": {}},
       fixture_verdicts={"weak": "manual", "hardened": "manual"},
       fixture_note="the demo plant names no site minimum for its CPU; the unit tests pass and fail it with "
                    "minimum_firmware",
       remediation="Update the CPU firmware to the version the vendor's security advisories name as fixed (or the "
                   "site's minimum), in a maintenance window, and record it; list the minimum per order number in "
                   "the profile (minimum_firmware: {'6ES7 315-2EH14-*': 'V3.3.19'}).")
def firmware(s7_module: Module | Refused, params: dict[str, Any]) -> Verdict:
    """Firmware below the version an advisory names as fixed keeps the vulnerability it fixes (EDR 3.10 support
    for updates: updates are applied). ``minimum_firmware`` maps order-number globs to the minimum version; a CPU
    no entry names is for a person to judge against the vendor's advisories."""
    if (skip := _refused(s7_module, "module identification", "firmware >= the site's minimum")):
        return skip
    assert isinstance(s7_module, Module)
    observed = {"order_number": s7_module.order_number, "firmware": s7_module.firmware_text}
    entries = [(glob, minimum) for glob, minimum in dict(params["minimum_firmware"]).items()
               if fnmatch.fnmatchcase(s7_module.order_number, str(glob))]
    if s7_module.firmware is None:
        return failed(observed, "firmware reported (SZL 0x0011 index 7)", "the CPU does not report its firmware version")
    if not entries:
        return manual(f"no minimum firmware is given for {s7_module.order_number}; compare {s7_module.firmware_text} "
                      "with the vendor's security advisories (profile parameter minimum_firmware)",
                      "firmware >= the site's minimum", observed)
    glob, minimum = entries[0]
    expected = f"firmware >= {minimum} ({glob})"
    least = _version(str(minimum))
    if least is None:
        return manual(f"minimum_firmware {minimum!r} for {glob} is not a version", expected, observed)
    if s7_module.firmware < least:
        return failed(observed, expected, f"{s7_module.firmware_text} is older than {minimum}")
    return passed(observed, expected)


@check("s7.protection.level", title="S7 CPU protects program and configuration with a password",
       requirements=["SR 1.1", "SR 2.1", "CR 1.1", "CR 2.1"], applies_to=["embedded"], severity="critical",
       params={"minimum_level": 2},
       remediation="In the CPU properties (Protection), set write protection (level 2) or read/write protection "
                   "(level 3) with a strong password and download the configuration in a maintenance window; on "
                   "S7-1200/1500 also set the access level (no full access without a password).")
def protection_level(s7_protection: Protection | Refused, params: dict[str, Any]) -> Verdict:
    """Level 1 ('no protection') lets anyone who reaches port 102 download a program, change the configuration
    or stop the CPU without identifying themselves (SR 1.1, SR 2.1). Judged from SZL 0x0232: both the level set in
    the configuration (sch_par) and the level in force (sch_rel) must reach ``minimum_level``."""
    minimum = int(params["minimum_level"])
    expected = f"protection level >= {minimum} configured (sch_par) and in force (sch_rel)"
    if (skip := _refused(s7_protection, "protection level", expected)):
        return skip
    assert isinstance(s7_protection, Protection)
    p = s7_protection
    observed = {"parameterized_level": p.parameterized, "effective_level": p.effective, "selector_level": p.selector}
    if p.effective < minimum or p.parameterized < minimum:
        why = "no password is configured" if p.parameterized == 0 else f"level {min(p.effective, p.parameterized)}"
        return failed(observed, expected, f"{why}: anyone may write to the CPU (1 no protection, 2 write, 3 read/write)")
    return passed(observed, expected)


@check("s7.protection.mode-selector", title="S7 CPU mode selector is not left in RUN-P",
       requirements=["SR 2.1", "CR 2.1"], applies_to=["embedded"], severity="medium",
       remediation="Turn the key switch to RUN and withdraw the key in production; keep RUN-P for commissioning and "
                   "maintenance windows.")
def mode_selector(s7_protection: Protection | Refused, s7_mode: str | Refused) -> Verdict:
    """With the key switch in RUN the CPU refuses program changes whatever the password; RUN-P allows them from
    the network (SR 2.1: the physical key is an authorization a remote attacker lacks). CPUs without a key switch
    (S7-1200/1500) report none: a person judges their access level."""
    expected = "mode selector in RUN (not RUN-P)"
    if (skip := _refused(s7_protection, "protection and mode selector", expected)):
        return skip
    assert isinstance(s7_protection, Protection)
    observed = {"mode_selector": s7_protection.mode_selector,
                "operating_mode": s7_mode if isinstance(s7_mode, str) else f"not read ({s7_mode.reason})"}
    if s7_protection.mode_selector == "RUN":
        return passed(observed, expected)
    if s7_protection.mode_selector == "RUN-P":
        return failed(observed, expected, "the key switch is in RUN-P: program changes are allowed from the network")
    return manual(f"the mode selector reads {s7_protection.mode_selector}: a CPU without a key switch, or one in STOP "
                  "or memory reset; check how program changes are authorized", expected, observed)


@check("s7.integrity.checksum", title="S7 CPU program and configuration match an approved checksum",
       requirements=["SR 3.4", "CR 3.4", "SR 7.6", "CR 7.6"], applies_to=["embedded"], severity="high",
       params={"approved_checksums": []},
       fixture_verdicts={"weak": "manual", "hardened": "manual"},
       fixture_note="the demo plant approves no checksum; the unit tests pass and fail it with approved_checksums",
       remediation="Compare the CPU's program with the approved project in the engineering tool; when the change is "
                   "authorized, record the new checksum (profile parameter approved_checksums), else restore the "
                   "approved program and investigate.")
def checksum(s7_protection: Protection | Refused, params: dict[str, Any]) -> Verdict:
    """The CPU publishes checksums of its hardware configuration and user program (SZL 0x0232): a value other
    than the approved one means the program or configuration changed (SR 3.4 software and information integrity).
    The hardware configuration's checksum covers the CPU's network and protection settings, so matching the
    approved project is also evidence that the configuration in force is the one set per the supplier's
    guidelines, read back through the CPU's own interface (SR/CR 7.6). ``approved_checksums`` lists the hex values the site approved; the drift snapshot shows each change."""
    expected = "the checksums (SZL 0x0232 after ken_rel) are one of approved_checksums"
    if (skip := _refused(s7_protection, "protection and checksums", expected)):
        return skip
    assert isinstance(s7_protection, Protection)
    observed = {"checksums": s7_protection.checksums}
    if s7_protection.checksums is None:
        return manual("the CPU reports no valid checksum (ken_rel 0); compare the program in the engineering tool",
                      expected, observed)
    approved = [str(value).lower().replace(" ", "") for value in params["approved_checksums"]]
    if not approved:
        return manual(f"no approved checksum is given; record {s7_protection.checksums} in approved_checksums once "
                      "the program is verified against the approved project", expected, observed)
    if s7_protection.checksums in approved:
        return passed(observed, expected)
    return failed(observed, expected, f"checksums {s7_protection.checksums} are not approved: the program or the "
                                      "hardware configuration changed")
