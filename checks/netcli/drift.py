"""Evidence drift of a network device read over its CLI: its software, and its management exposure.

Snapshots for :mod:`auditor.store.drift`, computed from the facts the checks already parse (no extra
request), so ``iacs-audit diff`` reports a software update, a swapped device, or a management service or
SNMP community switched on between two scans:

* ``netcli_release`` (version): model and software release from ``show version``;
* ``netcli_exposure`` (map): the clear-text or announcing management services the configuration turns on or
  off (Telnet on vty lines, HTTP, HTTPS without an access-class, SNMP communities, CDP, source routing).
"""

from __future__ import annotations

from auditor.registry import snapshot
from checks.netcli.facts import DeviceVersion
from checks.netcli.model import NetConfig


@snapshot("netcli_release", label="model and software release (show version)", kind="version",
          facts=["cli_version"])
def release_snapshot(cli_version: DeviceVersion) -> str | None:
    return " ".join(filter(None, [cli_version.model, cli_version.version])) or None


def _state(on: bool | None) -> str:
    return "not stated" if on is None else "on" if on else "off"


@snapshot("netcli_exposure", label="management services and exposure (running configuration)", kind="map",
          facts=["cli_config"])
def exposure_snapshot(cli_config: NetConfig) -> dict[str, str]:
    """Each exposure by name, ``on`` or ``off`` (a map, so a service switched on shows as a change)."""
    telnet = [line.name for line in cli_config.lines
              if line.kind == "vty" and not set(line.transport_input) <= {"ssh", "none"}]
    communities = [f"{c.name} {c.access}" for c in cli_config.snmp_communities]
    return {
        "telnet on vty": ", ".join(telnet) or "off",
        "snmp communities": ", ".join(communities) or "off",
        "http server": _state(cli_config.http_server),
        "https server, any network": _state(cli_config.https_server and not cli_config.http_access_class
                                            if cli_config.https_server is not None else None),
        "cdp": "on" if cli_config.cdp else "off",
        "ip source-route": "not shown" if "source_route" in cli_config.not_shown
        else "on" if cli_config.source_route else "off",
    }
