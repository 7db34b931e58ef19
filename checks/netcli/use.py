"""Use control (FR2) of a network device: authorization, accounting, session limits, time and remote code.

Accounting and login logging make every change and every login attributable; session timeouts free
management lines left open; timestamps and authenticated NTP make audit records comparable across devices.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.netcli.model import NetConfig, not_shown


@check("netcli.aaa.authorization",
       title="Exec sessions and privileged commands are authorised by the AAA server",
       requirements=["CR 2.1", "CR 2.1 RE2"], applies_to=["network"], severity="medium",
       remediation=("Authorise exec sessions and privilege-15 commands centrally so roles map to privilege levels "
                    "on the AAA server (Cisco IOS: `aaa authorization exec default group NAME local`, `aaa "
                    "authorization commands 15 default group NAME local`)."))
def aaa_authorization(cli_config: NetConfig) -> Verdict:
    """Central authorization maps each person's role to what they may run (an auditor only `show`, an
    engineer configuration), instead of one privilege level shared by everyone who knows a password."""
    found = set(cli_config.aaa_authorization)
    observed = sorted(found) or None
    expected = "aaa authorization exec and commands 15"
    if (unknown := not_shown(cli_config, "aaa_authorization", expected=expected)):
        return unknown
    missing = [need for need in ("exec", "commands 15") if need not in found]
    if not cli_config.aaa_enabled or missing:
        return failed(observed, expected, "not authorised centrally: " + ", ".join(missing or ["aaa new-model"]))
    return passed(observed, expected)


@check("netcli.aaa.accounting",
       title="Sessions and privileged commands are accounted to the AAA server",
       requirements=["CR 2.8", "CR 2.12"], applies_to=["network"], severity="medium",
       remediation=("Send start-stop accounting for exec sessions and privilege-15 commands to the AAA server "
                    "(Cisco IOS: `aaa accounting exec default start-stop group NAME`, `aaa accounting commands 15 "
                    "default start-stop group NAME`)."))
def aaa_accounting(cli_config: NetConfig) -> Verdict:
    """Command accounting records who ran which configuration command and when, on a server the device's
    administrators cannot edit: the audit trail of every change, and its non-repudiation."""
    found = set(cli_config.aaa_accounting)
    observed = sorted(found) or None
    expected = "aaa accounting exec and commands 15 (start-stop)"
    if (unknown := not_shown(cli_config, "aaa_accounting", expected=expected)):
        return unknown
    missing = [need for need in ("exec", "commands 15") if need not in found]
    if missing:
        return failed(observed, expected, "no accounting for: " + ", ".join(missing))
    return passed(observed, expected)


@check("netcli.login.logging",
       title="Failed and successful logins are logged",
       requirements=["CR 2.8"], applies_to=["network"], severity="low",
       remediation="Set `login on-failure log` and `login on-success log` (Cisco IOS).")
def login_logging(cli_config: NetConfig) -> Verdict:
    """Login events are the first thing an investigation asks for: who reached the device's management, and
    who tried and failed."""
    observed = {"on_failure": cli_config.login_log_failure, "on_success": cli_config.login_log_success}
    expected = "login on-failure log and login on-success log"
    if (unknown := not_shown(cli_config, "login_log", expected="failed and successful logins logged")):
        return unknown
    if not all(observed.values()):
        return failed(observed, expected)
    return passed(observed, expected)


@check("netcli.lines.exec-timeout",
       title="Idle management sessions are closed after a short time",
       requirements=["CR 2.6", "CR 2.5"], applies_to=["network"], severity="medium",
       params={"max_vty_seconds": 600, "max_console_seconds": 900},
       remediation=("Set `exec-timeout 5 0` on every vty line and at most `exec-timeout 15 0` on the console "
                    "(Cisco IOS); never `exec-timeout 0 0`. "
                    "HiOS: `ssh timeout 5`, `telnet timeout 5`, `cli serial-timeout 15`, never 0."))
def exec_timeout(cli_config: NetConfig, params: dict[str, Any]) -> Verdict:
    """An administrator session left open on a vty or console is usable by whoever finds it; `exec-timeout 0 0`
    keeps it open forever and can also exhaust the few vty lines."""
    limits = {"vty": int(params.get("max_vty_seconds", 600)), "con": int(params.get("max_console_seconds", 900)),
              "aux": int(params.get("max_console_seconds", 900))}
    observed = {line.name: line.exec_timeout_seconds for line in cli_config.lines}
    expected = (f"vty idle timeout 1..{limits['vty']} s, console 1..{limits['con']} s")
    if not observed:
        return failed(observed, expected, "the configuration shows no management lines")
    bad = [f"line {line.name}: {'never' if line.exec_timeout_seconds == 0 else f'{line.exec_timeout_seconds} s'}"
           for line in cli_config.lines
           if line.exec_timeout_seconds == 0 or line.exec_timeout_seconds > limits[line.kind]]
    if bad:
        return failed(observed, expected, "; ".join(bad))
    return passed(observed, expected)


@check("netcli.logging.timestamps",
       title="Log messages carry date and time, not uptime",
       requirements=["CR 2.11"], applies_to=["network"], severity="medium",
       remediation="Set `service timestamps log datetime msec localtime show-timezone` (Cisco IOS).")
def log_timestamps(cli_config: NetConfig) -> Verdict:
    """Records stamped with uptime cannot be correlated with other devices' records or placed in time after
    a reboot, which defeats the audit trail."""
    found = cli_config.log_timestamps
    expected = "service timestamps log datetime"
    if (unknown := not_shown(cli_config, "log_timestamps", expected="log messages stamped with date and time")):
        return unknown
    if found is None:
        return failed(None, expected, "log messages carry no timestamp")
    if not found.startswith("datetime"):
        return failed(found, expected, "log messages are stamped with the uptime")
    return passed(found, expected)


@check("netcli.ntp.servers",
       title="The clock is synchronised with at least two NTP servers",
       requirements=["CR 2.11 RE1"], applies_to=["network"], severity="medium", params={"min_servers": 2},
       remediation=("Configure at least two internal NTP servers (`ntp server ADDRESS key N`, Cisco IOS). "
                    "HiOS: `sntp client server add N ADDRESS`, `sntp client operation`."))
def ntp_servers(cli_config: NetConfig, params: dict[str, Any]) -> Verdict:
    """Timestamps are only comparable across the plant when every device follows the same time source; two
    servers keep it when one fails."""
    wanted = int(params.get("min_servers", 2))
    servers = [server for server, _key in cli_config.ntp_servers]
    expected = f"at least {wanted} NTP servers"
    if len(servers) < wanted:
        return failed(servers or None, expected, f"{len(servers) or 'no'} NTP server{'s' if len(servers) != 1 else ''} "
                                                 "configured")
    return passed(servers, expected)


@check("netcli.ntp.authentication",
       title="NTP answers are authenticated with trusted keys",
       requirements=["CR 2.11 RE2"], applies_to=["network"], severity="low",
       remediation=("Set `ntp authentication-key N ALG KEY`, `ntp trusted-key N`, `ntp authenticate`, and name "
                    "the key on every `ntp server ADDRESS key N` (Cisco IOS)."))
def ntp_authentication(cli_config: NetConfig) -> Verdict:
    """Unauthenticated NTP lets anyone on the path shift the device's clock, which corrupts audit timestamps
    and can expire certificates."""
    trusted = set(cli_config.ntp_trusted_keys)
    observed = {"authenticate": cli_config.ntp_authenticate, "trusted_keys": sorted(trusted) or None,
                "servers": {server: key for server, key in cli_config.ntp_servers} or None}
    expected = "ntp authenticate, a trusted key defined, and a trusted key on every server"
    if not cli_config.ntp_servers:
        return failed(observed, expected, "no NTP server is configured")
    unkeyed = [server for server, key in cli_config.ntp_servers if key not in trusted or key not in cli_config.ntp_keys]
    if not cli_config.ntp_authenticate or unkeyed:
        return failed(observed, expected, "unauthenticated: " + (", ".join(unkeyed) if unkeyed else "ntp authenticate "
                                                                                                    "is off"))
    return passed(observed, expected)


@check("netcli.snmp.write-community",
       title="No SNMP community grants write access",
       requirements=["CR 2.1", "CR 1.2"], applies_to=["network"], severity="high",
       remediation=("Remove every `snmp-server community ... RW`; change the configuration over SSH only. "
                    "HiOS: `no snmp access version v1`, `no snmp access version v2`."))
def snmp_write(cli_config: NetConfig) -> Verdict:
    """An RW community lets whoever knows one shared string change the configuration, with no identity and
    no encryption."""
    writers = [f"{c.name} RW" for c in cli_config.snmp_communities if c.access == "RW"]
    expected = "no read-write community"
    if writers:
        return failed(writers, expected, "write access by community string")
    return passed([f"{c.name} {c.access}" for c in cli_config.snmp_communities] or None, expected)


@check("netcli.logging.buffer",
       title="The local log buffer keeps enough messages",
       requirements=["CR 2.9"], applies_to=["network"], severity="low", params={"min_bytes": 16384},
       remediation="Set `logging buffered 64000 informational` (Cisco IOS) or the site's size.")
def logging_buffer(cli_config: NetConfig, params: dict[str, Any]) -> Verdict:
    """The buffer holds the audit records while the collector is unreachable; the small default overwrites
    them within minutes on a busy switch."""
    wanted = int(params.get("min_bytes", 16384))
    found = cli_config.logging_buffered_bytes
    expected = f"logging buffered of at least {wanted} bytes"
    if (unknown := not_shown(cli_config, "logging_buffered_bytes", expected=expected)):
        return unknown
    if found is None:
        return failed(None, expected, "no buffer size configured (the platform's small default applies)")
    return (passed if found >= wanted else failed)(found, expected)


@check("netcli.services.remote-loading",
       title="The device loads no configuration or code from the network by itself",
       requirements=["NDR 2.4"], applies_to=["network"], severity="medium",
       remediation=("Remove `service config` and `boot network`, and disable Smart Install with `no vstack` "
                    "(Cisco IOS); deploy configurations and images through the change process. "
                    "HiOS: `no config envm auto-update usb`."))
def remote_loading(cli_config: NetConfig) -> Verdict:
    """Configuration or images fetched unattended from a TFTP server (or pushed through Smart Install, a known
    attack path) run on the device without any authenticity check: mobile code by another name."""
    found = list(cli_config.remote_loading)
    expected = "no service config, boot network or Smart Install (vstack)"
    if found:
        return failed(found, expected)
    return passed(None, expected, "none of service config, boot network, vstack is configured")
