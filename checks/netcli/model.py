"""The typed facts of a network device's configuration, whatever its CLI family.

A platform parser fills what its configuration states; a field it cannot know stays ``None`` and the
check that needs it answers ``manual`` with the question, never a guess. A setting a platform's
configuration never shows at all (HiOS prints no password storage, no log timestamp format) is named in
:attr:`NetConfig.not_shown` with the question to ask, and :func:`not_shown` turns it into that ``manual``
verdict, so no check reads the empty value the parser left there as a finding. Defaults that a platform leaves
out of its running configuration (Cisco IOS prints ``no cdp run`` but not ``cdp run``) are resolved by
the platform parser, which knows them, so the checks judge states, not syntax.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.verdicts import Verdict, manual


@dataclass(frozen=True)
class Secret:
    """One stored authenticator: who or what it is for and how it is stored (never the secret itself)."""

    owner: str            # "user admin", "enable", "line vty 0 4"
    storage: str          # "0" clear text, "7" reversible, "5" MD5, "4" broken SHA-256, "8" PBKDF2, "9" scrypt
    privilege: int | None = None

    @property
    def strong(self) -> bool:
        return self.storage in ("8", "9")


@dataclass(frozen=True)
class Line:
    """A management line (console, vty, aux) and its session settings."""

    name: str                              # "vty 0 4"
    kind: str                              # con | vty | aux
    transport_input: tuple[str, ...]       # resolved: the platform default when not configured
    exec_timeout_seconds: int              # resolved: the platform default (600 s) when not configured; 0 = never
    access_class_in: str | None = None
    login: str | None = None               # "local", "authentication default", "none", ...


@dataclass(frozen=True)
class Port:
    """A switch port: its configuration merged with its state from the interface status table."""

    name: str
    mode: str | None                 # access | trunk | routed | None (dynamic/unknown)
    vlan: str | None
    shutdown: bool
    status: str | None               # connected | notconnect | disabled | err-disabled | None (not in the table)
    port_security: bool = False
    dot1x: bool = False
    portfast: bool = False
    bpduguard: bool = False
    storm_control: tuple[str, ...] = ()
    guard: str | None = None         # root | loop
    description: str = ""
    native_vlan: str | None = None   # trunks: the untagged VLAN ("1" when not configured)
    cdp_disabled: bool = False       # ``no cdp enable`` on the port

    @property
    def edge(self) -> bool:
        """An access port (or a port left in dynamic mode that is not trunking): where end devices connect."""
        return self.mode == "access" or (self.mode is None and self.vlan not in (None, "trunk", "routed"))

    @property
    def active(self) -> bool:
        return not self.shutdown and self.status not in ("disabled", "err-disabled")


@dataclass(frozen=True)
class SnmpCommunity:
    name: str            # "<removed>" unless it is a factory default (public, private)
    access: str          # RO | RW
    acl: str | None
    view: str | None


@dataclass(frozen=True)
class NetConfig:
    """What a device's running configuration (and its status commands) say about its security settings."""

    platform: str
    hostname: str | None
    # FR1
    aaa_enabled: bool
    aaa_login_methods: tuple[str, ...]          # of the default login list: "group tacacs+", "local", ...
    secrets: tuple[Secret, ...]
    enable_secret: Secret | None
    enable_password_set: bool                   # a reversible `enable password` besides or instead
    password_min_length: int | None
    login_block: tuple[int, int, int] | None   # block seconds, attempts, within seconds
    login_log_failure: bool
    login_log_success: bool
    banners: dict[str, str]
    # FR2
    aaa_authorization: tuple[str, ...]          # "exec", "commands 15", ...
    aaa_accounting: tuple[str, ...]             # "exec", "commands 15", "system", ...
    lines: tuple[Line, ...]
    # FR3 / FR4
    ssh_version: str | None                     # "2.0", "1.99", "1.5"
    ssh_timeout: int | None
    ssh_retries: int | None
    http_server: bool | None                    # None: the configuration does not say (the default varies)
    https_server: bool | None
    http_access_class: str | None
    # SNMP
    snmp_communities: tuple[SnmpCommunity, ...]
    snmp_v3_groups: dict[str, str]              # group -> noauth | auth | priv
    snmp_trap_hosts: tuple[tuple[str, str], ...]  # (host, "v1"/"v2c"/"v3 priv"...)
    snmp_traps_enabled: bool
    # FR6
    logging_hosts: tuple[str, ...]
    logging_trap_level: str | None
    logging_buffered_bytes: int | None
    log_timestamps: str | None                  # "datetime ..." | "uptime" | None (none)
    # time
    ntp_servers: tuple[tuple[str, str | None], ...]  # (server, key id)
    ntp_authenticate: bool
    ntp_trusted_keys: tuple[str, ...]
    ntp_keys: dict[str, str]                    # key id -> algorithm
    # FR5
    ip_routing: bool
    routed_interfaces: dict[str, str | None]    # interface with an address -> inbound ACL
    acls: dict[str, tuple[str, ...]]
    source_route: bool
    # FR7
    ports: tuple[Port, ...]
    bpduguard_default: bool
    loopguard_default: bool
    cdp: bool
    lldp: bool
    legacy_services: tuple[str, ...]            # small servers, pad, bootp, finger, identd ... that are on
    remote_loading: tuple[str, ...]             # "service config", "boot network", "vstack" ...
    archive: dict[str, str] = field(default_factory=dict)   # path, log config, write-memory ...
    tcp_keepalives_in: bool = False
    dhcp_snooping: bool = False
    image_verify: bool = False                  # images copied onto the device are verified (file verify auto)
    dhcp_snooping_vlans: tuple[str, ...] = ()
    contact: str | None = None                  # what the SNMP agent answers as sysContact / sysLocation
    location: str | None = None
    #: False where the platform has no enable password: privilege comes from each user's role (HiOS).
    enable_levels: bool = True
    #: field -> the question to ask, for settings this platform's configuration does not show at all.
    not_shown: dict[str, str] = field(default_factory=dict)


def not_shown(config: NetConfig, *fields: str, expected: str | None = None) -> Verdict | None:
    """``manual`` with the platform's question when a field a check needs is one its configuration never shows."""
    questions = [config.not_shown[name] for name in fields if name in config.not_shown]
    if not questions:
        return None
    return manual("; ".join(questions), expected, {"platform": config.platform})
