"""nmap XML (``nmap -oX``) -> an inventory: each host that is up, its open ports as endpoints.

A port becomes an endpoint when the auditor speaks its protocol: by the well-known port
(:mod:`auditor.plant.ports`: 22 ssh, 161/udp snmp, 502 and 802 modbus, 4840 opcua) or by nmap's service
name on another port. The other open ports are listed in the asset's description (what else the device
exposes), and they count in the type guess: an EtherNet/IP or S7 port says PLC. A host with no port the
auditor speaks is left out, with a note. SNMP endpoints are written as SNMPv3 authPriv with references to
``SNMP_USER``-style variables to fill in; nothing secret is ever in the file.

The XML is parsed with defusedxml: a scan file from elsewhere cannot expand entities or reach the network.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from auditor.errors import ConfigError
from auditor.plant.importers import Imported, safe_id
from auditor.plant.ports import BY_PORT, SERVICE_PROTOCOLS, guess_type

#: How an SNMP endpoint found by a scan is written: SNMPv3 authPriv, every secret by reference.
SNMP_V3 = {"version": "3", "username": "auditor", "auth_protocol": "SHA256", "auth_key_env": "SNMP_AUTH_KEY",
           "priv_protocol": "AES", "priv_key_env": "SNMP_PRIV_KEY"}


def import_nmap(path: str | Path) -> Imported:
    path = Path(path)
    try:
        root = ElementTree.parse(str(path)).getroot()
    except FileNotFoundError:
        raise ConfigError.single(path, "", "file not found") from None
    except (ElementTree.ParseError, DefusedXmlException, LookupError, ValueError) as exc:  # an unknown encoding
        raise ConfigError.single(path, "", f"not nmap XML: {exc}") from None
    except OSError as exc:
        raise ConfigError.single(path, "", f"cannot read: {exc.strerror}") from None
    if root.tag != "nmaprun":
        raise ConfigError.single(path, "", f"not nmap XML (root element {root.tag!r}, expected 'nmaprun'; "
                                           "write it with nmap -oX)")
    assets, notes, used = [], [], set()
    for host in root.iter("host"):
        status = host.find("status")
        if status is not None and status.get("state") != "up":
            continue
        address = next((a.get("addr") for a in host.findall("address") if a.get("addrtype") in ("ipv4", "ipv6")),
                       None)
        if not address:
            continue
        name = next((h.get("name") for h in host.iter("hostname") if h.get("name")), None)
        endpoints, others, hints = [], [], []
        for port in host.iter("port"):
            state = port.find("state")
            if state is None or state.get("state") not in ("open", "open|filtered"):
                continue
            if state.get("state") == "open|filtered" and port.get("protocol") != "udp":
                continue
            try:
                number, transport = int(port.get("portid", "0")), port.get("protocol", "tcp")
            except ValueError:
                raise ConfigError.single(path, f"host {address}",
                                         f"port id {port.get('portid')!r} is not a number") from None
            service = port.find("service")
            service_name = service.get("name") if service is not None else None
            known = BY_PORT.get((number, transport))
            protocol = known.protocol if known and known.protocol else SERVICE_PROTOCOLS.get(service_name or "")
            if protocol == "snmp" and transport != "udp":
                protocol = None
            if protocol is not None and not any(e["protocol"] == protocol for e in endpoints):
                endpoints.append(_endpoint(protocol, number))
            else:
                label = known.service if known else (service_name or "unknown service")
                others.append(f"{number}/{transport} {label}")
            if known and known.suggests:
                hints.append(known.suggests)
        if not endpoints:
            notes.append(f"{name or address}: no open port the auditor speaks ({', '.join(others) or 'none open'}); "
                         "left out")
            continue
        asset_id = safe_id(name.split(".")[0] if name else address, "host")
        while asset_id in used:
            asset_id = safe_id(f"{asset_id}-{len(used)}")
        used.add(asset_id)
        kind = guess_type([e["protocol"] for e in endpoints], hints)
        description = f"nmap: {name or address}" + (f"; also open: {', '.join(others)}" if others else "")
        assets.append({"id": asset_id, "type": kind, "address": address, "description": description,
                       "endpoints": endpoints})
        if any(e["protocol"] == "snmp" for e in endpoints):
            note = ("snmp endpoints are SNMPv3 authPriv as user 'auditor' with SNMP_AUTH_KEY and SNMP_PRIV_KEY: "
                    "set the user, protocols and variables the devices use")
            if note not in notes:
                notes.append(note)
    data: dict[str, Any] = {"site": f"imported from {path.name}", "assets": assets}
    return Imported(data, notes)


def _endpoint(protocol: str, port: int) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"protocol": protocol, "port": port}
    if protocol == "snmp":
        endpoint.update(SNMP_V3)
    return endpoint
