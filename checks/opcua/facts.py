"""OPC UA evidence: the service calls the checks need and the typed facts parsed from them.

Requests (answered by :mod:`connectors.opcua.connector`):

* ``opcua:get_endpoints:server``: GetEndpoints without a session (endpoints, user token policies, DER
  server certificates in base64);
* ``opcua:find_servers:server``: FindServers without a session (what the server lists to anybody);
* ``opcua:session:anonymous``: whether an anonymous session was accepted (only probed when the
  inventory allows it and the server offers Anonymous);
* ``opcua:read:<node ids>``: one Read of the Value of :data:`SERVER_NODES` (ServerStatus, BuildInfo,
  Auditing, ServerCapabilities) in a session (the user's credentials, else anonymous if allowed);
* ``opcua:browse:i=85[depth=3,max_nodes=200,identity=anonymous]``: a bounded sample of variables
  below Objects with their AccessLevel, UserAccessLevel, RolePermissions, UserRolePermissions and
  AccessRestrictions, as the anonymous user; ``identity=credentials``: the same in the audit account's
  session (the endpoint's ``browse_*`` fields override depth, node count and time);
* ``opcua:read:<capability node ids>``: ServerCapabilities (MaxSessions, MaxSubscriptions) and
  OperationLimits, in a session;
* ``opcua:read:i=2253[attribute=EventNotifier]``: whether the Server object delivers events (audit events
  included) to subscribing clients;
* ``opcua:session:limits``: the session timeout (asked: ``requested_timeout_ms``) and channel lifetime
  the server granted;
* ``opcua:channel:untrusted-client``: the client-trust probe (opt-in per endpoint);
* ``opcua:role_set:i=15606``: the roles of Server/ServerCapabilities/RoleSet (OPC UA 1.05) and the identity
  mapping rules of each (who holds it), in a session;
* ``opcua:client:log``: the connector's record of every service request it sent. Every fact also
  reads it, to tell "this asset has no OPC UA endpoint" (no OPC UA item at all: the checks are not
  applicable) from "collection failed" (an error).

Facts return :class:`NotAudited` when the asset has no OPC UA evidence at all and :class:`NoSession`
when a session-based read was deliberately not made (not allowed by the inventory, anonymous not
offered or rejected, no endpoint that protects the password): checks turn those into
``not_applicable`` and ``manual``, never into a pass.
"""

from __future__ import annotations

import base64
import datetime as _dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, padding, rsa

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact, request

__all__ = [
    "ACCOUNT_VARIABLES", "ANONYMOUS_SESSION", "CAPABILITIES_READ", "CAPABILITY_NODES", "CLIENT_LOG", "CLIENT_TRUST",
    "ENDPOINTS", "FIND_SERVERS", "ROLE_SET", "SERVER_EVENTS", "SERVER_NODES", "SERVER_READ", "SESSION_LIMITS", "VARIABLES",
    "Capabilities", "Certificate", "ClientTrust", "Endpoint", "IdentityRule", "NoSession", "NotAudited", "Role",
    "RoleSet", "ServerInfo",
    "SessionLimits", "UserToken", "VariableSample", "parse_certificate", "parse_endpoints",
]

ENDPOINTS = request("opcua", "get_endpoints", "server", name="opcua.endpoints")
FIND_SERVERS = request("opcua", "find_servers", "server", name="opcua.find-servers")
ANONYMOUS_SESSION = request("opcua", "session", "anonymous", name="opcua.anonymous-session")
CLIENT_LOG = request("opcua", "client", "log", name="opcua.client-log")

