"""How a command answered, for every Linux fact: tool missing, needs root, failed, or ok.

Every parser tolerates a missing tool (exit 127) and returns an explicit "not available" value instead
of raising, so a check can tell "tool absent" (evidence) from "could not read"; these helpers say which.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.evidence import EvidenceRequest
from auditor.facts import CommandOutput, FactEvidence, FactUnavailable

_NOT_FOUND = re.compile(r"(^|\n)(sudo: )?(sh: \d+: )?\S+: (command )?not found\s*$", re.I)
_NEEDS_ROOT = re.compile(
    r"must be root|permission denied|operation not permitted|a password is required|"
    r"not allowed to execute|you need to be root|requires root|only root can", re.I)


def tool_absent(out: CommandOutput) -> bool:
    """True when the shell said the program does not exist (exit 127, or sudo's 'command not found')."""
    if out.exit_code == 127:
        return True
    head = "\n".join(out.stdout.strip().splitlines()[:3])
    return out.exit_code not in (0, None) and bool(_NOT_FOUND.search(head))


def needs_root(out: CommandOutput) -> bool:
    """True when a failing command said it lacks privileges (so its silence is not evidence)."""
    return out.exit_code not in (0, None) and bool(_NEEDS_ROOT.search(out.stdout[:2000]))


ROOT_HINT = "needs root: allow the audit user 'sudo -n' for this read-only command"


def first_line(text: str) -> str:
    """The first line of ``text`` (at most 200 characters), for messages."""
    return (text.strip().splitlines() or [""])[0][:200]


def first_message(text: str) -> str:
    """The first line that is neither a ``NOTE:`` nor indented (at most 200 characters), for messages."""
    lines = [line for line in text.strip().splitlines() if line.strip() and not line.startswith(("NOTE:", " "))]
    return lines[0][:200] if lines else ""


def optional_output(ev: FactEvidence, request: EvidenceRequest) -> CommandOutput | None:
    """The command's output, or None when it was not collected (e.g. a connector that skipped it)."""
    try:
        return ev.command(request)
    except FactUnavailable:
        return None


def command_state(out: CommandOutput) -> tuple[str, str]:
    """``(state, detail)``: ``ok``, ``absent`` (not installed), ``needs-root`` or ``failed`` (as :func:`tool_state`)."""
    first = (out.stdout.strip().splitlines() or [""])[0][:200]
    if tool_absent(out):
        return "absent", first
    if needs_root(out):
        return "needs-root", first
    if out.exit_code not in (0, None):
        return "failed", first or f"exit {out.exit_code}"
    return "ok", ""


@dataclass(frozen=True)
class ToolState:
    """How a privileged tool answered: ``ok``, ``absent`` (not installed), ``needs-root`` or ``failed``."""

    state: str
    detail: str = ""
    sudo: bool = False


def tool_state(out: CommandOutput) -> ToolState:
    first = (out.stdout.strip().splitlines() or [""])[0][:200]
    if tool_absent(out):
        return ToolState("absent", first, out.sudo)
    if needs_root(out):
        return ToolState("needs-root", first, out.sudo)
    if out.exit_code not in (0, None):
        return ToolState("failed", first or f"exit {out.exit_code}", out.sudo)
    return ToolState("ok", "", out.sudo)
