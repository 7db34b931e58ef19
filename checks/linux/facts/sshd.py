"""OpenSSH server (sshd) of a Linux host: the instance that serves the audited port, and what it shows.

Which daemon is judged
----------------------
A host may run several sshd instances (a second daemon with ``-f /etc/ssh/alt.conf`` for a
maintenance network, a container's sshd, a test daemon). The checks judge the instance that
serves the port the auditor connected to (``port`` of the ``ssh:session:info`` item):

1. the listening sshd *master* processes are found in ``ps`` (their title looks like
   ``sshd: /usr/sbin/sshd -D -f /etc/ssh/alt.conf [listener] 0 of 10-100 startups``; older
   releases show the plain command line ``/usr/sbin/sshd -D``);
2. each master's ports come from its command line (``-p PORT``, ``-o Port=N``), else from the
   ``Port``/``ListenAddress`` lines of its configuration, else 22;
3. the master serving the audited port is chosen; a single master that does not provably serve it
   is used with a note (NAT, port forwarding); several masters of which none provably matches are
   an error that lists them.

Where the configuration comes from (recorded as ``source`` in every observation)
--------------------------------------------------------------------------------
1. ``sshd -T -f CONFIG`` of that instance (needs root, so its request is ``sudo=True``), with the
   master's own ``-o``/``-p`` options applied on top (sshd gives command-line options precedence);
2. else the configuration files read directly (the main file plus ``Include``'d files, globs
   expanded on the target), parsed with OpenSSH semantics (keywords case-insensitive, first value
   wins, ``Match`` blocks not applied to global values but recorded) with OpenSSH 9.x defaults for
   unset keywords;
3. else the fact is unavailable, with a reason telling the user to allow ``sudo -n`` (or to make
   the configuration readable). Checks that can also judge what the server shows on the wire
   (offered algorithms, offered authentication methods, pre-authentication banner) take the
   ``*_maybe`` variants of the facts and still decide from the wire, saying so.

Two commands carry all of this (both strictly read-only; see
:data:`checks.linux.facts.sshd_commands.SSHD_EFFECTIVE_COMMAND` and
:data:`checks.linux.facts.sshd_commands.SSHD_FILES_COMMAND`); the OpenSSH semantics are in
:mod:`checks.linux.facts.openssh`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Iterable

from auditor.evidence import EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from checks.linux.facts.openssh import (ACCUMULATING, ALIASES, ENUM_KEYWORDS, TIME_KEYWORDS, Master, ParsedConfig,
                                        address_port, defaults_for, normalize, openssh_seconds, openssh_version,
                                        parse_config_tree, parse_master)
from checks.linux.facts.optional import fact_with_optional
from checks.linux.facts.parsing import FileRead, parse_files
from checks.linux.facts.sshd_commands import (DEFAULT_CONFIG, DEFAULT_HOST_KEYS, MARK, SESSION_INFO, SSHD_EFFECTIVE,
                                              SSHD_FILES, WIRE_KEXINIT, Section, split_sections)


# --------------------------------------------------------------------------------------------
# The effective configuration of the audited instance
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SshdConfig:
    """The audited sshd instance's effective global configuration and where it came from."""

    values: dict[str, tuple[str, ...]]
    source: str
    instance: dict[str, Any]
    files: tuple[str, ...] = ()
    match_blocks: tuple[dict[str, Any], ...] = ()
    defaulted: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    host_keys: tuple[dict[str, Any], ...] = ()
    banner_files: tuple[tuple[str, str | None], ...] = ()
    match_blocks_known: bool = True   # False: sshd -T answered but the files (and their Match blocks) were not read

    def get(self, keyword: str, default: str | None = None) -> str | None:
        values = self.values.get(keyword)
        return values[0] if values else default

    def all(self, keyword: str) -> list[str]:
        return list(self.values.get(keyword, ()))

    def number(self, keyword: str) -> int | None:
        value = self.get(keyword)
        if value is None:
            return None
        seconds = openssh_seconds(value) if keyword in TIME_KEYWORDS else None
        if seconds is not None:
            return seconds
        return int(value) if value.strip().isdigit() and len(value.strip()) <= 18 else None

    def algorithms(self, keyword: str) -> list[str]:
        value = self.get(keyword) or ""
        return [a for a in value.split(",") if a]

    def banner_text(self, path: str) -> str | None:
        return dict(self.banner_files).get(path)

    def overrides(self, *keywords: str) -> list[dict[str, str]]:
        """Match blocks that set any of ``keywords``: ``[{"match": criteria, keyword: value}]``."""
        found = []
        for block in self.match_blocks:
            settings = {k: v for k, v in block["settings"].items() if k in keywords}
            if settings:
                found.append({"match": block["criteria"], **settings})
        return found

    def basis(self) -> dict[str, Any]:
        """Where the values came from, for every observation."""
        basis: dict[str, Any] = {"effective": self.source, "instance": self.instance["summary"]}
        if self.match_blocks:
            basis["match_blocks"] = [b["criteria"] for b in self.match_blocks]
        if self.notes:
            basis["notes"] = list(self.notes)
        return basis


