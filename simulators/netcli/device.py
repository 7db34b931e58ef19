"""A network device's command line, for the SSH simulator's interactive (pty + shell) mode.

An SSH simulator fixture with a ``cli:`` section is a switch or router: the simulator accepts a pty and
a shell and runs :class:`CliShell` on it, like the device would:

* a prompt (IOS: ``HOSTNAME>`` at privilege 1, ``HOSTNAME#`` at 15, ``HOSTNAME(config)#`` in configuration
  mode; HiOS: ``(NAME)>``, ``(NAME)#``, ``(NAME)(Config)#``), every received line echoed;
* paging (``--More--`` after ``page_lines`` lines, space for the next page, ``q`` to stop) until the
  platform's paging command (``terminal length 0``, HiOS ``cli numlines 0``);
* ``enable`` asks for the enable secret (never echoed, never recorded) and raises the privilege level; on
  HiOS it asks for none (the user's role decides what the session may do);
* the ``show`` commands of ``answers`` (text inline or from a file of the fixture folder), each with the
  privilege it needs (``show running-config`` needs 15 on IOS, as on the real device);
* ``configure terminal`` enters configuration mode on a privileged session, as a device would, so a test
  can prove from :attr:`records` that a scan never did; every other line is refused with the platform's
  error text (``% Invalid input detected at '^' marker.``, HiOS ``Error: Invalid command '...'``).

Fixture ``cli:`` keys: ``platform`` (cisco_ios, hirschmann_hios), ``hostname``, ``privilege`` (at login,
1 or 15), ``enable_secret``, ``page_lines``, ``answers: {COMMAND: TEXT | {file: NAME, privilege: N}}``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

_PAGING = {"cisco_ios": ("terminal length 0",), "hirschmann_hios": ("cli numlines 0",)}
_SESSION = {"cisco_ios": ("terminal width 511", "terminal no monitor"), "hirschmann_hios": ()}
_INVALID = {"cisco_ios": "{marker}^\n% Invalid input detected at '^' marker.",
            "hirschmann_hios": "Error: Invalid command '{command}'"}
_CONFIGURE = {"cisco_ios": ("configure terminal", "conf t", "configure"), "hirschmann_hios": ("configure",)}
#: HiOS: ``enable`` asks for no password, it lifts the session to what the user's role allows.
_ENABLE_WITHOUT_SECRET = {"hirschmann_hios"}
_LOGOUT = ("exit", "logout", "quit")
_KEYS = {"platform", "hostname", "privilege", "enable_secret", "page_lines", "answers"}


@dataclass(frozen=True)
class CliAnswer:
    text: str
    privilege: int = 1


@dataclass(frozen=True)
class CliDevice:
    """The CLI personality of one simulated device (from a fixture's ``cli:`` section)."""

    platform: str
    hostname: str
    privilege: int = 1
    enable_secret: str | None = None
    page_lines: int = 24
    answers: dict[str, CliAnswer] = field(default_factory=dict)

    def invalid(self, command: str, prompt: str) -> str:
        """The platform's refusal of ``command`` (IOS marks the column under the prompt, HiOS names it)."""
        return _INVALID[self.platform].format(marker=" " * (len(prompt) + 1), command=command)


def load_device(data: Any, folder: Path, where: str) -> CliDevice:
    """Validate a fixture's ``cli:`` mapping; answer files are read from ``folder``."""
    if not isinstance(data, dict):
        raise ValueError(f"{where}: cli must be a mapping")
    unknown = set(data) - _KEYS
    if unknown:
        raise ValueError(f"{where}: unknown cli key(s) {', '.join(sorted(unknown))}")
    platform = data.get("platform")
    if platform not in _INVALID:
        raise ValueError(f"{where}: cli.platform must be one of {', '.join(_INVALID)}")
    answers: dict[str, CliAnswer] = {}
    for command, value in (data.get("answers") or {}).items():
        if isinstance(value, str):
            answers[command] = CliAnswer(value)
            continue
        if not isinstance(value, dict) or set(value) - {"file", "text", "privilege"}:
            raise ValueError(f"{where}: cli.answers[{command!r}] must be text or {{file|text, privilege}}")
        text = value.get("text")
        if "file" in value:
            path = folder / str(value["file"])
            if not path.is_file():
                raise ValueError(f"{where}: cli.answers[{command!r}]: no file {path}")
            text = path.read_text(encoding="utf-8")
        answers[command] = CliAnswer(str(text or ""), int(value.get("privilege", 1)))
    privilege = int(data.get("privilege", 1))
    if privilege not in (1, 15):
        raise ValueError(f"{where}: cli.privilege must be 1 or 15")
    return CliDevice(platform=platform, hostname=str(data.get("hostname", "switch")), privilege=privilege,
                     enable_secret=data.get("enable_secret"), page_lines=int(data.get("page_lines", 24)),
                     answers=answers)


class CliShell:
    """One interactive session: reads lines from ``recv``, writes with ``send``, records each line."""

    def __init__(self, device: CliDevice, send: Callable[[bytes], None], recv: Callable[[], bytes | None],
                 record: Callable[..., None]):
        self.device, self._send, self._recv, self._record = device, send, recv, record
        self.privilege = device.privilege
        self.config_mode = False
        self.paging = True
        self._buffer = b""

    @property
    def prompt(self) -> str:
        name = self.device.hostname
        if self.device.platform == "hirschmann_hios":  # HiOS: the name in parentheses, "(Config)" in that mode
            return f"({name})(Config)#" if self.config_mode else f"({name}){'#' if self.privilege >= 15 else '>'}"
        if self.config_mode:
            return f"{name}(config)#"
        return f"{name}{'#' if self.privilege >= 15 else '>'}"

    def write(self, text: str) -> None:
        self._send(text.replace("\r\n", "\n").replace("\n", "\r\n").encode("utf-8"))

    def _line(self, echo: bool = True) -> str | None:
        """The next line the client typed (echoed back like a terminal), or None when it hung up."""
        while b"\n" not in self._buffer and b"\r" not in self._buffer:
            data = self._recv()
            if not data:
                return None
            self._buffer += data
        cut = min(i for i in (self._buffer.find(b"\n"), self._buffer.find(b"\r")) if i >= 0)
        line, self._buffer = self._buffer[:cut], self._buffer[cut + 1:]
        if self._buffer[:1] == b"\n" and line is not None:
            self._buffer = self._buffer[1:]
        text = line.decode("utf-8", "replace")
        if echo:
            self.write(text + "\n")
        else:
            self.write("\n")
        return text

    def run(self) -> None:
        self.write("\n" + self.prompt)
        while True:
            line = self._line()
            if line is None:
                return
            command = " ".join(line.split())
            if not command:
                self.write(self.prompt)
                continue
            if command in _LOGOUT and not self.config_mode:
                self._record(command, refused=False, privilege=self.privilege, config_mode=False)
                return
            self._answer(command)
            self.write(self.prompt)

    def _answer(self, command: str) -> None:
        device = self.device
        if command == "enable":
            self._enable()
            return
        # recorded before the answer is written, so a client that has read the answer finds the command in the log
        notice, output = "", None  # a line written as it is, or a command's output (paged)
        refused = False
        if command in _PAGING[device.platform]:
            self.paging = False
        elif command in _SESSION[device.platform] or (self.config_mode and command in ("end", "exit")):
            self.config_mode = False if command in ("end", "exit") else self.config_mode
        elif command in _CONFIGURE[device.platform] and self.privilege >= 15:
            self.config_mode = True
            notice = "Enter configuration commands, one per line.  End with CNTL/Z.\n"
        elif command in device.answers and device.answers[command].privilege <= self.privilege:
            output = device.answers[command].text
        else:
            refused = True
            notice = device.invalid(command, self.prompt) + "\n\n"
        self._record(command, refused=refused, privilege=self.privilege, config_mode=self.config_mode)
        if output is not None:
            self._output(output)
        elif notice:
            self.write(notice)

    def _enable(self) -> None:
        if self.privilege >= 15:
            self._record("enable", refused=False, privilege=self.privilege, config_mode=False)
            return
        if self.device.platform in _ENABLE_WITHOUT_SECRET:
            self.privilege = 15
            self._record("enable", refused=False, privilege=self.privilege, config_mode=False)
            return
        self.write("Password: ")
        secret = self._line(echo=False)
        ok = secret is not None and self.device.enable_secret is not None and secret == self.device.enable_secret
        if ok:
            self.privilege = 15
        else:
            self.write("% Access denied\n\n")
        self._record("enable", refused=not ok, privilege=self.privilege, config_mode=False)

    def _output(self, text: str) -> None:
        lines = text.rstrip("\n").split("\n")
        page = self.device.page_lines
        if not self.paging or len(lines) <= page:
            self.write("\n".join(lines) + "\n")
            return
        for start in range(0, len(lines), page):
            self.write("\n".join(lines[start:start + page]) + "\n")
            if start + page >= len(lines):
                return
            self.write(" --More-- ")
            key = self._recv()
            self.write("\r          \r")
            if not key or key[:1] in (b"q", b"Q"):
                return
