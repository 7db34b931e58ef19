"""Ansible inventories (INI or YAML) -> an inventory of SSH hosts, groups -> zones, group vars -> defaults.

What is read: hosts (with ``name[01:20]`` ranges), groups, ``:children`` and ``:vars`` (INI) or ``hosts``,
``children`` and ``vars`` (YAML), and of the variables only ``ansible_host``, ``ansible_user``,
``ansible_port`` and ``ansible_ssh_private_key_file`` (and their ``ansible_ssh_*`` spellings). Variables
merge as Ansible merges them (``all``, then parent groups, then child groups, then the host).

What it becomes: one ``host`` asset with one ``ssh`` endpoint per Ansible host; a zone per group that
lists hosts itself (a host in several groups goes to the first); ``all``'s variables become the
inventory's ``defaults.ssh``, a group's own the zone's ``defaults.ssh``, and only what differs stays on
the endpoint. Passwords in the inventory are never copied (secrets are given by reference), templated
values (``{{ ... }}``) are left out, and hosts Ansible does not reach over SSH (``ansible_connection``
local, winrm, network_cli, ...) are skipped; each omission is a note in the output's header.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.errors import ConfigError
from auditor.safeload import load_yaml_file
from auditor.plant.importers import Imported, safe_id

FIELDS = {"ansible_user": "username", "ansible_ssh_user": "username", "ansible_port": "port",
          "ansible_ssh_port": "port", "ansible_ssh_private_key_file": "key_file",
          "ansible_private_key_file": "key_file"}
ADDRESS_VARS = ("ansible_host", "ansible_ssh_host")
SECRET_VARS = ("ansible_password", "ansible_ssh_pass", "ansible_become_password", "ansible_become_pass",
               "ansible_sudo_pass", "ansible_ssh_private_key_passphrase")
SSH_CONNECTIONS = {None, "ssh", "smart", "paramiko", "paramiko_ssh"}


@dataclass
class _Group:
    hosts: dict[str, dict[str, Any]] = field(default_factory=dict)  # host -> its own vars, in file order
    vars: dict[str, Any] = field(default_factory=dict)
    children: list[str] = field(default_factory=list)


def import_ansible(path: str | Path) -> Imported:
    path = Path(path)
    text = _read(path)
    groups = _parse_yaml(path) if _looks_like_yaml(path, text) else _parse_ini(path, text)
    return _inventory(groups, path.name)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError.single(path, "", "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError.single(path, "", f"cannot read: {exc}") from None


def _looks_like_yaml(path: Path, text: str) -> bool:
    if path.suffix.lower() in (".yml", ".yaml"):
        return True
    first = next((line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")),
                 "")
    return first == "---" or (first.endswith(":") and not first.startswith("["))


# ---------------------------------------------------------------------------------------------- INI
def _parse_ini(path: Path, text: str) -> dict[str, _Group]:
    groups: dict[str, _Group] = {"all": _Group(), "ungrouped": _Group()}
    name, kind = "ungrouped", "hosts"
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        header = re.fullmatch(r"\[([^\]:]+)(?::(vars|children))?\]", line)
        if header:
            name, kind = header.group(1).strip(), header.group(2) or "hosts"
            groups.setdefault(name, _Group())
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise ConfigError.single(path, f"line {number}", f"cannot parse: {exc}") from None
        if not words:
            continue
        group = groups[name]
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise ConfigError.single(path, f"line {number}", "expected key=value in a :vars section")
            try:
                parts = shlex.split(value, comments=True)
            except ValueError as exc:
                raise ConfigError.single(path, f"line {number}", f"cannot parse: {exc}") from None
            group.vars[key.strip()] = _scalar(parts[0] if parts else "")  # "key=" or "key= # note": empty
        elif kind == "children":
            group.children.append(words[0])
            groups.setdefault(words[0], _Group())
        else:
            host_vars = {}
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep:
                    raise ConfigError.single(path, f"line {number}", f"expected key=value, got {word!r}")
                host_vars[key] = _scalar(value)
            try:
                hosts = _expand(words[0])
            except ValueError as exc:
                raise ConfigError.single(path, f"line {number}", str(exc)) from None
            for host in hosts:
                group.hosts.setdefault(host, {}).update(host_vars)
    return groups


def _scalar(value: str) -> Any:
    return int(value) if re.fullmatch(r"\d+", value) else value


MAX_EXPANDED_HOSTS = 10_000  # hosts one pattern may expand to (ranges multiply: a[1:99]-[1:99]-[1:99])
_RANGE = re.compile(r"\[([0-9]+|[a-z]):([0-9]+|[a-z])(?::([0-9]+))?\]")


def _expand(pattern: str) -> list[str]:
    """Ansible's host ranges: ``web[01:03].x`` -> web01.x, web02.x, web03.x; ``db-[a:c]`` -> db-a, db-b, db-c.
    ValueError for a step of 0 or a pattern expanding to more than :data:`MAX_EXPANDED_HOSTS` hosts."""
    total = 1
    for match in _RANGE.finditer(pattern):
        start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
        if step == 0:
            raise ValueError(f"host range {match.group(0)} has a step of 0")
        if not (start.isdigit() and end.isdigit()) and max(len(start), len(end)) > 1:
            raise ValueError(f"host range {match.group(0)} mixes numbers and letters")
        low, high = (int(start), int(end)) if start.isdigit() and end.isdigit() else (ord(start[0]), ord(end[0]))
        total *= max(0, (high - low) // step + 1)
        if total > MAX_EXPANDED_HOSTS:
            raise ValueError(f"host pattern {pattern[:80]!r} expands to more than {MAX_EXPANDED_HOSTS:,} hosts")
    return _expanded(pattern)


def _expanded(pattern: str) -> list[str]:
    match = _RANGE.search(pattern)
    if not match:
        return [pattern]
    start, end, step = match.group(1), match.group(2), int(match.group(3) or 1)
    head, tail = pattern[:match.start()], pattern[match.end():]
    if start.isdigit() and end.isdigit():
        width = len(start) if start.startswith("0") else 0
        values = [str(i).zfill(width) for i in range(int(start), int(end) + 1, step)]
    else:
        values = [chr(c) for c in range(ord(start), ord(end) + 1, step)]
    return [expanded for value in values for expanded in _expanded(head + value + tail)]


# --------------------------------------------------------------------------------------------- YAML
def _parse_yaml(path: Path) -> dict[str, _Group]:
    data = load_yaml_file(path, "an Ansible inventory")
    if not isinstance(data, dict):
        raise ConfigError.single(path, "", "an Ansible YAML inventory is a mapping of groups (usually 'all')")
    groups: dict[str, _Group] = {"all": _Group(), "ungrouped": _Group()}

    def visit(name: str, body: Any, where: str) -> None:
        group = groups.setdefault(name, _Group())
        if body is None:
            return
        if not isinstance(body, dict):
            raise ConfigError.single(path, where, "a group is a mapping with hosts, vars and children")
        for part in ("hosts", "vars", "children"):
            if not isinstance(body.get(part) or {}, dict):
                raise ConfigError.single(path, f"{where}.{part}", f"{part} is a mapping, not "
                                                                  f"{type(body[part]).__name__}")
        for host, host_vars in (body.get("hosts") or {}).items():
            if host_vars is not None and not isinstance(host_vars, dict):
                raise ConfigError.single(path, f"{where}.hosts.{host}", "a host's value is a mapping of variables")
            try:
                hosts = _expand(str(host))
            except ValueError as exc:
                raise ConfigError.single(path, f"{where}.hosts", str(exc)) from None
            for expanded in hosts:
                group.hosts.setdefault(expanded, {}).update(host_vars or {})
        group.vars.update(body.get("vars") or {})
        for child, child_body in (body.get("children") or {}).items():
            if child not in group.children:
                group.children.append(str(child))
            visit(str(child), child_body, f"{where}.children.{child}")

    for name, body in data.items():
        visit(str(name), body, str(name))
    return groups


# ------------------------------------------------------------------------------------ to inventory
def _ancestors(groups: dict[str, _Group]) -> dict[str, list[str]]:
    """Each group's parents, outermost first (``all`` excluded), for Ansible's variable precedence."""
    parents: dict[str, list[str]] = {name: [] for name in groups}
    for name, group in groups.items():
        for child in group.children:
            parents.setdefault(child, []).append(name)

    def chain(name: str, seen: frozenset[str]) -> list[str]:
        out: list[str] = []
        for parent in parents.get(name, []):
            if parent not in seen and parent != "all":
                out += [p for p in chain(parent, seen | {name}) if p not in out] + [parent]
        return list(dict.fromkeys(out))

    return {name: chain(name, frozenset()) for name in groups}


def _inventory(groups: dict[str, _Group], source: str) -> Imported:
    ancestors = _ancestors(groups)
    notes: list[str] = []
    top_vars = dict(groups["all"].vars)

    def group_vars(name: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for group in [*ancestors.get(name, []), name]:
            if group != "all":
                merged.update(groups[group].vars)
        return merged

    membership: dict[str, list[str]] = {}
    for name, group in groups.items():
        for host in group.hosts:
            membership.setdefault(host, []).append(name)
    defaults = _endpoint_fields(top_vars, "all", notes)
    zones: dict[str, dict[str, Any]] = {}
    assets = []
    for host, member_of in membership.items():
        home = next((g for g in member_of if g not in ("all", "ungrouped")), None)
        effective = dict(top_vars)
        for group in sorted(set(member_of) | {a for g in member_of for a in ancestors.get(g, [])},
                            key=lambda g: (len(ancestors.get(g, [])), g)):
            if group != "all":
                effective.update(groups[group].vars)
        for group in member_of:
            effective.update(groups[group].hosts[host])
        connection = effective.get("ansible_connection")
        if connection not in SSH_CONNECTIONS or effective.get("ansible_network_os"):
            notes.append(f"{host}: skipped, Ansible reaches it over {connection or effective.get('ansible_network_os')}"
                         ", not as a Linux host over SSH")
            continue
        fields = _endpoint_fields(effective, host, notes)
        inherited = dict(defaults)
        if home is not None:
            zone_id = safe_id(home, "zone")
            if zone_id not in zones:
                zone_defaults = {k: v for k, v in _endpoint_fields(group_vars(home), home, []).items()
                                 if defaults.get(k) != v}
                zones[zone_id] = {"id": zone_id, "description": f"Ansible group {home} ({source})"}
                if zone_defaults:
                    zones[zone_id]["defaults"] = {"ssh": zone_defaults}
            inherited.update(zones[zone_id].get("defaults", {}).get("ssh", {}))
        endpoint = {"protocol": "ssh", **{k: v for k, v in fields.items() if inherited.get(k) != v}}
        address = next((str(effective[v]) for v in ADDRESS_VARS if v in effective), host)
        if _templated(address):
            notes.append(f"{host}: ansible_host is templated ({address}); the address is the host name instead")
            address = host
        asset: dict[str, Any] = {"id": safe_id(host), "type": "host"}
        if home is not None:
            asset["zone"] = safe_id(home, "zone")
        asset.update({"address": address, "description": f"Ansible host {host}", "endpoints": [endpoint]})
        assets.append(asset)
    data: dict[str, Any] = {"site": f"imported from {source}"}
    if defaults:
        data["defaults"] = {"ssh": defaults}
    if zones:
        data["zones"] = list(zones.values())
    data["assets"] = assets
    if not assets:
        notes.append("no host reachable over SSH was found")
    return Imported(data, notes)


def _endpoint_fields(variables: dict[str, Any], who: str, notes: list[str]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for name, value in variables.items():
        if name in SECRET_VARS:
            note = f"{who}: {name} not copied (secrets are given by reference: password_env or password_file)"
            if note not in notes:
                notes.append(note)
        elif name in FIELDS and not _templated(value):
            fields[FIELDS[name]] = int(value) if FIELDS[name] == "port" and str(value).isdigit() else value
        elif name in FIELDS:
            notes.append(f"{who}: {name} is templated ({value}); set {FIELDS[name]} yourself")
    return fields


def _templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


__all__ = ["import_ansible"]