#: Value attributes read in one Read request (OPC UA namespace 0 node ids, Part 6 NodeIds.csv).
SERVER_NODES: dict[str, str] = {
    "start_time": "i=2257",                      # Server_ServerStatus_StartTime
    "current_time": "i=2258",                    # Server_ServerStatus_CurrentTime
    "state": "i=2259",                           # Server_ServerStatus_State
    "product_uri": "i=2262",                     # Server_ServerStatus_BuildInfo_ProductUri
    "manufacturer_name": "i=2263",               # ..._BuildInfo_ManufacturerName
    "product_name": "i=2261",                    # ..._BuildInfo_ProductName
    "software_version": "i=2264",                # ..._BuildInfo_SoftwareVersion
    "build_number": "i=2265",                    # ..._BuildInfo_BuildNumber
    "build_date": "i=2266",                      # ..._BuildInfo_BuildDate
    "auditing": "i=2994",                        # Server_Auditing
    "diagnostics_enabled": "i=2294",             # Server_ServerDiagnostics_EnabledFlag
    "server_profiles": "i=2269",                 # Server_ServerCapabilities_ServerProfileArray
    "locale_ids": "i=2271",                      # Server_ServerCapabilities_LocaleIdArray
    "min_supported_sample_rate": "i=2272",       # Server_ServerCapabilities_MinSupportedSampleRate
    "max_browse_continuation_points": "i=2735",  # Server_ServerCapabilities_MaxBrowseContinuationPoints
    "max_array_length": "i=11702",               # Server_ServerCapabilities_MaxArrayLength
    "max_string_length": "i=11703",              # Server_ServerCapabilities_MaxStringLength
}
SERVER_READ = request("opcua", "read", ",".join(SERVER_NODES.values()), name="opcua.server-read")
#: The bounded sample: Objects (i=85), 3 levels of hierarchical references, at most 200 nodes.
VARIABLES = request("opcua", "browse", "i=85", depth=3, max_nodes=200, identity="anonymous",
                    name="opcua.browse-variables")
#: The same sample in the audit account's session.
ACCOUNT_VARIABLES = request("opcua", "browse", "i=85", depth=3, max_nodes=200, identity="credentials",
                            name="opcua.browse-variables-account")
#: ServerCapabilities and OperationLimits (Part 5, 6.3.2): what the server bounds per session and request.
CAPABILITY_NODES: dict[str, str] = {
    "max_sessions": "i=24095",                   # Server_ServerCapabilities_MaxSessions (1.05)
    "max_subscriptions": "i=24096",              # Server_ServerCapabilities_MaxSubscriptions (1.05)
    "max_nodes_per_read": "i=11705",             # ..._OperationLimits_MaxNodesPerRead
    "max_nodes_per_write": "i=11707",            # ..._OperationLimits_MaxNodesPerWrite
    "max_nodes_per_method_call": "i=11709",      # ..._OperationLimits_MaxNodesPerMethodCall
    "max_nodes_per_browse": "i=11710",           # ..._OperationLimits_MaxNodesPerBrowse
}
CAPABILITIES_READ = request("opcua", "read", ",".join(CAPABILITY_NODES.values()), name="opcua.capabilities-read")
#: Session timeout asked for (2 h): above any sensible site maximum, so the revised value shows the server's cap.
SESSION_LIMITS = request("opcua", "session", "limits", requested_timeout_ms=7_200_000, name="opcua.session-limits")
CLIENT_TRUST = request("opcua", "channel", "untrusted-client", name="opcua.client-trust")
#: The Server object's EventNotifier attribute (bit 0 SubscribeToEvents): whether clients can receive its events.
SERVER_EVENTS = request("opcua", "read", "i=2253", attribute="EventNotifier", name="opcua.server-event-notifier")

CURRENT_WRITE = 0x02  # AccessLevel bit 1 (Part 3, AccessLevelType)
HISTORY_WRITE = 0x08  # AccessLevel bit 3: insert, replace or delete the variable's history
#: Well-known roles (Part 3, 4.9; ns=0) that any client gets without being a named user.
ANONYMOUS_ROLE, AUTHENTICATED_USER_ROLE = "i=15644", "i=15656"
#: PermissionType bits (Part 3, 8.55) that change a node, its history, its permissions or the address space.
WRITE_PERMISSIONS: dict[str, int] = {"WriteAttribute": 0x4, "WriteRolePermissions": 0x8, "WriteHistorizing": 0x10,
                                     "Write": 0x40, "InsertHistory": 0x100, "ModifyHistory": 0x200,
                                     "DeleteHistory": 0x400, "Call": 0x1000, "AddReference": 0x2000,
                                     "RemoveReference": 0x4000, "DeleteNode": 0x8000, "AddNode": 0x10000}


# ---------------------------------------------------------------------------------------- sentinels


@dataclass(frozen=True)
class NotAudited:
    """The asset has no OPC UA evidence at all (no OPC UA endpoint in the inventory)."""

    reason: str = "no OPC UA endpoint was audited on this asset"

    def __bool__(self) -> bool:
        return False


@dataclass(frozen=True)
class NoSession:
    """A session-based read was deliberately not made; ``reason`` says why (for a manual verdict)."""

    reason: str

    def __bool__(self) -> bool:
        return False


class _NoEndpoint(Exception):
    pass


