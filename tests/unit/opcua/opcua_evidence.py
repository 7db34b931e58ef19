"""Build OPC UA evidence items (as the connector records them) and run the OPC UA facts and checks on them.

``OpcuaEvidence().endpoints([...]).servers([...])`` collects items; ``.check(id, **params)`` runs a check
exactly as :func:`auditor.assessment.evaluate.run_check` does (missing evidence becomes ``error``). Endpoint dicts
come from :func:`endpoint` (the shape of :func:`connectors.opcua.describe.endpoint`).
"""

from __future__ import annotations

import base64
import datetime as _dt
import json
from typing import Any

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY
from checks.opcua.facts import (ACCOUNT_VARIABLES, ANONYMOUS_SESSION, CAPABILITIES_READ, CAPABILITY_NODES, CLIENT_LOG,
                                CLIENT_TRUST, ENDPOINTS, FIND_SERVERS, ROLE_SET, SERVER_NODES, SERVER_READ,
                                SESSION_LIMITS, VARIABLES)
from tests.support.checks import RunsChecks

POLICY = "http://opcfoundation.org/UA/SecurityPolicy#"
APP_URI = "urn:test:server"


def token(token_type: str, policy: str | None = None, policy_id: str = "") -> dict[str, Any]:
    return {"policy_id": policy_id or token_type.lower(), "token_type": token_type,
            "security_policy_uri": (POLICY + policy) if policy else "", "issued_token_type": None,
            "issuer_endpoint_url": None}


def endpoint(policy: str = "Basic256Sha256", mode: str = "SignAndEncrypt", tokens: list[dict[str, Any]] | None = None,
             certificate: bytes | None = None, app_uri: str = APP_URI, app_type: str = "Server",
             url: str = "opc.tcp://127.0.0.1:4840/", discovery_urls: list[str] | None = None) -> dict[str, Any]:
    return {
        "endpoint_url": url, "security_policy_uri": POLICY + policy,
        "security_policy": policy, "security_mode": mode, "security_level": 1,
        "transport_profile_uri": "http://opcfoundation.org/UA-Profile/Transport/uatcp-uasc-uabinary",
        "user_identity_tokens": tokens if tokens is not None else [token("UserName")],
        "server": {"application_uri": app_uri, "product_uri": "urn:test:product", "application_name": "Test",
                   "application_type": app_type, "gateway_server_uri": None, "discovery_profile_uri": None,
                   "discovery_urls": discovery_urls if discovery_urls is not None else [url]},
        "server_certificate": base64.b64encode(certificate).decode() if certificate else None,
    }


def server_values(**overrides: Any) -> dict[str, Any]:
    """A Good read of every SERVER_NODES node; ``name=("BadX", None)`` makes one node fail."""
    values = {"state": 0, "start_time": "2024-01-01T00:00:00+00:00", "current_time": "2024-01-02T00:00:00+00:00",
              "product_uri": "urn:test:product", "manufacturer_name": "ACME", "product_name": "Test Server",
              "software_version": "2.4.1", "build_number": "2.4.1.77", "build_date": "2024-01-01T00:00:00+00:00",
              "auditing": True, "diagnostics_enabled": False, "server_profiles": [], "locale_ids": ["en"],
              "min_supported_sample_rate": 0.0, "max_browse_continuation_points": 0, "max_array_length": 0,
              "max_string_length": 0}
    out = {}
    for name, node in SERVER_NODES.items():
        value = overrides.get(name, values[name])
        if isinstance(value, tuple):
            out[node] = {"status": value[0], "value": value[1]}
        else:
            out[node] = {"status": "Good", "value": value, "type": "Variant"}
    return out


