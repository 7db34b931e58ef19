"""X.509 certificates for the OPC UA simulator and its tests, made with ``cryptography``.

``cryptography`` (>= 45) refuses to *sign* with SHA-1, yet a weak fixture must present exactly the
kind of certificate a legacy server still ships: 1024-bit RSA, ``sha1WithRSAEncryption``. For that
one case :func:`make_certificate` builds the certificate with SHA-256, swaps the signature algorithm
identifier inside the to-be-signed part for SHA-1 (the two OIDs have the same DER length), signs
those bytes with PKCS#1 v1.5 + SHA-1 through the low-level RSA API (still allowed) and assembles the
outer ``Certificate`` SEQUENCE by hand. The result parses with every X.509 library, reports
``signature_hash_algorithm == SHA1`` and verifies against the issuer's public key.
"""

from __future__ import annotations

import datetime as _dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["CertKey", "make_certificate", "make_key", "pem_key", "der"]

_SHA256_RSA = bytes.fromhex("06092a864886f70d01010b")  # OID 1.2.840.113549.1.1.11, DER-encoded
_SHA1_RSA = bytes.fromhex("06092a864886f70d010105")  # OID 1.2.840.113549.1.1.5


@dataclass(frozen=True)
class CertKey:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return der(self.certificate)


def make_key(bits: int = 2048, *, curve: ec.EllipticCurve | None = None) -> rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey:
    if curve is not None:
        return ec.generate_private_key(curve)
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def der(certificate: x509.Certificate) -> bytes:
    return certificate.public_bytes(serialization.Encoding.DER)


def pem_key(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def make_certificate(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey, common_name: str, *,
                     application_uri: str | None = None, hash_name: str = "sha256",
                     issuer: CertKey | None = None, not_before: _dt.datetime | None = None,
                     not_after: _dt.datetime | None = None, valid_days: float = 365,
                     dns_names: tuple[str, ...] = ("localhost",), ip_addresses: tuple[str, ...] = (),
                     is_ca: bool = False, client: bool = False, organization: str = "IACS auditor simulator",
                     serial: int | None = None) -> x509.Certificate:
    """An application instance certificate (or a CA with ``is_ca``), self-signed unless ``issuer`` is given."""
    now = _dt.datetime.now(_dt.timezone.utc)
    not_before = not_before or now - _dt.timedelta(days=1)
    not_after = not_after or now + _dt.timedelta(days=valid_days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    signer_key = issuer.key if issuer else key
    issuer_name = issuer.certificate.subject if issuer else subject
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
               .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after)
               .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()), critical=False)  # type: ignore[arg-type]
    if is_ca:
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=False, key_encipherment=False, data_encipherment=False,
            key_agreement=False, key_cert_sign=True, crl_sign=True, encipher_only=False, decipher_only=False),
            critical=True)
    else:
        is_rsa = isinstance(key, rsa.RSAPrivateKey)
        builder = builder.add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=is_rsa, data_encipherment=is_rsa,
            key_agreement=not is_rsa, key_cert_sign=False, crl_sign=False, encipher_only=False,
            decipher_only=False), critical=True)
        builder = builder.add_extension(x509.ExtendedKeyUsage(
            [ExtendedKeyUsageOID.CLIENT_AUTH] if client else
            [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        names: list[x509.GeneralName] = []
        if application_uri:
            names.append(x509.UniformResourceIdentifier(application_uri))
        names += [x509.DNSName(n) for n in dns_names]
        names += [x509.IPAddress(ipaddress.ip_address(a)) for a in ip_addresses]
        if names:
            builder = builder.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if hash_name == "sha1":
        if not isinstance(signer_key, rsa.RSAPrivateKey):
            raise ValueError("SHA-1 certificates are made for RSA keys only")
        return _sign_sha1(builder.sign(signer_key, hashes.SHA256()), signer_key)
    algorithm = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}[hash_name]
    return builder.sign(signer_key, algorithm)


def _sign_sha1(template: x509.Certificate, signer: rsa.RSAPrivateKey) -> x509.Certificate:
    tbs = template.tbs_certificate_bytes
    if tbs.count(_SHA256_RSA) != 1:  # pragma: no cover - would mean an extension carries the same OID
        raise ValueError("cannot locate the signature algorithm in the certificate")
    tbs = tbs.replace(_SHA256_RSA, _SHA1_RSA)
    signature = signer.sign(tbs, padding.PKCS1v15(), hashes.SHA1())
    algorithm = _tlv(0x30, _SHA1_RSA + b"\x05\x00")
    return x509.load_der_x509_certificate(_tlv(0x30, tbs + algorithm + _tlv(0x03, b"\x00" + signature)))


def _tlv(tag: int, value: bytes) -> bytes:
    n = len(value)
    if n < 0x80:
        length = bytes([n])
    else:
        raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
        length = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + length + value