def _item(ev: FactEvidence, req: EvidenceRequest) -> EvidenceItem:
    """``ev.item(req)``, but :class:`_NoEndpoint` when no OPC UA evidence exists for the asset at all."""
    try:
        return ev.item(req)
    except FactUnavailable:
        try:
            ev.item(CLIENT_LOG)  # the connector always answers this one when it ran
        except FactUnavailable:
            raise _NoEndpoint() from None
        raise


def _json(item: EvidenceItem, what: str) -> Any:
    if item.encoding != "json":
        raise FactParseError(f"{what}: expected a JSON item, got {item.encoding}")
    try:
        return item.data()
    except (ValueError, RecursionError) as exc:
        raise FactParseError(f"{what}: not valid JSON: {exc}") from None


# ---------------------------------------------------------------------------------------- endpoints


@dataclass(frozen=True)
class UserToken:
    token_type: str  # Anonymous | UserName | Certificate | IssuedToken
    security_policy: str  # short name; "" = the endpoint's policy
    policy_id: str = ""

    def effective_policy(self, endpoint: "Endpoint") -> str:
        """The policy that protects this token: its own, or the endpoint's when it names none."""
        return self.security_policy or endpoint.security_policy


@dataclass(frozen=True)
class Endpoint:
    url: str
    security_policy: str  # None | Basic128Rsa15 | Basic256 | Basic256Sha256 | Aes128_Sha256_RsaOaep | ...
    security_mode: str  # None | Sign | SignAndEncrypt
    security_level: int
    tokens: tuple[UserToken, ...]
    certificate_der: bytes | None
    application_uri: str = ""
    application_type: str = ""
    discovery_urls: tuple[str, ...] = ()  # where the server says its own discovery endpoint is

    @property
    def label(self) -> str:
        return f"{self.security_policy}/{self.security_mode}"

    @property
    def insecure(self) -> bool:
        return self.security_mode == "None" or self.security_policy == "None"

    def token_types(self) -> list[str]:
        return [t.token_type for t in self.tokens]


def _policy(uri: Any) -> str:
    if uri is None:
        return ""
    if not isinstance(uri, str):
        raise FactParseError(f"security policy URI is not text: {uri!r}")
    return uri.rsplit("#", 1)[-1]


def parse_endpoints(data: Any) -> list[Endpoint]:
    """The GetEndpoints item (a list of :func:`connectors.opcua.describe.endpoint` dicts)."""
    if not isinstance(data, list):
        raise FactParseError("GetEndpoints evidence is not a list of endpoints")
    endpoints = []
    for index, raw in enumerate(data):
        if not isinstance(raw, dict):
            raise FactParseError(f"endpoint {index} is not an object")
        try:
            mode = str(raw["security_mode"])
            policy = _policy(raw.get("security_policy_uri")) or str(raw.get("security_policy") or "")
            tokens = tuple(UserToken(token_type=str(t["token_type"]), security_policy=_policy(t.get("security_policy_uri")),
                                     policy_id=str(t.get("policy_id") or ""))
                           for t in raw.get("user_identity_tokens") or [])
            cert = raw.get("server_certificate")
            der = base64.b64decode(cert, validate=True) if cert else None
            server = raw.get("server") or {}
            urls = server.get("discovery_urls") or []
            if not isinstance(urls, list):
                raise TypeError("server.discovery_urls is not a list")
            endpoints.append(Endpoint(url=str(raw.get("endpoint_url") or ""), security_policy=policy,
                                      security_mode="None" if mode in ("None_", "Invalid") else mode,
                                      security_level=int(raw.get("security_level") or 0), tokens=tokens,
                                      certificate_der=der, application_uri=str(server.get("application_uri") or ""),
                                      application_type=str(server.get("application_type") or ""),
                                      discovery_urls=tuple(str(u) for u in urls if u)))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise FactParseError(f"endpoint {index} is malformed: {exc!r}") from None
        if mode not in ("None", "None_", "Sign", "SignAndEncrypt", "Invalid"):
            raise FactParseError(f"endpoint {index}: unknown security mode {mode!r}")
    return endpoints


@fact("opcua_endpoints", protocol="opcua", requests=[ENDPOINTS, CLIENT_LOG])
def opcua_endpoints(ev: FactEvidence) -> list[Endpoint] | NotAudited:
    """Endpoints the server advertises before any session (GetEndpoints)."""
    try:
        item = _item(ev, ENDPOINTS)
    except _NoEndpoint:
        return NotAudited()
    return parse_endpoints(_json(item, "GetEndpoints"))


# ---------------------------------------------------------------------------------------- certificates


