"""Inventory, updates, time and logging of a network device, from standard and common vendor MIBs.

Standard MIBs first (SNMPv2-MIB system group, ENTITY-MIB, HOST-RESOURCES-MIB hrSystemDate, NTPv4-MIB);
vendor MIBs where no standard exists (CISCO-NTP-MIB, CISCO-SYSLOG-MIB). Where a device exposes none of
them the verdict is ``manual`` with what to check by hand, never a pass.
"""

from __future__ import annotations

from typing import Any

from auditor.firmware import MINIMUM_FIXTURE_NOTE, MINIMUM_REMEDIATION, MINIMUM_TITLE, judge_minimum
from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.snmp.facts import Clock, Entity, NtpState, SyslogState, SystemInfo, version_from_text

#: Values that mean "never filled in": vendor and net-snmp factory defaults.
PLACEHOLDERS = ["", "unknown", "none", "n/a", "na", "-", "not set", "default", "root", "me <me@example.org>",
                "sitting on the dock of the bay", "contact", "location", "sysContact", "sysLocation",
                "unknown (edit /etc/snmp/snmpd.conf)", "unknown (configure /etc/snmp/snmpd.local.conf)"]

ENTITY_CLASSES = {1: "other", 2: "unknown", 3: "chassis", 4: "backplane", 5: "container", 6: "powerSupply",
                  7: "fan", 8: "sensor", 9: "module", 10: "port", 11: "stack", 12: "cpu"}
#: Entity classes whose firmware/software revision and serial number an inventory needs.
INVENTORY_CLASSES = [3, 9, 11]

NTP_MODES = {1: "notRunning", 2: "notSynchronized", 3: "noneConfigured", 4: "syncToLocal", 5: "syncToRefclock",
             6: "syncToRemoteServer", 99: "unknown"}
CNTP_STATUS = {1: "unknown", 2: "notRunning", 3: "notSynchronized", 4: "syncToLocal", 5: "syncToRefclock",
               6: "syncToRemoteServer"}


def _placeholder(value: str | None, placeholders: list[str]) -> bool:
    return value is None or value.strip().lower() in {p.strip().lower() for p in placeholders}


def firmware(system: SystemInfo, entities: list[Entity]) -> tuple[str | None, str | None]:
    """(version, where it came from): ENTITY-MIB chassis/module software or firmware revision, else sysDescr."""
    for entity in entities:
        if entity.get("class") in INVENTORY_CLASSES:
            for name in ("software_rev", "firmware_rev"):
                value = entity.get(name)
                if value and value.strip():
                    column = "SoftwareRev" if name == "software_rev" else "FirmwareRev"
                    return value.strip(), f"ENTITY-MIB entPhysical{column}.{entity.index}"
    parsed = version_from_text(system.descr)
    return (parsed, "sysDescr.0 (parsed)") if parsed else (None, None)


@check("snmp.inventory.identity",
       title="Device identity readable and inventory fields maintained",
       requirements=["SR 7.8", "CR 7.8"],
       applies_to=["network"], severity="medium",
       params={"require_contact": True, "require_location": True, "placeholders": PLACEHOLDERS},
       remediation=("Set a real contact and location on every device (Cisco IOS: `snmp-server contact <team, "
                    "phone>`, `snmp-server location <site/room/rack>`; net-snmp: `sysContact`, `sysLocation` in "
                    "snmpd.conf) and a host name matching the asset inventory."))
