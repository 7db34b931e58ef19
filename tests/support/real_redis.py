"""A real redis-server on loopback for the distributed-scan tests.

``RealRedis(host)`` runs Debian's ``redis-server`` (``.ci/run`` installs it; its own service is never
started) in the foreground on a free port of ``host``, with no persistence and no password, as a child of
the test process; :func:`require_redis` skips when it is missing, except under ``CI=true`` where it fails.
``RealRedis(host, tls_dir=DIR)`` serves TLS only, with a certificate for ``host`` from a CA it writes into
DIR (``ca.pem``), as a broker behind ``rediss://`` is run.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

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

    def __init__(self, host: str, tls_dir: Path | None = None):
        self.host = host
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self.tls_dir = tls_dir
        self.ca: Path | None = None

    @property
    def url(self) -> str:
        return f"{'rediss' if self.tls_dir else 'redis'}://{self.host}:{self.port}/0"

    def _certificates(self) -> list[str]:
        """A CA and a server certificate for ``host`` (IP SAN); the redis-server arguments that serve TLS only."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        assert self.tls_dir is not None
        self.tls_dir.mkdir(parents=True, exist_ok=True)
        now = datetime.now(timezone.utc)

        def issue(subject: str, key, issuer_name, issuer_key, ca: bool):
            builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
                       .issuer_name(issuer_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                       .not_valid_before(now - timedelta(minutes=5)).not_valid_after(now + timedelta(days=1))
                       .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
            if not ca:
                builder = builder.add_extension(x509.SubjectAlternativeName(
                    [x509.IPAddress(ipaddress.ip_address(self.host))]), critical=False)
            return builder.sign(issuer_key, hashes.SHA256())

        ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test broker CA")])
        ca_cert = issue("test broker CA", ca_key, ca_name, ca_key, True)
        cert = issue(self.host, key, ca_name, ca_key, False)
        pem = serialization.Encoding.PEM
        self.ca = self.tls_dir / "ca.pem"
        self.ca.write_bytes(ca_cert.public_bytes(pem))
        (self.tls_dir / "server.pem").write_bytes(cert.public_bytes(pem))
        (self.tls_dir / "server.key").write_bytes(key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                                    serialization.NoEncryption()))
        return ["--port", "0", "--tls-port", "{port}", "--tls-cert-file", str(self.tls_dir / "server.pem"),
                "--tls-key-file", str(self.tls_dir / "server.key"), "--tls-ca-cert-file", str(self.ca),
                "--tls-auth-clients", "no"]

    def start(self) -> "RealRedis":
        require_redis()
        listen = self._certificates() if self.tls_dir else ["--port", "{port}"]
        for _ in range(3):
            self.port = _free_port(self.host)
            self.proc = subprocess.Popen(
                ["redis-server", "--bind", self.host, *[arg.replace("{port}", str(self.port)) for arg in listen],
                 "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "no",
                 "--loglevel", "warning"],
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
                if self.client(socket_timeout=1).ping():
                    return True
            except redis.RedisError:
                time.sleep(0.05)
        return False

    def client(self, socket_timeout: float | None = 10.0):
        import redis

        tls = {"ssl": True, "ssl_ca_certs": str(self.ca), "ssl_cert_reqs": "required"} if self.tls_dir else {}
        return redis.Redis(host=self.host, port=self.port, socket_timeout=socket_timeout, **tls)

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
