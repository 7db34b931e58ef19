"""One read-only shell script for many commands, and the parser that splits its output back apart.

The SSH connector runs every ``exec`` request of an asset in ONE ``exec`` channel: a POSIX ``sh``
script built here. Each command runs in its own ``sh -c`` with stdin from ``/dev/null``, stderr
merged into stdout and a ``timeout``; its output is framed by marker lines that carry a random
per-run nonce::

    __IACS_<nonce>_SUDO__ yes|no            (only if some command asked for sudo)
    __IACS_<nonce>_B_<i>__                  begin of command i
    ...whatever command i printed...
    (an extra newline, so the end marker always starts a line)
    __IACS_<nonce>_E_<i>__ <exit code>      end of command i

Device output cannot forge a marker: the nonce is random per script, and the script itself never
contains an assembled marker (``printf '__IACS_%s_B_%s__\\n' "$__iacs_n" 3``), so even a command that
prints the running script (``ps``, ``/proc/*/cmdline``) does not produce a marker line. Markers are
only recognised as whole lines.

The script, statement by statement (POSIX ``sh`` syntax: statements end at an unquoted newline or
``;``; ``if ...; then ...; else ...; fi`` as usual)::

    LC_ALL=C; export LC_ALL
    unset IFS
    PATH="${PATH:-/usr/bin:/bin}:/usr/local/sbin:/usr/sbin:/sbin"; export PATH
    __iacs_n=<nonce>                        8 to 64 ASCII letters and digits
    __iacs_t=
    if timeout -k 1 5 true </dev/null >/dev/null 2>&1; then __iacs_t="timeout -k <kill> <seconds>"; fi
    --- only if some command wants sudo:
    __iacs_s=
    sudo -S -v >/dev/null 2>&1              (only with a sudo password: sudo reads it from stdin)
    if sudo -n -l env LC_ALL=C $__iacs_t sh -c <first sudo command> </dev/null >/dev/null 2>&1; then \
__iacs_s="sudo -n env LC_ALL=C"; printf '__IACS_%s_SUDO__ yes\\n' "$__iacs_n"; \
else printf '__IACS_%s_SUDO__ no\\n' "$__iacs_n"; fi
    --- then for each command i = 0, 1, 2, ... in order, three statements:
    printf '__IACS_%s_B_%s__\\n' "$__iacs_n" <i>
    [$__iacs_s ]$__iacs_t sh -c <command> </dev/null 2>&1
    __iacs_rc=$?; printf '\\n__IACS_%s_E_%s__ %s\\n' "$__iacs_n" <i> "$__iacs_rc"

``<seconds>`` is the per-command timeout in whole seconds (rounded up), ``<kill>`` the grace before
KILL. ``$__iacs_s `` precedes a command exactly when that command wants sudo. ``<command>`` is ONE
shell word holding the command's exact text: as is when the text has only letters, digits and
``@%+=:,./-_``, otherwise in single quotes with each single quote of the text written as ``'"'"'``
(end the quote, a double-quoted quote, reopen), so the word may span several lines and hold any
character but NUL. Nothing else is in the script.

sudo: ``sudo -n -l <argv>`` asks sudo whether the FIRST command that wants sudo may run exactly as the
script will run it (``env LC_ALL=C timeout -k <kill> <seconds> sh -c <command>``), without a password; this
holds for ``NOPASSWD: ALL`` and for the exact ``Cmnd_Alias`` that ``iacs-audit sudoers`` prints (see
:func:`sudo_argv`). With a sudo password the connector writes it, one line, to the exec channel's stdin
and closes it; ``sudo -S -v`` (a direct child of the script's shell, like every later ``sudo -n``)
reads it from there, so the password is never in the script, an argument, a variable or a file, and
sudo's cached credentials (kept per parent process when there is no terminal) serve the later
``sudo -n``. A wrong password costs one failed attempt; the commands then run as the user.

:class:`OutputSplitter` parses the output incrementally with bounded memory: at most
``max_section`` bytes are kept per command (the rest is counted, not stored) and anything outside a
section (login noise from shell start-up files) is discarded. :func:`split_output` is the one-shot
form. :func:`parse_script` is the inverse of :func:`build_script`. The SSH simulator does NOT use it:
it reads scripts with its own reader written from the description above
(:mod:`simulators.ssh.script_reader`), so a bug of this module cannot hide behind the same bug on the
other side; the tests check that both read every built script alike.
"""

from __future__ import annotations

import math
import re
import shlex
from typing import Any, NamedTuple

from connectors.ssh.limits import MAX_SECTION_BYTES, MAX_TOTAL_BYTES

