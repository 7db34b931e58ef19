"""Signing material for distributed scans: one RSA key and self-signed certificate per side.

Celery's ``auth`` serializer signs with RSA (PSS) only. The dispatcher's certificate goes into every
worker's ``trusted/`` folder; a worker's own key signs nothing the dispatcher needs (results travel through
the store), but Celery wants one on each side.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

from auditor.distributed.app import Pki


def init(folder: Path, name: str, *, days: int = 825, bits: int = 3072) -> Pki:
    """Create ``folder/key.pem`` (mode 0600), ``folder/cert.pem`` and ``folder/trusted/``; refuses to overwrite."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    pki = Pki(folder)
    if pki.key.exists():
        raise FileExistsError(f"{pki.key} exists; not overwriting a signing key")
    folder.mkdir(parents=True, exist_ok=True)
    pki.trusted.mkdir(exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name),
                         x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, "iacs-auditor scanners")])
    now = datetime.now(timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    fd = os.open(pki.key, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    pki.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return pki


def trust(folder: Path, certificate: Path, name: str | None = None) -> Path:
    """Copy ``certificate`` into ``folder/trusted/`` (as ``NAME.pem``): its signatures are accepted from now on."""
    target = Pki(folder).trusted / f"{name or certificate.stem}.pem"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(certificate, target)
    return target
