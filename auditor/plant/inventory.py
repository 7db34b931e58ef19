"""The plant inventory (contract): sites, zones, assets and the endpoints that reach them.

Secrets are never part of an inventory: endpoints name *where* a secret lives (an environment
variable, a file, the keyring) and the connector resolves it at connection time.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.assessment.slvector import SLVector
from auditor.errors import ConfigError
from auditor.safeload import load_yaml_file
from auditor.plant.windows import MaintenanceWindow, windows_list

ComponentType = Literal["host", "network", "embedded", "application"]
COMPONENT_TYPES: tuple[str, ...] = ("host", "network", "embedded", "application")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$"

# Field names people are tempted to write a secret into; each gets a pointed error message.
_INLINE_SECRET_FIELDS = {"password", "passphrase", "community", "auth_key", "priv_key", "secret", "key",
                         "enable_password"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EndpointBase(_Strict):
    port: int = Field(ge=1, le=65535)
    timeout: float = Field(default=10.0, gt=0, le=600, description="seconds for one connection or request")

    @model_validator(mode="before")
    @classmethod
    def _no_inline_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for name in _INLINE_SECRET_FIELDS & set(data):
                raise ValueError(
                    f"inline secret {name!r} is not allowed: give it by reference "
                    f"({name}_env: VARIABLE or {name}_file: PATH)")
        return data

    @property
    def label(self) -> str:
        return f"{self.protocol}:{self.port}"  # type: ignore[attr-defined]


class JumpHost(_Strict):
    """A jump host (bastion) in front of SSH endpoints: defined once in ``jump_hosts`` and named by ``jump``,
    or written inline as ``user@host:port`` (``spec``, completed from ssh_config like OpenSSH's ProxyJump)."""

    id: str | None = Field(default=None, pattern=ID_PATTERN)
    address: str | None = Field(default=None, min_length=1)
    port: int = Field(default=22, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1)
    key_file: str | None = None
    key_passphrase_env: str | None = None
    known_hosts: str | None = Field(default=None, description="known_hosts for this jump host; default the endpoint's")
    spec: str | None = Field(default=None, description="user@host[:port] as written in a jump field")

    @model_validator(mode="after")
    def _address_or_spec(self) -> "JumpHost":
        if (self.address is None) == (self.spec is None):
            raise ValueError("a jump host needs an address")
        if self.spec is not None:
            from connectors.ssh.sshconfig import SshConfigError, parse_jump_spec

            try:
                if len(parse_jump_spec(self.spec)) != 1:
                    raise ValueError(f"one jump host per entry, not {self.spec!r}")
            except SshConfigError as exc:
                raise ValueError(str(exc)) from None
        return self


def _jump_list(value: Any) -> Any:
    """``jump: "user@host:22,user@host2"`` -> one JumpHost per hop; ids were replaced by the inventory."""
    if value is None or isinstance(value, list):
        return value
    if isinstance(value, dict):
        return [value]
    if not isinstance(value, str):
        return value
    from connectors.ssh.sshconfig import SshConfigError, parse_jump_spec

    hops = []
    for part in (p.strip() for p in value.split(",")):
        if "@" not in part:
            raise ValueError(f"unknown jump host {part!r}: define it in the inventory's jump_hosts "
                             "(id, address, port, username, key_file) or write user@host[:port]")
        try:
            parse_jump_spec(part)
        except SshConfigError as exc:
            raise ValueError(str(exc)) from None
        hops.append({"spec": part})
    return hops


class _SshAccess(_EndpointBase):
    """Where and as whom an SSH session goes (shared by ``ssh`` host endpoints and ``cli`` device endpoints)."""

    port: int = Field(default=22, ge=1, le=65535)
    username: str | None = Field(default=None, min_length=1,
                                 description="default: ssh_config's User for the address, else the local user")
    key_file: str | None = None
    key_passphrase_env: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    use_agent: bool | None = Field(default=None, description="try the ssh-agent's keys (default: yes when "
                                                             "SSH_AUTH_SOCK is set)")
    identities_only: bool | None = Field(default=None, description="offer only agent keys of key_file")
    known_hosts: str | None = Field(default=None, description="known_hosts file; default ~/.ssh/known_hosts")
    ssh_config: str | None = Field(default=None, description="OpenSSH client config; default ~/.ssh/config")
    jump: list[JumpHost] | None = Field(default=None, description="jump host id of jump_hosts, or "
                                                                   "user@host[:port][,user@host2[:port]]")

    @field_validator("jump", mode="before")
    @classmethod
    def _jump_hops(cls, value: Any) -> Any:
        return _jump_list(value)


class SshEndpoint(_SshAccess):
    protocol: Literal["ssh"]
    sudo: bool = Field(default=True, description="run root-only reads under sudo when sudo allows them "
                                                 "without a password, or with sudo_password_env/_file")
    sudo_password_env: str | None = Field(default=None, description="environment variable holding the sudo "
                                                                    "password (sent only to 'sudo -S' on the host)")
    sudo_password_file: str | None = None


CliPlatform = Literal["auto", "cisco_ios", "cisco_xe", "hirschmann_hios"]


class CliEndpoint(_SshAccess):
    """A network device's command line over SSH: read-only ``show`` commands of its platform, nothing else."""

    protocol: Literal["cli"]
    platform: CliPlatform = Field(default="auto", description="CLI family; auto: from the SSH identification "
                                                              "and 'show version'")
    enable_password_env: str | None = Field(default=None, description="enable secret, to read the full "
                                                                      "running configuration at privilege 15")
    enable_password_file: str | None = None
    requests_per_second: float = Field(default=2.0, gt=0, le=20, description="commands per second on this device")
    max_output_bytes: int = Field(default=4 * 1024 * 1024, ge=64 * 1024, le=64 * 1024 * 1024,
                                  description="largest answer kept for one command")


class SnmpEndpoint(_EndpointBase):
    protocol: Literal["snmp"]
    port: int = Field(default=161, ge=1, le=65535)
    version: Literal["1", "2c", "3"] = "3"
    community_env: str | None = None
    community_file: str | None = None
    username: str | None = None
    auth_protocol: str | None = None
    auth_key_env: str | None = None
    auth_key_file: str | None = None
    priv_protocol: str | None = None
    priv_key_env: str | None = None
    priv_key_file: str | None = None
    probe_default_communities: bool = Field(
        default=False, description="opt-in: slowly try a short documented list of well-known communities (read-only)")
    requests_per_second: float = Field(default=10.0, gt=0, le=100, description="politeness limit for this device")

    @field_validator("version", mode="before")
    @classmethod
    def _version_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value

    @model_validator(mode="after")
    def _v3_needs_a_user(self) -> "SnmpEndpoint":
        if self.version == "3" and not self.username:
            raise ValueError("SNMPv3 needs a username (with auth_key_env/priv_key_env or *_file); "
                             "for v1/v2c set version and community_env or community_file")
        return self


class ModbusEndpoint(_EndpointBase):
    protocol: Literal["modbus"]
    port: int = Field(default=502, ge=1, le=65535)
    unit_id: int = Field(default=1, ge=0, le=255)
    requests_per_second: float = Field(default=5.0, gt=0, le=100)
    tls: bool | None = Field(default=None, description="speak Modbus/TCP Security (TLS); default: TLS when port is 802")
    client_cert_file: str | None = Field(
        default=None, description="PEM file of the auditor's client certificate for Modbus/TCP Security (mutual TLS)")
    client_key_file: str | None = Field(default=None, description="PEM file of the client certificate's private key")
    client_key_passphrase_env: str | None = Field(
        default=None, description="environment variable holding the passphrase of client_key_file, if encrypted")
    ca_file: str | None = Field(
        default=None, description="PEM bundle to verify the PLC's certificate; without it it is recorded, not verified")


class OpcuaEndpoint(_EndpointBase):
    protocol: Literal["opcua"]
    port: int = Field(default=4840, ge=1, le=65535)
    path: str = ""
    username: str | None = None
    password_env: str | None = None
    password_file: str | None = None
    client_cert_file: str | None = None
    client_key_file: str | None = None
    anonymous_session: bool = False
    browse_depth: int | None = Field(
        default=None, ge=1, le=5, description="levels below Objects the access-rights browse follows (default 3)")
    browse_max_nodes: int | None = Field(
        default=None, ge=1, le=1000, description="nodes the access-rights browse visits at most (default 200)")
    browse_seconds: float | None = Field(
        default=None, gt=0, le=120, description="time the access-rights browse may take per session (default 10 s)")
    probe_client_trust: bool = Field(
        default=False, description="opt-in: open a secure channel and create (never activate) a session with a "
                                   "freshly generated, untrusted client certificate, to see whether the server "
                                   "trusts any certificate (some servers keep it in their rejected store)")


class S7Endpoint(_EndpointBase):
    protocol: Literal["s7"]
    port: int = Field(default=102, ge=1, le=65535)
    rack: int = Field(default=0, ge=0, le=7)
    slot: int = Field(default=1, ge=0, le=31, description="CPU slot: 1 on S7-1200/1500, usually 2 on S7-300/400")
    requests_per_second: float = Field(default=2.0, gt=0, le=20, description="politeness limit for this CPU")


class HttpsEndpoint(_EndpointBase):
    protocol: Literal["https"]
    port: int = Field(default=443, ge=1, le=65535)
    http_port: int = Field(default=80, ge=0, le=65535, description="plain HTTP port GET / is sent to; 0: none")
    ca_file: str | None = Field(
        default=None, description="PEM bundle of the site's CA: the web certificate is verified against it "
                                  "(provisioning of asset owner roots of trust); without it that is a question")
    requests_per_second: float = Field(default=2.0, gt=0, le=20, description="politeness limit for this device")


class WinrmEndpoint(_EndpointBase):
    """A Windows host's WinRM service: WinRS over WS-Management, HTTPS with a validated certificate by default."""

    protocol: Literal["winrm"]
    port: int = Field(default=5986, ge=1, le=65535, description="default 5986 (HTTPS), 5985 with allow_http")
    username: str = Field(min_length=1, description="the audit account, e.g. PLANT\\auditor or auditor@plant.local")
    password_env: str | None = None
    password_file: str | None = None
    auth: Literal["negotiate", "ntlm", "kerberos", "credssp", "basic"] = Field(
        default="negotiate", description="authentication as pypsrp offers it (kerberos and credssp need pypsrp's "
                                         "extras)")
    ca_file: str | None = Field(default=None, description="PEM bundle that signs the host's certificate; default: "
                                                          "the system's CAs")
    allow_http: bool = Field(default=False, description="opt-in: plain HTTP (5985); the report flags it")
    path: str = Field(default="wsman", pattern=r"^[A-Za-z0-9_./-]{1,64}$")
    requests_per_second: float = Field(default=5.0, gt=0, le=50, description="WS-Management messages per second")

    @model_validator(mode="before")
    @classmethod
    def _http_port(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("allow_http") is True and "port" not in data:
            return {**data, "port": 5985}
        return data

    @model_validator(mode="after")
    def _password_by_reference(self) -> "WinrmEndpoint":
        if not (self.password_env or self.password_file):
            raise ValueError("a winrm endpoint needs the password by reference: password_env or password_file")
        return self


Endpoint = Annotated[Union[SshEndpoint, CliEndpoint, SnmpEndpoint, ModbusEndpoint, OpcuaEndpoint, S7Endpoint,
                           HttpsEndpoint, WinrmEndpoint],
                     Field(discriminator="protocol")]


class ProtocolLimit(_Strict):
    """Politeness for one protocol: how many endpoints at once, how many new connections per second."""

    concurrency: int | None = Field(default=None, ge=1, le=256, description="endpoints contacted at once")
    connection_rate: float | None = Field(default=None, gt=0, le=1000, description="new connections per second")


class Limits(_Strict):
    """Politeness for the whole scan (inventory ``limits``) or one zone (the zone's ``limits``)."""

    concurrency: int | None = Field(default=None, ge=1, le=256, description="assets scanned at once")
    protocols: dict[str, ProtocolLimit] = Field(default_factory=dict)

    @field_validator("protocols")
    @classmethod
    def _protocol_names(cls, value: dict[str, ProtocolLimit]) -> dict[str, ProtocolLimit]:
        for name in value:
            if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
                raise ValueError(f"{name!r} is not a protocol name (ssh, snmp, modbus, opcua, ...)")
        return value


PROTOCOL_ENDPOINTS: dict[str, type[_EndpointBase]] = {
    "ssh": SshEndpoint, "snmp": SnmpEndpoint, "modbus": ModbusEndpoint, "opcua": OpcuaEndpoint}


class Defaults(_Strict):
    """Endpoint fields per protocol that every endpoint of that protocol gets unless it sets them itself."""

    ssh: dict[str, Any] | None = None
    snmp: dict[str, Any] | None = None
    modbus: dict[str, Any] | None = None
    opcua: dict[str, Any] | None = None

    @field_validator("ssh", "snmp", "modbus", "opcua")
    @classmethod
    def _endpoint_fields(cls, value: dict[str, Any] | None, info: Any) -> dict[str, Any] | None:
        model = PROTOCOL_ENDPOINTS[info.field_name]
        for name in value or {}:
            if name in _INLINE_SECRET_FIELDS:
                raise ValueError(f"inline secret {name!r} is not allowed: give it by reference "
                                 f"({name}_env: VARIABLE or {name}_file: PATH)")
            if name not in model.model_fields or name == "protocol":
                raise ValueError(f"{name!r} is not a field of a {info.field_name} endpoint")
        return value


def _defaults_field() -> Any:
    return Field(default=None, description="endpoint fields per protocol (ssh, snmp, modbus, opcua) that every "
                                           "endpoint of that protocol gets unless it sets them itself")


def _inheritable(protocol: str, fields: Any) -> dict[str, Any]:
    """The fields of a defaults entry an endpoint can take (a wrong one is reported at the defaults, once)."""
    model = PROTOCOL_ENDPOINTS.get(protocol)
    if model is None or not isinstance(fields, dict):
        return {}
    return {k: v for k, v in fields.items() if k in model.model_fields and k != "protocol"}


def apply_defaults(data: dict[str, Any]) -> dict[str, Any]:
    """Every endpoint gets the fields of the inventory's ``defaults`` for its protocol, then its zone's, then
    its own: per field, the endpoint wins over its zone, the zone over the inventory (no deeper merge)."""
    top = data.get("defaults") if isinstance(data.get("defaults"), dict) else {}
    zones = {z.get("id"): z.get("defaults") for z in data.get("zones") or [] if isinstance(z, dict)}
    assets = data.get("assets")
    if not (top or any(isinstance(d, dict) and d for d in zones.values())) or not isinstance(assets, list):
        return data
    new_assets = []
    for asset in assets:
        if not isinstance(asset, dict) or not isinstance(asset.get("endpoints"), list):
            new_assets.append(asset)
            continue
        zone_defaults = zones.get(asset.get("zone"))
        zone_defaults = zone_defaults if isinstance(zone_defaults, dict) else {}
        endpoints = []
        for endpoint in asset["endpoints"]:
            if isinstance(endpoint, dict) and isinstance(endpoint.get("protocol"), str):
                protocol = endpoint["protocol"]
                inherited = {**_inheritable(protocol, top.get(protocol)),
                             **_inheritable(protocol, zone_defaults.get(protocol))}
                endpoint = {**inherited, **endpoint}
            endpoints.append(endpoint)
        new_assets.append({**asset, "endpoints": endpoints})
    return {**data, "assets": new_assets}


def _windows_field() -> Any:
    return Field(default_factory=list, description="maintenance windows: days, start, end, timezone")


class Zone(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    description: str = ""
    jump: str | None = Field(default=None, description="jump host for every ssh endpoint of the zone's assets")
    sl_target: SLVector | None = None
    maintenance_windows: list[MaintenanceWindow] = _windows_field()
    limits: Limits | None = None
    defaults: Defaults | None = _defaults_field()
    exposure: Literal["control", "safety", "dmz", "internet-facing"] | None = Field(
        default=None, description="how exposed the zone is, for the risk rank of findings (default control)")
    scanner: str | None = Field(default=None, pattern=ID_PATTERN,
                                description="distributed scans: the scanner queue whose workers reach this zone")

    @field_validator("maintenance_windows", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return windows_list(value)


ConduitProtocol = Literal["ssh", "cli", "snmp", "modbus", "opcua", "s7", "https", "winrm"]


class Conduit(_Strict):
    """A conduit between zones (IEC 62443-3-2): the zones it joins and the protocols allowed to cross it.

    With the inventory's ``scanner_zone``, a scan reads an asset of another zone only over a protocol some
    conduit between the two zones allows; it never crosses a conduit with anything else.
    """

    id: str = Field(pattern=ID_PATTERN)
    zones: list[str] = Field(min_length=2, description="the zones the conduit joins")
    protocols: list[ConduitProtocol] = Field(default_factory=list, description="protocols allowed to cross")
    description: str = ""

    @field_validator("zones")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        if len(set(value)) != len(value):
            raise ValueError("a conduit joins distinct zones")
        return value

    def joins(self, a: str, b: str) -> bool:
        return a in self.zones and b in self.zones


class Product(_Strict):
    """What the component is, for a vendor's component matrix and the report: all optional."""

    vendor: str | None = Field(default=None, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    model: str | None = Field(default=None, max_length=200)
    firmware: str | None = Field(default=None, max_length=200, description="firmware or software version")

    def as_dict(self) -> dict[str, str]:
        return {key: value for key, value in self.model_dump().items() if value}


class Asset(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    type: ComponentType
    zone: str | None = None
    address: str = Field(min_length=1)
    description: str = ""
    sl_target: SLVector | None = None
    profile: str | None = Field(default=None, description="profile name or file for this asset only")
    product: Product | None = None
    platform: Literal["linux", "windows"] | None = Field(
        default=None, description="host platform (linux or windows); default: what the SSH server's identification "
                                  "shows (OpenSSH for Windows: windows, else linux)")
    criticality: Literal["low", "medium", "high", "critical"] | None = Field(
        default=None, description="what its compromise would cost, for the risk rank of findings (default medium)")
    endpoints: list[Endpoint] = Field(min_length=1)
    maintenance_windows: list[MaintenanceWindow] = Field(
        default_factory=list, description="maintenance windows of this asset; replace its zone's")

    @field_validator("maintenance_windows", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return windows_list(value)

    @model_validator(mode="before")
    @classmethod
    def _winrm_means_windows(cls, data: Any) -> Any:
        """A host reached over WinRM runs Windows: its platform is ``windows`` unless the inventory says otherwise
        (which is then refused below)."""
        if isinstance(data, dict) and data.get("platform") is None and isinstance(data.get("endpoints"), list) and any(
                isinstance(e, dict) and e.get("protocol") == "winrm" for e in data["endpoints"]):
            return {**data, "platform": "windows"}
        return data

    @field_validator("address")
    @classmethod
    def _address_shape(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Za-z0-9_.:%\[\]-]+", value):
            raise ValueError("must be a host name or an IP address")
        return value.strip("[]")

    @model_validator(mode="after")
    def _platform_of_hosts(self) -> "Asset":
        if self.platform is not None and self.type != "host":
            raise ValueError(f"platform: only a host has a platform (this asset is a {self.type})")
        if self.platform != "windows" and self.endpoints_for("winrm"):
            raise ValueError("a winrm endpoint reaches a Windows host: platform must be windows (or left out)")
        return self

    def endpoints_for(self, protocol: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.protocol == protocol]


class Inventory(_Strict):
    site: str = "unnamed site"
    zones: list[Zone] = Field(default_factory=list)
    assets: list[Asset] = Field(min_length=1)
    limits: Limits | None = Field(default=None, description="politeness for the whole scan")
    jump_hosts: list[JumpHost] = Field(default_factory=list, description="jump hosts named by ssh endpoints' "
                                                                         "or zones' jump")
    defaults: Defaults | None = _defaults_field()
    conduits: list[Conduit] = Field(default_factory=list, description="conduits between zones (IEC 62443-3-2)")
    scanner_zone: str | None = Field(default=None, description="the zone the scanner sits in: an asset of another "
                                                               "zone is read only over a protocol a conduit allows")
    scanner: str | None = Field(default=None, pattern=ID_PATTERN,
                                description="distributed scans: the scanner queue of zones that name none")

    @model_validator(mode="before")
    @classmethod
    def _expand_jumps(cls, data: Any) -> Any:
        """Fill endpoints from ``defaults`` (:func:`apply_defaults`), then replace ``jump: ID`` (the endpoint's,
        else its zone's) with that jump host's definition."""
        if not isinstance(data, dict):
            return data
        data = apply_defaults(data)
        # only text ids are looked up (a list where an id belongs is left for validation to report)
        defined = {j["id"]: j for j in _list(data.get("jump_hosts"))
                   if isinstance(j, dict) and isinstance(j.get("id"), str)}
        zones = {z["id"]: z.get("jump") for z in _list(data.get("zones"))
                 if isinstance(z, dict) and isinstance(z.get("id"), str)}
        assets = data.get("assets")
        if not isinstance(assets, list):
            return data
        new_assets = []
        for asset in assets:
            if not isinstance(asset, dict) or not isinstance(asset.get("endpoints"), list):
                new_assets.append(asset)
                continue
            zone_jump = zones.get(asset["zone"]) if isinstance(asset.get("zone"), str) else None
            endpoints = []
            for endpoint in asset["endpoints"]:
                if isinstance(endpoint, dict) and endpoint.get("protocol") in ("ssh", "cli"):
                    jump = endpoint.get("jump", zone_jump)
                    if isinstance(jump, str):
                        parts = [p.strip() for p in jump.split(",")]
                        if any(p in defined for p in parts):
                            jump = [dict(defined[p]) if p in defined else {"spec": p} for p in parts]
                        endpoint = {**endpoint, "jump": jump}
                endpoints.append(endpoint)
            new_assets.append({**asset, "endpoints": endpoints})
        return {**data, "assets": new_assets}

    @model_validator(mode="after")
    def _references(self) -> "Inventory":
        _no_duplicates("zones", [z.id for z in self.zones])
        _no_duplicates("assets", [a.id for a in self.assets])
        zone_ids = {z.id for z in self.zones}
        _no_duplicates("jump_hosts", [j.id for j in self.jump_hosts if j.id])
        jump_ids = {j.id for j in self.jump_hosts}
        for zone in self.zones:
            for part in (zone.jump or "").split(","):
                part = part.strip()
                if part and "@" not in part and part not in jump_ids:
                    raise ValueError(f"zone {zone.id!r} names jump host {part!r}, which is not defined in jump_hosts")
        for asset in self.assets:
            if asset.zone is not None and asset.zone not in zone_ids:
                raise ValueError(f"asset {asset.id!r} names zone {asset.zone!r}, which is not defined in zones")
        _no_duplicates("conduits", [c.id for c in self.conduits])
        for conduit in self.conduits:
            for zone in conduit.zones:
                if zone not in zone_ids:
                    raise ValueError(f"conduit {conduit.id!r} names zone {zone!r}, which is not defined in zones")
        if self.scanner_zone is not None and self.scanner_zone not in zone_ids:
            raise ValueError(f"scanner_zone {self.scanner_zone!r} is not defined in zones")
        return self

    def conduit_refusal(self, asset: "Asset", protocol: str) -> str | None:
        """Why a scan from ``scanner_zone`` may not read ``asset`` over ``protocol``, or None if it may.

        Without ``scanner_zone`` (or for an asset of the scanner's zone, or without a zone) nothing is refused.
        """
        if self.scanner_zone is None or asset.zone is None or asset.zone == self.scanner_zone:
            return None
        joining = [c for c in self.conduits if c.joins(self.scanner_zone, asset.zone)]
        if any(protocol in c.protocols for c in joining):
            return None
        if not joining:
            return (f"no conduit joins the scanner's zone {self.scanner_zone!r} and zone {asset.zone!r}: "
                    f"nothing is sent across")
        return (f"no conduit from the scanner's zone {self.scanner_zone!r} to zone {asset.zone!r} allows {protocol} "
                f"(conduit {', '.join(c.id + ': ' + (', '.join(c.protocols) or 'nothing') for c in joining)})")

    def conduit_for(self, asset: "Asset", protocol: str) -> str | None:
        """The id of the conduit a read of ``asset`` over ``protocol`` crosses (None: none is crossed)."""
        if self.scanner_zone is None or asset.zone is None or asset.zone == self.scanner_zone:
            return None
        return next((c.id for c in self.conduits if c.joins(self.scanner_zone, asset.zone) and protocol in c.protocols),
                    None)

    def zone(self, zone_id: str | None) -> Zone | None:
        return next((z for z in self.zones if z.id == zone_id), None)

    def windows_for(self, asset: Asset) -> list[MaintenanceWindow]:
        """The asset's own maintenance windows, else its zone's (empty: no window, scan any time)."""
        if asset.maintenance_windows:
            return list(asset.maintenance_windows)
        zone = self.zone(asset.zone)
        return list(zone.maintenance_windows) if zone else []


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _no_duplicates(what: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for item in ids:
        if item in seen:
            raise ValueError(f"duplicate {what[:-1]} id {item!r}")
        seen.add(item)


def load_inventory(path: str | Path) -> Inventory:
    """Load and validate an inventory file; any problem raises :class:`ConfigError` (exit 2)."""
    data = load_yaml_file(path)
    if not isinstance(data, dict):
        raise ConfigError.single(path, "", "an inventory must be a mapping with 'site', 'zones' and 'assets'")
    try:
        return Inventory.model_validate(data)
    except ValidationError as exc:
        raise ConfigError.from_validation(path, exc, data).locate(Path(path).read_text(encoding="utf-8")) from None
