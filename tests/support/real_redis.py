"""A real redis-server on loopback for the distributed-scan tests.

``RealRedis(host)`` runs Debian's ``redis-server`` (``.ci/run`` installs it; its own service is never
started) in the foreground on a free port of ``host``, with no persistence and no password, as a child of
the test process; :func:`require_redis` skips when it is missing, except under ``CI=true`` where it fails.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time

from tests.support import require

__all__ = ["RealRedis", "require_redis"]


def require_redis() -> None:
    require("redis-server", None if shutil.which("redis-server") else "redis-server not found (apt-get install "
                                                                        "redis-server)")


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class RealRedis:
    """``with RealRedis("127.0.50.1") as redis: redis.url`` (database 0)."""

    def __init__(self, host: str):
        self.host = host
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def start(self) -> "RealRedis":
        require_redis()
        for _ in range(3):
            self.port = _free_port(self.host)
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", self.host, "--port", str(self.port), "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--protected-mode", "no", "--loglevel", "warning"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            if self._ready():
                return self
            self.stop()
        raise RuntimeError(f"redis-server did not start on {self.host}")

    def _ready(self, timeout: float = 10.0) -> bool:
        import redis

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc is not None and self.proc.poll() is None:
            try:
                if redis.Redis(host=self.host, port=self.port, socket_timeout=1).ping():
                    return True
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def client(self, socket_timeout: float | None = 10.0):
        import redis

        return redis.Redis(host=self.host, port=self.port, socket_timeout=socket_timeout)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.proc = None

    def __enter__(self) -> "RealRedis":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