_KEYWORD = re.compile(r"^[a-z][a-z0-9]*$")


def _t_values(text: str) -> dict[str, list[str]]:
    """``sshd -T`` lines (lower-case ``keyword value``); older releases' keyword spellings are mapped."""
    values: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, _, value = line.strip().partition(" ")
        if _KEYWORD.match(key) and value:
            values.setdefault(key, []).append(normalize(key, value) if key in ENUM_KEYWORDS else value)
    for old, new in ALIASES.items():
        if old in values and new not in values:
            values[new] = values[old] if new not in ENUM_KEYWORDS else [normalize(new, v) for v in values[old]]
    return values


def _masters(sections: list[Section]) -> list[Master]:
    found: list[Master] = []
    for section in sections:
        if section.kind != "master":
            continue
        pid, _, args = section.arg.strip().partition(" ")
        if not pid.isdigit() or len(pid) > 10 or not args.strip():
            raise FactParseError(f"unexpected sshd process line: {section.arg!r}")
        found.append(parse_master(int(pid), args.strip()))
    return found


def _host_keys(sections: list[Section], wanted: list[str] | None) -> list[dict[str, Any]]:
    keys = []
    for section in sections:
        if section.kind != "hostkey" or (wanted is not None and section.arg not in wanted):
            continue
        entry: dict[str, Any] = {"path": section.arg}
        match = next((m for m in (re.match(r"^(\d+)\s+(\S+)\s.*\((\S+)\)\s*$", ln) for ln in section.lines)
                      if m), None)
        if match:
            entry.update(bits=int(match.group(1)), fingerprint=match.group(2), type=match.group(3).upper())
        else:
            entry["error"] = section.text.strip()[:200] or "no output"
        if entry not in keys:
            keys.append(entry)
    return keys


def _banners(sections: list[Section]) -> list[tuple[str, str | None]]:
    found = []
    for section in sections:
        if section.kind != "banner":
            continue
        text = section.text
        unreadable = re.match(r"^head: cannot open '.*' for reading: .*$", text.strip())
        found.append((section.arg, None if unreadable else text.rstrip("\n") + ("\n" if text.strip() else "")))
    return found


def _config_ports(values: dict[str, list[str]] | dict[str, tuple[str, ...]]) -> list[int]:
    ports = [int(p) for p in values.get("port", ()) if str(p).isdigit() and len(str(p)) <= 5]
    ports += [p for p in (address_port(a) for a in values.get("listenaddress", ())) if p is not None]
    return sorted(set(ports))


def _session_port(evidence: FactEvidence) -> tuple[int | None, str | None]:
    try:
        info = evidence.data(SESSION_INFO)
    except FactUnavailable as exc:
        return None, str(exc)
    if isinstance(info, dict) and isinstance(info.get("port"), int):
        return info["port"], None
    return None, "ssh:session:info has no integer 'port'"


def _command_output(evidence: FactEvidence, req: EvidenceRequest) -> tuple[str | None, bool, str | None]:
    """(stdout, ran under sudo, problem) of a command; stdout None when it was not collected."""
    try:
        out = evidence.command(req)
    except FactUnavailable as exc:
        return None, False, str(exc)
    if out.exit_code == 127 and MARK not in out.stdout:
        return None, out.sudo, f"command not found on the target: {out.stdout.strip()[:200]}"
    return out.stdout, out.sudo, None