@dataclass(frozen=True)
class Certificate:
    sha256: str
    subject: str
    issuer: str
    key_type: str  # RSA | EC | DSA | Ed25519 | Ed448 | unknown
    key_bits: int | None
    signature_hash: str | None  # md5 | sha1 | sha256 | ... ; None for Ed25519/Ed448
    not_before: _dt.datetime
    not_after: _dt.datetime
    self_issued: bool  # issuer name == subject name
    signature_verified: bool | None  # its own key verifies its signature (None: could not check)
    application_uris: tuple[str, ...]
    endpoints: tuple[str, ...]
    observed_at: _dt.datetime

    @property
    def self_signed(self) -> bool:
        return self.self_issued and self.signature_verified is not False

    def summary(self) -> dict[str, Any]:
        return {"subject": self.subject, "issuer": self.issuer, "sha256": self.sha256, "key": f"{self.key_type} {self.key_bits}",
                "signature_hash": self.signature_hash, "not_before": self.not_before.isoformat(),
                "not_after": self.not_after.isoformat(), "endpoints": list(self.endpoints)}


def parse_certificate(der: bytes, *, endpoints: tuple[str, ...] = (), observed_at: _dt.datetime | None = None) -> Certificate:
    try:
        # some servers send a chain (leaf first) in ServerCertificate: judge the first certificate
        der = _first_der(der)
        cert = x509.load_der_x509_certificate(der)
    except (ValueError, x509.InvalidVersion) as exc:
        raise FactParseError(f"server certificate is not DER X.509: {exc}") from None
    try:  # the certificate parses lazily: an unknown key algorithm, a broken name or extension shows only now
        return _read_certificate(cert, der, endpoints, observed_at)
    except (ValueError, UnsupportedAlgorithm, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise FactParseError(f"server certificate has a field that cannot be read: {exc}") from None


def _read_certificate(cert: x509.Certificate, der: bytes, endpoints: tuple[str, ...],
                      observed_at: _dt.datetime | None) -> Certificate:
    key = cert.public_key()
    if isinstance(key, rsa.RSAPublicKey):
        key_type, bits = "RSA", key.key_size
    elif isinstance(key, ec.EllipticCurvePublicKey):
        key_type, bits = "EC", key.curve.key_size
    elif isinstance(key, dsa.DSAPublicKey):
        key_type, bits = "DSA", key.key_size
    elif isinstance(key, ed25519.Ed25519PublicKey):
        key_type, bits = "Ed25519", 256
    elif isinstance(key, ed448.Ed448PublicKey):
        key_type, bits = "Ed448", 456
    else:  # pragma: no cover - exotic keys
        key_type, bits = type(key).__name__, None
    try:
        hash_algorithm = cert.signature_hash_algorithm
    except Exception:  # unsupported algorithm identifiers (e.g. md2): name it by OID
        hash_algorithm = None
        hash_name: str | None = cert.signature_algorithm_oid.dotted_string
    else:
        hash_name = hash_algorithm.name if hash_algorithm is not None else None
    self_issued = cert.issuer == cert.subject
    verified: bool | None = None
    if self_issued:
        try:
            if isinstance(key, rsa.RSAPublicKey) and hash_algorithm is not None:
                key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), hash_algorithm)
            elif isinstance(key, ec.EllipticCurvePublicKey) and hash_algorithm is not None:
                key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hash_algorithm))
            else:
                cert.verify_directly_issued_by(cert)
            verified = True
        except Exception as exc:
            verified = None if "unsupported" in str(exc).lower() else False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = tuple(san.get_values_for_type(x509.UniformResourceIdentifier))
    except (x509.ExtensionNotFound, ValueError):
        uris = ()
    return Certificate(sha256=hashlib.sha256(der).hexdigest(), subject=cert.subject.rfc4514_string(),
                       issuer=cert.issuer.rfc4514_string(), key_type=key_type, key_bits=bits,
                       signature_hash=hash_name, not_before=cert.not_valid_before_utc,
                       not_after=cert.not_valid_after_utc, self_issued=self_issued, signature_verified=verified,
                       application_uris=uris, endpoints=endpoints,
                       observed_at=observed_at or _dt.datetime.now(_dt.timezone.utc))


def _first_der(data: bytes) -> bytes:
    """The first DER element of ``data`` (a certificate, or the leaf of a concatenated chain)."""
    if len(data) < 2 or data[0] != 0x30:
        raise ValueError("does not start with a DER SEQUENCE")
    first = data[1]
    if first < 0x80:
        header, length = 2, first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            raise ValueError("bad DER length")
        header, length = 2 + count, int.from_bytes(data[2:2 + count], "big")
    if header + length > len(data):
        raise ValueError("truncated DER")
    return data[:header + length]


