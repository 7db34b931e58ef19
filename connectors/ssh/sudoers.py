"""The sudoers rule that lets an audit account run exactly the scan's root-only reads, and nothing else.

A host scan runs each read that needs root as ``sudo -n env LC_ALL=C timeout -k 5 <s> sh -c <command>``
(:func:`connectors.ssh.script.sudo_argv`). :func:`sudoers_rule` turns those command lines into one
``Cmnd_Alias`` an administrator installs with ``visudo -f /etc/sudoers.d/iacs-audit``, instead of
``NOPASSWD: ALL``.

How sudoers matches, and why the rule is exact:

* Arguments are compared as ONE string, sudo's argv joined by single spaces, against the rule's
  arguments, where ``* ? [ ]`` are wildcards. :func:`escape_argument` escapes the wildcards and the
  characters sudoers gives a meaning (``\\ , : = # !``); a backslash must be doubled twice (sudoers
  removes one level, its pattern matching the next). Tested against sudo 1.9 with ``sudo -l``.
* Because arguments are joined by spaces, the administrator's rule cannot tell ``sh -c 'a b'`` from
  ``sh -c a b``: whoever holds the account may split the command text at any space, and ``sh -c``
  then runs only the part before the split (the rest becomes ``$0 $1 ...``). So every such *prefix* of a
  command is allowed too. :func:`unsafe_reason` refuses commands where that would matter: one that
  starts with a program that reads commands from stdin when given no arguments (a shell, ``xargs``,
  an interpreter), and text with tabs, newlines or repeated spaces (which the rule cannot spell).
  The prefixes that remain are truncated read-only commands, a shell syntax error at worst.
* The per-command time limit (``timeout -k 5 <s>``) is part of the command line, so the rule is for a
  given ``--command-timeout``; a host without coreutils ``timeout`` runs ``env LC_ALL=C sh -c ...``,
  which :func:`sudoers_rule` also lists.
"""

from __future__ import annotations

import re

from connectors.ssh.script import sudo_argv

__all__ = ["SudoersError", "escape_argument", "sudoers_rule", "unsafe_reason"]

#: Programs that, started with no arguments, read commands from stdin (or run stdin as a command).
INTERPRETERS = frozenset({"sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "busybox", "csh", "tcsh", "fish",
                          "xargs", "env", "sudo", "su", "python", "python3", "perl", "ruby", "lua", "php", "tclsh",
                          "node", "nice", "ionice", "nohup", "timeout", "stdbuf", "chroot", "setsid", "doas"})
_SPECIAL = re.compile(r"([,:=#!*?\[\]])")


class SudoersError(ValueError):
    """A command that an exact sudoers rule cannot allow safely."""


def unsafe_reason(command: str) -> str | None:
    """Why ``command`` cannot be allowed by an exact sudoers rule, or None."""
    if re.search(r"[\t\r\n\v\f]|  ", command) or command != command.strip():
        return "contains tabs, newlines or repeated spaces, which a sudoers rule cannot spell"
    first = command.split(" ", 1)[0].rsplit("/", 1)[-1]
    if first in INTERPRETERS:
        return (f"starts with {first!r}: split at its first space, it would run {first!r} with no arguments, "
                "which reads commands from stdin")
    return None


def escape_argument(text: str) -> str:
    """``text`` as a literal sudoers command argument (see the module docstring)."""
    return _SPECIAL.sub(r"\\\1", text.replace("\\", "\\\\\\\\"))


def sudoers_rule(commands: list[str], *, user: str, timeout: float, password: bool,
                 alias: str = "IACS_AUDIT_READS") -> str:
    """The sudoers text: a ``Cmnd_Alias`` of every command line and the rule for ``user``.

    Raises :class:`SudoersError` naming each command that :func:`unsafe_reason` refuses.
    """
    problems = [f"{command[:60]!r}: {reason}" for command in commands if (reason := unsafe_reason(command))]
    if problems:
        raise SudoersError("; ".join(problems))
    if not re.fullmatch(r"[a-z_][a-z0-9_.-]*[$]?", user):
        raise SudoersError(f"{user!r} is not a user name sudoers accepts")
    if not re.fullmatch(r"[A-Z][A-Z0-9_]*", alias):
        raise SudoersError(f"{alias!r} is not a Cmnd_Alias name (upper case letters, digits, _)")
    lines: list[str] = []
    for command in dict.fromkeys(commands):
        for bound in (timeout, None):
            argv = sudo_argv(command, bound)
            lines.append("/usr/bin/env " + " ".join(escape_argument(word) for word in argv[1:]))
    body = ", \\\n    ".join(lines)
    tag = "" if password else "NOPASSWD: "
    return (f"# Read-only commands of an iacs-audit scan, exactly as the scan runs them under sudo.\n"
            f"# Install with: visudo -f /etc/sudoers.d/iacs-audit (then: visudo -c)\n"
            f"Cmnd_Alias {alias} = \\\n    {body}\n"
            f"Defaults:{user} !requiretty, !lecture\n"
            f"{user} ALL=(root) {tag}{alias}\n")