_SUDO_HINT = ("allow the audit user to run it with 'sudo -n' (e.g. a sudoers rule for the audit account) "
              "so that 'sshd -T' can print the effective configuration, or make the sshd config files "
              "readable by the audit user")


def _server_software(evidence: FactEvidence) -> str | None:
    """The server's identification string from the session info (``SSH-2.0-OpenSSH_9.2p1 ...``), if any."""
    try:
        info = evidence.data(SESSION_INFO)
    except (FactUnavailable, FactParseError):
        return None
    version = info.get("server_version") if isinstance(info, dict) else None
    return version if isinstance(version, str) else None


@fact_with_optional("sshd_config", protocol="ssh", requests=[SSHD_EFFECTIVE, SSHD_FILES, SESSION_INFO])
def sshd_config(evidence: FactEvidence) -> SshdConfig:
    """Effective global configuration of the sshd instance that serves the audited port."""
    eff_out, eff_sudo, eff_problem = _command_output(evidence, SSHD_EFFECTIVE)
    files_out, _, files_problem = _command_output(evidence, SSHD_FILES)
    if eff_out is None and files_out is None:
        raise FactUnavailable(f"no sshd evidence: {eff_problem}; {files_problem}")
    eff_sections = split_sections(eff_out or "")
    file_sections = split_sections(files_out or "")
    if not eff_sections and not file_sections:
        raise FactParseError("sshd commands printed none of their section markers: "
                             + ((eff_out or files_out or "").strip()[:200] or "(empty output)"))
    notes: list[str] = []
    masters = _masters(eff_sections) or _masters(file_sections)

    # ---- per config file: `sshd -T` output (if it worked) and the parsed config files
    t_by_config: dict[str, tuple[dict[str, list[str]], Section, list[Section]]] = {}
    t_errors: dict[str, str] = {}
    for index, section in enumerate(eff_sections):
        if section.kind != "sshd-T":
            continue
        match = re.match(r"^cfg=(.*) bin=(.*)$", section.arg)
        if not match:
            continue
        cfg = match.group(1)
        tail = eff_sections[index + 1:]
        end = next((i for i, s in enumerate(tail) if s.kind in ("sshd-T",)), len(tail))
        following = tail[:end]
        rc = next((s.arg.strip() for s in following if s.kind == "exit"), "?")
        values = _t_values(section.text)
        if rc == "0" and "permitrootlogin" in values:
            t_by_config.setdefault(cfg, (values, section, following))
        else:
            first = next((ln for ln in section.lines if ln.strip()), "(no output)")
            t_errors[cfg] = f"sshd -T exit {rc}{'' if eff_sudo else ' (not run under sudo)'}: {first.strip()[:160]}"

    files_by_config: dict[str, tuple[dict[str, FileRead], list[Section]]] = {}
    for index, section in enumerate(file_sections):
        if section.kind != "config":
            continue
        tail = file_sections[index + 1:]
        end = next((i for i, s in enumerate(tail) if s.kind == "config"), len(tail))
        files_by_config[section.arg.strip()] = (parse_files(section.text), tail[:end])

    def parsed_files(cfg: str, extra: Iterable[tuple[str, str]] = ()) -> ParsedConfig | None:
        if cfg not in files_by_config:
            return None
        return parse_config_tree(cfg, files_by_config[cfg][0], extra)

    # ---- which master serves the audited port
    port, port_problem = _session_port(evidence)
    candidates: list[tuple[Master, list[int], str]] = []
    for master in masters:
        if master.cli_ports:
            ports, how = list(master.cli_ports), "command line"
        elif master.config in t_by_config:
            ports, how = _config_ports(t_by_config[master.config][0]), "sshd -T"
        else:
            tree = parsed_files(master.config)
            if tree is not None and not tree.unreadable:
                ports, how = _config_ports(tree.values) or [22], "config files"
            else:
                ports, how = [22], "default (config not readable)"
        candidates.append((master, ports or [22], how))

    if not masters:
        chosen = Master(pid=0, args="(none visible)", binary=None, config=DEFAULT_CONFIG, cli_ports=(),
                        cli_options=())
        chosen_ports, how = [], "none"
        notes.append("no listening sshd master process was visible in ps (socket activation, hidepid or a "
                     f"container); judged the default configuration {DEFAULT_CONFIG}")
        if any(s.kind == "no-ps" for s in eff_sections + file_sections):
            notes.append("ps is not installed on the target")
    else:
        matching = [c for c in candidates if port is not None and port in c[1]]
        configs = {c[0].config for c in matching}
        if len(matching) >= 1 and len(configs) == 1:
            chosen, chosen_ports, how = matching[0]
            if len(matching) > 1:
                notes.append(f"{len(matching)} sshd masters serve port {port} with the same config; "
                             f"judged pid {chosen.pid}")
        elif len(matching) > 1:
            raise FactParseError(
                f"several sshd masters with different configs serve port {port}: "
                + "; ".join(f"{m.describe()} (ports {p} from {h})" for m, p, h in matching))
        elif len(candidates) == 1:
            chosen, chosen_ports, how = candidates[0]
            if port is None:
                notes.append(f"audited port unknown ({port_problem}); judged the only sshd master")
            else:
                notes.append(f"the only sshd master listens on {chosen_ports} ({how}), not on the audited "
                             f"port {port} (NAT or port forwarding?); judged it")
        else:
            raise FactUnavailable(
                f"none of the {len(candidates)} sshd masters provably serves the audited port "
                f"{port if port is not None else '(unknown: ' + str(port_problem) + ')'}: "
                + "; ".join(f"{m.describe()} (ports {p} from {h})" for m, p, h in candidates))

    instance = {"pid": chosen.pid, "args": chosen.args, "config": chosen.config, "ports": chosen_ports,
                "ports_from": how, "audited_port": port,
                "summary": f"{chosen.config} (sshd pid {chosen.pid}, ports {chosen_ports} from {how})"
                if chosen.pid else f"{chosen.config} (no listener visible)"}
    if chosen.cli_options:
        instance["command_line_options"] = {k: v for k, v in chosen.cli_options}

    tree = parsed_files(chosen.config, chosen.cli_options)
    match_blocks: tuple[dict[str, Any], ...] = ()
    if tree is not None and not tree.unreadable:
        match_blocks = tuple(tree.match_blocks)

    # ---- (1) sshd -T
    if chosen.config in t_by_config:
        values, _section, following = t_by_config[chosen.config]
        for key, value in chosen.cli_options:  # the master's -o options win over its config file
            values[key] = [value] if key not in ACCUMULATING else [value] + values.get(key, [])
        if chosen.cli_ports:
            values["port"] = [str(p) for p in chosen.cli_ports]
        unread = tree is None or bool(tree.unreadable)
        if unread:
            notes.append("config files not readable: Match blocks (if any) could not be reviewed"
                         + (f" ({'; '.join(tree.unreadable)})" if tree is not None else ""))
        banners = _banners(following)
        if chosen.config in files_by_config:  # banner files the unprivileged read found, if sudo could not
            banners += [b for b in _banners(files_by_config[chosen.config][1]) if b[0] not in dict(banners)]
        return SshdConfig(
            values={k: tuple(v) for k, v in values.items()}, source="sshd -T", instance=instance,
            files=tuple(tree.files) if tree else (), match_blocks=match_blocks, notes=tuple(notes),
            host_keys=tuple(_host_keys(following, values.get("hostkey"))), banner_files=tuple(banners),
            match_blocks_known=not unread)

    # ---- (2) config files + OpenSSH defaults
    t_note = t_errors.get(chosen.config, eff_problem or "sshd -T not run")
    if tree is not None and not tree.unreadable and tree.files:
        values = {k: list(v) for k, v in tree.values.items()}
        defaulted = []
        version = openssh_version(_server_software(evidence))
        for key, default in defaults_for(version).items():
            if key not in values:
                values[key] = [default]
                defaulted.append(key)
        if "hostkey" not in values:
            values["hostkey"] = list(DEFAULT_HOST_KEYS)
            defaulted.append("hostkey")
        notes.append(f"sshd -T unavailable ({t_note}); values parsed from the config files with the defaults of "
                     + (f"OpenSSH {version[0]}.{version[1]} (the release the server announces)" if version else
                        "OpenSSH 9.x (assumed: the server's release is unknown)") + " for unset keywords")
        if chosen.cli_ports:
            values["port"] = [str(p) for p in chosen.cli_ports]
        return SshdConfig(
            values={k: tuple(v) for k, v in values.items()}, source="config files + OpenSSH defaults",
            instance=instance, files=tuple(tree.files), match_blocks=match_blocks,
            defaulted=tuple(defaulted), notes=tuple(notes),
            host_keys=tuple(_host_keys(files_by_config[chosen.config][1], values["hostkey"])),
            banner_files=tuple(_banners(files_by_config[chosen.config][1])))

    # ---- (3) nothing readable
    unreadable = "; ".join(tree.unreadable) if tree is not None else (files_problem or "config files not read")
    raise FactUnavailable(
        f"the effective configuration of sshd instance {instance['summary']} could not be read: "
        f"{t_note}; config files: {unreadable}. To fix: {_SUDO_HINT}")