@fact("opcua_certificates", protocol="opcua", requests=[ENDPOINTS, CLIENT_LOG])
def opcua_certificates(ev: FactEvidence) -> list[Certificate] | NotAudited:
    """The distinct server certificates of all endpoints, judged at the time they were collected."""
    try:
        item = _item(ev, ENDPOINTS)
    except _NoEndpoint:
        return NotAudited()
    endpoints = parse_endpoints(_json(item, "GetEndpoints"))
    observed = item.collected_at if item.collected_at.tzinfo else item.collected_at.replace(tzinfo=_dt.timezone.utc)
    by_der: dict[bytes, list[str]] = {}
    for endpoint in endpoints:
        if endpoint.certificate_der:
            by_der.setdefault(endpoint.certificate_der, []).append(endpoint.label)
    return [parse_certificate(der, endpoints=tuple(labels), observed_at=observed) for der, labels in by_der.items()]


# ---------------------------------------------------------------------------------------- discovery


@fact("opcua_servers", protocol="opcua", requests=[FIND_SERVERS, CLIENT_LOG])
def opcua_servers(ev: FactEvidence) -> list[dict[str, Any]] | NotAudited:
    """Applications the server lists through FindServers (no session)."""
    try:
        item = _item(ev, FIND_SERVERS)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "FindServers")
    if not isinstance(data, list) or not all(isinstance(s, dict) and isinstance(s.get("application_uri"), str)
                                             for s in data):
        raise FactParseError("FindServers evidence is not a list of application descriptions")
    return data


# ---------------------------------------------------------------------------------------- sessions


@dataclass(frozen=True)
class AnonymousProbe:
    attempted: bool
    accepted: bool | None
    status: str | None
    reason: str


@fact("opcua_anonymous_session", protocol="opcua", requests=[ANONYMOUS_SESSION, CLIENT_LOG])
def opcua_anonymous_session(ev: FactEvidence) -> AnonymousProbe | NotAudited:
    """Whether an anonymous session was accepted (probed only where the inventory allows it)."""
    try:
        item = _item(ev, ANONYMOUS_SESSION)
    except _NoEndpoint:
        return NotAudited()
    except FactUnavailable as exc:  # a failed probe is still a result for the anonymous check
        return AnonymousProbe(attempted=True, accepted=None, status=None, reason=str(exc))
    data = _json(item, "anonymous session")
    if not isinstance(data, dict) or "attempted" not in data:
        raise FactParseError("anonymous session evidence has no 'attempted' field")
    accepted = data.get("accepted")
    if accepted not in (True, False, None):
        raise FactParseError(f"anonymous session evidence: 'accepted' is {accepted!r}")
    return AnonymousProbe(attempted=bool(data["attempted"]), accepted=accepted, status=data.get("status"),
                          reason=str(data.get("reason") or ""))


@dataclass(frozen=True)
class ServerInfo:
    identity: str  # the session's identity: anonymous | username | certificate
    values: dict[str, Any]  # name (SERVER_NODES key) -> value, for Good reads only
    statuses: dict[str, str]  # name -> status code name
    read_window: tuple[_dt.datetime, _dt.datetime] | None = None  # the auditor's clock: session start .. item built

    def good(self, name: str) -> bool:
        return self.statuses.get(name) == "Good"


@fact("opcua_server_info", protocol="opcua", requests=[SERVER_READ, CLIENT_LOG])
def opcua_server_info(ev: FactEvidence) -> ServerInfo | NoSession | NotAudited:
    """ServerStatus, BuildInfo, Auditing and ServerCapabilities values read in a session."""
    try:
        item = _item(ev, SERVER_READ)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "server read")
    if not isinstance(data, dict):
        raise FactParseError("server read evidence is not an object")
    if "skipped" in data:
        return NoSession(str(data["skipped"]))
    values = data.get("values")
    if not isinstance(values, dict):
        raise FactParseError("server read evidence has no 'values' object")
    out: dict[str, Any] = {}
    statuses: dict[str, str] = {}
    for name, node in SERVER_NODES.items():
        raw = values.get(node)
        if not isinstance(raw, dict) or "status" not in raw:
            raise FactParseError(f"server read evidence lacks node {node} ({name})")
        statuses[name] = str(raw["status"])
        if statuses[name] == "Good":
            out[name] = raw.get("value")
    end = item.collected_at if item.collected_at.tzinfo else item.collected_at.replace(tzinfo=_dt.timezone.utc)
    window = (end - _dt.timedelta(milliseconds=item.duration_ms or 0), end)
    return ServerInfo(identity=str(data.get("identity") or ""), values=out, statuses=statuses, read_window=window)


