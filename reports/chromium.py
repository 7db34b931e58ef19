"""Headless Chromium for the PDF report (print-to-PDF) and the browser tests.

Chromium is found on ``$IACS_CHROMIUM`` or the PATH (Debian's ``chromium``). It always runs with a fresh
temporary profile, no first-run, sync, component updates or background networking, and in its own
process group, so a hung browser is killed with all its helper processes when the time is up.
``--no-sandbox`` is needed as root and in most containers; the only document it ever opens is a report
this tool wrote itself, whose Content-Security-Policy forbids every fetch.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_ENV = "IACS_CHROMIUM"
CANDIDATES = ("chromium", "chromium-browser", "google-chrome-stable", "google-chrome", "chrome")
BASE_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-default-apps", "--mute-audio", "--hide-scrollbars",
    "--no-default-browser-check", "--disable-breakpad")


class ChromiumError(RuntimeError):
    """Chromium is missing, failed or timed out."""


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() and os.access(configured, os.X_OK) else None
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    executable = find_chromium()
    if executable is None:
        raise ChromiumError(
            "Chromium was not found: install it (Debian/Ubuntu: apt-get install chromium) or set "
            f"{CHROMIUM_ENV} to a Chromium or Chrome executable")
    return executable


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL)  # the group we created for this browser only
    except (ProcessLookupError, PermissionError):
        pass
    try:
        process.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL not delivered
        pass


def print_to_pdf(html_file: Path, pdf_file: Path, *, timeout: float = 120.0) -> Path:
    """Print a local HTML file to PDF with Chromium (page size, margins and page numbers come from CSS)."""
    executable = require_chromium()
    with tempfile.TemporaryDirectory(prefix="iacs-chromium-") as profile:
        command = [executable, *BASE_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
                   f"--print-to-pdf={pdf_file}", Path(html_file).resolve().as_uri()]
        process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True, cwd=profile)
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raise ChromiumError(f"Chromium did not finish printing within {timeout:.0f} s") from None
        finally:
            if process.poll() is None:  # pragma: no cover - communicate() returned early
                _kill_group(process)
    if process.returncode != 0 or not pdf_file.is_file() or pdf_file.stat().st_size == 0:
        tail = "\n".join(output.decode("utf-8", "replace").splitlines()[-5:])
        raise ChromiumError(f"Chromium could not print the report (exit {process.returncode}): {tail}")
    return pdf_file