class OpcuaEvidence(RunsChecks):
    def __init__(self, *, log: bool = True, collected_at: _dt.datetime | None = None) -> None:
        self.items: list[EvidenceItem] = []
        self.collected_at = collected_at or _dt.datetime.now(_dt.timezone.utc)
        REGISTRY.load()
        if log:
            self.json(CLIENT_LOG, {"url": "opc.tcp://127.0.0.1:4840", "connections": []})

    def json(self, req: EvidenceRequest, data: Any) -> "OpcuaEvidence":
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="opcua", request=req,
                                       encoding="json", response=json.dumps(data), collected_at=self.collected_at))
        return self

    def raw(self, req: EvidenceRequest, response: str, encoding: str = "json") -> "OpcuaEvidence":
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="opcua", request=req,
                                       encoding=encoding, response=response, collected_at=self.collected_at))
        return self

    def failed(self, req: EvidenceRequest, reason: str) -> "OpcuaEvidence":
        self.items.append(EvidenceItem(id=f"t#{len(self.items) + 1}", asset="t", endpoint="opcua", request=req,
                                       status="error", error=reason))
        return self

    def endpoints(self, eps: list[dict[str, Any]]) -> "OpcuaEvidence":
        return self.json(ENDPOINTS, eps)

    def servers(self, uris: list[str], app_type: str = "Server") -> "OpcuaEvidence":
        return self.json(FIND_SERVERS, [{"application_uri": u, "application_name": u, "application_type": app_type,
                                         "discovery_urls": [f"opc.tcp://{u}:4840"]} for u in uris])

    def anonymous(self, attempted: bool = True, accepted: bool | None = True, status: str | None = "Good",
                  reason: str = "") -> "OpcuaEvidence":
        return self.json(ANONYMOUS_SESSION, {"attempted": attempted, "accepted": accepted, "status": status,
                                             "reason": reason, "endpoint": None, "allowed_by_inventory": True})

    def server_read(self, identity: str = "username", **overrides: Any) -> "OpcuaEvidence":
        return self.json(SERVER_READ, {"identity": identity, "endpoint": {}, "values": server_values(**overrides)})

    def skipped(self, req: EvidenceRequest, reason: str = "the inventory does not allow an anonymous session") -> "OpcuaEvidence":
        return self.json(req, {"skipped": reason})

    def variables(self, levels: list[int | None], truncated: bool = False) -> "OpcuaEvidence":
        return self.json(VARIABLES, {"identity": "anonymous", "depth": 3, "max_nodes": 200, "nodes_visited": len(levels) + 2,
                                     "truncated": truncated, "variables": [
                                         {"node_id": f"ns=2;i={i}", "browse_name": f"2:V{i}", "access_level": lvl,
                                          "user_access_level": lvl} for i, lvl in enumerate(levels)]})

    def sample(self, variables: list[dict[str, Any]], *, account: bool = False, truncated: bool = False) -> "OpcuaEvidence":
        """A browse item with the given variable entries (as the connector writes them)."""
        return self.json(ACCOUNT_VARIABLES if account else VARIABLES, {
            "identity": "username" if account else "anonymous", "depth": 3, "max_nodes": 200, "seconds": 10.0,
            "nodes_visited": len(variables) + 2, "truncated": truncated, "time_limit_reached": False,
            "variables": [{"node_id": f"ns=2;i={i}", "browse_name": f"2:V{i}", **v} for i, v in enumerate(variables)]})

    def capabilities(self, identity: str = "username", **values: Any) -> "OpcuaEvidence":
        """A Good read of every CAPABILITY_NODES node (default: all set); ``name=("BadX", None)`` fails one."""
        out = {}
        for name, node in CAPABILITY_NODES.items():
            value = values.get(name, 100)
            out[node] = ({"status": value[0], "value": value[1]} if isinstance(value, tuple)
                         else {"status": "Good", "value": value, "type": "UInt32"})
        return self.json(CAPABILITIES_READ, {"identity": identity, "endpoint": {}, "values": out})

    def session_limits(self, revised: float, requested: float = 7_200_000) -> "OpcuaEvidence":
        return self.json(SESSION_LIMITS, {"identity": "username", "endpoint": {}, "requested_session_timeout_ms": requested,
                                          "revised_session_timeout_ms": revised, "requested_channel_lifetime_ms": 3600000,
                                          "revised_channel_lifetime_ms": 3600000})

    def client_trust(self, **fields: Any) -> "OpcuaEvidence":
        body = {"attempted": True, "accepted": None, "open_secure_channel": "Good", "create_session": None,
                "endpoint": {"security_policy": "Basic256Sha256", "security_mode": "SignAndEncrypt"}, "reason": ""}
        body.update(fields)
        return self.json(CLIENT_TRUST, body)

    def role_set(self, roles: dict[str, Any], *, status: str = "Good", identity: str = "username",
                 truncated: bool = False) -> "OpcuaEvidence":
        """A RoleSet item: ``{role name: ["Anonymous", "UserName:op1"] | None (Null array) | "BadX" (unreadable)}``."""
        body = []
        for index, (name, rules) in enumerate(roles.items()):
            role: dict[str, Any] = {"node_id": f"i={15600 + index}", "browse_name": f"0:{name}"}
            if isinstance(rules, str):
                role.update(identities=None, identities_status=rules)
            else:
                role["identities"] = None if rules is None else [
                    {"CriteriaType": r.partition(":")[0], "Criteria": r.partition(":")[2]} for r in rules]
            body.append(role)
        return self.json(ROLE_SET, {"identity": identity, "endpoint": {}, "role_set": "i=15606", "status": status,
                                    "roles": body, "truncated": truncated})