@dataclass(frozen=True)
class Variable:
    node_id: str
    name: str
    access_level: int | None
    user_access_level: int | None
    role_permissions: tuple[tuple[str, int], ...] | None = None  # (role node id, PermissionType); None: not read
    user_role_permissions: tuple[tuple[str, int], ...] | None = None
    access_restrictions: int | None = None

    @property
    def user_writable(self) -> bool:
        """The session's user may change the value or its history (CurrentWrite or HistoryWrite)."""
        return self.user_access_level is not None and bool(self.user_access_level & (CURRENT_WRITE | HISTORY_WRITE))

    def role_grants(self, role: str) -> list[str]:
        """The write permissions ``role`` holds on this node (names of :data:`WRITE_PERMISSIONS`)."""
        for role_id, permissions in self.role_permissions or ():
            if role_id == role:
                return [name for name, bit in WRITE_PERMISSIONS.items() if permissions & bit]
        return []


@dataclass(frozen=True)
class VariableSample:
    identity: str
    variables: tuple[Variable, ...]
    nodes_visited: int
    truncated: bool
    depth: int
    max_nodes: int
    unreadable: int = 0  # variables whose UserAccessLevel could not be read
    extra: dict[str, Any] = field(default_factory=dict)
    time_limit_reached: bool = False

    def writable(self) -> list[Variable]:
        return [v for v in self.variables if v.user_writable]

    def with_role_permissions(self) -> list[Variable]:
        return [v for v in self.variables if v.role_permissions]


def _permissions(raw: Any, what: str) -> tuple[tuple[str, int], ...] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise TypeError(f"{what} {raw!r}")
    out = []
    for entry in raw:
        if not isinstance(entry, dict) or not isinstance(entry.get("Permissions"), int) or isinstance(entry.get("Permissions"), bool):
            raise TypeError(f"{what} entry {entry!r}")
        out.append((str(entry.get("RoleId")), int(entry["Permissions"])))
    return tuple(out)


def _level(raw: dict[str, Any], name: str) -> int | None:
    value = raw.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise TypeError(f"{name} {value!r}")
    return value


def parse_sample(item: EvidenceItem) -> VariableSample | NoSession:
    """A browse item (:meth:`connectors.opcua.connector.OpcuaConnector._browse`), or why it was not made."""
    data = _json(item, "variable sample")
    if not isinstance(data, dict):
        raise FactParseError("variable sample evidence is not an object")
    if "skipped" in data:
        return NoSession(str(data["skipped"]))
    raw_vars = data.get("variables")
    if not isinstance(raw_vars, list):
        raise FactParseError("variable sample evidence has no 'variables' list")
    variables = []
    unreadable = 0
    for raw in raw_vars:
        try:
            user_level = _level(raw, "user_access_level")
            unreadable += user_level is None
            variables.append(Variable(
                node_id=str(raw["node_id"]), name=str(raw.get("browse_name") or raw["node_id"]),
                access_level=_level(raw, "access_level"), user_access_level=user_level,
                role_permissions=_permissions(raw.get("role_permissions"), "role_permissions"),
                user_role_permissions=_permissions(raw.get("user_role_permissions"), "user_role_permissions"),
                access_restrictions=_level(raw, "access_restrictions")))
        except (KeyError, TypeError, AttributeError) as exc:
            raise FactParseError(f"variable sample entry is malformed: {exc}") from None
    return VariableSample(identity=str(data.get("identity") or ""), variables=tuple(variables),
                          nodes_visited=_count(data, "nodes_visited"), truncated=bool(data.get("truncated")),
                          depth=_count(data, "depth"), max_nodes=_count(data, "max_nodes"),
                          unreadable=unreadable, time_limit_reached=bool(data.get("time_limit_reached")))



def _count(data: dict[str, Any], name: str) -> int:
    """A count of the variable sample (absent: 0); anything but a whole number is a parse error."""
    value = data.get(name) or 0
    if isinstance(value, bool) or not isinstance(value, int):
        raise FactParseError(f"variable sample {name} is not a whole number: {str(value)[:40]!r}")
    return value


@fact("opcua_variable_access", protocol="opcua", requests=[VARIABLES, CLIENT_LOG])
def opcua_variable_access(ev: FactEvidence) -> VariableSample | NoSession | NotAudited:
    """Access rights of a bounded sample of variables, as seen by the anonymous user."""
    try:
        item = _item(ev, VARIABLES)
    except _NoEndpoint:
        return NotAudited()
    return parse_sample(item)


