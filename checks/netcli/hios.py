"""Hirschmann HiOS: ``show running-config script all`` and ``show port`` into :class:`checks.netcli.model.NetConfig`.

The HiOS configuration script is flat: global commands one per line, ``interface 1/3`` and ``vlan database``
blocks closed by ``exit``, no indentation; secrets are printed only as comments the device has already
masked (``! users password admin "********"``). ``script all`` prints defaults too, so each setting is read as
stated: a setting that is neither stated on nor off is left unknown (``None`` or the IOS-like default the
checks treat as not configured), never taken from a release's default.

What HiOS does not have, or never prints, is named in :attr:`NetConfig.not_shown` with the question for the
assessor: how local passwords are stored (HiOS hashes them and prints none), enable secrets (privilege
comes from each user's access role), per-command authorization and accounting (the role, and RADIUS
accounting, are not in the script), the log's timestamp format and buffer size (fixed by the firmware),
source routing, TCP keepalives, the login event and configuration change records (the audit trail),
and image signature checking.

How HiOS names things, mapped onto the IOS-shaped facts:

* management lines: the SSH server (``ssh server``, ``ssh timeout MIN``), the Telnet server (``telnet
  server``, ``telnet timeout MIN``) and the serial console (``cli serial-timeout MIN``) are the ``vty ssh``,
  ``vty telnet`` and ``con serial`` lines; the restricted management access (``network management access
  operation`` with its ``add``/``modify`` entries) is their access class;
* login: ``authlists set-policy defaultLoginAuthList radius local ...`` is the default login list;
  ``passwords min-length``, ``passwords max-login-attempts`` and ``passwords login-attempt-period`` the
  password length and login blocking; ``system pre-login-banner`` the login banner;
* SNMP: communities count only while ``snmp access version v1``/``v2`` is on; SNMPv3 users
  (``users snmpv3 authentication|encryption USER ...``) are the v3 groups; ``snmp trap add NAME HOST:PORT``
  the trap receivers;
* logging and time: ``logging host add N addr HOST ... severity LEVEL`` while ``logging syslog operation``
  is on; ``sntp client server add N HOST`` while ``sntp client operation`` is on (SNTP has no keys);
* ports: ``vlan pvid`` is the access (or native) VLAN, a port with ``vlan tagging`` is a trunk,
  ``spanning-tree edge-port`` PortFast, ``spanning-tree bpdu-guard`` (global) BPDU guard on edge ports,
  ``spanning-tree guard-root|guard-loop``, ``port-security operation``, ``dot1x port-control auto``,
  ``storm-control ingress broadcast operation``; ``show port`` gives each port's admin mode and link;
* services nobody needs on a cell switch: HiDiscovery (``network hidiscovery operation``, worst in
  ``read-write`` mode) and the industrial protocol servers (Modbus/TCP, EtherNet/IP, PROFINET, IEC 61850
  MMS) when on; loading from external memory (``config envm auto-update``) is remote loading;
  ``config remote-backup`` with a destination is the configuration archive.
"""

from __future__ import annotations

import re

from checks.netcli.model import Line, NetConfig, Port, SnmpCommunity
from checks.netcli.tree import ConfigTree, Node

