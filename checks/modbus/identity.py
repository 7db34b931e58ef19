"""Device identification over Modbus: vendor, product code and firmware revision for the inventory.

IEC 62443-3-3 SR 7.8 / 62443-4-2 CR 7.8 ask that a component can report what it is and which
version it runs, so the asset owner keeps a current inventory (and knows which advisories apply).
Modbus defines that report: function 43 / MEI type 14, Read Device Identification, whose basic
objects VendorName, ProductCode and MajorMinorRevision are mandatory for every device that implements
it. Report Server ID (FC 17) is vendor-specific free text and is recorded beside it for the inventory.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed

_EXPECTED = "VendorName, ProductCode and MajorMinorRevision reported by Read Device Identification (FC 43/14)"
_REGULAR = ("ProductName", "ModelName")


def revision_tuple(text: str) -> tuple[int, ...] | None:
    """``"V4.2.1 (2025)"`` -> ``(4, 2, 1)``; None if the text holds no dotted number."""
    match = re.search(r"\d+(?:\.\d+)*", text or "")
    return tuple(int(part) for part in match.group(0).split(".")) if match else None


@check("modbus.identity.device-identification",
       title="PLC reports vendor, product code and firmware revision (Read Device Identification)",
       requirements=["SR 7.8", "CR 7.8"], applies_to=["embedded"], severity="medium",
       params={"minimum_revisions": {}, "require_regular": False},
       remediation=("Enable or upgrade to a firmware that implements Modbus Read Device Identification (FC 43, MEI "
                    "type 14) with at least the basic objects, so the inventory can be taken and kept current from "
                    "the network; where the device cannot, record vendor, model and firmware revision in the asset "
                    "register from the engineering tool and attach it as evidence. Keep the firmware at or above the "
                    "revision the vendor's security advisories require (profile parameter minimum_revisions)."))
def device_identification(modbus_device_identification: dict[str, Any], modbus_server_id: dict[str, Any],
                          modbus_session: dict[str, Any], params: dict[str, Any]) -> Verdict:
    """Without a machine-readable identity the inventory of PLCs is kept by hand and goes stale, and nobody
    notices a PLC running a firmware with a published vulnerability. Passes when FC 43/14 reports the three
    basic objects (and ProductName/ModelName when ``require_regular``) and, for products named in
    ``minimum_revisions`` ("VendorName ProductCode" or "ProductCode" -> minimum revision), the firmware is
    not older. The revision is recorded as inventory either way."""
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
    revision = objects["MajorMinorRevision"]
    minimums: dict[str, Any] = params.get("minimum_revisions") or {}
    key_long = f"{objects['VendorName']} {objects['ProductCode']}"
    minimum = minimums.get(key_long, minimums.get(objects["ProductCode"]))
    if minimum is not None:
        have, need = revision_tuple(revision), revision_tuple(str(minimum))
        observed["minimum_revision"] = str(minimum)
        if have is None or need is None:
            return manual(f"cannot compare firmware revision '{revision}' with the minimum '{minimum}'",
                          f"firmware revision >= {minimum}", observed)
        if have < need:
            return failed(observed, f"firmware revision >= {minimum}",
                          f"firmware {revision} is older than the minimum {minimum} set for {key_long}")
    note = "" if minimum is not None else " (no minimum revision configured for this product: firmware recorded, not judged)"
    return passed(observed, _EXPECTED, f"{key_long} firmware {revision}{note}")
