"""sudo policy of a Linux host: ``/etc/sudoers`` and ``/etc/sudoers.d/*`` (root-only: ``sudo=True``).

Rules are parsed with their user lists, run-as users, tags (NOPASSWD...) and commands, aliases expanded
one level, and the ``Defaults`` entries kept; files sudo ignores in an includedir are listed apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact, ssh_exec
from checks.linux.facts.parsing import FileRead, parse_files, read_files_command

#: The glob is expanded by the shell the connector runs the command in, under sudo where allowed: the one
#: that can list sudoers.d. (Recorded earlier with one more ``sh -c`` around it.)
_SUDOERS_READ = read_files_command("/etc/sudoers", "/etc/sudoers.d/*")
SUDOERS_FILES = ssh_exec(_SUDOERS_READ, sudo=True, name="sudoers.files", formerly=[f"sh -c '{_SUDOERS_READ}'"])


@dataclass
class SudoRule:
    users: list[str]
    hosts: str
    commands: list[dict[str, Any]]  # {"runas": str|None, "tags": [..], "command": str}
    file: str
    text: str


@dataclass
class Sudoers:
    """sudoers rules with aliases expanded one level, and the Defaults entries."""

    installed: bool
    rules: list[SudoRule] = field(default_factory=list)
    defaults: list[tuple[str, str]] = field(default_factory=list)  # (scope, entry)
    aliases: dict[str, list[str]] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    unread_includes: list[str] = field(default_factory=list)  # #include/@include targets outside what was read


def _split_list(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"(?<!\\),", text) if part.strip()]


def _sudoers_lines(text: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.splitlines():
        line = pending + raw
        if line.rstrip().endswith("\\"):
            pending = line.rstrip()[:-1] + " "
            continue
        pending = ""
        stripped = line.strip()
        if stripped.startswith(("#include", "@include")):
            lines.append(stripped)
            continue
        # '#' starts a comment unless it is a numeric uid/gid reference (#1000, %#1000)
        stripped = re.sub(r"(^|\s)#(?!\d).*$", "", stripped).strip()
        if stripped:
            lines.append(stripped)
    return lines


_ALIAS = re.compile(r"^(User|Runas|Host|Cmnd|Cmd)_Alias\s+(.*)$")
_TAG = re.compile(r"^(NOPASSWD|PASSWD|NOEXEC|EXEC|SETENV|NOSETENV|LOG_INPUT|NOLOG_INPUT|LOG_OUTPUT|NOLOG_OUTPUT|"
                  r"MAIL|NOMAIL|FOLLOW|NOFOLLOW|INTERCEPT|NOINTERCEPT)\s*:\s*")


def _parse_commands(spec: str) -> list[dict[str, Any]]:
    commands, runas, tags = [], None, []
    for item in _split_list(spec):
        runas_match = re.match(r"^\(([^)]*)\)\s*", item)
        if runas_match:
            runas, tags = runas_match.group(1).strip(), []
            item = item[runas_match.end():]
        # options like ROLE=, TYPE=, CWD=, CHROOT=, TIMEOUT=, NOTBEFORE= precede tags
        item = re.sub(r"^((ROLE|TYPE|CWD|CHROOT|TIMEOUT|NOTBEFORE|NOTAFTER|APPARMOR_PROFILE)=\S+\s+)+", "", item)
        new_tags = []
        while True:
            tag = _TAG.match(item)
            if not tag:
                break
            new_tags.append(tag.group(1))
            item = item[tag.end():]
        if new_tags:
            kinds = {n.removeprefix("NO") for n in new_tags}
            tags = [t for t in tags if t.removeprefix("NO") not in kinds] + new_tags
        commands.append({"runas": runas, "tags": list(tags), "command": item.strip()})
    return commands


def parse_sudoers(files: dict[str, FileRead]) -> Sudoers:
    result = Sudoers(installed=True)
    for path in sorted(files, key=lambda p: (p != "/etc/sudoers", p)):
        read = files[path]
        name = path.rsplit("/", 1)[-1]
        if path != "/etc/sudoers" and ("." in name or name.endswith("~")):
            result.skipped.append(path)  # sudo ignores these names in an includedir
            continue
        if not read.readable:
            continue
        result.files.append(path)
        for line in _sudoers_lines(read.content or ""):
            if line.startswith(("#include", "@include")):
                target = line.split(None, 1)[1].strip() if len(line.split(None, 1)) > 1 else ""
                if line.startswith(("#includedir", "@includedir")):
                    if target.rstrip("/") != "/etc/sudoers.d":
                        result.unread_includes.append(line)
                elif not target.startswith("/etc/sudoers.d/") and target != "/etc/sudoers":
                    result.unread_includes.append(line)
                continue
            if line.startswith("Defaults"):
                scope, _, rest = re.sub(r"\s", " ", line, count=1).partition(" ")  # tab or space
                for entry in _split_list(rest):
                    result.defaults.append((scope, entry))
                continue
            alias = _ALIAS.match(line)
            if alias:
                for definition in re.split(r"\s*:\s*(?=[A-Z][A-Z0-9_]*\s*=)", alias.group(2)):
                    alias_name, _, members = definition.partition("=")
                    result.aliases[alias_name.strip()] = _split_list(members)
                continue
            left, sep, right = line.partition("=")
            if not sep:
                continue
            tokens = re.sub(r"\s*,\s*", ",", left.strip()).split()
            if len(tokens) < 2:
                continue
            users = _split_list(",".join(tokens[:-1]))
            # further ': host = cmds' groups on the same line share the user list
            groups = re.split(r"\s*:\s*(?=[^\s:=()]+\s*=)", right)
            commands = _parse_commands(groups[0])
            for extra in groups[1:]:
                commands += _parse_commands(extra.partition("=")[2])
            result.rules.append(SudoRule(users, tokens[-1], commands, path, line[:200]))
    return result


@fact("acct_sudoers", protocol="ssh", requests=[SUDOERS_FILES])
def acct_sudoers(evidence: FactEvidence) -> Sudoers:
    """sudoers policy: /etc/sudoers and /etc/sudoers.d/* (needs root to read)."""
    out = evidence.command(SUDOERS_FILES)
    files = parse_files(out.stdout)
    main = files.get("/etc/sudoers")
    if main is None:
        if out.exit_code == 127:
            raise FactUnavailable(f"cannot read sudoers: {out.stdout.strip()[:120]}")
        raise FactParseError(f"no /etc/sudoers header in the output: {out.stdout.strip()[:160]!r}")
    if not main.readable:
        if main.error and "No such file" in main.error:
            return Sudoers(installed=False)
        raise FactUnavailable(f"/etc/sudoers not readable{'' if out.sudo else ' without sudo'} ({main.error}); "
                              "allow the audit user 'sudo -n' to read it")
    unreadable = [p for p, f in files.items() if p != "/etc/sudoers" and not f.readable and f.error
                  and "No such file" not in f.error]
    if unreadable:
        raise FactUnavailable(f"sudoers.d not readable: {unreadable}; allow the audit user 'sudo -n'")
    return parse_sudoers(files)
