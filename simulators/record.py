# One module on purpose: one command-line tool whose SSH, SNMP and device-CLI recorders share the fixture writing and secret scrubbing.
"""Record a real device into a simulator fixture, with the read-only requests the checks need.

::

    python -m simulators.record ssh --host 10.0.0.5 --user auditor --key ~/.ssh/audit_ed25519 \\
        [--port 22] [--known-hosts FILE] [--trust-on-first-use] [--no-sudo] --out simulators/ssh/fixtures/NEW/
    python -m simulators.record snmp --host 10.0.0.2 --version 2c --community-env SW_COMMUNITY \\
        [--probe-default-communities] --out simulators/snmp/fixtures/NEW.yaml
    python -m simulators.record cli --host 10.0.0.3 --user auditor --key ~/.ssh/audit_ed25519 \\
        [--platform cisco_ios] [--enable-password-env SW_ENABLE] --out simulators/netcli/fixtures/NEW/

All go through the real connectors (:class:`connectors.ssh.connector.SshConnector`,
:class:`connectors.snmp.connector.SnmpConnector`, :class:`connectors.netcli.connector.NetcliConnector`), so the device sees exactly what a scan sends: the
requests every registered check of that protocol needs, read-only as always. Nothing else is sent.

**SSH** writes a fixture folder for :class:`simulators.ssh.server.SshSimulator`: ``host.yaml`` (the
transport personality: server version, banner, offered authentication methods and algorithms, sudo)
and one ``<source>.yaml`` per source of requests (``files.yaml``, ``sshd.yaml`` ...), each entry
under ``requests:`` keyed by the request's name, with what the host printed and its exit code. When
sudo worked, the root-only requests are read a second time without sudo, so each entry also says what
a plain user sees (``unprivileged:``). A Windows host (OpenSSH for Windows) is recorded the same way: the
answers of its PowerShell sections go to ``windows.yaml``, each the JSON the section printed. The SSH port is written as ``{port}`` where the sshd, listener
and firewall outputs name it, so the recording can be served on any port. Requests a registered fact
sends but no name has go under ``commands:`` by their text.

**SNMP** writes one fixture file for :class:`simulators.snmp.server.SnmpSimulator`: every object the
GET and walks returned (``objects:``; sysUpTime and hrSystemDate become ``agent.uptime_ticks`` and
``agent.clock_offset_s``, the agent's counters and engine objects stay live), the USM and VACM tables as
the device showed them (served from the fixture: ``agent.fixture_subtrees``), and an ``agent:``
section rebuilt from what the probes saw: the default communities the device answered, v3-only when
it discarded every v1/v2c probe as an unsupported version, and the SNMP access the simulator will grant
the scanner (``--sim-community``, or the v3 user with the simulator's own test keys).

**CLI** writes a fixture folder of a network device for the SSH simulator's CLI mode
(:mod:`simulators.netcli.device`): ``device.yaml`` (the SSH personality, and ``cli:`` with the platform, the
prompt's host name, the privilege the session reached) and one text file per ``show`` command, the running
configuration with its secrets already removed by the connector.

Secrets are never written: not the password, key or passphrase used to log in, not the community or
the SNMPv3 keys (the connectors never record them, and the recording is checked for the resolved
secret values before it is written), and shadow hashes never leave the host in the first place.
Review a recording before committing it: it holds the device's configuration.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import datetime as _dt
import json
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

import yaml

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.inventory import Asset
from auditor.plant.secrets import resolve
from auditor.registry import REGISTRY

__all__ = ["Recording", "main", "record_snmp", "record_ssh", "snmp_fixture", "ssh_fixture"]

#: Test credentials the simulator accepts in place of the device's own (never the device's secrets).
SIM_COMMUNITY = "recorded"
SIM_AUTH_KEY = "simulator-auth-key"
SIM_PRIV_KEY = "simulator-priv-key"


@dataclass
class Recording:
    """What a recording wrote and what it could not keep."""

    files: list[Path] = field(default_factory=list)
    entries: int = 0
    notes: list[str] = field(default_factory=list)
    items: list[EvidenceItem] = field(default_factory=list)   # the evidence the recording was made from


class RecordError(Exception):
    """The device could not be recorded (unreachable, refused, nothing answered)."""


# ----------------------------------------------------------------------------------------- YAML
_BLOCK_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff]")


class _Dumper(yaml.SafeDumper):
    """Command outputs as literal blocks (``|``), readable like the hand-written fixtures, also where PyYAML
    would play safe and quote them (trailing spaces, tabs); :func:`_dump` proves the round trip."""

    def analyze_scalar(self, scalar: str) -> Any:
        analysis = super().analyze_scalar(scalar)
        if "\n" in scalar and not _BLOCK_UNSAFE.search(scalar):
            analysis.allow_block = True
        return analysis


def _represent_str(dumper: yaml.SafeDumper, data: str) -> Any:
    style = "|" if "\n" in data and len(data) > 1 else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


class _Flow(list):  # type: ignore[type-arg]
    """A short list written on one line: ``[publickey, password]``, ``[OctetString, sw-01]``."""


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, lambda dumper, data: dumper.represent_sequence("tag:yaml.org,2002:seq", data,
                                                                               flow_style=True))


def _dump(data: Any) -> str:
    """YAML text that loads back to exactly ``data`` (else PyYAML's own, always exact, quoting)."""
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    if yaml.safe_load(text) != data:
        text = yaml.safe_dump(_plain(data), sort_keys=False, allow_unicode=True, width=120, default_flow_style=False)
    return text


def _plain(data: Any) -> Any:
    if isinstance(data, dict):
        return {k: _plain(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_plain(v) for v in data]
    return data


def _header(lines: Iterable[str]) -> str:
    return "".join(f"# {line}\n" if line else "#\n" for line in lines)


def _scrub(text: str, secrets: Sequence[str], where: str, notes: list[str]) -> str:
    """Never write a secret the recording used, even if the device printed it somewhere."""
    for secret in secrets:
        if secret and secret in text:
            text = text.replace(secret, "<redacted>")
            notes.append(f"{where}: a secret used for the recording appeared in the output and was redacted")
    return text


def _write(out: Path, files: dict[str, str], recording: Recording, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise RecordError(f"{out} exists and is not a folder")
    out.mkdir(parents=True, exist_ok=True)
    clashes = [name for name in files if (out / name).exists()]
    if clashes and not force:
        raise RecordError(f"{out} already holds {', '.join(clashes)}; use --force to overwrite")
    for name, text in files.items():
        (out / name).write_text(text, encoding="utf-8")
        recording.files.append(out / name)


def _stamp() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


# ----------------------------------------------------------------------------------------- SSH
#: Where an output names the audited SSH port, by request name prefix: written as {port} there, so the
#: recording can be served on any port (and nowhere else: a time stamp "08:00:22" keeps its 22).
_PORT_CONTEXTS: dict[tuple[str, ...], tuple[str, ...]] = {
    ("sshd.",): (r"(?im)(^[ \t]*port[ \t]+){port}(?!\d)",          # sshd -T, sshd_config: "port 22"
                 r"(?im)(^[ \t]*listenaddress[ \t]+\S*:){port}(?!\d)",  # sshd -T: "listenaddress 0.0.0.0:22"
                 r"(sshd\S*[ \t][^\n]*?-p[ \t]?){port}(?!\d)"),        # a daemon's command line: "sshd -D -p 22"
    ("network.listeners",): (r"(:){port}(?=[ \t])",),                # ss -ltnu local addresses: "0.0.0.0:22 "
    ("firewall.", "files.dump"): (r"(\bdport[ \t]+){port}(?!\d)",    # nft (ruleset and nftables.conf)
                                  r"(--dport[ \t]+){port}(?!\d)"),    # iptables -S, ufw's rules files
}


def port_placeholders(text: str, port: int, name: str | None) -> str:
    """``text`` of request ``name`` with the audited port replaced by ``{port}`` where sshd, ss and the
    firewall name it."""
    for prefixes, patterns in _PORT_CONTEXTS.items():
        if name is None or not name.startswith(prefixes):
            continue
        for pattern in patterns:
            text = re.sub(pattern.format(port=port), lambda m: m.group(1) + "{port}", text)
    return text


def _host_key_type(name: str | None, notes: list[str]) -> str:
    if name and ("rsa" in name):
        return "rsa"
    if name and not name.startswith("ecdsa"):
        notes.append(f"host key type {name} is served as ecdsa (the simulator offers ecdsa or rsa host keys)")
    return "ecdsa"


def _algorithms(offered: list[str] | None, category: str, notes: list[str]) -> list[str] | None:
    from simulators.ssh.server import SUPPORTED

    if not offered:
        return None
    kept = [a for a in offered if a in SUPPORTED[category]]
    dropped = [a for a in offered if a not in SUPPORTED[category] and not a.startswith(("ext-info-", "kex-strict-"))]
    if dropped:
        notes.append(f"{category}: the simulator cannot offer {', '.join(dropped)} (left out)")
    return kept or None


def ssh_fixture(items: Sequence[EvidenceItem], unprivileged: Sequence[EvidenceItem] = (), *, port: int,
                hostname: str, source: str = "", secrets: Sequence[str] = (), notes: list[str] | None = None
                ) -> dict[str, str]:
    """The files of an SSH fixture folder (name -> YAML text) for the items one collection produced.

    ``unprivileged`` holds the same root-only requests read without sudo (their ``unprivileged:`` answers).
    """
    notes = notes if notes is not None else []
    registry = REGISTRY.load()
    by_key = {item.request.key: item for item in items}
    plain = {item.request.key: item for item in unprivileged}
    session = by_key.get("ssh:session:info")
    info: dict[str, Any] = session.data() if session is not None and session.status == "ok" else {}
    wire_item = by_key.get("ssh:wire:kexinit")
    wire: dict[str, Any] = wire_item.data() if wire_item is not None and wire_item.status == "ok" else {}

    def answer(item: EvidenceItem, name: str | None, where: str) -> dict[str, Any] | None:
        if item.exit_code is None:
            notes.append(f"{where}: not recorded ({item.error or 'no exit code'})")
            return None
        if item.meta.get("truncated"):
            notes.append(f"{where}: output truncated to {item.meta.get('kept_bytes')} bytes")
        text = _scrub(port_placeholders(item.text(), port, name), secrets, where, notes)
        return {"stdout": text, "exit": item.exit_code}

    by_source: dict[str, dict[str, Any]] = {}
    by_text: dict[str, Any] = {}
    for item in items:
        req = item.request
        if req.protocol != "ssh" or req.op not in ("exec", "powershell"):
            continue
        name = registry.request_name(req)
        entry = answer(item, name, name or req.target[:60])
        if entry is None:
            continue
        other = plain.get(req.key)
        if other is not None and bool(item.meta.get("sudo")):
            unprivileged_answer = answer(other, name, f"{name or req.target[:60]} (without sudo)")
            if unprivileged_answer is not None and unprivileged_answer != entry:
                entry["unprivileged"] = unprivileged_answer
        if name is None:
            by_text[req.target] = entry
        else:
            by_source.setdefault(name.split(".")[0], {})[name] = entry

    host: dict[str, Any] = {"hostname": hostname}
    version = info.get("server_version") or wire.get("identification")
    if isinstance(version, str) and version.startswith("SSH-2.0-"):
        host["version"] = version
    host["sudo"] = bool(info.get("sudo"))
    host["banner"] = info.get("banner")
    methods = [m for m in info.get("auth_methods") or [] if m in ("publickey", "password")]
    if "keyboard-interactive" in (info.get("auth_methods") or []):
        notes.append("keyboard-interactive is offered by the host but not by the simulator")
    host["auth_methods"] = _Flow(methods or ["publickey"])
    for category, fields in (("kex", ("kex_algorithms",)),
                             ("ciphers", ("encryption_algorithms_server_to_client",)),
                             ("macs", ("mac_algorithms_server_to_client",))):
        kept = _algorithms(wire.get(fields[0]), category, notes)
        if kept:
            host[category] = _Flow(kept)
    host["host_key_type"] = _host_key_type(info.get("host_key_type"), notes)

    intro = [f"Recorded with `python -m simulators.record ssh` from {source or hostname} on {_stamp()}.",
             "Read-only requests of the registered checks; the SSH port is written as {port}."]
    files = {"host.yaml": _header([*intro, "Transport personality; the answers are in the other files."])
             + _dump({"host": host})}
    for source_name, entries in sorted(by_source.items()):
        files[f"{source_name}.yaml"] = _header([*intro, f"Answers to the {source_name}.* requests, by name."]) + \
            _dump({"requests": dict(sorted(entries.items()))})
    if by_text:
        files["commands.yaml"] = _header([*intro, "Requests without a name, by their exact text."]) + \
            _dump({"commands": by_text})
    return files


def _ssh_requests() -> list[EvidenceRequest]:
    registry = REGISTRY.load()
    return list(registry.requests_for(registry.checks.values()).get("ssh", []))


def _secrets_of(endpoint: Any, *names: str) -> list[str]:
    values = []
    for name in names:
        try:
            value = resolve(getattr(endpoint, f"{name}_env", None), getattr(endpoint, f"{name}_file", None))
        except Exception:
            value = None
        if value and len(value) >= 4:
            values.append(value)
    return values


def record_ssh(asset: Asset, out: Path, *, options: Any = None, hostname: str | None = None,
               force: bool = False) -> Recording:
    """Collect the SSH requests of every registered check from ``asset`` and write a fixture folder."""
    from connectors.base import ConnectorError, ScanOptions
    from connectors.ssh.connector import SshConnector

    options = options or ScanOptions()
    endpoint = next(e for e in asset.endpoints if e.protocol == "ssh")
    requests = _ssh_requests()
    recording = Recording()
    try:
        items = recording.items = asyncio.run(SshConnector(asset, endpoint, options).collect(requests))
        info = next((i.data() for i in items if i.request.key == "ssh:session:info" and i.status == "ok"), {})
        unprivileged: list[EvidenceItem] = []
        root_only = [r for r in requests if r.op == "exec" and r.option("sudo")]
        if info.get("sudo") and root_only:
            plain_options = dataclasses.replace(options, use_sudo=False)
            unprivileged = asyncio.run(SshConnector(asset, endpoint, plain_options).collect(root_only))
    except ConnectorError as exc:
        raise RecordError(f"cannot record {asset.address}:{endpoint.port}: {exc}") from None
    files = ssh_fixture(items, unprivileged, port=endpoint.port, hostname=hostname or asset.address,
                        source=f"{asset.address}:{endpoint.port}",
                        secrets=_secrets_of(endpoint, "password", "key_passphrase"), notes=recording.notes)
    _write(out, files, recording, force)
    from simulators.ssh.server import load_fixture

    fixture = load_fixture(out)  # what was written loads, and every name is a registered request's
    recording.entries = len(fixture.requests) + len(fixture.commands)
    return recording


# ----------------------------------------------------------------------------------------- SNMP
_LIVE = ("1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.25.1.2.0")            # sysUpTime.0, hrSystemDate.0: agent settings
_ENGINE = ("1.3.6.1.2.1.11.", "1.3.6.1.6.3.")                     # the agent's own MIB: served live by the engine
_KEPT_UNDER_ENGINE = ("1.3.6.1.2.1.11.30.0",)                     # snmpEnableAuthenTraps: configuration, not state
_TARGETS = "1.3.6.1.6.3.12."                                      # SNMP-TARGET-MIB: configured trap receivers
_USM, _VACM = "1.3.6.1.6.3.15", "1.3.6.1.6.3.16"
_SIMULATOR_TYPES = {"OctetString", "Integer", "Counter32", "Gauge32", "TimeTicks", "Counter64", "ObjectIdentifier",
                    "IpAddress"}


def _fixture_value(row: dict[str, Any]) -> list[Any] | None:
    kind = row.get("type")
    if kind not in _SIMULATOR_TYPES:
        return None
    if kind == "OctetString":
        return ["OctetString", row["value"]] if row.get("value") is not None else ["Hex", row.get("hex", "")]
    if kind == "IpAddress" and row.get("value") is None:
        return None
    return [kind, row.get("value")]


def _date_and_time(raw: bytes) -> _dt.datetime | None:
    """SNMPv2-TC DateAndTime (8 or 11 octets) as a UTC datetime."""
    if len(raw) not in (8, 11):
        return None
    try:
        moment = _dt.datetime(raw[0] * 256 + raw[1], raw[2], raw[3], raw[4], raw[5], min(raw[6], 59),
                              raw[7] * 100000, tzinfo=_dt.timezone.utc)
    except ValueError:
        return None
    if len(raw) == 11 and raw[8] in (ord("+"), ord("-")):
        offset = _dt.timedelta(hours=raw[9], minutes=raw[10])
        moment = moment - offset if raw[8] == ord("+") else moment + offset
    return moment


def snmp_fixture(items: Sequence[EvidenceItem], *, source: str = "", sim_community: str = SIM_COMMUNITY,
                 secrets: Sequence[str] = (), notes: list[str] | None = None) -> str:
    """The YAML text of an SNMP simulator fixture for the items one collection produced."""
    notes = notes if notes is not None else []
    by_key = {item.request.key: item for item in items}
    session = by_key.get("snmp:session:info")
    info: dict[str, Any] = session.data() if session is not None and session.status == "ok" else {}
    objects: dict[str, list[Any]] = {}
    agent: dict[str, Any] = {}
    walked_complete: set[str] = set()
    description = None
    for item in items:
        req = item.request
        if req.protocol != "snmp" or req.op not in ("get", "walk") or item.encoding != "json":
            continue
        data = item.data()
        if not isinstance(data, dict):
            continue
        if data.get("skipped"):
            continue
        if req.op == "walk" and data.get("complete"):
            walked_complete.update(str(r) for r in data.get("roots") or [])
        elif req.op == "walk":
            notes.append(f"{REGISTRY.request_name(req) or req.target[:60]}: the walk stopped early "
                         f"({item.error or 'incomplete'}); the rows read are kept")
        for row in data.get("varbinds" if req.op == "get" else "rows") or []:
            oid = str(row.get("oid", ""))
            if oid == "1.3.6.1.2.1.1.3.0" and row.get("type") == "TimeTicks":
                agent["uptime_ticks"] = int(row["value"])
                continue
            if oid == "1.3.6.1.2.1.25.1.2.0" and row.get("hex"):
                device = _date_and_time(bytes.fromhex(row["hex"]))
                if device is not None:
                    agent["clock_offset_s"] = round((device - item.collected_at).total_seconds())
                continue
            if oid in _LIVE or (oid.startswith(_ENGINE) and oid not in _KEPT_UNDER_ENGINE
                                and not oid.startswith((_USM + ".", _VACM + ".", _TARGETS))):
                continue
            value = _fixture_value(row)
            if value is None:
                if row.get("type") not in ("noSuchObject", "noSuchInstance", "endOfMibView", "Null"):
                    notes.append(f"{oid}: {row.get('type')} values cannot be served by the simulator (left out)")
                continue
            if isinstance(value[1], str):
                value[1] = _scrub(value[1], secrets, oid, notes)
            if oid == "1.3.6.1.2.1.1.1.0" and value[0] == "OctetString":
                description = value[1]
            objects[oid] = _Flow(value)

    # who may talk to the simulator: the default communities the device answered, and the scanner's access
    probe = by_key.get("snmp:probe:default-communities")
    probe_data = probe.data() if probe is not None and probe.status == "ok" else {}
    versions: dict[str, set[str]] = {}
    for result in probe_data.get("results") or []:
        if result.get("outcome") == "answered" and result.get("community") not in (None, "configured"):
            versions.setdefault(result["community"], set()).add(str(result.get("version")))
    communities = [{"name": name, "security_name": f"sec-{name}", "versions": _Flow(sorted(v)), "write": False}
                   for name, v in sorted(versions.items())]
    version = str(info.get("version") or "")
    if version in ("1", "2c"):
        own = info.get("community") if info.get("community") not in (None, "configured", "other") else sim_community
        if own not in versions:
            communities.append({"name": own, "security_name": f"sec-{own}", "versions": _Flow(["1", "2c"]),
                                "write": False})
    users = []
    if version == "3" and info.get("username"):
        level = info.get("security_level") or "authPriv"
        user: dict[str, Any] = {"name": info["username"], "level": level}
        if level in ("authNoPriv", "authPriv"):
            user.update(auth=(info.get("auth_protocol") or "SHA").upper(), auth_key=SIM_AUTH_KEY)
        if level == "authPriv":
            user.update(priv=(info.get("priv_protocol") or "AES").upper(), priv_key=SIM_PRIV_KEY)
        users.append(user)
    counters = (probe_data.get("counters_before") or {}), (probe_data.get("counters_after") or {})
    sent = sum(1 for r in probe_data.get("results") or [] if r.get("via") != "audit session")
    bad_versions = (counters[1].get("snmpInBadVersions") or 0) - (counters[0].get("snmpInBadVersions") or 0)
    v3_only = bool(probe_data.get("enabled")) and not versions and version == "3" and sent > 0 and bad_versions >= sent
    agent = {"v3_only": v3_only, "communities": communities, "users": users, **agent,
             "fixture_subtrees": [t for t in (_USM, _VACM)
                                  if any(root.startswith(t + ".") for root in walked_complete)]}
    if not probe_data.get("enabled"):
        notes.append("the default-community probe was off: the recording accepts only the scanner's own access "
                     "(record with --probe-default-communities to keep which default communities answer)")
    fixture = {"description": description or f"recorded from {source}", "agent": agent,
               "objects": dict(sorted(objects.items(), key=lambda kv: tuple(int(p) for p in kv[0].split("."))))}
    intro = [f"Recorded with `python -m simulators.record snmp` from {source} on {_stamp()}.",
             "objects: what the device answered to the GET and walks of the registered checks (the USM and VACM",
             "tables as the device showed them, served from here: agent.fixture_subtrees).",
             f"agent: rebuilt from the probes; the simulator accepts the scanner with community '{sim_community}' or",
             f"the v3 user with the simulator's test keys ({SIM_AUTH_KEY}/{SIM_PRIV_KEY}), never the device's secrets."]
    return _header(intro) + _dump(fixture)


def _snmp_requests() -> list[EvidenceRequest]:
    registry = REGISTRY.load()
    return list(registry.requests_for(registry.checks.values()).get("snmp", []))


def record_snmp(asset: Asset, out: Path, *, options: Any = None, sim_community: str = SIM_COMMUNITY,
                force: bool = False) -> Recording:
    """Collect the SNMP requests of every registered check from ``asset`` and write a fixture file."""
    from connectors.base import ConnectorError, ScanOptions
    from connectors.snmp.connector import SnmpConnector

    options = options or ScanOptions()
    endpoint = next(e for e in asset.endpoints if e.protocol == "snmp")
    recording = Recording()
    try:
        items = recording.items = asyncio.run(SnmpConnector(asset, endpoint, options).collect(_snmp_requests()))
    except ConnectorError as exc:
        raise RecordError(f"cannot record {asset.address}:{endpoint.port}: {exc}") from None
    text = snmp_fixture(items, source=f"{asset.address}:{endpoint.port}", sim_community=sim_community,
                        secrets=_secrets_of(endpoint, "community", "auth_key", "priv_key"), notes=recording.notes)
    if out.exists() and not force:
        raise RecordError(f"{out} exists; use --force to overwrite")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    recording.files.append(out)
    recording.entries = len(yaml.safe_load(text)["objects"])
    return recording


# ----------------------------------------------------------------------------------------- device CLI
def record_cli(asset: Asset, out: Path, *, options: Any = None, force: bool = False) -> Recording:
    """Collect the CLI reads of every registered check from ``asset`` and write a CLI fixture folder."""
    from auditor.registry import REGISTRY
    from connectors.base import ConnectorError, ScanOptions
    from connectors.netcli.connector import NetcliConnector

    endpoint = next(e for e in asset.endpoints if e.protocol == "cli")
    requests = REGISTRY.load().requests_for(REGISTRY.checks.values()).get("cli", [])
    recording = Recording()
    try:
        items = recording.items = asyncio.run(NetcliConnector(asset, endpoint, options or ScanOptions()).collect(
            requests))
    except ConnectorError as exc:
        raise RecordError(f"cannot record {asset.address}:{endpoint.port}: {exc}") from None
    info = next(i.data() for i in items if i.request.op == "session")
    secrets = _secrets_of(endpoint, "password", "key_passphrase", "enable_password")
    files: dict[str, str] = {}
    answers: dict[str, Any] = {}
    for item in items:
        command = item.meta.get("command")
        if item.request.op != "show" or item.status != "ok" or not command:
            if item.request.op == "show":
                recording.notes.append(f"{item.request.target}: not recorded ({item.error})")
            continue
        name = f"{item.request.target}.txt"
        files[name] = _scrub(item.text(), secrets, name, recording.notes)
        answers[command] = {"file": name, **({"privilege": 15} if item.request.target == "running-config" else {})}
    if not answers:
        raise RecordError(f"{asset.address}: the device answered none of the reads")
    # the prompt's name: HiOS prints it in parentheses, "(RSP-cell-04)#", the simulator adds them back
    hostname = (info.get("prompt") or "").strip("()") if info.get("platform") == "hirschmann_hios" \
        else info.get("prompt")
    device = {
        "host": {"hostname": hostname or asset.address, "version": info.get("server_version"),
                 "auth_methods": [m for m in info.get("auth_methods", []) if m in ("publickey", "password")]
                 or ["publickey"]},
        "cli": {"platform": info.get("platform"), "hostname": hostname or asset.address,
                "privilege": 15 if info.get("privileged") else 1, "answers": answers},
    }
    header = (f"# Recorded from {asset.address}:{endpoint.port} on {_stamp()} by simulators/record.py (cli).\n"
              "# Review before committing: the text files hold the device's configuration (secrets removed).\n")
    files["device.yaml"] = header + yaml.safe_dump(device, sort_keys=False)
    _write(out, files, recording, force)
    from simulators.ssh.server import load_fixture

    recording.entries = len(load_fixture(out).cli.answers)  # what was written loads as a CLI fixture
    return recording


# ----------------------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators.record", description=__doc__.split("\n\n")[0])
    kinds = parser.add_subparsers(dest="kind", required=True)
    ssh = kinds.add_parser("ssh", help="record a Linux host over SSH into a fixture folder")
    ssh.add_argument("--host", required=True)
    ssh.add_argument("--port", type=int, default=22)
    ssh.add_argument("--user", required=True)
    ssh.add_argument("--key", help="private key file")
    ssh.add_argument("--key-passphrase-env", help="environment variable holding the key's passphrase")
    ssh.add_argument("--password-env", help="environment variable holding the password")
    ssh.add_argument("--password-file", help="file holding the password")
    ssh.add_argument("--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)")
    ssh.add_argument("--trust-on-first-use", action="store_true", help="record an unknown host key")
    ssh.add_argument("--no-sudo", action="store_true", help="do not try sudo -n for the root-only reads")
    ssh.add_argument("--hostname", help="host name written into the fixture (default: --host)")
    ssh.add_argument("--timeout", type=float, default=10.0, help="seconds for connect and authentication")
    ssh.add_argument("--command-timeout", type=float, default=120.0, help="seconds for all commands together")
    ssh.add_argument("--out", required=True, type=Path, help="fixture folder to write")
    ssh.add_argument("--force", action="store_true", help="overwrite files already in --out")
    snmp = kinds.add_parser("snmp", help="record a network device over SNMP into a fixture file")
    snmp.add_argument("--host", required=True)
    snmp.add_argument("--port", type=int, default=161)
    snmp.add_argument("--version", choices=("1", "2c", "3"), default="3")
    for name in ("community", "auth-key", "priv-key"):
        snmp.add_argument(f"--{name}-env", help=f"environment variable holding the {name.replace('-', ' ')}")
        snmp.add_argument(f"--{name}-file", help=f"file holding the {name.replace('-', ' ')}")
    snmp.add_argument("--user", help="SNMPv3 user")
    snmp.add_argument("--auth-protocol", help="SNMPv3 authentication protocol (MD5, SHA, SHA256 ...)")
    snmp.add_argument("--priv-protocol", help="SNMPv3 privacy protocol (DES, AES, AES256 ...)")
    snmp.add_argument("--probe-default-communities", action="store_true",
                      help="also try the public default communities, slowly (one GET a second)")
    snmp.add_argument("--requests-per-second", type=float, default=10.0)
    snmp.add_argument("--timeout", type=float, default=5.0)
    snmp.add_argument("--sim-community", default=SIM_COMMUNITY,
                      help="v1/v2c community the simulator serving the recording accepts")
    snmp.add_argument("--out", required=True, type=Path, help="fixture file to write (.yaml)")
    snmp.add_argument("--force", action="store_true", help="overwrite --out")
    cli = kinds.add_parser("cli", help="record a switch or router over its CLI (SSH) into a fixture folder")
    cli.add_argument("--host", required=True)
    cli.add_argument("--port", type=int, default=22)
    cli.add_argument("--user", required=True)
    cli.add_argument("--key", help="private key file")
    cli.add_argument("--password-env", help="environment variable holding the password")
    cli.add_argument("--enable-password-env", help="environment variable holding the enable secret")
    cli.add_argument("--platform", default="auto", help="cisco_ios, cisco_xe, hirschmann_hios or auto")
    cli.add_argument("--known-hosts", help="known_hosts file (default ~/.ssh/known_hosts)")
    cli.add_argument("--trust-on-first-use", action="store_true", help="record an unknown host key")
    cli.add_argument("--timeout", type=float, default=10.0, help="seconds for connect and authentication")
    cli.add_argument("--out", required=True, type=Path, help="fixture folder to write")
    cli.add_argument("--force", action="store_true", help="overwrite files already in --out")
    return parser


def _asset(address: str, endpoint: dict[str, Any]) -> Asset:
    endpoint = {k: v for k, v in endpoint.items() if v is not None}
    kind = "host" if endpoint["protocol"] == "ssh" else "network"  # snmp and cli: a switch or router
    return Asset.model_validate({"id": "recording", "type": kind, "address": address, "endpoints": [endpoint]})


def main(argv: Sequence[str] | None = None) -> int:
    from connectors.base import ScanOptions

    args = _parser().parse_args(argv)
    try:
        if args.kind == "ssh":
            asset = _asset(args.host, {
                "protocol": "ssh", "port": args.port, "username": args.user, "key_file": args.key,
                "key_passphrase_env": args.key_passphrase_env, "password_env": args.password_env,
                "password_file": args.password_file, "known_hosts": args.known_hosts, "sudo": not args.no_sudo,
                "timeout": args.timeout})
            options = ScanOptions(trust_on_first_use=args.trust_on_first_use, use_sudo=not args.no_sudo,
                                  command_timeout=args.command_timeout, ssh_key_file=args.key)
            recording = record_ssh(asset, args.out, options=options, hostname=args.hostname, force=args.force)
        elif args.kind == "cli":
            asset = _asset(args.host, {
                "protocol": "cli", "port": args.port, "username": args.user, "key_file": args.key,
                "password_env": args.password_env, "enable_password_env": args.enable_password_env,
                "platform": args.platform, "known_hosts": args.known_hosts, "timeout": args.timeout})
            recording = record_cli(asset, args.out, options=ScanOptions(trust_on_first_use=args.trust_on_first_use),
                                   force=args.force)
        else:
            asset = _asset(args.host, {
                "protocol": "snmp", "port": args.port, "version": args.version, "username": args.user,
                "community_env": args.community_env, "community_file": args.community_file,
                "auth_protocol": args.auth_protocol, "auth_key_env": args.auth_key_env,
                "auth_key_file": args.auth_key_file, "priv_protocol": args.priv_protocol,
                "priv_key_env": args.priv_key_env, "priv_key_file": args.priv_key_file,
                "probe_default_communities": args.probe_default_communities,
                "requests_per_second": args.requests_per_second, "timeout": args.timeout})
            recording = record_snmp(asset, args.out, options=ScanOptions(), sim_community=args.sim_community,
                                    force=args.force)
    except (RecordError, ValueError) as exc:
        print(f"record: {exc}", file=sys.stderr)
        return 2
    for note in recording.notes:
        print(f"note: {note}", file=sys.stderr)
    print(json.dumps({"files": [str(p) for p in recording.files], "entries": recording.entries}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
