"""Integrity and confidentiality (FR3, FR4) of a network device's management traffic and of its cell.

Management over SSH version 2 only, no clear-text Telnet, HTTP or SNMPv1/v2c, and DHCP snooping so end
devices of the cell cannot be handed a rogue gateway.
"""

from __future__ import annotations

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.netcli.facts import SshServer
from checks.netcli.model import NetConfig, not_shown


@check("netcli.ssh.version-2",
       title="The SSH server speaks protocol version 2 only",
       requirements=["CR 3.1", "CR 3.8", "CR 4.3"], applies_to=["network"], severity="high",
       remediation="Set `ip ssh version 2` with an RSA key of at least 2048 bits (Cisco IOS).")
def ssh_version_2(cli_ssh: SshServer) -> Verdict:
    """SSH protocol 1 has known integrity and session-hijacking weaknesses; a server reporting 1.99 still
    accepts it."""
    expected = "SSH Enabled - version 2.0"
    observed = {"version": cli_ssh.version, "min_dh_bits": cli_ssh.min_dh_bits}
    if cli_ssh.version != "2.0":
        return failed(observed, expected, f"the SSH server accepts protocol {cli_ssh.version}")
    return passed(observed, expected)


@check("netcli.vty.ssh-only",
       title="Remote management lines accept SSH only, never Telnet",
       requirements=["CR 4.1", "CR 3.1", "CR 7.7"], applies_to=["network"], severity="high",
       remediation=("Set `transport input ssh` on every vty line (Cisco IOS: `line vty 0 15`, `transport input "
                    "ssh`); an unset transport is the release default, which on many releases accepts Telnet. "
                    "HiOS: `no telnet server`."))
def vty_ssh_only(cli_config: NetConfig) -> Verdict:
    """Telnet sends the administrator's password and the whole session in clear text; every vty line must
    refuse it."""
    vtys = [line for line in cli_config.lines if line.kind == "vty"]
    observed = {line.name: " ".join(line.transport_input) for line in vtys}
    expected = "transport input ssh (or none) on every vty line"
    if not vtys:
        return failed(observed, expected, "the configuration shows no vty lines")
    bad = [f"line {line.name}: {' '.join(line.transport_input)}" for line in vtys
           if not set(line.transport_input) <= {"ssh", "none"}]
    if bad:
        return failed(observed, expected, "; ".join(bad))
    return passed(observed, expected)


@check("netcli.services.http",
       title="The clear-text HTTP management server is off",
       requirements=["CR 4.1", "CR 7.7"], applies_to=["network"], severity="medium",
       remediation=("Set `no ip http server` (Cisco IOS); keep HTTPS only if the web UI is needed, with an "
                    "access-class. "
                    "HiOS: `no http server`."))
def http_server(cli_config: NetConfig) -> Verdict:
    """The web management interface over HTTP exposes administrator credentials and session cookies to anyone
    on the path."""
    expected = "no ip http server"
    if cli_config.http_server is None:
        return manual("the configuration states neither `ip http server` nor `no ip http server`, and the default "
                      "differs by platform and release: check `show ip http server status` or set it explicitly",
                      expected)
    if cli_config.http_server:
        return failed("ip http server", expected)
    return passed("no ip http server", expected)


@check("netcli.services.https-restricted",
       title="The HTTPS management server is off or limited to management hosts",
       requirements=["CR 7.7", "NDR 1.13"], applies_to=["network"], severity="low",
       remediation=("Set `no ip http secure-server`, or restrict it with `ip http access-class MGMT-HOSTS` and AAA "
                    "authentication (Cisco IOS). "
                    "HiOS: `network management access add`/`modify` entries and `network management access "
                    "operation`."))
def https_restricted(cli_config: NetConfig) -> Verdict:
    """A web server open to every network adds a large attack surface (the IOS web UI has had several remote
    vulnerabilities) for a function most switches in a cell never need."""
    observed = {"https": cli_config.https_server, "access_class": cli_config.http_access_class}
    expected = "no ip http secure-server, or an ip http access-class"
    if cli_config.https_server is None and not cli_config.http_access_class:
        return manual("the configuration states neither `ip http secure-server` nor its `no` form, and the default "
                      "differs by platform and release: check `show ip http server status` or set it explicitly",
                      expected, observed)
    if cli_config.https_server and not cli_config.http_access_class:
        return failed(observed, expected, "HTTPS management is open to every network")
    return passed(observed, expected)


@check("netcli.snmp.v3-priv-only",
       title="SNMP is v3 with encryption only, no v1/v2c communities",
       requirements=["CR 4.1", "CR 1.2", "CR 3.1 RE1"], applies_to=["network"], severity="medium",
       remediation=("Remove every `snmp-server community` and use SNMPv3 groups at the priv level (`snmp-server group "
                    "NAME v3 priv`, users with SHA authentication and AES privacy). "
                    "HiOS: `no snmp access version v1|v2`, `users snmpv3 encryption USER aescfb128`."))
def snmp_v3_priv(cli_config: NetConfig) -> Verdict:
    """SNMPv1/v2c communities travel in clear text and authenticate nobody; only SNMPv3 with authPriv
    authenticates and encrypts management traffic."""
    communities = [f"{c.name} {c.access}" for c in cli_config.snmp_communities]
    weak_groups = [f"{g} ({level})" for g, level in cli_config.snmp_v3_groups.items() if level != "priv"]
    observed = {"communities": communities or None, "groups": cli_config.snmp_v3_groups or None}
    expected = "no community; every SNMP group v3 priv"
    if communities or weak_groups:
        return failed(observed, expected, "; ".join(filter(None, [
            f"communities: {', '.join(communities)}" if communities else "",
            f"groups below priv: {', '.join(weak_groups)}" if weak_groups else ""])))
    return passed(observed, expected)


@check("netcli.l2.dhcp-snooping",
       title="DHCP snooping protects the cell's VLANs from rogue DHCP servers",
       requirements=["CR 3.1"], applies_to=["network"], severity="low",
       remediation=("Enable `ip dhcp snooping` and `ip dhcp snooping vlan LIST` on the cell VLANs, trusting only the "
                    "uplink (Cisco IOS); in static-address cells, document it and waive. "
                    "HiOS: `ip dhcp-snooping mode`, `ip dhcp-snooping vlan N mode`."))
def dhcp_snooping(cli_config: NetConfig) -> Verdict:
    """A rogue DHCP server on an access port can hand devices a false gateway and read or alter their
    traffic; snooping drops DHCP offers from untrusted ports."""
    expected = "ip dhcp snooping with at least one VLAN"
    observed = {"enabled": cli_config.dhcp_snooping, "vlans": list(cli_config.dhcp_snooping_vlans) or None}
    if not (cli_config.dhcp_snooping and cli_config.dhcp_snooping_vlans):
        return failed(observed, expected)
    return passed(observed, expected)


@check("netcli.image.verify",
       title="Software images are verified when copied onto the device",
       requirements=["CR 3.4"], applies_to=["network"], severity="low",
       remediation=("Set `file verify auto` so every image copied to flash is checked against its embedded digest "
                    "(Cisco IOS), and compare the image digest with the vendor's published value before an upgrade."))
def image_verify(cli_config: NetConfig) -> Verdict:
    """An image corrupted or altered on its way to the switch must be caught before the switch boots it;
    verification on copy checks the image's integrity every time one arrives."""
    expected = "file verify auto"
    if (unknown := not_shown(cli_config, "image_verify", expected="images verified before use")):
        return unknown
    if not cli_config.image_verify:
        return failed(None, expected, "images copied onto the device are not verified")
    return passed("file verify auto", expected)
