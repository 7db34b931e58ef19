"""Run code with the CLI's log handlers installed and capture what stderr shows (then restore logging)."""

from __future__ import annotations

import io
import logging
import sys
from pathlib import Path
from typing import Callable

from auditor.cli import logs


def shown_on_stderr(verbose: int, log_file: Path | None, emit: Callable[[], None]) -> str:
    """What stderr shows when ``emit`` logs, with the handlers ``iacs-audit -v...`` installs."""
    buffer, saved, root = io.StringIO(), sys.stderr, logging.getLogger()
    level, handler = root.level, None
    sys.stderr = buffer
    try:
        handler = logs.configure(verbose, log_file)
        emit()
    finally:
        sys.stderr = saved
        logs.remove(handler)
        for installed in [h for h in root.handlers if getattr(h, "_iacs_audit_handler", False)]:
            root.removeHandler(installed)
        root.setLevel(level)
    return buffer.getvalue()
