"""The zone's networks, as a profile names them: one reading of the ``allowed_networks`` parameter for every
check that compares where a device serves with where it should (an OPC UA server's announced addresses, an
S7 CPU's interfaces)."""

from __future__ import annotations

import ipaddress
from typing import Any

from auditor.verdicts import Verdict, error

__all__ = ["IPNetwork", "allowed_networks"]

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


def allowed_networks(params: dict[str, Any]) -> list[IPNetwork] | Verdict:
    """The networks of ``allowed_networks`` (CIDR; host bits allowed), or an ``error`` naming the entry that is
    not a network."""
    networks: list[IPNetwork] = []
    for text in params.get("allowed_networks") or []:
        try:
            networks.append(ipaddress.ip_network(str(text), strict=False))
        except ValueError as exc:
            return error(f"profile parameter allowed_networks: {text!r} is not a network in CIDR notation ({exc})")
    return networks
