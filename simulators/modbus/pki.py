"""A throw-away PKI for simulated Modbus/TCP Security PLCs: one CA, server and client certificates.

Modbus/TCP Security authenticates both ends with X.509 certificates and carries the client's role
in the extension OID 1.3.6.1.4.1.50316.802.1 (a UTF8String). :func:`demo_pki` makes one CA per
process (ECDSA P-256, SHA-256), so every simulated PLC of a process trusts the same auditor
certificate; :meth:`DemoPki.write` puts the files the auditor needs into a folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["ROLE_OID", "DemoPki", "demo_pki", "role_extension"]

ROLE_OID = x509.ObjectIdentifier("1.3.6.1.4.1.50316.802.1")
_LOCK = threading.Lock()
_PKI: "DemoPki | None" = None


def role_extension(role: str) -> x509.UnrecognizedExtension:
    raw = role.encode("utf-8")
    if len(raw) > 127:
        raise ValueError("role too long")
    return x509.UnrecognizedExtension(ROLE_OID, bytes([0x0C, len(raw)]) + raw)  # DER UTF8String


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _pem_cert(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def cert_pem(self) -> bytes:
        return _pem_cert(self.cert)

    @property
    def key_pem(self) -> bytes:
        return _pem_key(self.key)


@dataclass
class DemoPki:
    ca: Issued
    client: Issued
    _servers: dict[str, Issued] = field(default_factory=dict)
    _folder: Path | None = None

    @classmethod
    def create(cls, client_role: str = "Auditor") -> "DemoPki":
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "iacs-auditor demo plant"),
                          x509.NameAttribute(NameOID.COMMON_NAME, "Demo plant Modbus/TCP Security CA")])
        now = dt.datetime.now(dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=3650))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                             crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        ca = Issued(cert, key)
        pki = cls(ca=ca, client=ca)  # replaced right below
        pki.client = pki._issue("iacs-auditor", client=True, role=client_role)
        return pki

    def _issue(self, common_name: str, *, client: bool, role: str | None = None, address: str | None = None,
               days: int = 825) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        builder = (x509.CertificateBuilder()
                   .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "iacs-auditor demo plant"),
                                            x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
                   .issuer_name(self.ca.cert.subject).public_key(key.public_key())
                   .serial_number(x509.random_serial_number())
                   .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH if client
                                                         else ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.ca.key.public_key()),
                                  critical=False))
        if address:
            builder = builder.add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(address))]),
                                            critical=False)
        if role:
            builder = builder.add_extension(role_extension(role), critical=False)
        return Issued(builder.sign(self.ca.key, hashes.SHA256()), key)

    def server(self, address: str, product: str = "PLC") -> Issued:
        """The certificate of the PLC at ``address`` (issued once per address and process)."""
        with _LOCK:
            if address not in self._servers:
                self._servers[address] = self._issue(f"{product} {address}", client=False, address=address)
            return self._servers[address]

    def issue_client(self, role: str | None, common_name: str = "other-client") -> Issued:
        return self._issue(common_name, client=True, role=role)

    def write(self, folder: Path | str) -> dict[str, Path]:
        """Write ``ca.crt``, ``client.crt`` and ``client.key`` (mode 0600) into ``folder``; returns their paths."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        paths = {"ca": folder / "ca.crt", "cert": folder / "client.crt", "key": folder / "client.key"}
        paths["ca"].write_bytes(self.ca.cert_pem)
        paths["cert"].write_bytes(self.client.cert_pem)
        fd = os.open(paths["key"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(self.client.key_pem)
        return paths

    def process_files(self) -> dict[str, Path]:
        """The auditor's files in a folder that lives as long as this process (for the inventory's file references)."""
        with _LOCK:
            if self._folder is None:
                self._folder = Path(tempfile.mkdtemp(prefix="iacs-modbus-pki-"))
                import atexit
                import shutil

                atexit.register(shutil.rmtree, self._folder, True)
        return self.write(self._folder)


def demo_pki() -> DemoPki:
    """The process-wide demo PKI (created on first use)."""
    global _PKI
    with _LOCK:
        if _PKI is None:
            _PKI = DemoPki.create()
        return _PKI
