"""Real net-snmp ``snmpd`` agents on loopback for integration tests.

``RealSnmpd("weak", workdir)`` / ``RealSnmpd("hardened", workdir)`` start Debian's ``/usr/sbin/snmpd``
in the foreground (``snmpd -f -Lo -C -I -smux -c <conf> udp:127.0.0.1:<port>``) with a config file,
a persistent-state directory (``SNMP_PERSISTENT_DIR``) and a log that all live in *workdir*;
``/etc/snmp`` and ``/var/lib/snmp`` are never read or written (``-C``: no default config files).

* weak: SNMPv1/v2c with the factory communities (``rocommunity public``, ``rwcommunity private``,
  both restricted to 127.0.0.1), net-snmp's built-in sysContact/sysLocation placeholders, no v3 user;
* hardened: no community at all, one SNMPv3 user created by ``createUser`` with SHA authentication
  and AES privacy and read-only access at ``priv`` level only (``rouser <user> priv``), real
  sysContact/sysLocation/sysName, authentication-failure traps enabled. The user's keys are random
  per instance and written to 0600 files (``auth_key_file`` / ``priv_key_file``) for the inventory.

Requirements: the ``snmpd`` package (``.ci/run`` installs it). Use :func:`require_real_snmpd` at the
start of a test or fixture: it skips when snmpd is missing, except under ``CI=true`` where it fails so
CI can never silently skip these tests. Only loopback is used; SMUX (TCP 199) is disabled so that two
instances never compete for a port.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, Literal

from tests.support import require

__all__ = ["RealSnmpd", "SnmpdStartError", "require_real_snmpd", "snmpd_unavailable_reason", "weak_and_hardened"]

SNMPD = Path("/usr/sbin/snmpd")
USERNAME = "iacsaudit"
_START_TIMEOUT = 10.0
_TERM_GRACE = 3.0

Profile = Literal["weak", "hardened"]


class SnmpdStartError(RuntimeError):
    """snmpd is installed but the instance could not be started."""


def snmpd_unavailable_reason() -> str | None:
    if not SNMPD.is_file() or not os.access(SNMPD, os.X_OK):
        return f"{SNMPD} not found (install the snmpd package)"
    return None


def require_real_snmpd() -> None:
    """Skip the calling test if no real snmpd can run here; fail instead under CI=true."""
    require("real snmpd", snmpd_unavailable_reason())


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _udp_bound(port: int) -> bool:
    """Is something bound to 127.0.0.1:<port>/udp (from /proc, no packet sent)?"""
    needle = f"0100007F:{port:04X}"
    try:
        return any(line.split()[1] == needle for line in Path("/proc/net/udp").read_text().splitlines()[1:])
    except (OSError, IndexError):
        return False


def _secret_file(path: Path, value: str) -> Path:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
    return path


class RealSnmpd:
    """Context manager running one real snmpd on 127.0.0.1 (UDP) with a weak or hardened config.

    Attributes (valid inside the ``with`` block): ``host``, ``port``, ``profile``, ``config_path``,
    ``log_path``, ``argv``, and ``endpoint()`` -> the inventory endpoint dict that reaches it
    (v2c + community_file for weak, v3 + key files for hardened).
    """

    host = "127.0.0.1"

    def __init__(self, profile: Profile, workdir: Path) -> None:
        if profile not in ("weak", "hardened"):
            raise ValueError(f"profile must be 'weak' or 'hardened', not {profile!r}")
        self.profile: Profile = profile
        self.workdir = Path(workdir).resolve()
        self.config_path = self.workdir / "snmpd.conf"
        self.log_path = self.workdir / "snmpd.log"
        self.persist_dir = self.workdir / "persist"
        self.port = 0
        self.argv: list[str] = []
        self.auth_key = secrets.token_hex(12)
        self.priv_key = secrets.token_hex(12)
        self._proc: subprocess.Popen[bytes] | None = None

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "RealSnmpd":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        reason = snmpd_unavailable_reason()
        if reason is not None:
            raise SnmpdStartError(reason)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        last = ""
        for _attempt in range(3):  # a freed port can be taken by someone else
            self.port = _free_udp_port()
            shutil.rmtree(self.persist_dir, ignore_errors=True)
            self.persist_dir.mkdir(mode=0o700)
            self.argv = [str(SNMPD), "-f", "-Lo", "-C", "-I", "-smux", "-c", str(self.config_path),
                         f"udp:127.0.0.1:{self.port}"]
            env = dict(os.environ, SNMP_PERSISTENT_DIR=str(self.persist_dir), MIBS="")
            log = open(self.log_path, "ab")
            try:
                self._proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                              cwd=self.workdir, env=env, close_fds=True, start_new_session=True)
            finally:
                log.close()
            deadline = time.monotonic() + _START_TIMEOUT
            while time.monotonic() < deadline and self._proc.poll() is None:
                if _udp_bound(self.port) and "NET-SNMP version" in self.log_tail():
                    return
                time.sleep(0.05)
            self.stop()
            last = self.log_tail()
            if "in use" not in last:
                break
        raise SnmpdStartError(f"snmpd ({self.profile}) did not start on udp:127.0.0.1:{self.port} within "
                              f"{_START_TIMEOUT:g} s; log tail:\n{last}")

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=_TERM_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=_TERM_GRACE)

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    # ------------------------------------------------------------ config
    def _write_config(self) -> None:
        if self.profile == "weak":
            lines = ["# iacs-auditor test snmpd (weak): v1/v2c factory communities, placeholders",
                     "rocommunity public 127.0.0.1",
                     "rwcommunity private 127.0.0.1"]
        else:
            lines = ["# iacs-auditor test snmpd (hardened): SNMPv3 authPriv only",
                     f'createUser {USERNAME} SHA "{self.auth_key}" AES "{self.priv_key}"',
                     f"rouser {USERNAME} priv",
                     "sysContact OT security team <ot-security@plant.example>",
                     "sysLocation Plant 1, control room, rack C3",
                     "sysName sw-real-hardened",
                     "authtrapenable 1"]
        self.config_path.unlink(missing_ok=True)
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("\n".join(lines) + "\n")

    def endpoint(self, *, probe: bool = True, timeout: float = 2.0) -> dict[str, object]:
        """The inventory endpoint (secrets by reference: files in the work dir, mode 0600)."""
        base: dict[str, object] = {"protocol": "snmp", "port": self.port, "timeout": timeout,
                                   "probe_default_communities": probe}
        if self.profile == "weak":
            return {**base, "version": "2c",
                    "community_file": str(_secret_file(self.workdir / "community", "public"))}
        return {**base, "version": "3", "username": USERNAME, "auth_protocol": "SHA", "priv_protocol": "AES",
                "auth_key_file": str(_secret_file(self.workdir / "auth_key", self.auth_key)),
                "priv_key_file": str(_secret_file(self.workdir / "priv_key", self.priv_key))}

    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        return f"RealSnmpd(profile={self.profile!r}, port={self.port}, config={str(self.config_path)!r})"


@contextlib.contextmanager
def weak_and_hardened(prefix: str = "iacs-snmpd") -> Iterator[dict[str, RealSnmpd]]:
    """Both agents at once in temporary work dirs, removed afterwards."""
    require_real_snmpd()
    dirs = {profile: Path(tempfile.mkdtemp(prefix=f"{prefix}-{profile}-")) for profile in ("weak", "hardened")}
    try:
        with RealSnmpd("weak", dirs["weak"]) as weak, RealSnmpd("hardened", dirs["hardened"]) as hardened:
            yield {"weak": weak, "hardened": hardened}
    finally:
        for path in dirs.values():
            shutil.rmtree(path, ignore_errors=True)
