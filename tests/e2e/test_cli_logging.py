"""Library tracebacks never reach stderr below -vv; ``--log-file`` keeps the full log for scheduled jobs.

A port that accepts a TCP connection and closes it at once makes paramiko log "Error reading SSH protocol
banner" with a traceback, line by line, at ERROR (issue 13: a 21-line traceback in cron mail).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from click.testing import CliRunner

from auditor.cli import cli
from tests.support.logs import shown_on_stderr

REPO = Path(__file__).resolve().parents[2]


class SlamServer:
    """Accepts TCP connections on loopback and closes each at once."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture()
def slam():
    server = SlamServer()
    yield server
    server.close()


@pytest.fixture()
def key(tmp_path: Path) -> Path:
    path = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


def scan(port: int, out: Path, key: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "auditor", *extra, "scan", f"ssh://auditor@127.0.0.1:{port}",
                           "--type", "host", "--sl", "1", "--out", str(out), "-q", "--key", str(key)],
                          cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def asset_error(out: Path) -> str:
    (asset,) = json.loads((out / "result.json").read_text())["assets"]
    assert asset["status"] == "error"
    return asset["error"]


def test_quiet_scan_of_a_port_that_slams_the_door_prints_no_traceback(slam: SlamServer, key: Path,
                                                                    tmp_path: Path) -> None:
    run = scan(slam.port, tmp_path / "out", key)
    assert run.returncode == 3, run.stderr
    assert slam.accepted >= 1
    assert "Traceback" not in run.stderr and "File \"" not in run.stderr
    assert len(run.stderr.splitlines()) <= 3, run.stderr
    assert "SSH protocol banner" in asset_error(tmp_path / "out")


def test_log_file_keeps_the_details(slam: SlamServer, key: Path, tmp_path: Path) -> None:
    log_file = tmp_path / "audit.log"
    run = scan(slam.port, tmp_path / "out", key, "--log-file", str(log_file))
    assert run.returncode == 3, run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.splitlines()) <= 3, run.stderr
    text = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in text and "Error reading SSH protocol banner" in text
    assert f"error 127.0.0.1: ssh://127.0.0.1:{slam.port}" in text  # the asset's outcome, with its time
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600
    assert "PRIVATE KEY" not in text


def test_debug_verbosity_shows_the_library_traceback(slam: SlamServer, key: Path, tmp_path: Path) -> None:
    run = scan(slam.port, tmp_path / "out", key, "-vv")
    assert run.returncode == 3
    assert "Traceback" in run.stderr


# ---------------------------------------------------------------------------- the handlers, in process


def _paramiko_style_failure() -> None:
    transport_log = logging.getLogger("paramiko.transport")
    transport_log.error("Exception (client): Error reading SSH protocol banner")
    try:
        raise EOFError()
    except EOFError:
        import traceback

        for line in traceback.format_exc().splitlines():
            transport_log.error(line)
    logging.getLogger("auditor.engine").error("collection failed", exc_info=(ValueError, ValueError("x"), None))
    logging.getLogger("pymodbus.client").info("connected")


def test_stderr_is_one_line_per_record_without_tracebacks(tmp_path: Path) -> None:
    log_file = tmp_path / "full.log"
    shown = shown_on_stderr(0, log_file, _paramiko_style_failure)
    assert shown.splitlines() == ["ERROR paramiko.transport: Exception (client): Error reading SSH protocol banner",
                                  "ERROR auditor.engine: collection failed"]
    full = log_file.read_text(encoding="utf-8")
    assert "Traceback (most recent call last)" in full and "ValueError: x" in full
    assert "INFO pymodbus.client" in full  # libraries reach the file at INFO


def test_verbose_still_caps_libraries_at_warning() -> None:
    shown = shown_on_stderr(1, None, lambda: (logging.getLogger("paramiko.transport").info("kex done"),
                                       logging.getLogger("auditor.engine").info("planned 3 assets")))
    assert shown.splitlines() == ["INFO auditor.engine: planned 3 assets"]


def test_debug_shows_everything() -> None:
    shown = shown_on_stderr(2, None, _paramiko_style_failure)
    assert "Traceback (most recent call last)" in shown and "INFO pymodbus.client: connected" in shown


def test_unwritable_log_file_is_a_usage_error(tmp_path: Path) -> None:
    run = CliRunner().invoke(cli, ["--log-file", str(tmp_path / "missing" / "audit.log"), "checks", "list"])
    assert run.exit_code == 2 and "--log-file" in run.output, run.output
