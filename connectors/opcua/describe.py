"""asyncua structures -> plain JSON data for evidence items (transport layer: no judgement here).

The evidence keeps what the server said with its OPC UA names, so a reviewer can compare an item with
a packet capture: security policy URIs, ``MessageSecurityMode`` and ``UserTokenType`` names, and the
DER server certificate in base64.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as _dt
import enum
import uuid
from typing import Any

from asyncua import ua

__all__ = ["application", "data_value", "endpoint", "jsonable", "policy_name", "status_name"]


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


def application(app: ua.ApplicationDescription) -> dict[str, Any]:
    return {
        "application_uri": app.ApplicationUri,
        "product_uri": app.ProductUri,
        "application_name": _text(app.ApplicationName),
        "application_type": getattr(app.ApplicationType, "name", str(app.ApplicationType)),
        "gateway_server_uri": app.GatewayServerUri,
        "discovery_profile_uri": app.DiscoveryProfileUri,
        "discovery_urls": list(app.DiscoveryUrls or []),
    }


def endpoint(ep: ua.EndpointDescription) -> dict[str, Any]:
    cert = ep.ServerCertificate or b""
    return {
        "endpoint_url": ep.EndpointUrl,
        "security_policy_uri": ep.SecurityPolicyUri,
        "security_policy": policy_name(ep.SecurityPolicyUri),
        "security_mode": _mode(ep.SecurityMode),
        "security_level": ep.SecurityLevel,
        "transport_profile_uri": ep.TransportProfileUri,
        "user_identity_tokens": [
            {"policy_id": t.PolicyId, "token_type": getattr(t.TokenType, "name", str(t.TokenType)),
             "security_policy_uri": t.SecurityPolicyUri or "", "issued_token_type": t.IssuedTokenType,
             "issuer_endpoint_url": t.IssuerEndpointUrl}
            for t in (ep.UserIdentityTokens or [])],
        "server": application(ep.Server),
        "server_certificate": base64.b64encode(cert).decode("ascii") if cert else None,
    }


def status_name(code: Any) -> str:
    if isinstance(code, ua.StatusCode):
        return code.name
    try:
        return ua.StatusCode(int(code)).name
    except Exception:
        return str(code)


def data_value(dv: ua.DataValue) -> dict[str, Any]:
    status = dv.StatusCode
    out: dict[str, Any] = {"status": status_name(status) if status is not None else "Good"}
    variant = dv.Value
    if variant is not None:
        out["value"] = jsonable(variant.Value)
        out["type"] = getattr(variant.VariantType, "name", None)
    else:
        out["value"] = None
    return out


def jsonable(value: Any, _depth: int = 0) -> Any:
    """OPC UA values as JSON: datetimes ISO 8601, enums by name, structures as dicts, bytes base64."""
    if _depth > 8:
        return repr(value)
    if isinstance(value, enum.Enum):  # before int: OPC UA enumerations are IntEnums
        return value.name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, _dt.datetime):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, ua.QualifiedName):
        return value.to_string()
    if isinstance(value, ua.NodeId):
        return value.to_string()
    if isinstance(value, ua.StatusCode):
        return value.name
    if isinstance(value, (list, tuple)):
        return [jsonable(v, _depth + 1) for v in value]
    if dataclasses.is_dataclass(value):
        return {f.name: jsonable(getattr(value, f.name), _depth + 1) for f in dataclasses.fields(value)}
    return str(value)
