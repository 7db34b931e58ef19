"""Resource availability (FR7) of a switch: L2 protections, least functionality, configuration backup.

A loop, a broadcast storm or a rogue switch on one port can stop a whole cell; BPDU guard, root guard and
storm control contain them. Services nobody needs are attack surface. An archived configuration is what
the device is restored from.
"""

from __future__ import annotations

from typing import Any

from auditor.firmware import MINIMUM_FIXTURE_NOTE, MINIMUM_REMEDIATION, MINIMUM_TITLE, judge_minimum
from auditor.registry import check
from auditor.verdicts import Verdict, failed, not_applicable, passed
from checks.netcli.facts import DeviceVersion
from checks.netcli.model import NetConfig, not_shown


@check("netcli.stp.bpduguard",
       title="Edge ports shut down when a switch is plugged in (BPDU guard)",
       requirements=["CR 7.1"], applies_to=["network"], severity="medium",
       remediation=("Enable PortFast and BPDU guard on every access port (Cisco IOS: `spanning-tree portfast edge` "
                    "+ `spanning-tree bpduguard enable`, or `spanning-tree portfast bpduguard default`). "
                    "HiOS: `spanning-tree edge-port` on each access port and `spanning-tree bpdu-guard`."))
def bpduguard(cli_config: NetConfig) -> Verdict:
    """A switch plugged into an access port can take over the spanning-tree root or create a loop that
    stops the whole cell network; BPDU guard disables the port instead."""
    edge = [p for p in cli_config.ports if p.edge and p.active]
    observed = {p.name: p.bpduguard for p in edge}
    expected = "BPDU guard on every active access port"
    if not edge:
        return failed(observed, expected, "no active access port was found to judge")
    missing = [p.name for p in edge if not p.bpduguard]
    if missing:
        return failed(observed, expected, "without BPDU guard: " + ", ".join(missing))
    return passed(observed, expected)


@check("netcli.stp.root-guard",
       title="Trunks are protected by root guard or loop guard",
       requirements=["CR 7.1"], applies_to=["network"], severity="low",
       remediation=("Set `spanning-tree guard root` on trunks toward switches that must never become root, or "
                    "`spanning-tree loopguard default` (Cisco IOS). "
                    "HiOS: `spanning-tree guard-root` or `spanning-tree guard-loop` on the port."))
def root_guard(cli_config: NetConfig) -> Verdict:
    """Root guard keeps the spanning-tree root where it was designed; loop guard blocks a port that stops
    receiving BPDUs instead of forwarding into a loop."""
    trunks = [p for p in cli_config.ports if p.mode == "trunk" and p.active]
    observed = {p.name: p.guard for p in trunks}
    expected = "root or loop guard on every trunk (or loopguard default)"
    if not trunks:
        return not_applicable("the device has no active trunk", observed)
    if cli_config.loopguard_default:
        return passed({"loopguard_default": True, **observed}, expected)
    missing = [p.name for p in trunks if p.guard is None]
    if missing:
        return failed(observed, expected, "unguarded trunks: " + ", ".join(missing))
    return passed(observed, expected)


@check("netcli.ports.storm-control",
       title="Access ports limit broadcast storms",
       requirements=["CR 7.1", "CR 7.1 RE1"], applies_to=["network"], severity="medium",
       remediation=("Set `storm-control broadcast level 1.00` (and a multicast level with headroom for PROFINET or "
                    "EtherNet/IP traffic) on every access port (Cisco IOS). "
                    "HiOS: `storm-control ingress broadcast operation` and a threshold on each access port."))
def storm_control(cli_config: NetConfig) -> Verdict:
    """A broadcast storm from one faulty or malicious device floods every port of the VLAN and starves the
    controllers' cyclic traffic; storm control drops the excess at the port."""
    edge = [p for p in cli_config.ports if p.edge and p.active]
    observed = {p.name: list(p.storm_control) or None for p in edge}
    expected = "storm-control broadcast on every active access port"
    if not edge:
        return failed(observed, expected, "no active access port was found to judge")
    missing = [p.name for p in edge if "broadcast" not in p.storm_control]
    if missing:
        return failed(observed, expected, "no broadcast storm control: " + ", ".join(missing))
    return passed(observed, expected)


@check("netcli.services.cdp",
       title="CDP does not announce the device on its access ports",
       requirements=["CR 7.7"], applies_to=["network"], severity="low",
       remediation=("Set `no cdp run`, or `no cdp enable` on every access port (Cisco IOS); keep LLDP where PROFINET "
                    "topology detection needs it."))
def cdp(cli_config: NetConfig) -> Verdict:
    """CDP tells every connected device the switch's model, software version and management address: the
    first thing an attacker on an access port wants to know."""
    edge = [p for p in cli_config.ports if p.edge and p.active]
    announcing = [p.name for p in edge if not p.cdp_disabled] if cli_config.cdp else []
    observed = {"cdp_run": cli_config.cdp, "lldp_run": cli_config.lldp}
    expected = "no cdp run, or no cdp enable on every active access port"
    if announcing:
        return failed(observed, expected, "CDP is sent on " + ", ".join(announcing))
    return passed(observed, expected)


