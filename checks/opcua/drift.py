"""Evidence drift of an OPC UA server: its software build, its certificates and the endpoints it offers.

Snapshots for :mod:`auditor.store.drift`, computed from the facts the checks already parse (no extra
request), so ``iacs-audit diff`` reports "software version changed", "server certificate replaced"
and "new endpoint" between two scans:

* ``opcua_software`` (version): BuildInfo ManufacturerName, ProductName, SoftwareVersion and
  BuildNumber, read in a session (absent when no session was made);
* ``opcua_certificates`` (fingerprint): SHA-256 of each distinct server certificate of the
  endpoints, keyed by the certificate's subject, so a renewal or a replaced certificate shows as
  "replaced" and an endpoint added or removed with the same certificate shows nothing;
* ``opcua_endpoints`` (set): security policy / mode and user token types of each endpoint
  (GetEndpoints, no session), so a new unsecured or anonymous endpoint shows as "new".
"""

from __future__ import annotations

from typing import Any

from auditor.registry import snapshot
from checks.opcua.facts import Certificate, Endpoint, ServerInfo

_BUILD_INFO = ("manufacturer_name", "product_name", "software_version")


@snapshot("opcua_software", label="server software (BuildInfo)", kind="version", facts=["opcua_server_info"])
def software_snapshot(opcua_server_info: Any) -> str | None:
    """``"ACME SCADA Server 2.4.1 (build 2.4.1.77)"``; None without a session or without a SoftwareVersion."""
    if not isinstance(opcua_server_info, ServerInfo):  # NotAudited / NoSession: unknown, not a change
        return None
    values = opcua_server_info.values
    if not values.get("software_version") and not values.get("build_number"):
        return None
    text = " ".join(str(values[name]).strip() for name in _BUILD_INFO if str(values.get(name) or "").strip())
    build = str(values.get("build_number") or "").strip()
    if build and build != str(values.get("software_version") or "").strip():
        text = f"{text} (build {build})" if text else f"build {build}"
    return text or None


@snapshot("opcua_certificates", label="server certificate", kind="fingerprint",
                   facts=["opcua_certificates"])
def certificates_snapshot(opcua_certificates: Any) -> dict[str, str] | None:
    """Subject -> SHA-256 of each distinct certificate (subject and key type, then endpoints, if subjects repeat)."""
    if not isinstance(opcua_certificates, list):
        return None
    certs = [c for c in opcua_certificates if isinstance(c, Certificate)]
    names = [c.subject or "certificate" for c in certs]
    if len(set(names)) != len(names):
        names = [f"{name} ({c.key_type})" for name, c in zip(names, certs)]
    if len(set(names)) != len(names):
        names = [f"{name} [{', '.join(c.endpoints)}]" for name, c in zip(names, certs)]
    return {name: c.sha256 for name, c in zip(names, certs)} or None


def _endpoint(endpoint: Endpoint) -> str:
    tokens = ", ".join(sorted(set(endpoint.token_types()))) or "no user tokens"
    return f"{endpoint.label} ({tokens})"


@snapshot("opcua_endpoints", label="OPC UA endpoints", kind="set", facts=["opcua_endpoints"])
def endpoints_snapshot(opcua_endpoints: Any) -> list[str] | None:
    """``"Basic256Sha256/SignAndEncrypt (UserName)"`` per endpoint (the URL's host/port is left out)."""
    if not isinstance(opcua_endpoints, list):
        return None
    return [_endpoint(e) for e in opcua_endpoints if isinstance(e, Endpoint)] or None