@fact("opcua_account_variable_access", protocol="opcua", requests=[ACCOUNT_VARIABLES, CLIENT_LOG])
def opcua_account_variable_access(ev: FactEvidence) -> VariableSample | NoSession | NotAudited:
    """Access rights of the same bounded sample, as seen in the audit account's session."""
    try:
        item = _item(ev, ACCOUNT_VARIABLES)
    except _NoEndpoint:
        return NotAudited()
    return parse_sample(item)


# ---------------------------------------------------------------------------------------- limits


@dataclass(frozen=True)
class Capabilities:
    identity: str
    values: dict[str, Any]  # CAPABILITY_NODES key -> value, Good reads only
    statuses: dict[str, str]


@fact("opcua_capabilities", protocol="opcua", requests=[CAPABILITIES_READ, CLIENT_LOG])
def opcua_capabilities(ev: FactEvidence) -> Capabilities | NoSession | NotAudited:
    """ServerCapabilities and OperationLimits read in a session."""
    try:
        item = _item(ev, CAPABILITIES_READ)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "capabilities read")
    if not isinstance(data, dict):
        raise FactParseError("capabilities read evidence is not an object")
    if "skipped" in data:
        return NoSession(str(data["skipped"]))
    values = data.get("values")
    if not isinstance(values, dict):
        raise FactParseError("capabilities read evidence has no 'values' object")
    out: dict[str, Any] = {}
    statuses: dict[str, str] = {}
    for name, node in CAPABILITY_NODES.items():
        raw = values.get(node)
        if not isinstance(raw, dict) or "status" not in raw:
            raise FactParseError(f"capabilities read evidence lacks node {node} ({name})")
        statuses[name] = str(raw["status"])
        if statuses[name] == "Good":
            out[name] = raw.get("value")
    return Capabilities(identity=str(data.get("identity") or ""), values=out, statuses=statuses)


@dataclass(frozen=True)
class SessionLimits:
    identity: str
    requested_session_timeout_ms: float
    revised_session_timeout_ms: float
    requested_channel_lifetime_ms: float | None
    revised_channel_lifetime_ms: float | None


def _number(data: dict[str, Any], name: str, *, required: bool) -> float | None:
    value = data.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise FactParseError(f"session limits evidence: {name} is {value!r}")
    return float(value)


@fact("opcua_session_limits", protocol="opcua", requests=[SESSION_LIMITS, CLIENT_LOG])
def opcua_session_limits(ev: FactEvidence) -> SessionLimits | NoSession | NotAudited:
    """The session timeout and secure channel lifetime the server granted (CreateSession, OpenSecureChannel)."""
    try:
        item = _item(ev, SESSION_LIMITS)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "session limits")
    if not isinstance(data, dict):
        raise FactParseError("session limits evidence is not an object")
    if "skipped" in data:
        return NoSession(str(data["skipped"]))
    return SessionLimits(identity=str(data.get("identity") or ""),
                         requested_session_timeout_ms=_number(data, "requested_session_timeout_ms", required=True) or 0.0,
                         revised_session_timeout_ms=_number(data, "revised_session_timeout_ms", required=True) or 0.0,
                         requested_channel_lifetime_ms=_number(data, "requested_channel_lifetime_ms", required=False),
                         revised_channel_lifetime_ms=_number(data, "revised_channel_lifetime_ms", required=False))


@dataclass(frozen=True)
class ClientTrust:
    attempted: bool
    accepted: bool | None  # True: channel and session with an untrusted certificate; False: refused
    open_secure_channel: str | None
    create_session: str | None
    endpoint: str
    reason: str


@fact("opcua_client_trust", protocol="opcua", requests=[CLIENT_TRUST, CLIENT_LOG])
def opcua_client_trust(ev: FactEvidence) -> ClientTrust | NotAudited:
    """What the server answered a client certificate it cannot trust (the opt-in probe)."""
    try:
        item = _item(ev, CLIENT_TRUST)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "client trust probe")
    if not isinstance(data, dict) or "attempted" not in data:
        raise FactParseError("client trust evidence has no 'attempted' field")
    accepted = data.get("accepted")
    if accepted not in (True, False, None):
        raise FactParseError(f"client trust evidence: 'accepted' is {accepted!r}")
    endpoint = data.get("endpoint") or {}
    label = f"{endpoint.get('security_policy')}/{endpoint.get('security_mode')}" if endpoint else ""
    return ClientTrust(attempted=bool(data["attempted"]), accepted=accepted,
                       open_secure_channel=data.get("open_secure_channel"), create_session=data.get("create_session"),
                       endpoint=label, reason=str(data.get("reason") or ""))