def inventory_identity(snmp_system: SystemInfo, snmp_entities: list[Entity], params: dict[str, Any]) -> Verdict:
    """A component inventory (SR 7.8, CR 7.8) needs to identify each device (description, vendor object
    identifier, name, firmware version) and tell who owns it and where it is; factory placeholders such as
    an empty sysLocation make a found device impossible to place."""
    placeholders = [str(p) for p in params.get("placeholders", PLACEHOLDERS)]
    version, source = firmware(snmp_system, snmp_entities)
    observed: dict[str, Any] = {
        "sysDescr": snmp_system.descr, "sysObjectID": snmp_system.object_id, "sysName": snmp_system.name,
        "sysContact": snmp_system.contact, "sysLocation": snmp_system.location,
        "firmware": version, "firmware_source": source, "engine_id": snmp_system.engine_id}
    expected = "sysDescr, sysObjectID and sysName present; sysContact and sysLocation set to real values"
    missing = [name for name in ("sysDescr", "sysObjectID", "sysName") if not (observed[name] or "").strip()]
    if params.get("require_contact", True) and _placeholder(snmp_system.contact, placeholders):
        missing.append(f"sysContact ({snmp_system.contact!r})")
    if params.get("require_location", True) and _placeholder(snmp_system.location, placeholders):
        missing.append(f"sysLocation ({snmp_system.location!r})")
    if missing:
        return failed(observed, expected, "missing or placeholder: " + ", ".join(missing))
    if not version:  # the inventory (SR 7.8) needs the firmware version to match advisories against
        return manual("identity complete, but no firmware version is exposed (sysDescr, ENTITY-MIB); record it "
                      "in the asset inventory from the device's own management interface", expected, observed)
    return passed(observed, expected, f"identity complete; firmware {version} from {source}")


@check("snmp.firmware.minimum",
       title=MINIMUM_TITLE,
       requirements=["SR 7.8", "CR 7.8", "NDR 3.10"], applies_to=["network"], severity="high",
       params={"minimum_firmware": {}},
       fixture_verdicts={"weak": "manual", "hardened": "manual"},
       fixture_note=MINIMUM_FIXTURE_NOTE, remediation=MINIMUM_REMEDIATION)
def firmware_minimum(snmp_system: SystemInfo, snmp_entities: list[Entity], params: dict[str, Any]) -> Verdict:
    """A release older than the one an advisory names as fixed keeps the vulnerability it fixes (NDR 3.10:
    updates are applied). The version is ENTITY-MIB's entPhysicalSoftwareRev or FirmwareRev of the chassis or
    module, else the one sysDescr names; the model is that entity's entPhysicalModelName."""
    version, source = firmware(snmp_system, snmp_entities)
    model = next((e.get("model") for e in snmp_entities
                  if e.get("class") in INVENTORY_CLASSES and (e.get("model") or "").strip()), None)
    return judge_minimum(version, source or "ENTITY-MIB and sysDescr", params.get("minimum_firmware", {}),
                         model=model.strip() if model else None)


@check("snmp.inventory.entity",
       title="Hardware and firmware inventory exposed (ENTITY-MIB)",
       requirements=["SR 7.8", "CR 7.8"],
       applies_to=["network"], severity="low", params={"classes": INVENTORY_CLASSES},
       remediation=("Record model, serial number and firmware of every chassis and module in the asset inventory; "
                    "if the device does not report them over ENTITY-MIB, read them from its CLI or label."))
def inventory_entity(snmp_entities: list[Entity], params: dict[str, Any]) -> Verdict:
    """Knowing each chassis and module with serial number and firmware revision is what makes vulnerability
    advisories and replacements actionable (SR 7.8 component inventory)."""
    try:
        classes = {int(c) for c in params.get("classes", INVENTORY_CLASSES)}
    except (TypeError, ValueError):
        return error("classes must be a list of PhysicalClass numbers")
    expected = "each chassis/module lists model, serial number and firmware or software revision"
    if not snmp_entities:
        return manual("the device does not implement ENTITY-MIB (entPhysicalTable is empty); record model, serial "
                      "number and firmware by hand", expected)
    main = [e for e in snmp_entities if e.get("class") in classes]
    listed = [{"index": e.index, "class": ENTITY_CLASSES.get(e.get("class"), e.get("class")), "model": e.get("model"),
               "serial": e.get("serial"), "firmware": e.get("firmware_rev"), "software": e.get("software_rev")}
              for e in main]
    observed = {"entities": len(snmp_entities), "inventory_components": listed}
    if not main:
        return failed(observed, expected, "ENTITY-MIB lists no chassis or module")
    gaps = []
    for e in main:
        fields = (("model", e.get("model") or e.get("descr")), ("serial number", e.get("serial")),
                  ("firmware/software revision", e.get("firmware_rev") or e.get("software_rev")))
        lacking = [name for name, present in fields if not (present or "").strip()]
        if lacking:
            gaps.append(f"{e.get('name') or e.index}: no {', '.join(lacking)}")
    if gaps:
        return failed(observed, expected, "incomplete: " + "; ".join(gaps))
    return passed(observed, expected, f"{len(main)} component(s) fully identified")


