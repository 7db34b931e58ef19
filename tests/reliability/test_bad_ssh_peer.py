"""A hostile SSH peer on 127.0.32.x: its pre-banner lines carry terminal escapes, then it talks garbage or
closes. The scan reports the asset as an error, prints no library traceback (default verbosity and ``-q``),
and neither the terminal nor report.md nor the CSV receives a raw control character."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HOSTILE_LINE = "\x1b]0;owned\x07\x1b[2J\x1b[31mWelcome\x9b1m\r\n".encode()
RAW = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x9b]")


class HostilePeer:
    """Accepts on ``address``; sends escape-laden pre-banner lines, then ``tail`` (garbage or nothing), closes."""

    def __init__(self, address: str, tail: bytes) -> None:
        self.tail = tail
        self.sock = socket.create_server((address, 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    conn.sendall(HOSTILE_LINE * 3 + self.tail)
                    conn.settimeout(1.0)
                    conn.recv(4096)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("key") / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path


@pytest.mark.parametrize("verbosity", [[], ["-q"], ["-vv"]], ids=["default", "quiet", "debug"])
@pytest.mark.parametrize("tail", [b"", b"SSH-2.0-x\r\n" + bytes(range(256)) * 8, b"\xff" * 5000],
                         ids=["close", "garbage-after-version", "binary"])
def test_hostile_peer_gives_an_error_without_traceback_or_raw_escapes(tmp_path: Path, key: Path, tail: bytes,
                                                                      verbosity: list[str]) -> None:
    peer = HostilePeer("127.0.32.50", tail)
    out = tmp_path / "out"
    try:
        global_options = ["-vv"] if verbosity == ["-vv"] else []
        scan_options = ["-q"] if verbosity == ["-q"] else []
        run = subprocess.run([sys.executable, "-m", "auditor", *global_options, "scan",
                              f"ssh://auditor@127.0.32.50:{peer.port}", "--type", "host", "--sl", "1", "--out",
                              str(out), "--key", str(key), "--no-agent", "-f", "json,md,csv", *scan_options],
                             cwd=REPO, capture_output=True, text=True, timeout=120,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        peer.close()
    assert run.returncode == 3, run.stderr
    if verbosity != ["-vv"]:  # -vv is where tracebacks belong
        assert "Traceback" not in run.stderr and 'File "' not in run.stderr, run.stderr
        assert len(run.stderr.splitlines()) <= 3, run.stderr
    else:
        assert "\\x1b]0;owned\\x07" in run.stderr  # paramiko's DEBUG lines show the pre-banner, escaped
    for where, text in {"stderr": run.stderr, "stdout": run.stdout,
                        "report.md": (out / "report.md").read_text(), "results.csv": (out / "results.csv").read_text()
                        }.items():
        assert not RAW.search(text.replace("\r\n", "\n")), (where, text)


def test_a_device_banner_with_escapes_reaches_reports_and_terminal_escaped(tmp_path: Path, key: Path) -> None:
    """A device that lets the auditor in and greets it with an escape-laden banner (observed by the checks)."""
    import paramiko

    from simulators.ssh.server import SshSimulator

    sim = SshSimulator("weak", host="127.0.32.52", authorized_key=paramiko.Ed25519Key.from_private_key_file(str(key)))
    sim.banner = HOSTILE_LINE.decode() * 2
    sim.start()
    known_hosts = tmp_path / "known_hosts"
    known_hosts.write_text(sim.known_hosts_line)
    out = tmp_path / "out"
    try:
        run = subprocess.run([sys.executable, "-m", "auditor", "-vv", "scan", f"ssh://auditor@127.0.32.52:{sim.port}",
                              "--type", "host", "--sl", "2", "--out", str(out), "--key", str(key), "--no-agent",
                              "--known-hosts", str(known_hosts), "-f", "json,md,csv,junit,matrix-csv"],
                             cwd=REPO, capture_output=True, text=True, timeout=180,
                             env={**os.environ, "PYTHONPATH": str(REPO)})
    finally:
        sim.stop()
    assert run.returncode in (1, 3), run.stderr[-2000:]
    assert "Welcome" in (out / "result.json").read_text()  # the banner was read and kept as data
    texts = {"stderr": run.stderr, "stdout": run.stdout,
             **{name: (out / name).read_text() for name in ("report.md", "results.csv", "junit.xml",
                                                             "component-matrix.csv")}}
    assert any("\\x1b]0;owned\\x07" in text for text in texts.values())
    for where, text in texts.items():
        assert not RAW.search(text.replace("\r\n", "\n")), (where, RAW.search(text.replace("\r\n", "\n")))
