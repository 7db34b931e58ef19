"""Device identification over Modbus: vendor, product code and firmware revision for the inventory.

IEC 62443-3-3 SR 7.8 / 62443-4-2 CR 7.8 ask that a component can report what it is and which
version it runs, so the asset owner keeps a current inventory (and knows which advisories apply).
Modbus defines that report: function 43 / MEI type 14, Read Device Identification, whose basic
objects VendorName, ProductCode and MajorMinorRevision are mandatory for every device that implements
it. Report Server ID (FC 17) is vendor-specific free text and is recorded beside it for the inventory.
"""

from __future__ import annotations

from typing import Any

from auditor.firmware import MINIMUM_FIXTURE_NOTE, MINIMUM_TITLE, judge_minimum
from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed

_EXPECTED = "VendorName, ProductCode and MajorMinorRevision reported by Read Device Identification (FC 43/14)"
_REGULAR = ("ProductName", "ModelName")


@check("modbus.identity.device-identification",
       title="PLC reports vendor, product code and firmware revision (Read Device Identification)",
       requirements=["SR 7.8", "CR 7.8"], applies_to=["embedded"], severity="medium",
       params={"require_regular": False},
       remediation=("Enable or upgrade to a firmware that implements Modbus Read Device Identification (FC 43, MEI "
                    "type 14) with at least the basic objects, so the inventory can be taken and kept current from "
                    "the network; where the device cannot, record vendor, model and firmware revision in the asset "
                    "register from the engineering tool and attach it as evidence."))
def device_identification(modbus_device_identification: dict[str, Any], modbus_server_id: dict[str, Any],
                          modbus_session: dict[str, Any], params: dict[str, Any]) -> Verdict:
    """Without a machine-readable identity the inventory of PLCs is kept by hand and goes stale, and nobody
    notices a PLC running a firmware with a published vulnerability. Passes when FC 43/14 reports the three
    basic objects (and ProductName/ModelName when ``require_regular``); the revision is recorded as inventory
    and judged against the site's minimum by ``modbus.firmware.minimum``."""
    ident, server = modbus_device_identification, modbus_server_id
    observed: dict[str, Any] = {}
    if server.get("answered"):
        observed["report_server_id"] = {"text": server.get("text"), "run_indicator": server.get("run_indicator")}
    if not ident["supported"]:
        observed["read_device_identification"] = ident["detail"]
        if modbus_session["transport"] == "tls" and ident.get("exception_code") == 1:
            return manual("the PLC declined FC 43/14 to the auditor's certificate (exception 1 is also how Modbus/TCP "
                          "Security refuses an unauthorised role): verify the identity with an authorised role or in "
                          "the engineering tool", _EXPECTED, observed)
        extra = (f"; Report Server ID says '{server['text']}' (vendor-specific, recorded as inventory)"
                 if server.get("answered") and server.get("text") else "")
        return failed(observed, _EXPECTED,
                      f"the PLC does not implement standard device identification ({ident['detail']}){extra}")
    objects: dict[str, str] = ident["objects"]
    observed.update({"identity": objects, "conformity_level": f"{ident.get('conformity', 0):#04x}"})
    missing = [name for name in ("VendorName", "ProductCode", "MajorMinorRevision") if not objects.get(name)]
    if missing:
        return failed(observed, _EXPECTED, f"mandatory basic object(s) missing or empty: {', '.join(missing)}")
    if params.get("require_regular"):
        absent = [name for name in _REGULAR if not objects.get(name)]
        if absent:
            return failed(observed, _EXPECTED + " and ProductName/ModelName (regular objects)",
                          f"regular object(s) not reported: {', '.join(absent)}"
                          + (f" ({ident['regular_note']})" if ident.get("regular_note") else ""))
    key = f"{objects['VendorName']} {objects['ProductCode']}"
    return passed(observed, _EXPECTED, f"{key} firmware {objects['MajorMinorRevision']}")


@check("modbus.firmware.minimum",
       title=MINIMUM_TITLE,
       requirements=["SR 7.8", "CR 7.8", "EDR 3.10"], applies_to=["embedded"], severity="high",
       params={"minimum_firmware": {}},
       fixture_verdicts={"weak": "manual", "hardened": "manual"},
       fixture_note=MINIMUM_FIXTURE_NOTE,
       remediation=("Update the PLC to the firmware the vendor's security advisories name as fixed (or the site's "
                    "minimum) in a maintenance window, and list the minimum per product in the profile "
                    "(minimum_firmware: {'PLC-9000': '4.3', 'ACME*': '2.0'}, matched on the product code, then "
                    "the vendor)."))
def firmware_minimum(modbus_device_identification: dict[str, Any], params: dict[str, Any]) -> Verdict:
    """A PLC firmware older than the release an advisory names as fixed keeps the vulnerability it fixes
    (EDR 3.10: updates are applied). The revision is Read Device Identification's MajorMinorRevision; the
    site's ``minimum_firmware`` globs are matched against the ProductCode, then the VendorName."""
    ident = modbus_device_identification
    objects: dict[str, str] = (ident.get("objects") or {}) if ident["supported"] else {}
    source = "Read Device Identification (FC 43/14) MajorMinorRevision"
    return judge_minimum(objects.get("MajorMinorRevision"), source, params.get("minimum_firmware", {}),
                         model=objects.get("ProductCode"), platform=objects.get("VendorName"))