__all__ = [
    "MAX_SECTION_BYTES",
    "MAX_TOTAL_BYTES",
    "MAX_SCRIPT_BYTES",
    "TIMEOUT_EXIT",
    "OutputSplitter",
    "ParsedScript",
    "Section",
    "build_script",
    "marker_prefix",
    "parse_script",
    "parse_script_details",
    "split_output",
    "sudo_argv",
    "timeout_seconds",
]

#: Longest script sent in one exec. Linux limits ONE argv string to 128 KiB (MAX_ARG_STRLEN) and
#: sshd hands the command to the login shell as ``-c <command>``; stay well below.
MAX_SCRIPT_BYTES = 96 * 1024
#: Exit status of coreutils ``timeout`` when it had to stop the command.
TIMEOUT_EXIT = 124
#: Seconds ``timeout`` waits after TERM before it sends KILL.
KILL_AFTER = 5

_NONCE = re.compile(r"^[A-Za-z0-9]{8,64}$")
_MAX_MARKER_LINE = 128  # longer lines are content, never markers

_PREAMBLE = """\
LC_ALL=C; export LC_ALL
unset IFS
PATH="${{PATH:-/usr/bin:/bin}}:/usr/local/sbin:/usr/sbin:/sbin"; export PATH
__iacs_n={nonce}
__iacs_t=
if timeout -k 1 5 true </dev/null >/dev/null 2>&1; then __iacs_t="timeout -k {kill_after} {timeout}"; fi
"""
_SUDO_RESET = "__iacs_s=\n"
_SUDO_PASSWORD = "sudo -S -v >/dev/null 2>&1\n"
_SUDO_CHECK = """\
if sudo -n -l env LC_ALL=C $__iacs_t sh -c {quoted} </dev/null >/dev/null 2>&1; then __iacs_s="sudo -n env LC_ALL=C"; \
printf '__IACS_%s_SUDO__ yes\\n' "$__iacs_n"; else printf '__IACS_%s_SUDO__ no\\n' "$__iacs_n"; fi
"""
_BEGIN = """printf '__IACS_%s_B_%s__\\n' "$__iacs_n" {index}\n"""
_RUN = """{prefix}$__iacs_t sh -c {quoted} </dev/null 2>&1\n"""
_END = """__iacs_rc=$?; printf '\\n__IACS_%s_E_%s__ %s\\n' "$__iacs_n" {index} "$__iacs_rc"\n"""

_SCRIPT_NONCE = re.compile(r"^__iacs_n=([A-Za-z0-9]+)$", re.M)
_SCRIPT_TIMEOUT = re.compile(r'__iacs_t="timeout -k \d+ (\d+)"')
_SCRIPT_SECTION = re.compile(
    r"^printf '__IACS_%s_B_%s__\\n' \"\$__iacs_n\" (\d+)\n(.*?) </dev/null 2>&1\n"
    r"__iacs_rc=\$\?; printf '\\n__IACS_%s_E_%s__ %s\\n' \"\$__iacs_n\" \1 \"\$__iacs_rc\"$",
    re.M | re.S)


def marker_prefix(nonce: str) -> str:
    return f"__IACS_{nonce}_"


def timeout_seconds(timeout: float) -> int:
    """The whole seconds the script gives ``timeout`` for one command (part of the sudo'ed command line)."""
    return max(1, math.ceil(timeout))


def sudo_argv(command: str, timeout: float | None) -> list[str]:
    """The exact command line sudo runs for ``command`` (``timeout`` None: the host has no ``timeout``).

    ``iacs-audit sudoers`` turns these into a ``Cmnd_Alias``; :func:`build_script` asks sudo about and runs
    exactly these words (``$__iacs_s`` = ``sudo -n env LC_ALL=C``, ``$__iacs_t`` = ``timeout -k ...``).
    """
    bound = ["timeout", "-k", str(KILL_AFTER), str(timeout_seconds(timeout))] if timeout is not None else []
    return ["env", "LC_ALL=C", *bound, "sh", "-c", command]


def build_script(commands: list[tuple[str, bool]], nonce: str, timeout: float, *,
                 sudo_password: bool = False) -> str:
    """One POSIX sh script running ``commands`` (``(command, wants_sudo)``) in order, framed by markers.

    ``timeout`` bounds each command (coreutils ``timeout``; without it the command runs unbounded
    and only the connector's overall deadline applies). sudo is checked once, and only if some
    command wants it; commands that want it then run under sudo when it works, else as the user.
    ``sudo_password``: the connector sends the sudo password on stdin, which ``sudo -S -v`` reads.
    """
    if not _NONCE.match(nonce):
        raise ValueError("nonce must be 8 to 64 ASCII letters or digits")
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    parts = [_PREAMBLE.format(nonce=nonce, kill_after=KILL_AFTER, timeout=timeout_seconds(timeout))]
    first_sudo = next((command for command, sudo in commands if sudo), None)
    if first_sudo is not None:
        parts.append(_SUDO_RESET)
        if sudo_password:
            parts.append(_SUDO_PASSWORD)
        parts.append(_SUDO_CHECK.format(quoted=shlex.quote(first_sudo)))
    for index, (command, sudo) in enumerate(commands):
        if not isinstance(command, str) or not command.strip():
            raise ValueError(f"command {index} is empty")
        if "\0" in command:
            raise ValueError(f"command {index} contains a NUL byte")
        parts.append(_BEGIN.format(index=index))
        parts.append(_RUN.format(prefix="$__iacs_s " if sudo else "", quoted=shlex.quote(command)))
        parts.append(_END.format(index=index))
    return "".join(parts)