_NOT_SHOWN = {
    "secrets": "HiOS prints no local password or its storage: confirm the release hashes local passwords and "
               "that only personal accounts exist (users list in the web interface)",
    "login_log": "HiOS records logins in its audit trail, which the script does not show: confirm failed and "
                 "successful logins appear in the audit trail and reach the syslog collector",
    "aaa_authorization": "HiOS authorises by each user's access role (local, or the RADIUS Filter-Id): confirm "
                         "roles are assigned per person and no shared administrator account is used",
    "aaa_accounting": "HiOS's RADIUS accounting is not in the script: confirm sessions are accounted to the "
                      "RADIUS server, or that the audit trail reaches the collector",
    "log_timestamps": "HiOS stamps log messages with date and time from its clock: confirm on the collector",
    "logging_buffered_bytes": "HiOS's local event log has a fixed size set by the firmware: confirm it keeps "
                              "enough records between collector outages",
    "source_route": "HiOS does not show source routing: confirm the release drops source-routed packets",
    "tcp_keepalives_in": "HiOS does not show TCP keepalives: confirm idle management sessions end by their "
                         "timeouts",
    "change_log": "HiOS records configuration changes with the user in its audit trail, which the script does "
                  "not show: confirm it is on and forwarded to the collector",
    "image_verify": "HiOS's signed-firmware check is not in the script: confirm the release accepts only signed "
                    "images",
}
_METHODS = {"radius": "group radius", "tacacs": "group tacacs+", "ldap": "group ldap", "local": "local"}
_SEVERITIES = {"emergency": "emergencies", "alert": "alerts", "critical": "critical", "error": "errors",
               "warning": "warnings", "notice": "notifications", "informational": "informational",
               "debug": "debugging"}
_INDUSTRIAL = (("modbus-tcp operation", "modbus-tcp server"), ("ethernet-ip operation", "ethernet-ip"),
               ("profinet operation", "profinet"), ("iec61850-mms operation", "iec61850-mms"))


def script_tree(text: str) -> ConfigTree:
    """The flat script as a tree: ``interface`` and ``vlan database`` blocks hold the lines up to their ``exit``."""
    roots: list[Node] = []
    block: Node | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("!") or line in ("enable", "configure"):
            continue
        if block is not None:
            if line == "exit":
                block = None
            else:
                block.children.append(Node(line))
            continue
        node = Node(line)
        if re.match(r"(interface \S+|vlan database)$", line):
            block = node
        if line != "exit":
            roots.append(node)
    return ConfigTree(roots)


def _stated(tree: ConfigTree | Node, setting: str) -> bool | None:
    """``setting`` on (True), ``no setting`` (False), or neither printed (None)."""
    if tree.has(re.escape(setting) + r"\s*$"):
        return True
    return False if tree.has("no " + re.escape(setting) + r"\s*$") else None


def _unquote(text: str) -> str:
    return text.strip().strip('"')


def _minutes(tree: ConfigTree, pattern: str) -> int | None:
    found = tree.line(pattern)
    return int(found.group(1)) * 60 if found else None


def _lines(tree: ConfigTree, restricted: bool) -> list[Line]:
    access = "management access" if restricted else None
    lines = []
    ssh_on = _stated(tree, "ssh server")
    if ssh_on is not False:
        lines.append(Line("ssh", "vty", ("ssh",), _minutes(tree, r"ssh timeout (\d+)") or 0, access))
    telnet_on = _stated(tree, "telnet server")
    if telnet_on is not False:  # on, or not stated: a Telnet line that may accept clear text
        lines.append(Line("telnet", "vty", ("telnet",) if telnet_on else ("default",),
                          _minutes(tree, r"telnet timeout (\d+)") or 0, access))
    serial = _minutes(tree, r"cli serial-timeout (\d+)")
    lines.append(Line("serial", "con", ("none",), serial or 0))
    return lines


def _snmp(tree: ConfigTree) -> tuple[list[SnmpCommunity], dict[str, str], list[tuple[str, str]]]:
    legacy = any(_stated(tree, f"snmp access version {v}") is not False for v in ("v1", "v2"))
    communities = []
    if legacy:  # a community is only a way in while v1 or v2c access is on
        for match in tree.lines(r'snmp community (ro|rw) "?([^"\s]+)"?'):
            communities.append(SnmpCommunity(match.group(2), match.group(1).upper(), None, None))
    users: dict[str, str] = {}
    for match in tree.lines(r'users snmpv3 authentication "?([^"\s]+)"? (\S+)'):
        users[match.group(1)] = "noauth" if match.group(2) == "none" else "auth"
    for match in tree.lines(r'users snmpv3 encryption "?([^"\s]+)"? (\S+)'):
        if match.group(2) != "none" and users.get(match.group(1)) == "auth":
            users[match.group(1)] = "priv"
    hosts = [(m.group(2), "v1") for m in tree.lines(r'snmp trap add "?([^"\s]+)"? ([^\s:]+)(?::\d+)?')]
    return communities, users, hosts


