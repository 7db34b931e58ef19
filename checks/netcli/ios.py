"""Cisco IOS / IOS-XE: the running configuration into :class:`checks.netcli.model.NetConfig`.

The defaults IOS leaves out of ``show running-config`` are resolved here (Cisco IOS command references):
CDP runs unless ``no cdp run``; LLDP only with ``lldp run``; source routing is on unless ``no ip
source-route``; the PAD service and the BOOTP server are on unless switched off; the HTTP servers' default
differs by platform and release, so only an explicit ``ip http server`` / ``no ip http server`` counts; an unset ``exec-timeout``
is 10 minutes; an unset vty ``transport input`` is the release's default, which on many releases accepts
Telnet (kept as ``default``, never read as SSH-only).
"""

from __future__ import annotations

import re

from checks.netcli.model import Line, NetConfig, Port, Secret, SnmpCommunity
from checks.netcli.tree import ConfigTree, Node

_PHYSICAL = ("GigabitEthernet", "FastEthernet", "TenGigabitEthernet", "TwoGigabitEthernet", "FiveGigabitEthernet",
             "TwentyFiveGigE", "FortyGigabitEthernet", "HundredGigE", "Ethernet")
_DEFAULT_EXEC_TIMEOUT = 600


def canonical_port(name: str) -> str:
    """``Gi1/3`` and ``GigabitEthernet1/3`` name the same port: both become ``GigabitEthernet1/3``."""
    match = re.match(r"([A-Za-z-]+)\s*(\d.*)$", name.strip())
    if not match:
        return name.strip()
    prefix, number = match.groups()
    for full in _PHYSICAL + ("Port-channel", "Vlan", "Loopback", "Tunnel"):
        if full.lower().startswith(prefix.lower()):
            return full + number
    return prefix + number


def _storage(kind: str, digit: str | None) -> str:
    if digit is not None:
        return digit
    return "0" if kind == "password" else "5"  # an IOS `secret` without a type is hashed with MD5 (type 5)


def _secrets(tree: ConfigTree) -> tuple[list[Secret], Secret | None, bool]:
    found: list[Secret] = []
    for match in tree.lines(r"username (\S+)(.*?)\s(password|secret)(?: (\d+))? \S+$"):
        name, middle, kind, digit = match.groups()
        privilege = re.search(r"privilege (\d+)", middle)
        found.append(Secret(f"user {name}", _storage(kind, digit), int(privilege.group(1)) if privilege else 1))
    enable_secret = None
    secret = tree.line(r"enable (?:algorithm-type \S+ )?secret(?: level \d+)?(?: (\d+))? \S+$")
    if secret:
        enable_secret = Secret("enable secret", _storage("secret", secret.group(1)), 15)
    enable_password = tree.line(r"enable password(?: level \d+)?(?: (\d+))? \S+$")
    if enable_password:
        found.append(Secret("enable password", _storage("password", enable_password.group(1)), 15))
    for match, node in tree.blocks(r"line (con|vty|aux) (.*)$"):
        for child in node.children_matching(r"password(?: (\d+))? \S+$"):
            found.append(Secret(f"line {match.group(1)} {match.group(2)}", _storage("password", child.group(1))))
    return found, enable_secret, enable_password is not None


def _seconds(node: Node) -> int:
    timeout = node.child(r"exec-timeout (\d+)(?: (\d+))?")
    if timeout is None:
        return _DEFAULT_EXEC_TIMEOUT
    return int(timeout.group(1)) * 60 + int(timeout.group(2) or 0)


def _lines(tree: ConfigTree) -> list[Line]:
    lines = []
    for match, node in tree.blocks(r"line (con|vty|aux) (.*)$"):
        kind, numbers = match.groups()
        transport = node.child(r"transport input (.+)$")
        access = node.child(r"access-class (\S+) in\b")
        login = node.child(r"(no login|login(?: .+)?)$")
        lines.append(Line(name=f"{kind} {numbers}", kind=kind,
                          transport_input=tuple(transport.group(1).split()) if transport else ("default",),
                          exec_timeout_seconds=_seconds(node), access_class_in=access.group(1) if access else None,
                          login=login.group(1) if login else None))
    return lines


def _banners(tree: ConfigTree) -> dict[str, str]:
    banners = {}
    for match, node in tree.blocks(r"banner (\S+) (\^C|\S)(.*)$"):
        kind, delimiter, rest = match.groups()
        text = "\n".join([rest] + [child.text for child in node.children])
        banners[kind] = text.split(delimiter)[0].strip() if delimiter in text else text.strip()
    return banners