class ParsedScript(NamedTuple):
    nonce: str
    commands: list[tuple[int, str, bool]]
    timeout: float | None
    sudo_check: bool
    sudo_password: bool = False


def parse_script_details(script: str) -> ParsedScript:
    """Inverse of :func:`build_script` with the details a simulator needs; ValueError if not one."""
    nonce_match = _SCRIPT_NONCE.search(script)
    if not script.startswith("LC_ALL=C; export LC_ALL\n") or nonce_match is None:
        raise ValueError("not a script built by build_script")
    timeout_match = _SCRIPT_TIMEOUT.search(script)
    commands: list[tuple[int, str, bool]] = []
    for match in _SCRIPT_SECTION.finditer(script):
        index, line = int(match.group(1)), match.group(2)
        sudo = line.startswith("$__iacs_s ")
        rest = line[len("$__iacs_s "):] if sudo else line
        if not rest.startswith("$__iacs_t sh -c "):
            raise ValueError(f"section {index} does not run 'sh -c'")
        tokens = shlex.split(rest[len("$__iacs_t sh -c "):], posix=True)
        if len(tokens) != 1:
            raise ValueError(f"section {index} is not one quoted command")
        commands.append((index, tokens[0], sudo))
    if [c[0] for c in commands] != list(range(len(commands))):
        raise ValueError("sections are not numbered 0..n-1")
    first = _SCRIPT_SECTION.search(script)
    preamble = script[:first.start()] if first else script  # no command text in it: only the preamble checks sudo
    return ParsedScript(nonce_match.group(1), commands,
                        float(timeout_match.group(1)) if timeout_match else None,
                        "\nif sudo -n -l " in preamble, _SUDO_PASSWORD in preamble)


def parse_script(script: str) -> tuple[str, list[tuple[int, str, bool]]]:
    """``(nonce, [(index, command, wants_sudo)])`` of a script from :func:`build_script`."""
    parsed = parse_script_details(script)
    return parsed.nonce, parsed.commands


class Section(NamedTuple):
    """One command's output: text (decoded with replacement) and exit code (None: did not finish)."""

    text: str
    exit_code: int | None


