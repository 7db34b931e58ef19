"""One read-only PowerShell script for all sections of a Windows host, and how a transport starts it.

Transport-independent on purpose: the SSH connector sends it to OpenSSH for Windows today; a WinRM
transport can run the very same text and feed the same splitter
(:class:`connectors.ssh.script.OutputSplitter`), so both give the same evidence items. With ``pypsrp`` that
is a WinRS shell (``pypsrp.shell.WinRS``) running :func:`bootstrap_command` as a ``Process`` and sending the
script as its stdin (``Process.send(script, end=True)``), then feeding the process's stdout to the splitter:
the runner writes to ``[Console]::Out``, which a WinRS process has and a PSRP runspace (``PowerShell``
over a ``RunspacePool``) has not.

Each ``ssh_powershell`` request is a *section*: PowerShell that prints one JSON document. The script
frames each section's output with the SAME marker lines as the Linux sh script (see
:mod:`connectors.ssh.script`)::

    __IACS_<nonce>_B_<i>__                  begin of section i
    ...the JSON the section printed (or "ERROR: <message>" when it threw)...
    (an extra newline)
    __IACS_<nonce>_E_<i>__ <rc>             rc: 0 done, 1 the section threw, 124 it ran out of time

The markers are never written assembled in the script (``'__IACS_{0}_B_{1}__' -f $n, $i``), so a
section that prints the running script (a process list) cannot forge one.

The script, exactly (``<nonce>``: 8 to 64 ASCII letters and digits; ``<ms>``: the per-section time
bound in milliseconds; each section's text is a single-quoted here-string, so nothing in it is
expanded; a section may not contain a line beginning with ``'@``, which would end it)::

    $ErrorActionPreference = 'Stop'
    $ProgressPreference = 'SilentlyContinue'
    [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
    $__iacs_n = '<nonce>'
    $__iacs_ms = <ms>
    $__iacs_sections = @(
    @'
    <section 0>
    '@
    ,
    @'
    <section 1>
    '@
    )
    <the runner: RUNNER below>

The runner runs each section in a NEW runspace (``[PowerShell]::Create()``) started with
``BeginInvoke``; it waits at most ``<ms>`` on its handle and then asks it to stop (``BeginStop``,
not waited for; exit 124, no output kept), so one hung cmdlet (a WMI provider, a network drive) cannot hold the others. A native
section runs with ``$ErrorActionPreference = 'Stop'``, so any error ends it with exit 1 and its message
instead of a partial answer (a section that expects a failure catches it or says ``-ErrorAction``). A native
tool a section started may outlive ``Stop()`` until it ends by itself; the connector's overall deadline
still bounds the exec. Every section is read-only: ``Get-*`` cmdlets, ``Confirm-SecureBootUEFI``,
registry reads, ``auditpol /get``, ``w32tm /query`` and ``secedit /export`` to a temporary file that the
same section deletes (the static test ``tests/unit/test_windows_read_only.py`` proves it).

How it is started (:func:`bootstrap_command`): OpenSSH for Windows hands an exec to ``cmd.exe`` by
default, whose command line is limited to 8191 characters, and the script is far longer. So the exec
command is a short bootstrap, ``powershell.exe -NoProfile -NonInteractive -EncodedCommand <b64>``,
whose encoded command (UTF-16LE, as ``-EncodedCommand`` wants) reads the script from stdin and runs
it; the connector writes the script (UTF-8) to the channel's stdin and closes it. The same bootstrap
works when the server's default shell is PowerShell. ``-NoProfile`` keeps profile scripts out.
:func:`parse_script` is the inverse of :func:`build_script` (tests); the simulator reads scripts with
its own reader (:mod:`simulators.ssh.powershell_reader`).
"""

from __future__ import annotations

import base64
import math
import re

__all__ = ["BOOTSTRAP", "MAX_SECTION_SECONDS", "bootstrap_command", "build_script", "parse_script"]

_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_HERE_END = re.compile(r"^'@", re.M)

#: What the bootstrap runs: the script from stdin, decoded as UTF-8, as one script block.
BOOTSTRAP = ("$in = New-Object System.IO.StreamReader([Console]::OpenStandardInput(), "
             "(New-Object System.Text.UTF8Encoding $false)); "
             "& ([ScriptBlock]::Create($in.ReadToEnd()))")
