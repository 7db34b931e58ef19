"""Evidence for the network configuration pack: which CLI reads a scan makes and how they become facts.

Reads are *logical* (:data:`auditor.protocols.cli.READS`); the connector sends the device's own command
for each and records it in the item's ``meta`` with the platform. Four reads per device:

* ``version`` (``show version``): platform, release, model, serial; parsed with ntc-templates (TextFSM);
* ``running-config`` (``show running-config`` at privilege 15, secrets removed by the connector);
* ``interfaces-status`` (``show interfaces status``): which ports are connected, parsed with ntc-templates;
* ``ssh-status`` (``show ip ssh``): the SSH server's protocol version and login limits.

Hirschmann HiOS answers ``version`` with ``show system info``, ``running-config`` with ``show running-config
script all`` and ``interfaces-status`` with ``show port`` (parsed by the pack's own TextFSM templates in
``templates/``, ntc-templates has none for HiOS); it has no ``ssh-status`` command.

A running configuration read below privilege 15 prints only what the user may configure and may look
almost empty: that is :class:`FactUnavailable` with the fix, never a configuration without findings.
"""

from __future__ import annotations

import functools
import io
import re
import threading
from dataclasses import dataclass
from pathlib import Path

from auditor.evidence import EvidenceItem
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.protocols.cli import PLATFORMS
from auditor.registry import fact, request
from checks.netcli.hios import parse_hios
from checks.netcli.ios import parse_ios
from checks.netcli.model import NetConfig

VERSION = request("cli", "show", "version", name="cli.version")
RUNNING_CONFIG = request("cli", "show", "running-config", name="cli.running-config")
INTERFACES_STATUS = request("cli", "show", "interfaces-status", name="cli.interfaces-status")
SSH_STATUS = request("cli", "show", "ssh-status", name="cli.ssh-status")
SESSION_INFO = request("cli", "session", "info", name="cli.session-info")

_REJECTED = re.compile(r"^\s*(?:% ?(?:Invalid input|Incomplete command|Authorization failed|Ambiguous command)"
                       r"|Error: (?:Invalid command|Permission denied))", re.M)
#: TextFSM templates for platforms ntc-templates has none for (HiOS), beside this module.
TEMPLATES = Path(__file__).resolve().parent / "templates"


def _platform(item: EvidenceItem) -> str:
    platform = item.meta.get("platform")
    if not platform:
        raise FactParseError(f"{item.request.key}: the item does not say which platform answered it")
    return str(platform)


def _accepted(item: EvidenceItem) -> str:
    text = item.text()
    if _REJECTED.search(text):
        raise FactUnavailable(f"the device refused {item.meta.get('command') or item.request.target!r}: "
                              f"{_REJECTED.search(text).group(0).strip()}")
    return text


@functools.cache
def _index() -> tuple[str, object]:
    """ntc-templates' folder and its parsed index (thousands of regular expressions: built once a process)."""
    from textfsm import clitable

    folder = _template_dir()
    return folder, clitable.CliTable("index", folder).index


def _template_dir() -> str:
    """ntc-templates' folder of templates (and of their index)."""
    from ntc_templates.parse import _get_template_dir

    return _get_template_dir()


@functools.lru_cache(maxsize=64)
def _templates(platform: str, command: str) -> tuple[str, ...]:
    """The ntc-templates TextFSM templates (their text) for a platform's command, looked up once.

    ntc-templates names a command's template after its platform and command
    (``cisco_ios_show_version.textfsm``); that file is taken where it exists, and the index (building it compiles
    about 3,000 regular expressions, a few percent of a plant's rescore) is read only for a command without one.
    ``parse_output`` would match the command against the whole index on every call. A test holds every command
    the pack reads to the template the index names."""
    from textfsm import clitable

    named = Path(_template_dir(), f"{platform}_{command.replace(' ', '_')}.textfsm")
    if named.is_file():
        return (named.read_text(encoding="utf-8"),)
    folder, index = _index()
    row = index.GetRowMatch({"Command": command, "Platform": platform})
    if not row:
        raise clitable.CliTableError(f'No template found for attributes: "{command}" on {platform}')
    return tuple(Path(folder, name).read_text(encoding="utf-8") for name in index.index[row]["Template"].split(":"))


_MACHINES = threading.local()


def _rows(template: str, text: str) -> tuple[list[str], list[list[str]]]:
    """``(header, rows)`` of ``text`` parsed by the TextFSM ``template`` (its text). Compiling a template's
    regular expressions cost more than parsing a device's output with them, so each thread keeps the
    compiled machine per template and resets it before each parse (a machine holds its parse state)."""
    import textfsm

    machines = _MACHINES.__dict__.setdefault("by_template", {})
    machine = machines.get(template)
    if machine is None:
        machine = machines[template] = textfsm.TextFSM(io.StringIO(template))
    machine.Reset()
    return machine.header, machine.ParseText(text)


def _parse_textfsm(platform: str, command: str, text: str) -> list[dict[str, str]]:
    """What ``ntc_templates.parse.parse_output`` returns (rows with lower-case column names), by the template
    looked up once; a command with several templates (merged by key) is left to ``parse_output``."""
    templates = _templates(platform, command)
    if len(templates) != 1:
        from ntc_templates.parse import parse_output

        return parse_output(platform=platform, command=command, data=text)
    header, rows = _rows(templates[0], text)
    header = [name.lower() for name in header]
    return [dict(zip(header, row)) for row in rows]


@functools.lru_cache(maxsize=64)
def _own_template_text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _own_template(platform: str, command: str) -> Path | None:
    own = TEMPLATES / f"{platform}_{command.replace(' ', '_')}.textfsm"
    return own if own.is_file() else None


