"""Logging of the command line: terse on stderr, complete in ``--log-file``.

On stderr, below ``-vv``, a record is one line: no traceback (``exc_info``), and the traceback lines a
library logs as records of their own (paramiko logs ``util.tb_strings()`` line by line at ERROR) are dropped.
Library loggers (:data:`LIBRARY_LOGGERS`) reach stderr at WARNING and above only, whatever ``-v`` says;
``-vv`` shows everything, tracebacks included. The connector's own failures are reported per asset
(result.json, the summary), so nothing is lost on stderr.

``--log-file FILE`` appends the full log (DEBUG for the auditor, INFO for libraries, DEBUG with ``-vv``;
tracebacks kept) with timestamps and thread names, for scheduled jobs.

Every handler, at every verbosity, first passes a record through :class:`_Clean`: the scan's secrets, in
every form a library might print them (:func:`auditor.plant.secrets.redact`: asyncua logs a whole
identity token at DEBUG), become ``[secret]``, and control characters a device put in a string (a banner
that retitles the terminal) are shown as escapes (:mod:`auditor.safetext`). Our own connectors log
endpoints and errors, never credentials; the redaction is for what they cannot control.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from pathlib import Path

from auditor.plant.secrets import redact
from auditor.safetext import printable_lines

# the libraries whose logging is noise for an auditor's user, and the channel the SSH connector gives
# paramiko's transports (connectors/ssh/connector.py: _TRANSPORT_LOG)
LIBRARY_LOGGERS = ("paramiko", "netmiko", "asyncua", "pymodbus", "pysnmp", "snap7", "asyncio",
                   "connectors.ssh.connector.transport")
_MARK = "_iacs_audit_handler"
FILE_ONLY = "iacs_file_only"  # extra={FILE_ONLY: True}: for --log-file only (stderr already shows it otherwise)
_STDERR_FORMAT = "%(levelname)s %(name)s: %(message)s"
_FILE_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(threadName)s]: %(message)s"
_TRACEBACK_STARTS = ("Traceback (most recent call last)", "During handling of the above exception",
                     "The above exception was the direct cause")


def is_library(name: str) -> bool:
    return any(name == lib or name.startswith(lib + ".") for lib in LIBRARY_LOGGERS)


class _Stderr(logging.StreamHandler):
    """A handler on whatever ``sys.stderr`` is when a record is emitted (test runners swap it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


class _OneLine(logging.Formatter):
    """The first line of the message, without exc_info or stack_info (the record itself is left intact)."""

    def format(self, record: logging.LogRecord) -> str:
        terse = logging.makeLogRecord(record.__dict__)
        terse.exc_info, terse.exc_text, terse.stack_info = None, None, None
        text = super().format(terse)
        return text.splitlines()[0] if text else text


class _Clean(logging.Filter):
    """Render the record's message (and traceback) once, with secrets redacted and controls escaped.

    It changes the record itself, so it must be the first filter of every handler; the message is then
    fixed text (``args`` empty) that no later formatter can expand again."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "_iacs_clean", False):
            return True  # a second handler sees the record already cleaned
        try:
            message = record.getMessage()
        except Exception:  # a library's broken format string: show what it gave, still redacted
            message = f"{record.msg!r} {record.args!r}"
        record.msg, record.args = printable_lines(redact(message)), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = printable_lines(redact(record.exc_text))
        if record.stack_info:
            record.stack_info = printable_lines(redact(record.stack_info))
        record._iacs_clean = True
        return True


class _LibraryFilter(logging.Filter):
    """On stderr: library records below WARNING, and the traceback lines libraries log one by one, dropped."""

    def __init__(self) -> None:
        super().__init__()
        self._in_traceback: set[tuple[int, str]] = set()
        self._lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, FILE_ONLY, False):
            return False
        if not is_library(record.name):
            return True
        if record.levelno < logging.WARNING:
            return False
        try:
            message = record.getMessage()
        except Exception:  # pragma: no cover - a library's broken format string
            return True
        key = (record.thread or 0, record.name)
        with self._lock:
            if message.startswith(_TRACEBACK_STARTS):
                self._in_traceback.add(key)
                return False
            if not message.strip():
                return False
            if key in self._in_traceback:
                if not message[:1].isspace():  # the exception line closes the traceback
                    self._in_traceback.discard(key)
                return False
        return True


def configure(verbose: int, log_file: Path | None) -> logging.Handler | None:
    """Install the auditor's handlers on the root logger (replacing earlier ones); returns the file handler."""
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, _MARK, False)]:
        root.removeHandler(handler)
        handler.close()
    debug = verbose >= 2
    stderr_level = max(logging.WARNING - 10 * verbose, logging.DEBUG)
    stderr = _Stderr()
    stderr.addFilter(_Clean())
    stderr.setLevel(stderr_level)
    if debug:
        stderr.setFormatter(logging.Formatter(_STDERR_FORMAT))
    else:
        stderr.setFormatter(_OneLine(_STDERR_FORMAT))
        stderr.addFilter(_LibraryFilter())
    stderr.addFilter(lambda record: not getattr(record, FILE_ONLY, False))
    setattr(stderr, _MARK, True)
    root.addHandler(stderr)
    file_handler = None
    if log_file is not None:
        path = Path(log_file).expanduser()
        if not path.exists():  # the log names devices and findings: readable by the owner only
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        file_handler = logging.FileHandler(path, mode="a", encoding="utf-8")
        file_handler.addFilter(_Clean())
        file_handler.setLevel(logging.DEBUG)
        file_handler.setFormatter(logging.Formatter(_FILE_FORMAT))
        setattr(file_handler, _MARK, True)
        root.addHandler(file_handler)
    root.setLevel(logging.DEBUG if log_file is not None else stderr_level)
    library_level = logging.DEBUG if debug else (logging.INFO if log_file is not None else logging.WARNING)
    for name in LIBRARY_LOGGERS:
        logging.getLogger(name).setLevel(library_level)
    return file_handler


def remove(handler: logging.Handler | None) -> None:
    """Close and detach a handler :func:`configure` installed (at the end of a command)."""
    if handler is not None:
        logging.getLogger().removeHandler(handler)
        handler.close()
