"""Least functionality and segmentation on switches and routers: unused ports, VLAN 1, IP forwarding."""

from __future__ import annotations

import fnmatch
from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, error, failed, manual, not_applicable, passed
from checks.snmp.facts import Bridge, Forwarding, Interface

#: IANAifType values of physical switch/router ports (ethernetCsmacd, iso88023Csmacd, fastEther,
#: fastEtherFX, gigabitEthernet).
PHYSICAL_PORT_TYPES = [6, 7, 62, 69, 117]
ADMIN = {1: "up", 2: "down", 3: "testing"}
OPER = {1: "up", 2: "down", 3: "testing", 4: "unknown", 5: "dormant", 6: "notPresent", 7: "lowerLayerDown"}


def _ignored(iface: Interface, patterns: list[str]) -> bool:
    names = [n for n in (iface.name, iface.descr, iface.alias) if n]
    return any(fnmatch.fnmatchcase(n, p) for n in names for p in patterns)


@check("snmp.interface.unused-enabled",
       title="Unused switch ports administratively shut down",
       requirements=["SR 7.7", "SR 5.1", "CR 7.7", "CR 5.1"],
       applies_to=["network"], severity="medium", params={"port_types": PHYSICAL_PORT_TYPES, "ignore": []},
       remediation=("Shut down every port without a connected device (Cisco IOS: `interface <port>` + `shutdown`, "
                    "ideally also `switchport access vlan <parking-vlan>`); list deliberate spare ports in the "
                    "profile parameter `ignore` (name patterns)."))
def interface_unused_enabled(snmp_interfaces: list[Interface], params: dict[str, Any]) -> Verdict:
    """A port that is enabled but has no link is an open door for whoever plugs a laptop into it: least
    functionality (SR 7.7) means unused physical ports are disabled."""
    try:
        types = {int(t) for t in params.get("port_types", PHYSICAL_PORT_TYPES)}
    except (TypeError, ValueError):
        return error("port_types must be a list of IANAifType numbers")
    ignore = [str(p) for p in params.get("ignore", [])]
    expected = "every physical port without link is administratively down"
    ports = [i for i in snmp_interfaces if i.type in types]
    if not ports:
        return manual("IF-MIB shows no physical port (ifType " + ", ".join(map(str, sorted(types))) +
                      "); check unused ports in the device configuration", expected,
                      {"interfaces": len(snmp_interfaces)})
    unused = [i for i in ports if i.admin == 1 and i.oper in (2, 6, 7) and not _ignored(i, ignore)]
    observed = {"physical_ports": len(ports), "up": sum(1 for i in ports if i.oper == 1),
                "admin_down": sum(1 for i in ports if i.admin == 2),
                "enabled_without_link": [f"{i.label} ({OPER.get(i.oper or 0, i.oper)})" for i in unused] or None}
    if unused:
        return failed(observed, expected, f"{len(unused)} port(s) enabled without link: "
                                          + ", ".join(i.label for i in unused))
    return passed(observed, expected, "every physical port is either linked or administratively down")


@check("snmp.vlan.default-vlan",
       title="Active access ports not left in the default VLAN",
       requirements=["SR 5.1", "CR 5.1"],
       applies_to=["network"], severity="medium", params={"default_vlan": 1},
       remediation=("Put every port into the VLAN of its zone (Cisco IOS: `switchport access vlan <id>`), park "
                    "unused ports in an unrouted VLAN, and keep VLAN 1 for nothing but what the switch requires."))
def vlan_default(snmp_bridge: Bridge, snmp_interfaces: list[Interface], params: dict[str, Any]) -> Verdict:
    """Ports left in the default VLAN put devices of different zones into one broadcast domain: zones and
    conduits exist only if the switch separates them (SR 5.1 network segmentation)."""
    try:
        default = int(params.get("default_vlan", 1))
    except (TypeError, ValueError):
        return error("default_vlan must be a VLAN number")
    expected = f"no administratively up port with PVID {default}"
    if not snmp_bridge.pvid:
        return manual("Q-BRIDGE-MIB dot1qPvid is not exposed; check the port VLAN assignment in the configuration",
                      expected)
    admin = {i.index: i for i in snmp_interfaces}
    in_default = []
    for port, vlan in sorted(snmp_bridge.pvid.items()):
        iface = admin.get(snmp_bridge.port_ifindex.get(port, port))
        if vlan == default and (iface is None or iface.admin != 2):
            in_default.append(iface.label if iface else f"bridge port {port}")
    vlans = sorted(set(snmp_bridge.pvid.values()))
    observed = {"ports": len(snmp_bridge.pvid), "vlans_in_use": vlans,
                "vlan_names": {str(k): v for k, v in sorted(snmp_bridge.vlan_names.items())} or None,
                f"active_ports_in_vlan_{default}": in_default or None}
    if in_default:
        reason = f"{len(in_default)} active port(s) in VLAN {default}"
        if vlans == [default]:
            reason += ": every port is in one VLAN, the switch does not segment at all"
        return failed(observed, expected, reason)
    return passed(observed, expected, f"ports use VLANs {vlans}")