def _textfsm(platform: str, command: str, text: str) -> list[dict[str, str]]:
    """Rows of ``command``'s output: the pack's own template where it has one, else ntc-templates'."""
    try:
        own = _own_template(platform, command)
        if own is not None:
            header, parsed = _rows(_own_template_text(own), text)
            rows = [dict(zip(header, row)) for row in parsed]
        else:
            rows = _parse_textfsm(platform, command, text)
    except Exception as exc:  # TextFSM and ntc-templates raise their own exception types for unknown output
        raise FactParseError(f"{command!r} output does not match the {platform} template: {exc}") from None
    if not isinstance(rows, list):
        raise FactParseError(f"{command!r}: the {platform} template gave no table")
    return rows


@dataclass(frozen=True)
class DeviceVersion:
    platform: str
    version: str
    model: str | None
    image: str | None
    serial: str | None
    uptime: str | None


@fact("cli_version", protocol="cli", requests=[VERSION])
def cli_version(evidence: FactEvidence) -> DeviceVersion:
    """Platform, software release, model and serial number from ``show version``."""
    item = evidence.item(VERSION)
    platform = _platform(item)
    text = _accepted(item)
    if platform == "hirschmann_hios":
        return _hios_version(text)
    if platform != "cisco_ios":
        raise FactParseError(f"no version parser for platform {platform}")
    rows = _textfsm(platform, "show version", text)
    if not rows or not rows[0].get("version"):
        raise FactParseError("show version: no software version found")
    row = rows[0]
    hardware, serial = row.get("hardware") or [None], row.get("serial") or [None]
    return DeviceVersion(platform=platform, version=row["version"], model=hardware[0], image=row.get("running_image"),
                         serial=serial[0], uptime=row.get("uptime"))


def _hios_version(text: str) -> DeviceVersion:
    rows = _textfsm("hirschmann_hios", "show system info", text)
    if not rows or not rows[0].get("VERSION"):
        raise FactParseError("show system info: no 'Firmware software release (RAM)' line")
    row = rows[0]
    return DeviceVersion(platform="hirschmann_hios", version=row["VERSION"], model=row.get("HARDWARE") or None,
                         image=None, serial=row.get("SERIAL") or None, uptime=row.get("UPTIME") or None)


@fact("cli_config", protocol="cli", requests=[RUNNING_CONFIG, INTERFACES_STATUS])
def cli_config(evidence: FactEvidence) -> NetConfig:
    """The running configuration's security settings, with each switch port's state from its status table."""
    config = evidence.item(RUNNING_CONFIG)
    platform = _platform(config)
    text = _accepted(config)
    if platform == "hirschmann_hios":
        if config.meta.get("privileged") is False or not re.search(r"^system name ", text, re.M):
            raise FactUnavailable("the configuration script was read outside the privileged mode or is incomplete: "
                                  "give the audit account a role that may enter `enable` (auditor or higher)")
        return parse_hios(text, _textfsm(platform, "show port", _accepted(evidence.item(INTERFACES_STATUS))))
    if config.meta.get("privileged") is False or not re.search(r"^hostname ", text, re.M):
        raise FactUnavailable("the running configuration was read below privilege 15 and is incomplete: give the "
                              "audit account privilege 15 (read-only by command authorization) or enable_password_env")
    if platform != "cisco_ios":
        raise FactParseError(f"no configuration parser for platform {platform}")
    status = evidence.item(INTERFACES_STATUS)
    rows = _textfsm(platform, "show interfaces status", _accepted(status))
    return parse_ios(text, rows)


@dataclass(frozen=True)
class SshServer:
    version: str          # "2.0", "1.99" (both 1 and 2), "1.5"
    timeout: int | None
    retries: int | None
    min_dh_bits: int | None


@fact("cli_ssh", protocol="cli", requests=[SESSION_INFO, SSH_STATUS])
def cli_ssh(evidence: FactEvidence) -> SshServer:
    """The device's SSH server as it reports itself (``show ip ssh``); on a platform without such a command
    (HiOS), the protocol version its identification string announced to the audit session (``SSH-2.0-...``:
    version 2 only, ``SSH-1.99-...``: 1 and 2), with no login limits."""
    info = evidence.data(SESSION_INFO)
    platform = PLATFORMS.get(str(info.get("platform"))) if isinstance(info, dict) else None
    if platform is not None and platform.command_for("ssh-status") is None:
        announced = re.match(r"SSH-(\d+\.\d+)-", str(info.get("server_version") or ""))
        if announced is None:
            raise FactParseError("the session recorded no SSH identification string to read the version from")
        return SshServer(version=announced.group(1), timeout=None, retries=None, min_dh_bits=None)
    item = evidence.item(SSH_STATUS)
    text = _accepted(item)
    version = re.search(r"SSH Enabled - version (\d+\.\d+)", text)
    if version is None:
        if re.search(r"SSH Disabled", text):
            raise FactParseError("show ip ssh: SSH is disabled, yet the audit session came over SSH")
        raise FactParseError("show ip ssh: no 'SSH Enabled - version' line")
    timeout = re.search(r"Authentication timeout: (\d+) secs", text)
    retries = re.search(r"Authentication retries: (\d+)", text)
    dh = re.search(r"Diffie Hellman key size : (\d+) bits", text)
    return SshServer(version=version.group(1), timeout=int(timeout.group(1)) if timeout else None,
                     retries=int(retries.group(1)) if retries else None, min_dh_bits=int(dh.group(1)) if dh else None)