def _ports(tree: ConfigTree, status: dict[str, tuple[str, str]], bpduguard_default: bool) -> list[Port]:
    ports = []
    for match, node in tree.blocks(r"interface (\S+)$"):
        name = canonical_port(match.group(1))
        if not name.startswith(_PHYSICAL):
            continue
        mode = node.child(r"switchport mode (access|trunk)$")
        routed = node.has(r"no switchport$")
        vlan = node.child(r"switchport access vlan (\d+)$")
        portfast = node.has(r"spanning-tree portfast(?: edge)?$")
        state = status.get(name)
        port_mode = "routed" if routed else (mode.group(1) if mode else None)
        guard = node.child(r"spanning-tree guard (root|loop)$")
        ports.append(Port(
            name=name, mode=port_mode,
            vlan=(vlan.group(1) if vlan else "1") if port_mode == "access" else (state[1] if state else None),
            shutdown=node.has(r"shutdown$"), status=state[0] if state else None,
            port_security=node.has(r"switchport port-security$"),
            dot1x=node.has(r"(?:authentication|dot1x) port-control auto$"),
            portfast=portfast,
            bpduguard=node.has(r"spanning-tree bpduguard enable$") or (portfast and bpduguard_default),
            storm_control=tuple(m.group(1) for m in node.children_matching(r"storm-control (\S+) level")),
            guard=guard.group(1) if guard else None,
            description=(node.child(r"description (.*)$") or re.match("(.*)", "")).group(1),
            native_vlan=((node.child(r"switchport trunk native vlan (\d+)$") or re.match("(1)", "1")).group(1)
                         if port_mode == "trunk" else None),
            cdp_disabled=node.has(r"no cdp enable$")))
    return ports


def _routed(tree: ConfigTree) -> dict[str, str | None]:
    routed: dict[str, str | None] = {}
    for match, node in tree.blocks(r"interface (\S+)$"):
        if node.has(r"shutdown$") or not node.has(r"ip address \d"):
            continue
        group = node.child(r"ip access-group (\S+) in$")
        routed[canonical_port(match.group(1))] = group.group(1) if group else None
    return routed


def _acls(tree: ConfigTree) -> dict[str, tuple[str, ...]]:
    acls: dict[str, tuple[str, ...]] = {}
    for match, node in tree.blocks(r"ip access-list (?:standard|extended) (\S+)$"):
        acls[match.group(1)] = tuple(child.text for child in node.children)
    for match in tree.lines(r"access-list (\d+) (.+)$"):
        acls[match.group(1)] = acls.get(match.group(1), ()) + (match.group(2),)
    return acls


def _snmp(tree: ConfigTree) -> tuple[list[SnmpCommunity], dict[str, str], list[tuple[str, str]]]:
    communities = []
    for match in tree.lines(r"snmp-server community (\S+)(.*)$"):
        name, rest = match.groups()
        words = rest.split()
        view = words[words.index("view") + 1] if "view" in words[:-1] else None
        access = "RW" if "RW" in words else "RO"
        tail = [w for w in words if w not in ("RO", "RW", "view", view, "ipv6")]
        communities.append(SnmpCommunity(name, access, tail[-1] if tail else None, view))
    groups = {m.group(1): m.group(2) for m in tree.lines(r"snmp-server group (\S+) v3 (noauth|auth|priv)\b")}
    for match in tree.lines(r"snmp-server group (\S+) (v1|v2c)\b"):
        groups.setdefault(match.group(1), match.group(2))
    hosts = []
    for match in tree.lines(r"snmp-server host (\S+)(.*)$"):
        host, rest = match.groups()
        version = re.search(r"version (1|2c|3(?: (?:noauth|auth|priv))?)", rest)
        hosts.append((host, f"v{version.group(1)}" if version else "v1"))
    return communities, groups, hosts


def _archive(tree: ConfigTree) -> dict[str, str]:
    found: dict[str, str] = {}
    for _match, node in tree.blocks(r"archive$"):
        found["configured"] = "yes"
        path = node.child(r"path (\S+)")
        if path:
            found["path"] = path.group(1)
        if node.has(r"write-memory$"):
            found["write-memory"] = "yes"
        period = node.child(r"time-period (\d+)")
        if period:
            found["time-period"] = period.group(1)
        for log_match in node.children_matching(r"log config$"):
            found["log config"] = "yes"
        for child in node.children:
            if child.text == "log config" and child.has(r"logging enable$"):
                found["log config"] = "logging enable"
    return found


def _stated(tree: ConfigTree, command: str) -> bool | None:
    """``command`` on (True), ``no command`` (False), or neither printed (None: the default differs by platform)."""
    if tree.has(re.escape(command) + "$"):
        return True
    return False if tree.has("no " + re.escape(command) + "$") else None


def _status_table(rows: list[dict[str, str]]) -> dict[str, tuple[str, str]]:
    return {canonical_port(r["port"]): (r.get("status", ""), r.get("vlan_id", "")) for r in rows}


