"""S7 CPU network placement: the address, subnet mask and router of each Ethernet interface (SZL 0x0037).

Which networks the asset's zone spans is site knowledge: the profile parameter ``allowed_networks`` (CIDR),
the same parameter the OPC UA endpoint check reads.
"""

from __future__ import annotations

from typing import Any

from auditor.networks import allowed_networks
from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.s7.cpu import _refused
from checks.s7.facts import Interface, Refused


@check("s7.network.interfaces", title="S7 CPU interfaces sit only in its zone's networks",
       requirements=["SR 5.1", "CR 5.1"], applies_to=["embedded"], severity="medium",
       params={"allowed_networks": []},
       fixture_verdicts={"weak": "fail", "hardened": "manual"},
       fixture_note="the hardened CPU has one interface in one network; whether it is the zone's is site "
                    "knowledge (param allowed_networks), which the demo does not set",
       remediation="Connect the CPU to its zone's network only: remove or disable interfaces into other networks "
                   "(a second PROFINET or CP interface into the office LAN), set subnet masks no wider than the "
                   "zone's network, route between zones through the zone's firewall, and list the zone's networks "
                   "in the profile parameter allowed_networks (CIDR).")
def interfaces(s7_interfaces: list[Interface] | Refused, params: dict[str, Any]) -> Verdict:
    """Segmentation (SR 5.1) holds only if a controller is reachable from its own zone's networks alone. A CPU
    with interfaces in two networks joins them past the firewall (it answers, and with S7 routing forwards, on
    both), and a subnet mask wider than the zone's network makes hosts outside the zone on-link neighbours.
    Fails when an interface's network (address and mask) is not inside ``allowed_networks``, or, without
    that parameter, when the CPU sits in more than one network."""
    allowed = allowed_networks(params)
    if isinstance(allowed, Verdict):
        return allowed
    expected = "every interface's network (address/mask) inside allowed_networks, and in one network only"
    if (skip := _refused(s7_interfaces, "Ethernet details", expected)):
        return skip
    assert isinstance(s7_interfaces, list)
    active = [i for i in s7_interfaces if not i.address.is_unspecified]
    observed = {"interfaces": [{"address": str(i.network), "router": str(i.router) if i.router else None,
                                "mac": i.mac, "source": i.source} for i in s7_interfaces],
                "allowed_networks": [str(n) for n in allowed]}
    if not active:
        return manual("the CPU lists no Ethernet interface with an address; check its network connections in the "
                      "hardware configuration", expected, observed)
    networks = list(dict.fromkeys(i.network.network for i in active))
    outside = [i for i in active if allowed and not any(
        i.network.network.version == net.version and i.network.network.subnet_of(net) for net in allowed)]  # type: ignore[arg-type]
    if outside:
        return failed(observed, expected, "outside the allowed networks: " + ", ".join(str(i.network) for i in outside))
    if len(networks) > 1 and not allowed:
        return failed(observed, expected, f"the CPU sits in {len(networks)} networks "
                                          f"({', '.join(map(str, networks))}) and joins them; if all are the zone's, "
                                          "list them in allowed_networks")
    if not allowed:
        return manual(f"compare {', '.join(map(str, networks))} with the networks of the asset's zone, then list "
                      "those networks in the profile parameter allowed_networks", expected, observed)
    return passed(observed, expected)
