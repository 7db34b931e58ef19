"""The allowed_networks parameter, read one way for every check that compares a device's networks with its zone's."""

from __future__ import annotations

import ipaddress

from auditor.networks import allowed_networks
from auditor.verdicts import Verdict


def test_networks_are_read_with_host_bits_allowed_and_both_families() -> None:
    assert allowed_networks({"allowed_networks": ["127.0.10.5/24", "fd00::/8"]}) == [
        ipaddress.ip_network("127.0.10.0/24"), ipaddress.ip_network("fd00::/8")]
    assert allowed_networks({}) == [] and allowed_networks({"allowed_networks": None}) == []


def test_an_entry_that_is_no_network_is_an_error_naming_it() -> None:
    verdict = allowed_networks({"allowed_networks": ["127.0.10.0/24", "cell-3"]})
    assert isinstance(verdict, Verdict) and verdict.status == "error" and "'cell-3'" in verdict.reason
