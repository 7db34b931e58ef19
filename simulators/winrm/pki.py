"""A throw-away CA and server certificate for the WinRM test server (ECDSA P-256, SHA-256, made in memory).

A real Windows host's HTTPS listener has a certificate from the plant's CA (AD CS or another); here each
:class:`WinrmPki` is such a CA, and the certificate it issues names the listener's IP address, so the auditor
validates it exactly as it would a real one (chain to ``ca_file``, address in the subjectAltName). The
certificates are made by the simulators' one certificate factory (:mod:`simulators.opcua.certs`).
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from simulators.opcua.certs import CertKey, make_certificate, make_key, pem_key

__all__ = ["WinrmPki"]

ORGANIZATION = "iacs-auditor test plant"


@dataclass(frozen=True)
class WinrmPki:
    ca_pem: bytes
    cert_pem: bytes
    key_pem: bytes

    @classmethod
    def create(cls, address: str, ca_name: str = "Test plant WinRM CA") -> "WinrmPki":
        """A new CA and, signed by it, a server certificate for ``address`` (an IP address)."""
        ca_key = make_key(curve=ec.SECP256R1())
        ca = CertKey(make_certificate(ca_key, ca_name, is_ca=True, valid_days=3650, dns_names=(),
                                      organization=ORGANIZATION), ca_key)
        key = make_key(curve=ec.SECP256R1())
        cert = make_certificate(key, f"WinRM {address}", issuer=ca, valid_days=825, dns_names=(),
                                ip_addresses=(address,), organization=ORGANIZATION)
        return cls(ca_pem=ca.certificate.public_bytes(serialization.Encoding.PEM),
                   cert_pem=cert.public_bytes(serialization.Encoding.PEM), key_pem=pem_key(key))
