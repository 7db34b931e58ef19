"""Timely response to events (FR6): a network device's logs and traps reach a collector.

Audit records kept only on the switch are lost at reboot and read by nobody; a remote syslog collector
and SNMP traps make them accessible and monitored.
"""

from __future__ import annotations

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.netcli.model import NetConfig

#: syslog severities from most to least severe; informational (6) records logins and configuration changes.
_LEVELS = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational", "debugging")


@check("netcli.logging.remote",
       title="Log messages are sent to a remote collector at informational level",
       requirements=["CR 6.1", "CR 6.2", "CR 2.8"], applies_to=["network"], severity="high",
       remediation=("Send syslog to the site's collector (Cisco IOS: `logging host ADDRESS`, `logging trap "
                    "informational`, `logging source-interface MGMT`); TCP or TLS transport where the collector "
                    "supports it. "
                    "HiOS: `logging host add 1 addr ADDRESS transport tls port 6514 severity informational type "
                    "systemlog`, `logging syslog operation`."))
def logging_remote(cli_config: NetConfig) -> Verdict:
    """Logins, configuration changes and port events are only monitored if they leave the device; the local
    buffer is lost at reboot and nobody reads it."""
    level = cli_config.logging_trap_level or "informational"  # the IOS default trap level
    observed = {"hosts": list(cli_config.logging_hosts) or None, "trap_level": level}
    expected = "at least one logging host, trap level informational or debugging"
    if not cli_config.logging_hosts:
        return failed(observed, expected, "no remote syslog collector")
    if level in _LEVELS and _LEVELS.index(level) < _LEVELS.index("informational"):
        return failed(observed, expected, f"only {level} and more severe messages leave the device")
    return passed(observed, expected)


@check("netcli.snmp.traps",
       title="SNMP traps or informs are sent to a management station",
       requirements=["CR 6.2"], applies_to=["network"], severity="medium",
       remediation=("Enable the security-relevant traps and name a receiver (Cisco IOS: `snmp-server enable traps "
                    "snmp authentication linkdown linkup`, `snmp-server enable traps config`, `snmp-server host "
                    "ADDRESS version 3 priv USER`). "
                    "HiOS: `snmp trap add NAME ADDRESS:162`, `snmp trap operation`."))
def snmp_traps(cli_config: NetConfig) -> Verdict:
    """Traps report authentication failures, link changes and configuration changes as they happen, which is
    what continuous monitoring of the device relies on."""
    observed = {"enabled": cli_config.snmp_traps_enabled,
                "receivers": [f"{host} {version}" for host, version in cli_config.snmp_trap_hosts] or None}
    expected = "snmp-server enable traps and at least one trap receiver"
    if not (cli_config.snmp_traps_enabled and cli_config.snmp_trap_hosts):
        return failed(observed, expected)
    return passed(observed, expected)