# --------------------------------------------------------------------------------------------
# What the server shows before authentication
# --------------------------------------------------------------------------------------------

@fact_with_optional("sshd_session", protocol="ssh", requests=[SESSION_INFO])
def sshd_session(evidence: FactEvidence) -> dict[str, Any]:
    """What the SSH server showed the auditor: port, offered auth methods, pre-auth banner, version."""
    info = evidence.data(SESSION_INFO)
    if not isinstance(info, dict):
        raise FactParseError(f"ssh:session:info is not a JSON object: {str(info)[:120]!r}")
    if not info:  # the connector always records the server's version; checks read an empty object as missing
        raise FactParseError("ssh:session:info is an empty object")
    methods = info.get("auth_methods")
    if methods is not None and not (isinstance(methods, list) and all(isinstance(m, str) for m in methods)):
        raise FactParseError(f"ssh:session:info auth_methods is not a list of strings: {methods!r}")
    for name in ("banner", "username", "server_version", "auth_method_used", "host_key_type"):
        value = info.get(name)
        if value is not None and not isinstance(value, str):  # checks compare and look these up
            raise FactParseError(f"ssh:session:info {name} is not a string: {str(value)[:80]!r}")
    negotiated = info.get("negotiated")
    if negotiated is not None and not (isinstance(negotiated, dict)
                                       and all(isinstance(v, (str, type(None))) for v in negotiated.values())):
        raise FactParseError("ssh:session:info negotiated is not an object of algorithm names")
    return info


