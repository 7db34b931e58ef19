"""Modbus/TCP Security (TLS, "mbaps", TCP 802): when to speak it and with which credentials.

Everything comes from the inventory's ``ModbusEndpoint``, like every other connector's settings:

* ``tls``: true speaks TLS, false plain Modbus/TCP; unset (the default), an endpoint whose port is in
  :data:`TLS_PORTS` (802, the IANA port of Modbus/TCP Security) is spoken to over TLS and any other port
  is plain Modbus/TCP. The connector never "tries" TLS on its own: that would put non-Modbus bytes on a
  PLC's Modbus port.
* The auditor's client certificate (Modbus/TCP Security requires mutual authentication):
  ``client_cert_file`` and ``client_key_file`` (PEM file paths, ``~`` expanded), the key's passphrase,
  if it is encrypted, by reference in ``client_key_passphrase_env`` (resolved with
  :func:`auditor.plant.secrets.resolve`), and ``ca_file`` (PEM bundle) to verify the PLC's certificate.
  Without a CA the PLC's certificate is recorded but not verified (``verified: false`` in the session
  info); without a client certificate the session is anonymous and a PLC that enforces mutual
  authentication refuses it, which the evidence says (naming the inventory fields to set).

Only file paths, subjects and fingerprints are ever recorded; key material stays in the SSL context.
"""

from __future__ import annotations

import hashlib
import ssl
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from auditor.plant.secrets import SecretError, resolve

__all__ = ["CLIENT_CERT_FIELDS", "ROLE_OID", "TLS_PORTS", "ClientCredentials", "CredentialError", "HandshakeTrace",
           "client_credentials", "probe_context", "session_context", "uses_tls"]

TLS_PORTS = frozenset({802})
# The inventory fields (ModbusEndpoint) that give the auditor a client certificate, for messages.
CLIENT_CERT_FIELDS = "client_cert_file and client_key_file"
ROLE_OID = "1.3.6.1.4.1.50316.802.1"  # Modbus/TCP Security role extension (UTF8String)


class CredentialError(Exception):
    """A configured TLS credential cannot be used (missing file, unreadable, key does not match)."""


def uses_tls(port: int, tls: bool | None = None) -> bool:
    """Speak Modbus/TCP Security? The endpoint's ``tls`` if set, else whether the port is 802."""
    return tls if tls is not None else port in TLS_PORTS


@dataclass(frozen=True)
class ClientCredentials:
    cert_file: str | None
    key_file: str | None
    ca_file: str | None
    passphrase: str | None = field(default=None, repr=False)  # resolved secret: in memory only, never described

    def describe(self) -> dict[str, Any]:
        """Subject, fingerprint and Modbus role of the client certificate: what the evidence may show."""
        info: dict[str, Any] = {"configured": self.cert_file is not None, "ca_configured": self.ca_file is not None}
        if self.cert_file:
            try:
                from cryptography import x509

                data = Path(self.cert_file).expanduser().read_bytes()
                cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
                info["subject"] = cert.subject.rfc4514_string()
                info["sha256"] = hashlib.sha256(cert.public_bytes(_der())).hexdigest()
                info["role"] = role_of(cert)
            except Exception as exc:  # description only; the SSL context reports real problems
                info["error"] = f"cannot describe the client certificate: {type(exc).__name__}"
        return info


def _der() -> Any:
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER


def role_of(cert: Any) -> str | None:
    """The Modbus role (OID 1.3.6.1.4.1.50316.802.1, a DER UTF8String) carried by a certificate, if any."""
    from cryptography import x509

    for ext in cert.extensions:
        if ext.oid.dotted_string == ROLE_OID and isinstance(ext.value, x509.UnrecognizedExtension):
            raw = ext.value.value
            if len(raw) >= 2 and raw[0] == 0x0C and raw[1] < 0x80 and len(raw) == 2 + raw[1]:
                return raw[2:].decode("utf-8", "replace")
            return raw.decode("utf-8", "replace")
    return None