@check("netcli.services.legacy",
       title="Legacy and unneeded services (PAD, BOOTP, small servers, finger, identd, HiDiscovery) are off",
       requirements=["CR 7.7"], applies_to=["network"], severity="medium",
       remediation=("Set `no service pad`, `no ip bootp server`, `no service tcp-small-servers`, `no service "
                    "udp-small-servers`, `no ip finger`, `no ip identd` (Cisco IOS). "
                    "HiOS: `no network hidiscovery operation`, and `no modbus-tcp operation` (EtherNet/IP, PROFINET, "
                    "IEC 61850 MMS likewise) where the protocol is unused."))
def legacy_services(cli_config: NetConfig) -> Verdict:
    """Services from another era (X.25 PAD, BOOTP, echo/chargen, finger, identd) serve no function on a
    cell switch and each is attack surface and information leak; so do HiOS's HiDiscovery (which sets a
    switch's address without a login in read-write mode) and industrial protocol servers nobody uses."""
    found = [s for s in cli_config.legacy_services if s != "ip http server"]
    expected = ("none of service pad, ip bootp server, small servers, finger, identd"
                if cli_config.platform == "cisco_ios" else "no HiDiscovery, no unused industrial protocol server")
    if found:
        return failed(found, expected)
    return passed(None, expected, "all of them are off")


@check("netcli.services.tcp-keepalives",
       title="Dead management sessions are detected and freed",
       requirements=["CR 7.2", "CR 2.6"], applies_to=["network"], severity="low",
       remediation="Set `service tcp-keepalives-in` (and `service tcp-keepalives-out`) (Cisco IOS).")
def tcp_keepalives(cli_config: NetConfig) -> Verdict:
    """A management session whose client vanished keeps a vty line until the idle timeout; keepalives free
    it, so the few lines cannot be used up by half-open sessions."""
    expected = "service tcp-keepalives-in"
    if (unknown := not_shown(cli_config, "tcp_keepalives_in", expected="dead management sessions freed")):
        return unknown
    if not cli_config.tcp_keepalives_in:
        return failed(None, expected, "half-open management sessions are kept until the idle timeout")
    return passed("service tcp-keepalives-in", expected)


@check("netcli.config.archive",
       title="The configuration is archived on every save",
       requirements=["CR 7.3", "CR 7.6"], applies_to=["network"], severity="medium",
       remediation=("Configure the archive (Cisco IOS: `archive`, `path flash:archive/HOST` or a remote path, "
                    "`write-memory`, `time-period 1440`) and collect it into the site's backup. "
                    "HiOS: `config remote-backup destination sftp://...`, `config remote-backup operation`."))
def config_archive(cli_config: NetConfig) -> Verdict:
    """A restorable copy of the last good configuration, taken automatically on each save, is what recovery
    after a failure or a bad change starts from."""
    archive = cli_config.archive
    expected = "archive with a path and write-memory or a time-period"
    if not archive.get("path") or not (archive.get("write-memory") or archive.get("time-period")):
        return failed(archive or None, expected, "no automatic configuration archive")
    return passed(archive, expected)


@check("netcli.config.change-log",
       title="Configuration changes are logged with the user who made them",
       requirements=["CR 2.8", "CR 7.6"], applies_to=["network"], severity="medium",
       remediation=("Log every configuration command (Cisco IOS: `archive`, `log config`, `logging enable`, `notify "
                    "syslog`, `hidekeys`)."))
def change_log(cli_config: NetConfig) -> Verdict:
    """The configuration change log records each command with the user and the time, so a change to the
    network's security settings is attributable and reviewable."""
    found = cli_config.archive.get("log config")
    expected = "archive log config with logging enable"
    if (unknown := not_shown(cli_config, "change_log", expected="configuration changes logged with the user")):
        return unknown
    if found != "logging enable":
        return failed(found, expected, "configuration commands are not logged")
    return passed(found, expected)


@check("netcli.inventory.identity",
       title="The device reports its model, serial number and software release",
       requirements=["CR 7.8"], applies_to=["network"], severity="info",
       fixture_verdicts={"weak": "pass", "hardened": "pass"},
       fixture_note="both simulated switches report model, serial and release in show version, as real ones do",
       remediation=("Record the model, serial number and release in the asset inventory; if `show version` hides "
                    "them, give the audit account the privilege to read it."))
def inventory_identity(cli_version: DeviceVersion) -> Verdict:
    """The component inventory, and the check of each device against vendor advisories, start from the model
    and software release the device itself reports."""
    observed = {"model": cli_version.model, "serial": cli_version.serial, "release": cli_version.version,
                "image": cli_version.image}
    expected = "model, serial number and software release reported"
    missing = [k for k in ("model", "serial", "release") if not observed[k]]
    if missing:
        return failed(observed, expected, "not reported: " + ", ".join(missing))
    return passed(observed, expected)


@check("netcli.firmware.minimum",
       title=MINIMUM_TITLE,
       requirements=["CR 7.8", "NDR 3.10"], applies_to=["network"], severity="high",
       params={"minimum_firmware": {}},
       fixture_verdicts={"weak": "manual", "hardened": "manual"},
       fixture_note=MINIMUM_FIXTURE_NOTE, remediation=MINIMUM_REMEDIATION)
def firmware_minimum(cli_version: DeviceVersion, params: dict[str, Any]) -> Verdict:
    """A release older than the one an advisory names as fixed keeps the vulnerability it fixes (NDR 3.10:
    updates are applied); the release ``show version`` or ``show system info`` reports is what runs now."""
    command = "show system info" if cli_version.platform == "hirschmann_hios" else "show version"
    return judge_minimum(cli_version.version, command, params.get("minimum_firmware", {}), model=cli_version.model,
                         platform=cli_version.platform)
