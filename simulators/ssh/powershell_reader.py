"""The SSH simulator's own reader of the auditor's Windows PowerShell script, independent of the connector.

The connector runs a Windows host's sections as described in :mod:`connectors.windows.script`: the exec
command is ``powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 of UTF-16LE>``, whose
decoded text reads the script from stdin; the script sets ``$__iacs_n = '<nonce>'`` and
``$__iacs_ms = <ms>``, lists the sections as single-quoted here-strings inside ``$__iacs_sections = @(``
... ``)`` and then runs them. This module reads that shape line by line, as PowerShell's parser treats
single-quoted here-strings (a line ``@'`` opens one, a line beginning with ``'@`` closes it, nothing in
between is expanded), and shares no code with the connector's builder or parser.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field

__all__ = ["NotAPowerShellScript", "PowerShellScript", "is_bootstrap", "read_powershell_script"]


class NotAPowerShellScript(ValueError):
    """The text is not the documented bootstrap or script (the reason says where it differs)."""


@dataclass(frozen=True)
class PowerShellScript:
    nonce: str
    timeout: float  # seconds per section
    sections: list[str] = field(default_factory=list)


_BOOTSTRAP = re.compile(r"^powershell(?:\.exe)? -NoProfile -NonInteractive -EncodedCommand ([A-Za-z0-9+/=]+)$")


def is_bootstrap(command: str) -> bool:
    """True if ``command`` starts PowerShell with an encoded command that runs the script from stdin."""
    match = _BOOTSTRAP.match(command.strip())
    if match is None:
        return False
    try:
        decoded = base64.b64decode(match.group(1), validate=True).decode("utf-16-le")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return "[Console]::OpenStandardInput()" in decoded and "ReadToEnd()" in decoded


def _value(lines: list[str], name: str) -> str:
    prefix = f"${name} = "
    found = [line[len(prefix):] for line in lines if line.startswith(prefix)]
    if len(found) != 1:
        raise NotAPowerShellScript(f"expected one assignment of ${name}")
    return found[0]


def read_powershell_script(script: str) -> PowerShellScript:
    """The nonce, per-section timeout and section texts of the script sent on stdin."""
    lines = script.split("\n")
    nonce = _value(lines, "__iacs_n").strip()
    if not (nonce.startswith("'") and nonce.endswith("'")) or not re.fullmatch(r"[A-Za-z0-9]{8,64}", nonce[1:-1]):
        raise NotAPowerShellScript("the nonce is not 8 to 64 letters and digits in single quotes")
    ms = _value(lines, "__iacs_ms").strip()
    if not ms.isdigit():
        raise NotAPowerShellScript("the per-section time bound is not a number of milliseconds")
    try:
        start = lines.index("$__iacs_sections = @(")
    except ValueError:
        raise NotAPowerShellScript("no section list") from None
    sections: list[str] = []
    current: list[str] | None = None
    expect_item = True
    for number, line in enumerate(lines[start + 1:], start=start + 2):
        if current is not None:
            if line.startswith("'@"):
                sections.append("\n".join(current))
                current = None
                expect_item = False
                if line.strip() != "'@":
                    raise NotAPowerShellScript(f"line {number}: text after the end of a here-string")
            else:
                current.append(line)
            continue
        if line == "@'" and expect_item:
            current = []
        elif line == "," and not expect_item:
            expect_item = True
        elif line == ")" and not expect_item:
            break
        else:
            raise NotAPowerShellScript(f"line {number}: {line[:40]!r} in the section list")
    else:
        raise NotAPowerShellScript("the section list is not closed")
    if "[PowerShell]::Create()" not in script or "BeginInvoke()" not in script:
        raise NotAPowerShellScript("no runner after the section list")
    return PowerShellScript(nonce[1:-1], int(ms) / 1000, sections)