def _ports(tree: ConfigTree, status: dict[str, tuple[str, str]], bpduguard_default: bool) -> list[Port]:
    ports = []
    for match, node in tree.blocks(r"interface (\d+/\d+)$"):
        name = match.group(1)
        trunk = node.has(r"vlan tagging \d+")
        pvid = node.child(r"vlan pvid (\d+)")
        vlan = pvid.group(1) if pvid else "1"
        edge = node.has(r"spanning-tree edge-port\s*$")
        guard = node.child(r"spanning-tree guard-(root|loop)\s*$")
        admin, link = status.get(name, (None, None))
        shutdown = node.has(r"shutdown\s*$") or admin == "disabled"
        state = None if admin is None else "disabled" if admin == "disabled" else \
            "connected" if link == "up" else "notconnect"
        ports.append(Port(
            name=name, mode="trunk" if trunk else "access", vlan=None if trunk else vlan, shutdown=shutdown,
            status=state, port_security=node.has(r"port-security operation\s*$"),
            dot1x=node.has(r"dot1x port-control auto\s*$"), portfast=edge, bpduguard=edge and bpduguard_default,
            storm_control=("broadcast",) if node.has(r"storm-control ingress broadcast operation\s*$") else (),
            guard=guard.group(1) if guard else None,
            description=_unquote((node.child(r"name (.*)$") or re.match("(.*)", "")).group(1)),
            native_vlan=vlan if trunk else None, cdp_disabled=True))
    return ports


def _routed(tree: ConfigTree) -> tuple[dict[str, str | None], dict[str, tuple[str, ...]]]:
    routed: dict[str, str | None] = {}
    for match, node in tree.blocks(r"interface (vlan/\d+|\d+/\d+)$"):
        if node.has(r"shutdown\s*$") or not node.has(r"ip address primary \d"):
            continue
        group = node.child(r'ip access-group "?([^"\s]+)"? in\b')
        routed[match.group(1)] = group.group(1) if group else None
    acls: dict[str, tuple[str, ...]] = {}
    for match in tree.lines(r'ip access-list extended name "?([^"\s]+)"? index (\d+) (permit|deny) (.*)$'):
        # "every" is HiOS for any source, destination and protocol
        entry = f"{match.group(3)} {'ip any any' if match.group(4).strip() == 'every' else match.group(4).strip()}"
        acls[match.group(1)] = acls.get(match.group(1), ()) + (entry,)
    return routed, acls