WIRE_LISTS = {"kex": ("kex_algorithms",),
              "ciphers": ("encryption_algorithms_client_to_server", "encryption_algorithms_server_to_client"),
              "macs": ("mac_algorithms_client_to_server", "mac_algorithms_server_to_client"),
              "hostkeys": ("server_host_key_algorithms",)}
#: KEXINIT entries that are protocol extension signals, not algorithms.
PSEUDO_KEX = ("ext-info-s", "ext-info-c", "kex-strict-s-v00@openssh.com", "kex-strict-c-v00@openssh.com")


@fact_with_optional("sshd_wire", protocol="ssh", requests=[WIRE_KEXINIT])
def sshd_wire(evidence: FactEvidence) -> dict[str, Any]:
    """Algorithms the server offers in its KEXINIT before authentication (what an attacker sees)."""
    data = evidence.data(WIRE_KEXINIT)
    if not isinstance(data, dict):
        raise FactParseError(f"ssh:wire:kexinit is not a JSON object: {str(data)[:120]!r}")
    offered: dict[str, list[str]] = {}
    for category, fields in WIRE_LISTS.items():
        names: list[str] = []
        for name in fields:
            value = data.get(name)
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise FactParseError(f"ssh:wire:kexinit field {name!r} is not a list of names: {value!r}")
            names += [v for v in value if v not in names and v not in PSEUDO_KEX]
        offered[category] = names
    for name in ("identification", "software"):
        if data.get(name) is not None and not isinstance(data[name], str):  # checks read the version from it
            raise FactParseError(f"ssh:wire:kexinit field {name!r} is not text")
    return {"offered": offered, "identification": data.get("identification"), "software": data.get("software")}
