"""Evidence drift of a network device: what it says it is, its firmware/software, its listening services.

Snapshots for :mod:`auditor.store.drift`, computed from the facts the checks already parse (no extra
request), so ``iacs-audit diff`` reports a firmware update, a swapped device or a service switched on
between two scans:

* ``snmp_sysdescr`` (version): SNMPv2-MIB sysDescr.0, where most devices name their firmware;
* ``snmp_sysobjectid`` (version): sysObjectID.0, the vendor's product identity (a changed value
  means another device model answers at this address);
* ``snmp_entity_revisions`` (map): ENTITY-MIB entPhysicalFirmwareRev / entPhysicalSoftwareRev of
  every physical entity that reports one ("<entPhysicalName> firmware" -> revision), so an update of
  one module or a module added shows by name;
* ``snmp_listeners`` (set): the listening TCP ports and UDP endpoints from TCP-MIB/UDP-MIB (current
  listener tables, else the legacy ones), as ``address:port/protocol`` like the host pack's.

Objects the agent does not implement leave the value out (unknown, never reported as a change).
"""

from __future__ import annotations

from auditor.registry import snapshot
from checks.snmp.facts import Entity, Listeners, SystemInfo

_REVISIONS = (("firmware_rev", "firmware"), ("software_rev", "software"))


@snapshot("snmp_sysdescr", label="system description (sysDescr)", kind="version", facts=["snmp_system"])
def sysdescr_snapshot(snmp_system: SystemInfo) -> str | None:
    text = " ".join((snmp_system.descr or "").split())  # whitespace as the agent pads it is no change
    return text or None


@snapshot("snmp_sysobjectid", label="device type (sysObjectID)", kind="version", facts=["snmp_system"])
def sysobjectid_snapshot(snmp_system: SystemInfo) -> str | None:
    return snmp_system.object_id or None


def _entity_names(entities: list[Entity]) -> list[str]:
    names = [(str(e.get("name") or "").strip() or str(e.get("descr") or "").strip()
              or f"entPhysicalIndex {e.index}") for e in entities]
    return [f"{name} (entPhysicalIndex {e.index})" if names.count(name) > 1 else name
            for name, e in zip(names, entities)]


@snapshot("snmp_entity_revisions", label="component firmware/software (ENTITY-MIB)", kind="map",
                   facts=["snmp_entities"])
def entity_revisions_snapshot(snmp_entities: list[Entity]) -> dict[str, str] | None:
    out: dict[str, str] = {}
    for entity, name in zip(snmp_entities, _entity_names(snmp_entities)):
        for column, word in _REVISIONS:
            value = str(entity.get(column) or "").strip()
            if value:
                out[f"{name} {word}"] = value
    return out or None


def _listener(protocol: str, address: str, port: int) -> str:
    return f"[{address}]:{port}/{protocol}" if ":" in address else f"{address}:{port}/{protocol}"


@snapshot("snmp_listeners", label="listening services", kind="set", facts=["snmp_listeners"])
def listeners_snapshot(snmp_listeners: Listeners) -> list[str] | None:
    if not (snmp_listeners.tcp_exposed or snmp_listeners.udp_exposed):
        return None  # the agent shows no listener table: unknown, not "nothing listens"
    return [_listener(i.protocol, i.address, i.port) for i in snmp_listeners.items] or None