def _status(rows: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    return {row["INTERFACE"]: (row["ADMIN"], row["LINK"]) for row in rows}


def parse_hios(text: str, port_rows: list[dict[str, str]]) -> NetConfig:
    """A ``show running-config script all`` (secrets masked by the device) and ``show port`` rows."""
    tree = script_tree(text)
    communities, v3_users, trap_hosts = _snmp(tree)
    policy = tree.line(r"authlists set-policy defaultLoginAuthList (.+)$")
    methods = tuple(_METHODS[m] for m in policy.group(1).split() if m in _METHODS) if policy else ()
    attempts = tree.line(r"passwords max-login-attempts (\d+)")
    period = tree.line(r"passwords login-attempt-period (\d+)")
    block = (int(period.group(1)) * 60 if period else 0, int(attempts.group(1)),
             int(period.group(1)) * 60 if period else 0) if attempts and int(attempts.group(1)) > 0 else None
    banner_on = _stated(tree, "system pre-login-banner operation")
    banner = tree.line(r"system pre-login-banner text (.*)$")
    restricted = _stated(tree, "network management access operation") is True
    syslog = _stated(tree, "logging syslog operation") is True
    log_hosts = [(m.group(1), m.group(2)) for m in  # the system log, not the audit trail's own hosts
                 tree.lines(r"logging host add \d+ addr (\S+)(?:.*?\bseverity (\S+))?") if "audittrail" not in m.string]
    sntp = _stated(tree, "sntp client operation") is True
    hidiscovery = _stated(tree, "network hidiscovery operation") is not False
    hidiscovery_mode = tree.line(r"network hidiscovery mode (\S+)")
    legacy = [f"hidiscovery ({hidiscovery_mode.group(1) if hidiscovery_mode else 'mode not stated'})"] \
        if hidiscovery else []
    legacy += [name for setting, name in _INDUSTRIAL if _stated(tree, setting)]
    remote = [f"config envm auto-update {m.group(1)}" for m in tree.lines(r"config envm auto-update (\S+)\s*$")]
    backup = tree.line(r"config remote-backup destination (\S+)")
    archive = {"configured": "yes", "path": backup.group(1), "write-memory": "yes"} \
        if backup and _stated(tree, "config remote-backup operation") else {}
    routed, acls = _routed(tree)
    bpduguard_default = _stated(tree, "spanning-tree bpdu-guard") is True
    snooping = _stated(tree, "ip dhcp-snooping mode") is True
    return NetConfig(
        platform="hirschmann_hios",
        hostname=_unquote(m.group(1)) if (m := tree.line(r"system name (.+)$")) else None,
        aaa_enabled=any(m.startswith("group ") for m in methods), aaa_login_methods=methods,
        secrets=(), enable_secret=None, enable_password_set=False,
        password_min_length=int(m.group(1)) if (m := tree.line(r"passwords min-length (\d+)")) else None,
        login_block=block, login_log_failure=False, login_log_success=False,
        banners={"login": _unquote(banner.group(1))} if banner_on and banner else {},
        aaa_authorization=(), aaa_accounting=(), lines=tuple(_lines(tree, restricted)),
        ssh_version=None, ssh_timeout=None, ssh_retries=None,
        http_server=_stated(tree, "http server"), https_server=_stated(tree, "https server"),
        http_access_class="management access" if restricted else None,
        snmp_communities=tuple(communities), snmp_v3_groups=v3_users, snmp_trap_hosts=tuple(trap_hosts),
        snmp_traps_enabled=bool(trap_hosts) and _stated(tree, "snmp trap operation") is not False,
        logging_hosts=tuple(host for host, _level in log_hosts) if syslog else (),
        logging_trap_level=next((_SEVERITIES.get(level, level) for _host, level in log_hosts if level), None)
        if syslog else None,
        logging_buffered_bytes=None, log_timestamps=None,
        ntp_servers=tuple((m.group(1), None) for m in tree.lines(r"sntp client server add \d+ (\S+)")) if sntp else (),
        ntp_authenticate=False, ntp_trusted_keys=(), ntp_keys={},
        ip_routing=_stated(tree, "ip routing") is True, routed_interfaces=routed, acls=acls, source_route=False,
        ports=tuple(_ports(tree, _status(port_rows), bpduguard_default)),
        bpduguard_default=bpduguard_default, loopguard_default=False,
        cdp=False, lldp=_stated(tree, "lldp operation") is not False,
        legacy_services=tuple(legacy), remote_loading=tuple(remote), archive=archive,
        dhcp_snooping=snooping, dhcp_snooping_vlans=tuple(m.group(1) for m in
                                                          tree.lines(r"ip dhcp-snooping vlan (\d+) mode")),
        contact=_unquote(m.group(1)) if (m := tree.line(r"system contact (.+)$")) else None,
        location=_unquote(m.group(1)) if (m := tree.line(r"system location (.+)$")) else None,
        enable_levels=False, not_shown=dict(_NOT_SHOWN))