#: Upper bound for one section (a longer per-command budget is clamped to it).
MAX_SECTION_SECONDS = 600

_PREAMBLE = """\
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
[Console]::OutputEncoding = New-Object System.Text.UTF8Encoding $false
$__iacs_n = '{nonce}'
$__iacs_ms = {ms}
$__iacs_sections = @(
"""
_RUNNER = """\
)
for ($__iacs_i = 0; $__iacs_i -lt $__iacs_sections.Count; $__iacs_i++) {
  [Console]::Out.Write(('__IACS_{0}_B_{1}__' -f $__iacs_n, $__iacs_i) + "`n")
  $__iacs_ps = [PowerShell]::Create()
  [void]$__iacs_ps.AddScript('$ErrorActionPreference = ''Stop''' + "`n" + $__iacs_sections[$__iacs_i])
  $__iacs_rc = 0
  $__iacs_text = ''
  try {
    $__iacs_h = $__iacs_ps.BeginInvoke()
    if ($__iacs_h.AsyncWaitHandle.WaitOne($__iacs_ms)) {
      $__iacs_text = ($__iacs_ps.EndInvoke($__iacs_h) | ForEach-Object { [string]$_ }) -join "`n"
    } else {
      [void]$__iacs_ps.BeginStop($null, $null)
      $__iacs_rc = 124
    }
  } catch {
    $__iacs_text = 'ERROR: ' + $_.Exception.Message
    $__iacs_rc = 1
  }
  if ($__iacs_rc -ne 124) { $__iacs_ps.Dispose() }
  [Console]::Out.Write($__iacs_text + "`n" + ('__IACS_{0}_E_{1}__ {2}' -f $__iacs_n, $__iacs_i, $__iacs_rc) + "`n")
}
"""


def build_script(sections: list[str], nonce: str, timeout: float) -> str:
    """The composed script running ``sections`` in order, each bounded by ``timeout`` seconds."""
    if not _NONCE.match(nonce):
        raise ValueError("nonce must be 8 to 64 ASCII letters or digits")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    if not sections:
        raise ValueError("a script needs at least one section")
    ms = int(min(timeout, MAX_SECTION_SECONDS) * 1000)
    parts = [_PREAMBLE.format(nonce=nonce, ms=ms)]
    for index, section in enumerate(sections):
        if not isinstance(section, str) or not section.strip():
            raise ValueError(f"section {index} is empty")
        if "\0" in section or "\r" in section:
            raise ValueError(f"section {index} contains a NUL or carriage return")
        if _HERE_END.search(section):
            raise ValueError(f"section {index} has a line beginning with '@, which would end its here-string")
        if index:
            parts.append(",\n")
        parts.append(f"@'\n{section.rstrip(chr(10))}\n'@\n")
    parts.append(_RUNNER)
    return "".join(parts)


def bootstrap_command() -> str:
    """The exec command: ``powershell.exe`` reading the script from stdin (fits cmd.exe's 8191 characters)."""
    encoded = base64.b64encode(BOOTSTRAP.encode("utf-16-le")).decode("ascii")
    return f"powershell.exe -NoProfile -NonInteractive -EncodedCommand {encoded}"


_SCRIPT = re.compile(r"\A" + re.escape(_PREAMBLE).replace(r"\{nonce\}", "(?P<nonce>[A-Za-z0-9]+)")
                     .replace(r"\{ms\}", r"(?P<ms>\d+)") + r"(?P<body>.*)" + re.escape(_RUNNER) + r"\Z", re.S)


def parse_script(script: str) -> tuple[str, float, list[str]]:
    """``(nonce, timeout seconds, sections)`` of a script from :func:`build_script`; ValueError otherwise."""
    match = _SCRIPT.match(script)
    if match is None:
        raise ValueError("not a script built by build_script")
    body = match.group("body")
    sections = re.findall(r"(?:\A|\n,\n)@'\n(.*?)\n'@(?=\n)", "\n" + body if not body.startswith("@'") else body, re.S)
    rebuilt = build_script(sections, match.group("nonce"), int(match.group("ms")) / 1000) if sections else ""
    if rebuilt != script:
        raise ValueError("not a script built by build_script (sections do not read back)")
    return match.group("nonce"), int(match.group("ms")) / 1000, sections
