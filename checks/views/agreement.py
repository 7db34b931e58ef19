"""The running configuration (CLI) and the SNMP agent of the same device, compared where both show a fact.

Each pack judges its own view; neither is taken over the other. Where they differ, one of them does not
describe the device that runs (a configuration not yet applied or since changed, an agent answering for
another device, a proxy, a stale recording), so the difference is the finding, with both values, and the
assessor decides which one is true. Compared, and only where both views show it:

* SNMP versions: the agent answered the audit over v1/v2c, or over v3; the configuration lists
  communities (v1/v2c) and v3 groups or users;
* the device's name (hostname / sysName), contact and location (sysContact, sysLocation);
* each switch port's administrative state (shut down / ifAdminStatus), ports matched by name;
* the trap receivers (SNMP-TARGET-MIB addresses), when the agent lists any.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, not_applicable, passed
from checks.netcli.ios import canonical_port
from checks.netcli.model import NetConfig
from checks.snmp.facts import Interface, SystemInfo, TrapTarget


def _snmp_versions(cli_config: NetConfig, snmp_session: dict[str, Any]) -> dict[str, dict[str, Any]]:
    version = snmp_session.get("version")
    if not snmp_session.get("answered"):
        return {}
    if version in ("1", "2c"):
        return {"snmp v1/v2c": {"cli": "on" if cli_config.snmp_communities else "off (no community)",
                                "snmp": f"on (the agent answered the audit over v{version})"}}
    v3 = [name for name, level in cli_config.snmp_v3_groups.items() if level in ("noauth", "auth", "priv")]
    return {"snmp v3": {"cli": "on" if v3 else "off (no v3 group or user)",
                        "snmp": "on (the agent answered the audit over v3)"}}


def _identity(cli_config: NetConfig, system: SystemInfo) -> dict[str, dict[str, Any]]:
    pairs = {"name": (cli_config.hostname, system.name), "contact": (cli_config.contact, system.contact),
             "location": (cli_config.location, system.location)}
    return {what: {"cli": cli, "snmp": snmp} for what, (cli, snmp) in pairs.items() if cli and snmp}


def _same(what: str, cli: Any, snmp: Any) -> bool:
    if what == "name":  # sysName may carry the domain the hostname does not
        return str(cli).lower() == str(snmp).lower().split(".")[0]
    if isinstance(cli, str) and isinstance(snmp, str):
        return cli.strip() == snmp.strip()
    return bool(cli == snmp)


def _ports(cli_config: NetConfig, interfaces: list[Interface]) -> dict[str, dict[str, Any]]:
    by_name: dict[str, Interface] = {}
    for interface in interfaces:
        for label in (interface.name, interface.descr):
            if label:
                by_name.setdefault(canonical_port(label), interface)
    compared = {}
    for port in cli_config.ports:
        interface = by_name.get(canonical_port(port.name))
        if interface is None or interface.admin not in (1, 2):
            continue
        compared[f"port {port.name}"] = {"cli": "shutdown" if port.shutdown else "enabled",
                                         "snmp": "down" if interface.admin == 2 else "up"}
    return compared


def _traps(cli_config: NetConfig, targets: list[TrapTarget]) -> dict[str, dict[str, Any]]:
    listed = sorted({t.address.rsplit(":", 1)[0] for t in targets if t.transport in ("udp", "tcp")})
    if not listed:  # an agent without SNMP-TARGET-MIB rows tells nothing about its receivers
        return {}
    return {"trap receivers": {"cli": sorted({host for host, _version in cli_config.snmp_trap_hosts}),
                               "snmp": listed}}


def _agree(what: str, values: dict[str, Any]) -> bool:
    if what.startswith("port "):
        return (values["cli"] == "shutdown") == (values["snmp"] == "down")
    if what.startswith("snmp v"):
        return values["cli"] == "on"
    return _same(what, values["cli"], values["snmp"])


@check("views.cli-snmp.agreement",
       title="The configuration read over the CLI and the SNMP agent describe the same device",
       requirements=["CR 7.8"], applies_to=["network"], severity="medium",
       remediation=("Find out which view is wrong before relying on either: save and re-read the running "
                    "configuration, check that the SNMP address reaches the same device (no proxy, no NAT to "
                    "another switch), and correct the configuration or the inventory entry."))
def cli_snmp_agreement(cli_config: NetConfig, snmp_session: dict[str, Any], snmp_system: SystemInfo,
                       snmp_interfaces: list[Interface], snmp_trap_targets: list[TrapTarget]) -> Verdict:
    """An audit that reads a device twice, over its CLI and over SNMP, must find one device: a configuration
    that has no SNMP community while the agent answers a community, a port shut down in the configuration but
    up in IF-MIB, or another name or receiver list means one of the two views does not describe what runs,
    and the component inventory (and every verdict drawn from the wrong view) cannot be trusted."""
    compared = {**_snmp_versions(cli_config, snmp_session), **_identity(cli_config, snmp_system),
                **_ports(cli_config, snmp_interfaces), **_traps(cli_config, snmp_trap_targets)}
    expected = "the same value in the configuration and in the SNMP agent for every fact both show"
    if not compared:
        return not_applicable("the configuration and the SNMP agent show no fact in common to compare")
    differ = {what: values for what, values in compared.items() if not _agree(what, values)}
    if differ:
        return failed({"differ": differ, "agree": sorted(set(compared) - set(differ))}, expected,
                      "the configuration and the SNMP agent disagree on " + ", ".join(differ))
    return passed({"agree": sorted(compared)}, expected, f"{len(compared)} facts compared, all the same")
