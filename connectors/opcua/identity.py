"""The auditor's own OPC UA application instance certificate, for secure channels.

OPC UA secures a channel between two *applications*, so even a read-only client needs a certificate
and key. The user may name theirs in the inventory (``client_cert_file`` + ``client_key_file``: DER
or PEM certificate, PEM key); otherwise one is generated ONCE and kept in the user's data directory
(``$XDG_DATA_HOME/iacs-auditor/`` or ``~/.local/share/iacs-auditor/``) as ``opcua-client.der`` and
``opcua-client.pem`` (key mode 0600, directory 0700), so that a site can trust that one certificate
on its servers. It is renewed only when it has expired or cannot be read.

Nothing is generated for a scan that needs no secure channel (discovery and None endpoints only).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import os
import socket
import threading
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ClientIdentity", "ClientIdentityError", "data_dir", "default_identity", "load_identity", "untrusted_identity"]

CERT_NAME = "opcua-client.der"
KEY_NAME = "opcua-client.pem"
VALID_DAYS = 2 * 365
_LOCK = threading.Lock()


class ClientIdentityError(Exception):
    """The client certificate or key cannot be read or created."""


@dataclass(frozen=True)
class ClientIdentity:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey
    cert_path: Path
    key_path: Path
    source: str  # "inventory" | "generated" | "kept" | "untrusted-probe"

    @property
    def der(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.DER)

    @property
    def application_uri(self) -> str | None:
        try:
            san = self.certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        except x509.ExtensionNotFound:
            return None
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
        return uris[0] if uris else None

    def describe(self) -> dict[str, object]:
        """What the evidence may say about it: never the key."""
        return {"source": self.source, "sha256": hashlib.sha256(self.der).hexdigest(),
                "subject": self.certificate.subject.rfc4514_string(), "application_uri": self.application_uri,
                "not_after": self.certificate.not_valid_after_utc.isoformat()}


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base).expanduser() / "iacs-auditor"


def load_identity(cert_file: str | Path, key_file: str | Path, source: str = "inventory") -> ClientIdentity:
    cert_path, key_path = Path(cert_file).expanduser(), Path(key_file).expanduser()
    try:
        raw = cert_path.read_bytes()
        certificate = (x509.load_pem_x509_certificate(raw) if raw.lstrip().startswith(b"-----")
                       else x509.load_der_x509_certificate(raw))
        key_raw = key_path.read_bytes()
        # the auditor's own key: skip OpenSSL's expensive RSA consistency check (~100 ms per load); the
        # key/certificate match below still catches a wrong or damaged file
        key = (serialization.load_pem_private_key(key_raw, password=None, unsafe_skip_rsa_key_validation=True)
               if key_raw.lstrip().startswith(b"-----")
               else serialization.load_der_private_key(key_raw, password=None, unsafe_skip_rsa_key_validation=True))
    except OSError as exc:
        raise ClientIdentityError(f"client certificate or key cannot be read: {exc.filename}: {exc.strerror}") from None
    except (ValueError, TypeError) as exc:
        raise ClientIdentityError(f"client certificate {cert_path} or key {key_path} is not usable: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ClientIdentityError(f"client key {key_path} must be an RSA key (OPC UA RSA security policies)")
    if key.public_key().public_numbers() != certificate.public_key().public_numbers():  # type: ignore[union-attr]
        raise ClientIdentityError(f"client key {key_path} does not belong to certificate {cert_path}")
    return ClientIdentity(certificate, key, cert_path, key_path, source)


def default_identity(directory: Path | None = None) -> ClientIdentity:
    """The kept client identity, created on first use (thread-safe within the process)."""
    folder = directory or data_dir()
    cert_path, key_path = folder / CERT_NAME, folder / KEY_NAME
    with _LOCK:
        if cert_path.is_file() and key_path.is_file():
            try:
                identity = load_identity(cert_path, key_path, source="kept")
                if identity.certificate.not_valid_after_utc > _dt.datetime.now(_dt.timezone.utc) + _dt.timedelta(days=1):
                    return identity
            except ClientIdentityError:
                pass  # unreadable or mismatched: make a new pair
        return _generate(cert_path, key_path)


def _make(common_name: str, uri: str, hostname: str, valid: _dt.timedelta) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """A self-signed RSA 2048 application instance certificate (client use) and its key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = _dt.datetime.now(_dt.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, "iacs-auditor")])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - _dt.timedelta(hours=1))
        .not_valid_after(now + valid)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=True,
                                     data_encipherment=True, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.UniformResourceIdentifier(uri), x509.DNSName(hostname)]),
                       critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256()))
    return certificate, key


#: how long one untrusted probe identity serves (a plant scan's OPC UA servers share it; a new scan later gets its own)
UNTRUSTED_REUSE = _dt.timedelta(minutes=10)
_UNTRUSTED: list[tuple[_dt.datetime, ClientIdentity]] = []


def untrusted_identity() -> ClientIdentity:
    """A certificate no server can have been told to trust, kept in memory only (never written).

    Used for the client-trust probe: a server that accepts it accepts any client application. Making one
    costs an RSA key (about 50 ms of CPU), so the servers of one scan share it: it is no less untrusted by
    the second server than by the first. After :data:`UNTRUSTED_REUSE` a new one is made, so a certificate an
    administrator might meanwhile have trusted from a server's rejected list is not offered again later.
    """
    now = _dt.datetime.now(_dt.timezone.utc)
    with _LOCK:
        if _UNTRUSTED and now - _UNTRUSTED[0][0] < UNTRUSTED_REUSE:
            return _UNTRUSTED[0][1]
        hostname = socket.gethostname() or "localhost"
        certificate, key = _make(f"iacs-auditor untrusted probe@{hostname}",
                                 f"urn:{hostname}:iacs-auditor:untrusted-probe", hostname, _dt.timedelta(days=1))
        identity = ClientIdentity(certificate, key, Path("-"), Path("-"), "untrusted-probe")
        _UNTRUSTED[:] = [(now, identity)]
        return identity


def _generate(cert_path: Path, key_path: Path) -> ClientIdentity:
    try:
        cert_path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise ClientIdentityError(f"cannot create {cert_path.parent}: {exc.strerror}") from None
    hostname = socket.gethostname() or "localhost"
    certificate, key = _make(f"iacs-auditor@{hostname}", f"urn:{hostname}:iacs-auditor", hostname,
                             _dt.timedelta(days=VALID_DAYS))
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    try:
        _write_atomic(key_path, key_pem, 0o600)
        _write_atomic(cert_path, certificate.public_bytes(serialization.Encoding.DER), 0o644)
    except OSError as exc:
        raise ClientIdentityError(f"cannot write the client certificate to {cert_path.parent}: {exc.strerror}") from None
    return ClientIdentity(certificate, key, cert_path, key_path, "generated")


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
