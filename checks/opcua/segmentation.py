"""Restricted data flow: the networks on which the OPC UA server says it can be reached.

GetEndpoints returns, before any session, every endpoint URL and the server's own discovery URLs. A server
that announces the wildcard address listens on every interface of its device; one that announces addresses
outside the zone's networks is reachable from them. Which networks the zone spans is site knowledge: the
profile parameter ``allowed_networks``.
"""

from __future__ import annotations

import ipaddress
from typing import Any
from urllib.parse import urlsplit

from auditor.networks import allowed_networks
from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.opcua.endpoints import APPLIES, _no_endpoints, not_audited
from checks.opcua.facts import Endpoint, NotAudited

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def advertised_hosts(endpoints: list[Endpoint]) -> tuple[list[str], dict[str, list[str]]]:
    """``(every advertised URL, host -> the URLs naming it)`` from endpoint and own discovery URLs."""
    urls = list(dict.fromkeys(u for e in endpoints for u in (e.url, *e.discovery_urls) if u))
    hosts: dict[str, list[str]] = {}
    for url in urls:
        try:
            host = urlsplit(url).hostname or ""
        except ValueError:
            host = ""
        hosts.setdefault(host or f"(no host in {url!r})", []).append(url)
    return urls, hosts


def _address(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return None


@check("opcua.endpoint.advertised-networks",
       title="The OPC UA server announces endpoints only on its zone's networks",
       requirements=["SR 5.1", "CR 5.1"], applies_to=APPLIES, severity="medium",
       params={"allowed_networks": []},
       fixture_verdicts={"weak": "fail", "hardened": "manual"},
       fixture_note=("the hardened server announces one specific address; whether it belongs to the zone's "
                     "networks is site knowledge (param allowed_networks), which the demo does not set"),
       remediation="Bind the OPC UA server to the address of the control network interface only (in its endpoint "
                   "configuration: the interface's address or host name instead of 0.0.0.0 or '::'), announce "
                   "only that address, and list the zone's networks in the profile parameter allowed_networks "
                   "(CIDR) so the audit can confirm it.")
def advertised_networks(opcua_endpoints: list[Endpoint] | NotAudited, params: dict[str, Any]) -> Verdict:
    """Network segmentation (SR 5.1) holds only if a component is reachable from its own zone's networks. A
    controller or server with interfaces in several networks (a second port for the business LAN, a gateway)
    whose OPC UA server listens on every interface joins those networks above the firewall. The endpoint and
    discovery URLs the server announces show where it serves: the wildcard address means every interface; an
    address outside the zone's networks means it serves there too. Some stacks echo the URL the client asked
    for; they show only the address the auditor used, which then is all this check can judge."""
    if (skip := not_audited(opcua_endpoints) or _no_endpoints(opcua_endpoints)):  # type: ignore[arg-type]
        return skip
    assert isinstance(opcua_endpoints, list)
    networks = allowed_networks(params)
    if isinstance(networks, Verdict):
        return networks
    urls, hosts = advertised_hosts(opcua_endpoints)
    addresses = {host: _address(host) for host in hosts}
    wildcard = [h for h, a in addresses.items() if a is not None and a.is_unspecified]
    names = [h for h, a in addresses.items() if a is None]
    outside = [h for h, a in addresses.items() if a is not None and not a.is_unspecified
               and networks and not any(a in net for net in networks)]
    observed = {"advertised_urls": urls, "addresses": [h for h, a in addresses.items() if a is not None],
                "host_names": names, "allowed_networks": [str(n) for n in networks]}
    expected = "endpoints announced only on addresses inside allowed_networks, never on the wildcard address"
    if wildcard or outside:
        parts = []
        if wildcard:
            parts.append(f"announces the wildcard address {', '.join(wildcard)}: it serves on every interface "
                         "of the device, whatever network each one is in")
        if outside:
            parts.append(f"announces {', '.join(outside)}, outside the allowed networks")
        return failed(observed, expected, "; ".join(parts))
    if not networks:
        return manual("compare the announced addresses and host names with the networks of the asset's zone, "
                      f"then list those networks in the profile parameter allowed_networks: {', '.join(hosts)}",
                      expected, observed)
    if names:
        return manual(f"the server announces host names ({', '.join(names)}): check that they resolve only to "
                      "addresses inside allowed_networks", expected, observed)
    return passed(observed, expected)