@check("snmp.system.uptime",
       title="Uptime does not suggest long-missing firmware updates",
       requirements=["NDR 3.10"],
       applies_to=["network"], severity="low", params={"max_uptime_days": 365},
       fixture_verdicts={"weak": "fail", "hardened": "manual"},
       fixture_note="a short uptime proves no update either way, so the hardened switch's recent reboot asks a person",
       remediation=("Plan a maintenance window, install the vendor's current firmware (it normally needs a reboot) "
                    "and keep a patch cadence for network devices."))
def system_uptime(snmp_system: SystemInfo, params: dict[str, Any]) -> Verdict:
    """Firmware updates of switches and routers take effect only after a reboot: a device up for more than a
    year has not received one since (a hint for NDR 3.10, not a proof either way: a short uptime proves no
    update, and sysUpTime wraps after 497 days)."""
    try:
        limit = float(params.get("max_uptime_days", 365))
    except (TypeError, ValueError):
        return error("max_uptime_days must be a number")
    expected = f"uptime <= {limit:g} days"
    seconds = [v for v in (snmp_system.host_uptime_s, snmp_system.uptime_s) if v is not None]
    observed = {"sysUpTime_days": round(snmp_system.uptime_s / 86400, 1) if snmp_system.uptime_s is not None else None,
                "hrSystemUptime_days": (round(snmp_system.host_uptime_s / 86400, 1)
                                        if snmp_system.host_uptime_s is not None else None)}
    if not seconds:
        return manual("neither sysUpTime nor hrSystemUptime is readable", expected, observed)
    days = max(seconds) / 86400
    if days > limit:
        return failed(observed, expected, f"up {days:.0f} days without a reboot: no firmware update that needs a "
                                          "reboot was installed in that time")
    return manual(f"up {days:.1f} days: no contradiction, but an uptime proves no update; compare the firmware "
                  "version (snmp.inventory.identity) with the vendor's advisories", expected, observed)


@check("snmp.time.ntp",
       title="Clock synchronised by NTP",
       requirements=["SR 2.11", "SR 2.11 RE1", "CR 2.11", "CR 2.11 RE1"],
       applies_to=["network"], severity="medium",
       remediation=("Configure the site's NTP servers and check synchronisation (Cisco IOS: `ntp server <ip>`, "
                    "`show ntp status`; industrial switches: time settings > SNTP/NTP client)."))
def time_ntp(snmp_ntp: NtpState) -> Verdict:
    """Timestamps of a switch's logs and alarms can only be correlated with the rest of the plant when its
    clock follows the site's time source (SR 2.11 timestamps, RE1 synchronisation)."""
    expected = "NTP synchronised to a remote server or reference clock"
    observed = {"ntpEntStatusCurrentMode": NTP_MODES.get(snmp_ntp.mode or 0, snmp_ntp.mode),
                "cntpSysSrvStatus": CNTP_STATUS.get(snmp_ntp.cisco_status or 0, snmp_ntp.cisco_status),
                "associations": snmp_ntp.associations or snmp_ntp.cisco_peers or None}
    states = [(NTP_MODES, snmp_ntp.mode, "NTPv4-MIB"), (CNTP_STATUS, snmp_ntp.cisco_status, "CISCO-NTP-MIB")]
    for names, value, mib in states:
        if value in (5, 6):
            return passed(observed, expected, f"{mib}: {names[value]}")
    for names, value, mib in states:
        if value in (1, 2, 3, 4) and not (mib == "CISCO-NTP-MIB" and value == 1):
            return failed(observed, expected, f"{mib}: {names.get(value, value)}")
    if snmp_ntp.mode is None and snmp_ntp.cisco_status is None:
        return manual("the device exposes neither NTPv4-MIB nor CISCO-NTP-MIB; check its NTP client settings by "
                      "hand (snmp.time.clock-skew compares its clock where HOST-RESOURCES-MIB allows)",
                      expected, observed)
    return manual("the NTP state is reported as unknown", expected, observed)