class OutputSplitter:
    """Incremental, memory-bounded parser of a script's output (feed bytes as they arrive)."""

    def __init__(self, nonce: str, count: int, *, max_section: int = MAX_SECTION_BYTES):
        prefix = marker_prefix(nonce).encode("ascii")
        self._begin = re.compile(re.escape(prefix) + rb"B_(\d+)__")
        self._end = re.compile(re.escape(prefix) + rb"E_(\d+)__ (-?\d+)")
        self._sudo = re.compile(re.escape(prefix) + rb"SUDO__ (yes|no)")
        self.count = count
        self.max_section = max_section
        self.sudo_ok: bool | None = None
        self.total_bytes = 0
        self.noise_bytes = 0  # bytes outside any section (shell start-up noise)
        self._pending = bytearray()  # start of a line that may still turn out to be a marker
        self._long_line = False  # the current line is too long to be a marker
        self._current: int | None = None
        self._data: dict[int, bytearray] = {}
        self._received: dict[int, int] = {}
        self._exit: dict[int, int] = {}

    # ------------------------------------------------------------------ feeding
    def feed(self, data: bytes) -> None:
        self.total_bytes += len(data)
        view = memoryview(data)
        start = 0
        while start < len(view):
            newline = data.find(b"\n", start)
            if newline < 0:
                self._partial(view[start:])
                return
            self._line_end(view[start:newline + 1])
            start = newline + 1

    def _partial(self, chunk: memoryview) -> None:
        if self._long_line:
            self._content(chunk)
            return
        self._pending += chunk
        if len(self._pending) > _MAX_MARKER_LINE:
            self._long_line = True
            pending, self._pending = self._pending, bytearray()
            self._content(pending)

    def _line_end(self, chunk: memoryview) -> None:
        if self._long_line:
            self._long_line = False
            self._content(chunk)
            return
        if self._pending:
            line = bytes(self._pending) + bytes(chunk)
            self._pending = bytearray()
        else:
            line = bytes(chunk)
        if len(line) <= _MAX_MARKER_LINE + 1 and self._marker(line[:-1]):
            return
        self._content(line)

    def _marker(self, line: bytes) -> bool:
        match = self._begin.fullmatch(line)
        if match:
            index = int(match.group(1))
            if index >= self.count or index in self._received:
                return False  # not a section we announced, or a repeat: treat as content
            self._close_open()
            self._current = index
            self._data[index] = bytearray()
            self._received[index] = 0
            return True
        match = self._end.fullmatch(line)
        if match:
            index = int(match.group(1))
            if index != self._current:
                return False
            self._exit[index] = int(match.group(2))
            self._current = None
            return True
        match = self._sudo.fullmatch(line)
        if match and self._current is None and self.sudo_ok is None:
            self.sudo_ok = match.group(1) == b"yes"
            return True
        return False

    def _content(self, chunk: bytes | memoryview) -> None:
        if self._current is None:
            self.noise_bytes += len(chunk)
            return
        index = self._current
        self._received[index] += len(chunk)
        room = self.max_section + 1 - len(self._data[index])  # +1: the newline before the end marker
        if room > 0:
            self._data[index] += chunk[:room]

    def _close_open(self) -> None:
        self._current = None  # an unfinished section keeps no exit code

    # ------------------------------------------------------------------ results
    def section_bytes(self, index: int) -> int:
        """Bytes command ``index`` printed (its full size, also when truncated)."""
        received = self._received.get(index, 0)
        return received - 1 if index in self._exit and received else received

    def truncated(self, index: int) -> bool:
        """True if command ``index`` printed more than ``max_section`` bytes (the rest was dropped)."""
        return self.section_bytes(index) > self.max_section

    def finished(self, index: int) -> bool:
        return index in self._exit

    def item_fields(self, index: int, *, stop_reason: str | None, timeout: float,
                    meta: dict[str, Any]) -> dict[str, Any]:
        """The fields of command ``index``'s evidence item (status, exit code, response, error, ``meta``
        with the truncation and the timeout added), as every connector that runs a split script records
        them: a command the script never finished is an error naming why, exit 124 the command's own
        ``timeout``, any other exit code ``ok`` (127 too: the command ran and the tool is absent; parsers
        decide)."""
        meta = dict(meta)
        if self.truncated(index):
            meta.update(truncated=True, bytes=self.section_bytes(index), kept_bytes=self.max_section)
        section = self.section(index)
        if section is None or section.exit_code is None:
            reason = stop_reason or "the script ended before this command"
            return {"status": "error", "exit_code": None, "response": section.text if section else "",
                    "meta": meta, "error": f"output truncated / command did not finish ({reason})"}
        if section.exit_code == TIMEOUT_EXIT:
            return {"status": "error", "exit_code": section.exit_code, "response": section.text,
                    "meta": {**meta, "timed_out": True},
                    "error": f"command timed out after {timeout:g} s (exit 124)"}
        return {"status": "ok", "exit_code": section.exit_code, "response": section.text, "meta": meta}

    def section(self, index: int) -> Section | None:
        """Command ``index``'s section if it was at least begun (exit code None: it did not finish)."""
        data = self._data.get(index)
        if data is None:
            return None
        if index == self._current and self._pending and not self._long_line:
            data = data + self._pending[:max(0, self.max_section - len(data))]
        size = min(self.section_bytes(index), self.max_section)
        raw = bytes(data[:size]) if index in self._exit else bytes(data[:self.max_section])
        return Section(raw.decode("utf-8", "replace"), self._exit.get(index))

    def sections(self) -> dict[int, Section]:
        """Every section that was at least begun, by index; unfinished ones have exit code None."""
        return {index: section for index in self._data if (section := self.section(index)) is not None}


def split_output(output: bytes | str, nonce: str, count: int, *, max_section: int = MAX_SECTION_BYTES,
                 max_total: int = MAX_TOTAL_BYTES) -> tuple[bool | None, dict[int, Section]]:
    """Split a script's whole output: ``(sudo_ok, {index: Section(text, exit_code|None)})``.

    ``sudo_ok`` is None when the script did not check sudo (or its output was cut before). Only the
    first ``max_total`` bytes are read; commands without an end marker have ``exit_code`` None.
    """
    data = output.encode("utf-8", "surrogateescape") if isinstance(output, str) else bytes(output)
    splitter = OutputSplitter(nonce, count, max_section=max_section)
    splitter.feed(data[:max_total])
    return splitter.sudo_ok, splitter.sections()
