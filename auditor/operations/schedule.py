"""Scheduled audits: a systemd service + timer, or a cron entry where systemd is absent.

``iacs-audit schedule install NAME --inventory F --profile P --cron "0 2 * * 6"`` writes

* systemd: ``iacs-audit-NAME.service`` (``Type=oneshot``, runs ``iacs-audit scan ... --db ...``) and
  ``iacs-audit-NAME.timer`` (``OnCalendar=`` translated from the cron expression, ``Persistent=true``
  so a run missed while the machine was off happens at the next boot), then enables the timer when
  systemd is running; as root into ``/etc/systemd/system``, else as user units;
* cron: ``/etc/cron.d/iacs-audit-NAME`` as root, else a marked line in the user's crontab.

The unit's exit status is the scan's exit code (0 meets, 1 short of target, 2 configuration error,
3 not assessed / interrupted / store failure), so ``systemctl --failed``, ``OnFailure=`` or any
monitoring of failed units alerts; ``--alert-on error`` treats 1 as success (``SuccessExitStatus=1``).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

PREFIX = "iacs-audit-"
MARKER = "# iacs-audit schedule:"
NAME_PATTERN = r"[a-z0-9][a-z0-9_-]{0,40}"
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DOWS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_SYSTEMD_DOW = ("Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat")
_SPECIAL = {"@hourly": "hourly", "@daily": "daily", "@midnight": "daily", "@weekly": "weekly",
            "@monthly": "monthly", "@yearly": "yearly", "@annually": "yearly"}
_SPECIAL_CRON = {"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@weekly": "0 0 * * 0",
                 "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *"}


class ScheduleError(ValueError):
    """A schedule that cannot be installed (bad cron expression, name, or secret in the command)."""


# ------------------------------------------------------------------ cron -> OnCalendar

def _field(text: str, low: int, high: int, names: tuple[str, ...] = (), what: str = "") -> list[int] | None:
    """Values of one cron field, or None for ``*``."""
    if text == "*":
        return None

    def number(token: str) -> int:
        token = token.lower()
        if names and token[:3] in names and not token.isdigit():
            value = names.index(token[:3]) + (1 if what == "month" else 0)
        elif token.isdigit():
            value = int(token)
        else:
            raise ScheduleError(f"bad {what} value {token!r}")
        if what == "day of week" and value == 7:
            value = 0
        if not (low <= value <= high or (what == "day of week" and value == 0)):
            raise ScheduleError(f"{what} {value} is out of range {low}..{high}")
        return value

    values: set[int] = set()
    for part in text.split(","):
        if not part:
            raise ScheduleError(f"empty list item in {what} field {text!r}")
        base, _, step_text = part.partition("/")
        step = 1
        if step_text:
            if not step_text.isdigit() or int(step_text) == 0:
                raise ScheduleError(f"bad step {step_text!r} in {what} field")
            step = int(step_text)
        if base == "*":
            first, last = low, high
        elif "-" in base:
            a, _, b = base.partition("-")
            first, last = number(a), number(b)
            if what == "day of week" and b.strip() == "7":
                last = 7
            if first > last:
                raise ScheduleError(f"range {base!r} runs backwards in {what} field")
        else:
            first = number(base)
            last = high if step_text else first
        values.update(v % 7 if what == "day of week" else v for v in range(first, last + 1, step))
    return sorted(values)


def parse_cron(expression: str) -> tuple[list[int] | None, ...]:
    """The five fields of a cron expression (``@daily`` etc. accepted) as value lists (None = every)."""
    expression = _SPECIAL_CRON.get(expression.strip(), expression.strip())
    fields = expression.split()
    if len(fields) != 5:
        raise ScheduleError(f"a cron expression has 5 fields (minute hour day-of-month month day-of-week), "
                            f"got {len(fields)}: {expression!r}")
    minute, hour, dom, month, dow = fields
    return (_field(minute, 0, 59, what="minute"), _field(hour, 0, 23, what="hour"),
            _field(dom, 1, 31, what="day of month"), _field(month, 1, 12, _MONTHS, "month"),
            _field(dow, 0, 6, _DOWS, "day of week"))


def _list(values: list[int] | None, width: int = 2) -> str:
    return "*" if values is None else ",".join(f"{v:0{width}d}" for v in values)


def cron_to_oncalendar(expression: str) -> list[str]:
    """systemd ``OnCalendar=`` values equivalent to a cron expression.

    cron runs when day-of-month OR day-of-week matches if both are restricted; systemd needs both to
    match, so that case becomes two ``OnCalendar=`` lines.
    """
    special = _SPECIAL.get(expression.strip())
    if special:
        return [special]
    minute, hour, dom, month, dow = parse_cron(expression)
    time_part = f"{_list(hour)}:{_list(minute)}:00"
    dows = None if dow is None else ",".join(_SYSTEMD_DOW[d] for d in dow)
    if dom is not None and dows is not None:
        return [f"*-{_list(month)}-{_list(dom)} {time_part}", f"{dows} *-{_list(month)}-* {time_part}"]
    prefix = f"{dows} " if dows else ""
    return [f"{prefix}*-{_list(month)}-{_list(dom)} {time_part}"]


# ------------------------------------------------------------------ the job and its files

@dataclass
class Job:
    name: str
    argv: list[str]
    cron: str
    description: str = ""
    alert_on: str = "short"  # short: exit 1 fails the unit too; error: only 2/3 do
    user: str | None = None  # systemd User= (system units only)
    timeout: str | None = None  # TimeoutStartSec=, e.g. "4h"
    on_calendar: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not re.fullmatch(NAME_PATTERN, self.name):
            raise ScheduleError(f"schedule name {self.name!r}: use lowercase letters, digits, '-' and '_'")
        self.on_calendar = self.on_calendar or cron_to_oncalendar(self.cron)
        if self.alert_on not in ("short", "error"):
            raise ScheduleError("alert_on is 'short' or 'error'")

    @property
    def unit(self) -> str:
        return f"{PREFIX}{self.name}"


def _systemd_quote(arg: str) -> str:
    escaped = arg.replace("%", "%%").replace("$", "$$")
    if escaped and not re.search(r"[\s\"'\\;]", escaped):
        return escaped
    return '"' + escaped.replace("\\", "\\\\").replace('"', '\\"') + '"'


def exec_line(argv: list[str]) -> str:
    return " ".join(_systemd_quote(a) for a in argv)


def _header(job: Job, kind: str) -> str:
    return (f"{MARKER} name={job.name} cron={job.cron!r} kind={kind}\n"
            f"# Written by 'iacs-audit schedule install'; remove with 'iacs-audit schedule remove {job.name}'.\n")


def service_unit(job: Job) -> str:
    lines = [_header(job, "service"),
             "[Unit]",
             f"Description=IEC 62443 hardening audit {job.name}" + (f" ({job.description})" if job.description else ""),
             "Wants=network-online.target",
             "After=network-online.target",
             "",
             "[Service]",
             "Type=oneshot",
             f"ExecStart={exec_line(job.argv)}",
             f"Environment=IACS_AUDIT_SCHEDULE={job.name}",
             "# exit codes: 0 every asset meets SL-T, 1 some fall short, 2 configuration error,",
             "# 3 not assessed / interrupted / history store failure",
             *(["SuccessExitStatus=1"] if job.alert_on == "error" else []),
             "Nice=10",
             "IOSchedulingClass=idle",
             "NoNewPrivileges=yes",
             *([f"User={job.user}"] if job.user else []),
             *([f"TimeoutStartSec={job.timeout}"] if job.timeout else []),
             ""]
    return "\n".join(lines)


def timer_unit(job: Job) -> str:
    lines = [_header(job, "timer"),
             "[Unit]",
             f"Description=Schedule of the IEC 62443 hardening audit {job.name}",
             "",
             "[Timer]",
             *[f"OnCalendar={spec}" for spec in job.on_calendar],
             "Persistent=true",
             f"Unit={job.unit}.service",
             "",
             "[Install]",
             "WantedBy=timers.target",
             ""]
    return "\n".join(lines)


def cron_command(argv: list[str]) -> str:
    """A /bin/sh command line for cron (``%`` is special in crontabs)."""
    return " ".join(shlex.quote(a) for a in argv).replace("%", "\\%")


def cron_entry(job: Job, user: str | None = None) -> str:
    spec = job.cron.strip()
    who = f" {user}" if user else ""
    return f"{MARKER} name={job.name} cron={job.cron!r} kind=cron\n{spec}{who} {cron_command(job.argv)}\n"


# ------------------------------------------------------------------ backends

def systemd_running() -> bool:
    return Path("/run/systemd/system").is_dir() and shutil.which("systemctl") is not None


def _run(argv: list[str]) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return 127, str(exc)
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _parse_header(text: str) -> dict[str, str]:
    for line in text.splitlines():
        if line.startswith(MARKER):
            fields = dict(re.findall(r"(\w+)=('(?:[^'\\]|\\.)*'|\S+)", line[len(MARKER):]))
            return {k: v.strip("'") for k, v in fields.items()}
    return {}


@dataclass
class Installed:
    name: str
    backend: str
    cron: str
    files: list[Path]
    command: str
    on_calendar: list[str] = field(default_factory=list)
    enabled: bool | None = None


class SystemdBackend:
    name = "systemd"

    def __init__(self, unit_dir: Path, *, user_mode: bool = False, manage: bool | None = None):
        self.unit_dir = Path(unit_dir)
        self.user_mode = user_mode
        self.manage = systemd_running() if manage is None else manage

    def _systemctl(self, *args: str) -> tuple[int, str]:
        return _run(["systemctl", *(["--user"] if self.user_mode else []), *args])

    def install(self, job: Job, *, enable: bool = True) -> tuple[list[Path], list[str]]:
        self.unit_dir.mkdir(parents=True, exist_ok=True)
        service, timer = self.unit_dir / f"{job.unit}.service", self.unit_dir / f"{job.unit}.timer"
        for path, text in ((service, service_unit(job)), (timer, timer_unit(job))):
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(text)
            tmp.replace(path)
        notes = []
        scope = " --user" if self.user_mode else ""
        if enable and self.manage:
            for args in (("daemon-reload",), ("enable", "--now", f"{job.unit}.timer")):
                code, output = self._systemctl(*args)
                if code != 0:
                    notes.append(f"systemctl{scope} {' '.join(args)} failed: {output}")
        else:
            notes.append(f"systemd is not managing these files here; activate with: systemctl{scope} daemon-reload && "
                         f"systemctl{scope} enable --now {job.unit}.timer")
        return [service, timer], notes

    def list(self) -> list[Installed]:
        out = []
        for timer in sorted(self.unit_dir.glob(f"{PREFIX}*.timer")):
            header = _parse_header(timer.read_text(errors="replace"))
            if not header:
                continue
            service = timer.with_suffix(".service")
            command = ""
            if service.is_file():
                command = next((line[len("ExecStart="):] for line in service.read_text(errors="replace").splitlines()
                                if line.startswith("ExecStart=")), "")
            calendar = [line[len("OnCalendar="):] for line in timer.read_text().splitlines()
                        if line.startswith("OnCalendar=")]
            enabled = None
            if self.manage:
                enabled = self._systemctl("is-enabled", "--quiet", timer.name)[0] == 0
            out.append(Installed(header.get("name", timer.stem[len(PREFIX):]), self.name, header.get("cron", ""),
                                 [p for p in (service, timer) if p.exists()], command, calendar, enabled))
        return out

    def remove(self, name: str) -> tuple[list[Path], list[str]]:
        unit = f"{PREFIX}{name}"
        notes = []
        if self.manage:
            code, output = self._systemctl("disable", "--now", f"{unit}.timer")
            if code != 0:
                notes.append(f"systemctl disable failed: {output}")
        removed = []
        for path in (self.unit_dir / f"{unit}.timer", self.unit_dir / f"{unit}.service"):
            if path.is_file() and _parse_header(path.read_text(errors="replace")):
                path.unlink()
                removed.append(path)
        if self.manage and removed:
            self._systemctl("daemon-reload")
        return removed, notes


class CronBackend:
    """``/etc/cron.d/iacs-audit-NAME`` files (``cron_dir``) or the user's crontab (``crontab`` command)."""

    name = "cron"

    def __init__(self, cron_dir: Path | None = None, *, user: str | None = None):
        self.cron_dir = Path(cron_dir) if cron_dir else None
        self.user = user

    def _read_crontab(self) -> str:
        code, output = _run(["crontab", "-l"])
        return output + "\n" if code == 0 and output else ""

    def _write_crontab(self, text: str) -> None:
        try:
            proc = subprocess.run(["crontab", "-"], input=text, capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ScheduleError(f"crontab could not be written: {exc}") from None
        if proc.returncode != 0:
            raise ScheduleError(f"crontab could not be written: {proc.stderr.strip()}")

    @staticmethod
    def _without(text: str, name: str) -> tuple[str, bool]:
        lines, out, removed, skip = text.splitlines(), [], False, False
        for line in lines:
            if skip:
                skip = False
                continue
            if line.startswith(MARKER) and _parse_header(line).get("name") == name:
                removed, skip = True, True
                continue
            out.append(line)
        return ("\n".join(out) + "\n" if out else ""), removed

    def install(self, job: Job, *, enable: bool = True) -> tuple[list[Path], list[str]]:
        if self.cron_dir is not None:
            self.cron_dir.mkdir(parents=True, exist_ok=True)
            path = self.cron_dir / job.unit
            path.write_text("SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
                            + cron_entry(job, self.user or "root"))
            path.chmod(0o644)
            return [path], []
        if shutil.which("crontab") is None:
            raise ScheduleError("neither systemd nor a crontab command is available; add this line to a crontab:\n"
                                + cron_entry(job))
        current, _ = self._without(self._read_crontab(), job.name)
        self._write_crontab(current + cron_entry(job))
        return [], ["added to the crontab of the current user"]

    def list(self) -> list[Installed]:
        out = []
        if self.cron_dir is not None:
            for path in sorted(self.cron_dir.glob(f"{PREFIX}*")):
                text = path.read_text(errors="replace")
                header = _parse_header(text)
                if header:
                    command = text.strip().splitlines()[-1]
                    out.append(Installed(header.get("name", ""), self.name, header.get("cron", ""), [path], command))
            return out
        if shutil.which("crontab") is None:
            return out
        lines = self._read_crontab().splitlines()
        for index, line in enumerate(lines):
            header = _parse_header(line) if line.startswith(MARKER) else {}
            if header:
                command = lines[index + 1] if index + 1 < len(lines) else ""
                out.append(Installed(header.get("name", ""), self.name, header.get("cron", ""), [], command))
        return out

    def remove(self, name: str) -> tuple[list[Path], list[str]]:
        if self.cron_dir is not None:
            path = self.cron_dir / f"{PREFIX}{name}"
            if path.is_file() and _parse_header(path.read_text(errors="replace")):
                path.unlink()
                return [path], []
            return [], []
        if shutil.which("crontab") is None:
            return [], []
        text, removed = self._without(self._read_crontab(), name)
        if removed:
            self._write_crontab(text)
            return [], ["removed from the crontab of the current user"]
        return [], []


def verify_units(paths: list[Path]) -> tuple[int, str]:
    """``systemd-analyze verify`` of unit files (exit code, output); 127 when the tool is missing."""
    if shutil.which("systemd-analyze") is None:
        return 127, "systemd-analyze not found"
    return _run(["systemd-analyze", "verify", *[str(p) for p in paths]])
