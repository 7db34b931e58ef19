"""Restricted data flow (FR5) on a switch or router: ports, VLANs and what crosses between routed zones.

Unused ports shut down and parked outside VLAN 1, trunks without VLAN 1 as their native VLAN, and, where
the device routes, an inbound filter on every routed interface that ends in an explicit deny.
"""

from __future__ import annotations

import re

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.netcli.model import NetConfig, not_shown


@check("netcli.ports.unused-shutdown",
       title="Unused switch ports are administratively shut down",
       requirements=["CR 7.7", "CR 5.1"], applies_to=["network"], severity="medium",
       remediation=("Shut down every port with no device connected and park it in an unused VLAN (Cisco IOS: "
                    "`interface range ...`, `switchport access vlan 999`, `shutdown`). "
                    "HiOS: `vlan pvid 999` and `shutdown` on each unused port."))
def unused_shutdown(cli_config: NetConfig) -> Verdict:
    """An enabled empty port is an open door into the cell for anyone with physical access to the cabinet."""
    judged = [p for p in cli_config.ports if p.mode != "trunk" and p.status is not None]
    unused_up = [p.name for p in judged if p.status == "notconnect" and not p.shutdown]
    observed = {p.name: ("shutdown" if p.shutdown else p.status) for p in judged}
    expected = "every port without a link is shut down"
    if not judged:  # a router's routed ports, trunks only, or a status table that could not be read
        return manual("no access port with a link status was found in the status table: check the unused ports "
                      "by hand", expected, observed)
    if unused_up:
        return failed(observed, expected, "enabled without a link: " + ", ".join(unused_up))
    return passed(observed, expected)


@check("netcli.ports.vlan1",
       title="No access port is left in the default VLAN 1",
       requirements=["CR 5.1"], applies_to=["network"], severity="medium",
       remediation=("Assign every access port to its cell VLAN and park unused ones in an unused VLAN (`switchport "
                    "access vlan N`); keep VLAN 1 free of end devices. "
                    "HiOS: `vlan pvid N` on each access port."))
def access_vlan1(cli_config: NetConfig) -> Verdict:
    """VLAN 1 is where every port of an unconfigured switch lands and where control protocols run; devices in
    it are segmented from nothing."""
    edge = [p for p in cli_config.ports if p.edge]
    in_vlan1 = [p.name for p in edge if p.vlan == "1"]
    observed = {p.name: p.vlan for p in edge}
    expected = "no access port in VLAN 1"
    if not cli_config.ports:
        return manual("no switch port was found: check the access ports' VLANs by hand", expected, observed)
    if not edge:
        return not_applicable("the device has no access port (trunks and routed ports only)", observed)
    if in_vlan1:
        return failed(observed, expected, "in VLAN 1: " + ", ".join(in_vlan1))
    return passed(observed, expected)


@check("netcli.trunk.native-vlan",
       title="Trunks do not carry VLAN 1 untagged",
       requirements=["CR 5.1"], applies_to=["network"], severity="low",
       remediation=("Set an unused native VLAN on every trunk and allow only the needed VLANs (`switchport trunk "
                    "native vlan 998`, `switchport trunk allowed vlan LIST`, Cisco IOS). "
                    "HiOS: `vlan pvid 998` on the tagged port."))
def trunk_native_vlan(cli_config: NetConfig) -> Verdict:
    """A trunk whose native VLAN is an access VLAN lets double-tagged frames hop from one VLAN into another,
    crossing the segmentation the VLANs were meant to give."""
    trunks = [p for p in cli_config.ports if p.mode == "trunk"]
    observed = {p.name: p.native_vlan for p in trunks}
    expected = "native VLAN other than 1 on every trunk"
    if not trunks:
        return not_applicable("the device has no trunk port", observed)
    bad = [p.name for p in trunks if p.native_vlan == "1"]
    if bad:
        return failed(observed, expected, "native VLAN 1 on " + ", ".join(bad))
    return passed(observed, expected)


def _ends_in_deny(entries: tuple[str, ...]) -> bool:
    real = [e for e in entries if not e.startswith(("remark", "description"))]
    return bool(real) and re.match(r"(?:\d+ )?deny\s+(?:ip\s+)?any(?:\s+any)?(?:\s+log)?$", real[-1]) is not None


@check("netcli.acl.routed-interfaces",
       title="Every routed interface filters inbound traffic, deny by default",
       requirements=["NDR 5.2", "NDR 5.2 RE1"], applies_to=["network"], severity="high",
       remediation=("Apply an inbound access list to every routed interface (SVI) between zones that permits only "
                    "the conduit's flows and ends in `deny ip any any log` (Cisco IOS: `ip access-group NAME in`)."))
def routed_acl(cli_config: NetConfig) -> Verdict:
    """A switch that routes between VLANs is a zone boundary: without a filter on each routed interface every
    host of one zone reaches every host of the other."""
    if not cli_config.ip_routing:
        return not_applicable("the device does not route (no `ip routing`): it is no zone boundary",
                              {"ip_routing": False})
    observed = {name: acl for name, acl in cli_config.routed_interfaces.items()}
    expected = "an inbound ACL ending in an explicit deny on every routed interface"
    problems = []
    for name, acl in cli_config.routed_interfaces.items():
        entries = cli_config.acls.get(acl or "", ())
        if acl is None:
            problems.append(f"{name}: no inbound ACL")
        elif not entries:
            problems.append(f"{name}: ACL {acl} is not defined (permits everything)")
        elif any(re.match(r"(?:\d+ )?permit\s+ip\s+any\s+any", e) for e in entries) or not _ends_in_deny(entries):
            problems.append(f"{name}: ACL {acl} does not deny by default")
    if not observed:
        return failed(observed, expected, "ip routing is on but no routed interface was found")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)


@check("netcli.services.source-route",
       title="IP source routing is disabled",
       requirements=["NDR 5.2"], applies_to=["network"], severity="medium",
       remediation="Set `no ip source-route` (Cisco IOS).")
def source_route(cli_config: NetConfig) -> Verdict:
    """Source-routed packets choose their own path through the network and can bypass the filters of a zone
    boundary."""
    expected = "no ip source-route"
    if (unknown := not_shown(cli_config, "source_route", expected="source-routed packets dropped")):
        return unknown
    if cli_config.source_route:
        return failed("ip source-route (default on)", expected)
    return passed("no ip source-route", expected)
