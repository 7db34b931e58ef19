"""asyncua structures -> plain JSON data for evidence items (transport layer: no judgement here).

The evidence keeps what the server said with its OPC UA names, so a reviewer can compare an item with
a packet capture: security policy URIs, ``MessageSecurityMode`` and ``UserTokenType`` names, and the
DER server certificate in base64. Within :mod:`connectors.opcua.limits`: what a limit cut is counted in
a :class:`Cuts`, which becomes the item's meta.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import uuid
from typing import Any

from asyncua import ua

from connectors.opcua import limits

__all__ = ["Cuts", "application", "data_value", "endpoint", "jsonable", "policy_name", "status_name"]


class Cuts:
    """What the limits cut from one answer: per kind, the largest original size seen and what was kept."""

    def __init__(self) -> None:
        self._cut: dict[str, tuple[int, int]] = {}

    def note(self, kind: str, original: int, kept: int) -> None:
        seen = self._cut.get(kind)
        if seen is None or original > seen[0]:
            self._cut[kind] = (original, kept)

    def text(self, value: str | None) -> str | None:
        if value is None or len(value) <= limits.MAX_STRING_CHARS:
            return value
        self.note("chars", len(value), limits.MAX_STRING_CHARS)
        return value[:limits.MAX_STRING_CHARS]

    def first(self, values: Any, limit: int, kind: str) -> list[Any]:
        values = list(values or [])
        if len(values) > limit:
            self.note(kind, len(values), limit)
        return values[:limit]

    def meta(self) -> dict[str, Any]:
        """``{}``, or ``truncated`` with ``original_<kind>`` and ``kept_<kind>`` for each kind cut."""
        if not self._cut:
            return {}
        out: dict[str, Any] = {"truncated": True}
        for kind, (original, kept) in sorted(self._cut.items()):
            out[f"original_{kind}"], out[f"kept_{kind}"] = original, kept
        return out


def policy_name(uri: str | None) -> str:
    """``http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256`` -> ``Basic256Sha256``; '' for no URI."""
    return (uri or "").rsplit("#", 1)[-1]


def _mode(mode: Any) -> str:
    name = getattr(mode, "name", str(mode))
    return "None" if name == "None_" else name


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, ua.LocalizedText):
        return value.Text
    return str(value)


def application(app: ua.ApplicationDescription, cuts: Cuts | None = None) -> dict[str, Any]:
    cuts = cuts if cuts is not None else Cuts()
    return {
        "application_uri": cuts.text(app.ApplicationUri),
        "product_uri": cuts.text(app.ProductUri),
        "application_name": cuts.text(_text(app.ApplicationName)),
        "application_type": getattr(app.ApplicationType, "name", str(app.ApplicationType)),
        "gateway_server_uri": cuts.text(app.GatewayServerUri),
        "discovery_profile_uri": cuts.text(app.DiscoveryProfileUri),
        "discovery_urls": [cuts.text(u) for u in cuts.first(app.DiscoveryUrls, limits.MAX_URLS, "discovery_urls")],
    }


def endpoint(ep: ua.EndpointDescription, cuts: Cuts | None = None) -> dict[str, Any]:
    cuts = cuts if cuts is not None else Cuts()
    cert = ep.ServerCertificate or b""
    if len(cert) > limits.MAX_CERTIFICATE_BYTES:
        cuts.note("certificate_bytes", len(cert), 0)
        cert = b""  # a cut DER is no certificate: dropped, and the item says so
    return {
        "endpoint_url": cuts.text(ep.EndpointUrl),
        "security_policy_uri": cuts.text(ep.SecurityPolicyUri),
        "security_policy": cuts.text(policy_name(ep.SecurityPolicyUri)),
        "security_mode": _mode(ep.SecurityMode),
        "security_level": ep.SecurityLevel,
        "transport_profile_uri": cuts.text(ep.TransportProfileUri),
        "user_identity_tokens": [
            {"policy_id": cuts.text(t.PolicyId), "token_type": getattr(t.TokenType, "name", str(t.TokenType)),
             "security_policy_uri": cuts.text(t.SecurityPolicyUri) or "", "issued_token_type": cuts.text(t.IssuedTokenType),
             "issuer_endpoint_url": cuts.text(t.IssuerEndpointUrl)}
            for t in cuts.first(ep.UserIdentityTokens, limits.MAX_TOKENS, "tokens")],
        "server": application(ep.Server, cuts),
        "server_certificate": base64.b64encode(cert).decode("ascii") if cert else None,
    }


def status_name(code: Any) -> str:
    if isinstance(code, ua.StatusCode):
        return code.name
    try:
        return ua.StatusCode(int(code)).name
    except Exception:
        return str(code)


def data_value(dv: ua.DataValue, cuts: Cuts | None = None) -> dict[str, Any]:
    cuts = cuts if cuts is not None else Cuts()
    status = dv.StatusCode
    out: dict[str, Any] = {"status": status_name(status) if status is not None else "Good"}
    variant = dv.Value
    if variant is not None:
        out["value"] = jsonable(variant.Value, cuts)
        out["type"] = getattr(variant.VariantType, "name", None)
    else:
        out["value"] = None
    return out


def jsonable(value: Any, cuts: Cuts | None = None, _depth: int = 0) -> Any:
    """OPC UA values as JSON: datetimes ISO 8601, enums by name (bit masks as numbers), structures as dicts,
    bytes base64; strings, byte strings and arrays within the limits."""
    cuts = cuts if cuts is not None else Cuts()
    if _depth > 8:
        return cuts.text(repr(value))
    if isinstance(value, enum.Flag):  # bit masks (PermissionType, AccessLevelType): the number, not names
        return int(value)
    if isinstance(value, enum.Enum):  # before int: OPC UA enumerations are IntEnums
        return value.name
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        return cuts.text(value)
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        if len(value) > limits.MAX_BYTES_VALUE:
            cuts.note("bytes", len(value), limits.MAX_BYTES_VALUE)
        return base64.b64encode(bytes(value[:limits.MAX_BYTES_VALUE])).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, ua.LocalizedText):
        return cuts.text(value.Text)
    if isinstance(value, (ua.QualifiedName, ua.NodeId)):
        return cuts.text(value.to_string())
    if isinstance(value, ua.StatusCode):
        return value.name
    if isinstance(value, (list, tuple)):
        return [jsonable(v, cuts, _depth + 1) for v in cuts.first(value, limits.MAX_ARRAY_ITEMS, "array_items")]
    if dataclasses.is_dataclass(value):
        return {f.name: jsonable(getattr(value, f.name), cuts, _depth + 1) for f in dataclasses.fields(value)}
    return cuts.text(str(value))