def client_credentials(endpoint: Any) -> ClientCredentials:
    """The TLS credentials a ``ModbusEndpoint`` names (paths ``~``-expanded, passphrase resolved by reference)."""
    cert, key, ca = (_path(getattr(endpoint, name, None))
                     for name in ("client_cert_file", "client_key_file", "ca_file"))
    if (cert is None) != (key is None):
        raise CredentialError(f"the inventory endpoint sets only {'client_cert_file' if cert else 'client_key_file'}: "
                              f"set both {CLIENT_CERT_FIELDS} (client certificate and its private key), or neither")
    passphrase_env = getattr(endpoint, "client_key_passphrase_env", None)
    if passphrase_env and key is None:
        raise CredentialError("the inventory endpoint sets client_key_passphrase_env but no client_key_file")
    for name, value in (("client_cert_file", cert), ("client_key_file", key), ("ca_file", ca)):
        if value is not None and not Path(value).is_file():
            raise CredentialError(f"{name} of the inventory endpoint names {value}, which is not a readable file")
    try:
        passphrase = resolve(passphrase_env) if passphrase_env else None
    except SecretError as exc:
        raise CredentialError(f"client_key_passphrase_env of the inventory endpoint: {exc}") from None
    return ClientCredentials(cert, key, ca, passphrase)


def _path(value: str | None) -> str | None:
    return str(Path(value).expanduser()) if value else None


def _no_passphrase() -> str:
    # Called by OpenSSL only for an encrypted key; without it OpenSSL would prompt on the terminal.
    raise CredentialError("client_key_file is encrypted: name the variable holding its passphrase in "
                          "client_key_passphrase_env of the inventory endpoint")


def session_context(creds: ClientCredentials) -> ssl.SSLContext:
    """TLS >= 1.2 for the Modbus session itself; presents the client certificate if one is configured."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.check_hostname = False  # PLC certificates rarely name the address the auditor uses
    try:
        if creds.ca_file:
            ctx.load_verify_locations(cafile=str(Path(creds.ca_file).expanduser()))
            ctx.verify_mode = ssl.CERT_REQUIRED
        else:
            ctx.verify_mode = ssl.CERT_NONE
        if creds.cert_file and creds.key_file:
            ctx.load_cert_chain(str(Path(creds.cert_file).expanduser()), str(Path(creds.key_file).expanduser()),
                                password=creds.passphrase if creds.passphrase is not None else _no_passphrase)
    except (ssl.SSLError, OSError) as exc:
        raise CredentialError(f"the TLS credentials of the inventory endpoint (client_cert_file/client_key_file/"
                              f"client_key_passphrase_env/ca_file) cannot be loaded: "
                              f"{getattr(exc, 'reason', None) or exc.strerror or type(exc).__name__}") from None
    return ctx


class HandshakeTrace:
    """Handshake message types and alerts the device sent, seen through OpenSSL's message callback."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.alerts: list[str] = []

    @property
    def certificate_request(self) -> bool:
        return "CERTIFICATE_REQUEST" in self.messages

    def callback(self) -> Callable[..., None]:
        def record(_conn: Any, direction: str, _version: Any, content_type: Any, msg_type: Any, _data: bytes) -> None:
            if direction != "read":
                return
            kind = getattr(content_type, "name", str(content_type))
            name = getattr(msg_type, "name", str(msg_type))
            if kind == "HANDSHAKE":
                self.messages.append(name)
            elif kind == "ALERT":
                self.alerts.append(name)

        return record


def probe_context(trace: HandshakeTrace) -> ssl.SSLContext:
    """An anonymous client context that accepts whatever the device offers, to record it (sends no data)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    try:  # let old devices complete a handshake so their TLS version can be recorded and judged
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.set_ciphers("ALL:@SECLEVEL=0")
    except (ssl.SSLError, ValueError):  # pragma: no cover - depends on the OpenSSL build
        pass
    try:
        ctx._msg_callback = trace.callback()  # type: ignore[attr-defined]
    except (AttributeError, TypeError):  # pragma: no cover - CPython without the hook: fewer facts
        pass
    return ctx