@check("snmp.time.clock-skew",
       title="Device clock agrees with the auditor's clock",
       requirements=["SR 2.11", "CR 2.11"],
       applies_to=["network"], severity="low", params={"max_skew_seconds": 5},
       remediation=("Synchronise the device clock with the site's NTP servers (see snmp.time.ntp) and set its time "
                    "zone; check that the auditor's own clock is NTP-synchronised before trusting this check."))
def time_clock_skew(snmp_clock: Clock, params: dict[str, Any]) -> Verdict:
    """A clock that is off by minutes makes the device's log timestamps useless for incident timelines
    (SR 2.11). Compares hrSystemDate with the auditor's clock (assumed NTP-synchronised) at the moment of
    the read, allowing for the read's duration."""
    try:
        limit = float(params.get("max_skew_seconds", 5))
    except (TypeError, ValueError):
        return error("max_skew_seconds must be a number")
    expected = f"|device clock - auditor clock| <= {limit:g} s"
    if snmp_clock.device is None:
        return manual("the device does not expose HOST-RESOURCES-MIB hrSystemDate; compare its clock by hand",
                      expected)
    skew = snmp_clock.skew_s or 0.0
    observed = {"device_time": snmp_clock.device.isoformat(), "auditor_time": snmp_clock.auditor.isoformat(),
                "skew_seconds": round(skew, 2), "uncertainty_seconds": round(snmp_clock.uncertainty_s, 2),
                "utc_offset_assumed": snmp_clock.assumed_utc or None}
    if abs(skew) - snmp_clock.uncertainty_s > limit:
        return failed(observed, expected, f"the device clock is {skew:+.1f} s off"
                      + (" (no UTC offset given: assumed UTC)" if snmp_clock.assumed_utc else ""))
    return passed(observed, expected, f"clock within {abs(skew):.1f} s (+/- {snmp_clock.uncertainty_s:.2f} s)")


@check("snmp.logging.syslog",
       title="Events sent to a remote syslog server",
       requirements=["SR 6.2", "CR 6.2"],
       applies_to=["network"], severity="medium",
       remediation=("Send the device log to the site's log collector (Cisco IOS: `logging host <ip>`, `logging trap "
                    "informational`; industrial switches: event log > syslog server)."))
def logging_syslog(snmp_syslog: SyslogState) -> Verdict:
    """A switch keeps only a small local log that is lost at reboot; forwarding it to a central collector is
    what makes its events available for monitoring (SR 6.2).
    No standard MIB describes syslog targets: read from CISCO-SYSLOG-MIB where implemented."""
    expected = "at least one active remote syslog server"
    active = [s["address"] for s in snmp_syslog.servers if s.get("status") == 1]
    observed = {"clogMaxServers": snmp_syslog.max_servers, "servers": snmp_syslog.servers or None}
    if active:
        return passed(observed, expected, f"syslog to {', '.join(active)}")
    if snmp_syslog.max_servers is not None or snmp_syslog.servers:
        return failed(observed, expected, "CISCO-SYSLOG-MIB is implemented and lists no active syslog server")
    return manual("no standard MIB describes syslog targets and the device does not implement CISCO-SYSLOG-MIB; "
                  "check its logging configuration by hand", expected)
