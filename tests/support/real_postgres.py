"""A real PostgreSQL server on loopback for the history-store tests.

``RealPostgres(workdir)`` runs Debian's PostgreSQL (``/usr/lib/postgresql/<N>/bin``; ``.ci/run``
installs the ``postgresql`` package, whose own cluster is never started) as a private cluster:
``initdb`` into *workdir*, ``pg_ctl start`` listening on 127.0.0.1 only, on a free port, with its
Unix socket inside *workdir*, password authentication (scram-sha-256) for a generated password.
As root the server runs as the ``postgres`` system user (PostgreSQL refuses to run as root).

:func:`shared_postgres` starts one server per test process (stopped at exit);
:meth:`RealPostgres.fresh_database` gives every test its own empty database.
:func:`require_real_postgres` skips when PostgreSQL is missing, except under ``CI=true`` where it
fails, so CI can never silently skip the PostgreSQL tests.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support import require

__all__ = ["RealPostgres", "postgres_unavailable_reason", "require_real_postgres", "shared_postgres"]

_PG_ROOT = Path("/usr/lib/postgresql")
# Stops the server (SIGQUIT = immediate shutdown) and removes its directory once the test process is
# gone, however it ended (normal exit, os._exit, SIGKILL): no cluster is ever left running.
_WATCHDOG = r"""
import os, shutil, signal, sys, time
owner, pid_file, workdir, own = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4] == "1"
def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
while alive(owner) and os.path.exists(pid_file):
    time.sleep(0.5)
try:
    server = int(open(pid_file).read().split()[0])
except (OSError, ValueError, IndexError):
    server = None
if server and alive(server):
    os.kill(server, signal.SIGQUIT)
    deadline = time.monotonic() + 15
    while alive(server) and time.monotonic() < deadline:
        time.sleep(0.1)
    if alive(server):
        os.kill(server, signal.SIGKILL)
if own and not alive(owner):
    shutil.rmtree(workdir, ignore_errors=True)