@fact("opcua_server_events", protocol="opcua", requests=[SERVER_EVENTS, CLIENT_LOG])
def opcua_server_events(ev: FactEvidence) -> int | None | NoSession | NotAudited:
    """The Server object's EventNotifier bits (None: the server did not give it)."""
    try:
        item = _item(ev, SERVER_EVENTS)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "server event notifier")
    if not isinstance(data, dict):
        raise FactParseError("server event notifier evidence is not an object")
    if "skipped" in data:
        return NoSession(str(data["skipped"]))
    values = data.get("values")
    raw = values.get("i=2253") if isinstance(values, dict) else None
    if not isinstance(raw, dict) or "status" not in raw:
        raise FactParseError("server event notifier evidence lacks node i=2253")
    value = raw.get("value")
    if raw["status"] != "Good":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise FactParseError(f"EventNotifier is {value!r}")
    return value


# ---------------------------------------------------------------------------------------- roles

#: Server/ServerCapabilities/RoleSet (OPC UA 1.05, Part 18): the roles the server knows.
ROLE_SET = request("opcua", "role_set", "i=15606", name="opcua.role-set")


@dataclass(frozen=True)
class IdentityRule:
    """One identity mapping rule of a role (Part 18, IdentityMappingRuleType): who is granted the role."""

    criteria_type: str  # UserName | Thumbprint | Role | GroupId | Anonymous | AuthenticatedUser | Application | X509Subject
    criteria: str


@dataclass(frozen=True)
class Role:
    node_id: str
    name: str  # the browse name without its namespace index
    identities: tuple[IdentityRule, ...] | None  # None: not readable (status in ``unreadable``)
    unreadable: str = ""


@dataclass(frozen=True)
class RoleSet:
    identity: str  # the session that read it: username | certificate | anonymous
    status: str  # the Browse status of the RoleSet node (BadNodeIdUnknown: the server has none)
    roles: tuple[Role, ...]
    truncated: bool


def _rule(raw: Any, where: str) -> IdentityRule:
    if not isinstance(raw, dict) or not isinstance(raw.get("CriteriaType"), (str, int)):
        raise FactParseError(f"{where}: an identity mapping rule is not {{CriteriaType, Criteria}}: {raw!r}")
    return IdentityRule(criteria_type=str(raw["CriteriaType"]), criteria=str(raw.get("Criteria") or ""))


@fact("opcua_role_set", protocol="opcua", requests=[ROLE_SET, CLIENT_LOG])
def opcua_role_set(ev: FactEvidence) -> RoleSet | NoSession | NotAudited:
    """The server's roles and the identity mapping rules of each, read in a session."""
    try:
        item = _item(ev, ROLE_SET)
    except _NoEndpoint:
        return NotAudited()
    data = _json(item, "role set")
    if not isinstance(data, dict):
        raise FactParseError("role set evidence is not an object")
    if "skipped" in data:
        return NoSession(str(data["skipped"]))
    raw_roles = data.get("roles")
    if not isinstance(raw_roles, list) or not isinstance(data.get("status"), str):
        raise FactParseError("role set evidence has no 'status' and 'roles' list")
    roles = []
    for raw in raw_roles:
        if not isinstance(raw, dict) or not isinstance(raw.get("node_id"), str):
            raise FactParseError(f"role set evidence: a role is not an object with a node_id: {raw!r}")
        name = str(raw.get("browse_name") or raw["node_id"]).split(":", 1)[-1]
        identities = raw.get("identities")
        if identities is None and "identities" in raw and not raw.get("identities_status"):
            identities = []  # a Good read of a Null array: the role has no identity rule
        rules: tuple[IdentityRule, ...] | None = None
        if identities is not None:
            if not isinstance(identities, list):
                raise FactParseError(f"role {name}: Identities is not a list")
            rules = tuple(_rule(r, f"role {name}") for r in identities)
        unreadable = str(raw.get("identities_status") or ("no Identities property" if "identities" not in raw else ""))
        roles.append(Role(node_id=raw["node_id"], name=name, identities=rules, unreadable=unreadable))
    return RoleSet(identity=str(data.get("identity") or ""), status=data["status"], roles=tuple(roles),
                   truncated=bool(data.get("truncated")))