def parse_ios(text: str, status_rows: list[dict[str, str]]) -> NetConfig:
    """A privileged ``show running-config`` (secrets removed) and ``show interfaces status`` rows."""
    tree = ConfigTree.parse(text)
    secrets, enable_secret, enable_password = _secrets(tree)
    communities, groups, trap_hosts = _snmp(tree)
    block = tree.line(r"login block-for (\d+) attempts (\d+) within (\d+)")
    login_methods = tree.line(r"aaa authentication login default (.+)$")
    buffered = tree.line(r"(no )?logging buffered(?: (\d+))?")
    timestamps = tree.line(r"(no )?service timestamps log ?(.*)$")
    bpduguard_default = tree.has(r"spanning-tree portfast (?:edge )?bpduguard default$")
    legacy = [name for name, on in (
        ("service pad", not tree.has(r"no service pad$")),
        ("ip bootp server", not tree.has(r"no ip bootp server$")),
        ("tcp-small-servers", tree.has(r"service tcp-small-servers$")),
        ("udp-small-servers", tree.has(r"service udp-small-servers$")),
        ("ip finger", tree.has(r"ip finger$") or tree.has(r"service finger$")),
        ("ip identd", tree.has(r"ip identd$")),
        ("ip http server", tree.has(r"ip http server$")),
    ) if on]
    remote = [text for text in ("service config", "boot network", "vstack")
              if tree.has(re.escape(text) + r"(\s|$)")]
    trap_level = tree.line(r"logging trap (\S+)")
    return NetConfig(
        platform="cisco_ios",
        hostname=(tree.line(r"hostname (\S+)") or re.match("()", "")).group(1) or None,
        aaa_enabled=tree.has(r"aaa new-model$"),
        aaa_login_methods=tuple(re.findall(r"group \S+|local|enable|line|none", login_methods.group(1)))
        if login_methods else (),
        secrets=tuple(secrets), enable_secret=enable_secret, enable_password_set=enable_password,
        password_min_length=int(m.group(1)) if (m := tree.line(r"security passwords min-length (\d+)")) else None,
        login_block=tuple(int(g) for g in block.groups()) if block else None,  # type: ignore[arg-type]
        login_log_failure=tree.has(r"login on-failure log"), login_log_success=tree.has(r"login on-success log"),
        banners=_banners(tree),
        aaa_authorization=tuple(m.group(1) for m in tree.lines(r"aaa authorization (exec|commands \d+|console|"
                                                                   r"config-commands|network) ")),
        aaa_accounting=tuple(m.group(1) for m in tree.lines(r"aaa accounting (exec|commands \d+|system|connection|"
                                                                r"network) \S+ (?:start-stop|stop-only)")),
        lines=tuple(_lines(tree)),
        ssh_version=None, ssh_timeout=None, ssh_retries=None,
        http_server=_stated(tree, "ip http server"), https_server=_stated(tree, "ip http secure-server"),
        http_access_class=(tree.line(r"ip http access-class (\S+)") or re.match("()", "")).group(1) or None,
        snmp_communities=tuple(communities), snmp_v3_groups=groups, snmp_trap_hosts=tuple(trap_hosts),
        snmp_traps_enabled=tree.has(r"snmp-server enable traps"),
        logging_hosts=tuple(m.group(1) for m in tree.lines(r"logging (?:host )?(\d[\d.:a-fA-F]*|\S+\.\S+)\b")
                            if not m.group(1).isdigit()),
        logging_trap_level=trap_level.group(1) if trap_level else None,
        logging_buffered_bytes=(0 if buffered.group(1) else int(buffered.group(2)) if buffered.group(2) else None)
        if buffered else None,
        log_timestamps=None if timestamps is None or timestamps.group(1) else (timestamps.group(2) or "uptime"),
        ntp_servers=tuple((m.group(1), m.group(2)) for m in
                          tree.lines(r"ntp server (?:vrf \S+ )?(\S+)(?:.*?\bkey (\d+))?")),
        ntp_authenticate=tree.has(r"ntp authenticate$"),
        ntp_trusted_keys=tuple(m.group(1) for m in tree.lines(r"ntp trusted-key (\d+)")),
        ntp_keys={m.group(1): m.group(2) for m in tree.lines(r"ntp authentication-key (\d+) (\S+)")},
        ip_routing=tree.has(r"ip routing$"), routed_interfaces=_routed(tree), acls=_acls(tree),
        source_route=not tree.has(r"no ip source-route$"),
        ports=tuple(_ports(tree, _status_table(status_rows), bpduguard_default)),
        bpduguard_default=bpduguard_default, loopguard_default=tree.has(r"spanning-tree loopguard default$"),
        cdp=not tree.has(r"no cdp run$"), lldp=tree.has(r"lldp run$"),
        legacy_services=tuple(legacy), remote_loading=tuple(remote), archive=_archive(tree),
        tcp_keepalives_in=tree.has(r"service tcp-keepalives-in$"),
        dhcp_snooping=tree.has(r"ip dhcp snooping$"), image_verify=tree.has(r"file verify auto$"),
        dhcp_snooping_vlans=tuple(m.group(1) for m in tree.lines(r"ip dhcp snooping vlan (\S+)$")),
        contact=m.group(1).strip() if (m := tree.line(r"snmp-server contact (.+)$")) else None,
        location=m.group(1).strip() if (m := tree.line(r"snmp-server location (.+)$")) else None)