@check("snmp.routing.ip-forwarding",
       title="No IP forwarding on a device that should not route",
       requirements=["SR 5.1", "CR 5.1"],
       applies_to=["network"], severity="high", params={"routing_allowed": False},
       remediation=("On a layer-2 switch disable IP routing (Cisco IOS: `no ip routing`, `no ipv6 unicast-routing`) "
                    "so that zones meet only at the firewall. If the device is meant to route, set the profile "
                    "parameter routing_allowed: true for it and review its ACLs."))
def routing_ip_forwarding(snmp_ip_forwarding: Forwarding, params: dict[str, Any]) -> Verdict:
    """A switch that forwards IP between its VLANs joins the zones it was meant to separate and bypasses the
    zone-boundary firewall (SR 5.1 network segmentation; a switch that does not route is no boundary
    protection device itself, so NDR 5.2 is not claimed)."""
    expected = "ipForwarding = notForwarding(2) and ipv6IpForwarding = notForwarding(2)"
    fwd = snmp_ip_forwarding
    observed = {"ipForwarding": {1: "forwarding", 2: "notForwarding"}.get(fwd.ipv4 or 0),
                "ipv6IpForwarding": {1: "forwarding", 2: "notForwarding"}.get(fwd.ipv6 or 0)}
    if fwd.ipv4 is None and fwd.ipv6 is None:
        return manual("IP-MIB ipForwarding is not exposed; check in the configuration whether the device routes",
                      expected, observed)
    routing = [name for name, value in (("IPv4", fwd.ipv4), ("IPv6", fwd.ipv6)) if value == 1]
    if routing and params.get("routing_allowed"):
        return not_applicable(f"the device routes {'/'.join(routing)} and the profile allows it "
                              "(routing_allowed); its ACLs need a manual review (NDR 5.2)", observed)
    if routing:
        return failed(observed, expected, f"the device forwards {'/'.join(routing)} packets between its "
                                          "interfaces")
    if fwd.ipv4 is None or fwd.ipv6 is None:
        missing = "ipv6IpForwarding" if fwd.ipv6 is None else "ipForwarding"
        return manual(f"the exposed value says not forwarding, but {missing} is not exposed; check in the "
                      "configuration whether the device routes that protocol", expected, observed)
    return passed(observed, expected, "neither IPv4 nor IPv6 forwarding")


#: IANAifType values of radio interfaces: ieee80211 (Wi-Fi), radioMAC, ieee80216WMAN (WiMAX), ieee802154.
WIRELESS_TYPES = [71, 188, 237, 259]


@check("snmp.interface.wireless",
       title="Wireless interfaces: none present, or managed",
       requirements=["SR 1.6", "SR 1.6 RE1", "SR 2.2", "NDR 1.6", "NDR 1.6 RE1", "CR 2.2"],
       applies_to=["network"], severity="medium", params={"wireless_types": WIRELESS_TYPES},
       fixture_verdicts={"weak": "not_applicable", "hardened": "not_applicable"},
       fixture_note="neither demo switch has a radio: both prove the wireless rows not applicable",
       remediation=("Where the device has no business with radio, order it without a radio module or disable the "
                    "radio; where it has, restrict who may associate (WPA3-Enterprise / 802.1X with per-user "
                    "credentials) and document that control."))
def interface_wireless(snmp_interfaces: list[Interface], params: dict[str, Any]) -> Verdict:
    """Wireless access needs its own identification and use control. A device whose IF-MIB lists interfaces
    and none of a radio type has no wireless access to manage, so the wireless rows do not apply to it: that
    is proved from evidence. A device with radio interfaces needs a person to confirm how they are managed."""
    try:
        types = {int(t) for t in params.get("wireless_types", WIRELESS_TYPES)}
    except (TypeError, ValueError):
        return error("wireless_types must be a list of IANAifType numbers")
    if not snmp_interfaces:
        return manual("IF-MIB lists no interface at all, so it cannot show whether a radio exists; check the "
                      "device's hardware and configuration for wireless interfaces",
                      "no wireless interface, or wireless access managed")
    radios = [i for i in snmp_interfaces if i.type in types]
    observed = {"interfaces": len(snmp_interfaces),
                "wireless": [f"{i.label} (ifType {i.type}, {ADMIN.get(i.admin or 0, i.admin)})" for i in radios] or None}
    if not radios:
        return not_applicable(f"IF-MIB lists {len(snmp_interfaces)} interfaces and none of a wireless type "
                              f"(ifType {', '.join(map(str, sorted(types)))}): the device offers no wireless "
                              "access, so the wireless requirements do not apply", observed, proves_requirement=True)
    return manual(f"{len(radios)} wireless interface(s): " + ", ".join(i.label for i in radios) +
                  "; verify who may associate and how they authenticate (NDR 1.6), and what wireless users may "
                  "do (CR 2.2)", "wireless access identified, authenticated and use-controlled", observed)