"""
_START_TIMEOUT = 30  # seconds for pg_ctl -w
_CMD_TIMEOUT = 60.0
_SERVER_USER = "postgres"


def _bin_dir() -> Path | None:
    """The newest installed PostgreSQL server's bin directory (Debian layout), or None."""
    candidates = []
    if _PG_ROOT.is_dir():
        for entry in _PG_ROOT.iterdir():
            if entry.name.isdigit() and all((entry / "bin" / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
                candidates.append((int(entry.name), entry / "bin"))
    if candidates:
        return max(candidates)[1]
    found = shutil.which("pg_ctl")
    if found and (Path(found).resolve().parent / "initdb").is_file():
        return Path(found).resolve().parent
    return None


def postgres_unavailable_reason() -> str | None:
    """Why a real PostgreSQL cannot be started here, or ``None`` if it can."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "the psycopg driver is not installed"
    if _bin_dir() is None:
        return "PostgreSQL server binaries not found (install the postgresql package)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(_SERVER_USER)
        except KeyError:
            return f"running as root but there is no {_SERVER_USER!r} user to run the server as"
    return None


def require_real_postgres() -> None:
    """Skip the calling test if no real PostgreSQL can run here; fail instead under CI=true."""
    require("real PostgreSQL", postgres_unavailable_reason())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RealPostgres:
    """A private PostgreSQL cluster on 127.0.0.1 (context manager)."""

    host = "127.0.0.1"
    user = "iacs"

    def __init__(self, workdir: Path | str | None = None):
        self._own_dir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="iacs-pg-")).resolve()
        self.data = self.workdir / "data"
        self.socket_dir = self.workdir / "sock"
        self.log_path = self.workdir / "postgres.log"
        self.password = secrets.token_urlsafe(18)
        self.port = 0
        self.bin: Path | None = None
        self._started = False
        self._counter = 0

    # ------------------------------------------------------------------ helpers
    def _account(self) -> tuple[int, int] | None:
        if os.geteuid() != 0:
            return None
        entry = pwd.getpwnam(_SERVER_USER)
        return entry.pw_uid, entry.pw_gid

    def _run(self, argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
        account = self._account()

        def demote() -> None:  # pragma: no cover - runs in the child
            if account is not None:
                os.setgroups([])
                os.setgid(account[1])
                os.setuid(account[0])

        env = {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "HOME": str(self.workdir), "TZ": "UTC"}
        proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=_CMD_TIMEOUT,
                              env=env, cwd=self.workdir, preexec_fn=demote)
        if check and proc.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}\n"
                               f"{self.log_tail()}")
        return proc

    def log_tail(self, n: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "RealPostgres":
        reason = postgres_unavailable_reason()
        if reason is not None:
            raise RuntimeError(reason)
        self.bin = _bin_dir()
        assert self.bin is not None
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.socket_dir.mkdir(exist_ok=True)
        pwfile = self.workdir / "pwfile"
        pwfile.write_text(self.password + "\n")
        account = self._account()
        if account is not None:
            for path in (self.workdir, self.socket_dir, pwfile):
                os.chown(path, *account)
        os.chmod(pwfile, 0o600)
        try:
            self._run([str(self.bin / "initdb"), "-D", str(self.data), "-U", self.user, f"--pwfile={pwfile}",
                       "--auth-local=scram-sha-256", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale"])
        finally:
            pwfile.unlink(missing_ok=True)
        _LIVE.add(self)
        last = ""
        for _attempt in range(3):
            self.port = _free_port()
            options = (f"-c listen_addresses={self.host} -p {self.port} -k {self.socket_dir} -c fsync=off "
                       "-c synchronous_commit=off -c full_page_writes=off -c max_connections=40")
            proc = self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-l", str(self.log_path), "-w",
                              "-t", str(_START_TIMEOUT), "-o", options, "start"], check=False)
            if proc.returncode == 0:
                self._started = True
                self._watch()
                return self
            last = (proc.stderr or proc.stdout) + "\n" + self.log_tail()
            if "already in use" not in last:
                break
        self.stop()
        raise RuntimeError(f"PostgreSQL did not start on {self.host}: {last}")

    def _watch(self) -> None:
        subprocess.Popen([sys.executable, "-c", _WATCHDOG, str(os.getpid()), str(self.data / "postmaster.pid"),
                          str(self.workdir), "1" if self._own_dir else "0"],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)

    def stop(self) -> None:
        try:
            if self.bin is not None and (self.data / "postmaster.pid").exists():
                self._run([str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-w", "-t", "20", "stop"],
                          check=False)
        finally:
            self._started = False
            _LIVE.discard(self)
            if self._own_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "RealPostgres":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ databases
    def url(self, database: str = "postgres", *, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{database}"

    def connect(self, database: str = "postgres") -> Any:
        import psycopg

        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password,
                               dbname=database, autocommit=True, connect_timeout=5)

    def fresh_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        self._counter += 1
        name = f"{prefix}_{os.getpid()}_{self._counter}_{secrets.token_hex(3)}"
        with self.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def __repr__(self) -> str:
        return f"RealPostgres(port={self.port}, workdir={str(self.workdir)!r})"


_LIVE: set[RealPostgres] = set()
_SHARED: RealPostgres | None = None


@atexit.register
def _stop_leftovers() -> None:
    for instance in list(_LIVE):
        with contextlib.suppress(Exception):
            instance.stop()


def shared_postgres() -> RealPostgres:
    """One server per test process, started on first use (skips/fails like :func:`require_real_postgres`)."""
    global _SHARED
    require_real_postgres()
    if _SHARED is None or not _SHARED._started:
        started = time.monotonic()
        _SHARED = RealPostgres().start()
        _SHARED.startup_seconds = time.monotonic() - started  # type: ignore[attr-defined]
    return _SHARED
