# One module on purpose: the connector's read-only guarantee (allowed services, session plan, what is recorded) is reviewed in one place.
"""The OPC UA connector: discovery without a session, then at most two short, read-only sessions.

What it does, in order, for the requests of one asset (one connection at a time, each closed before
the next is opened):

1. **Discovery** (always; no session, a ``None`` secure channel as the specification allows for
   discovery): ``GetEndpoints`` and, if requested, ``FindServers``. Every endpoint's security policy,
   mode, user token policies and DER server certificate go into the evidence as they were received.
   A server that cannot be reached here makes the endpoint unusable (:class:`ConnectorError`).
2. **Anonymous session** (only if the inventory endpoint says ``anonymous_session: true`` AND some
   endpoint offers the Anonymous token AND a request needs it): ``CreateSession`` +
   ``ActivateSession`` with an anonymous token records whether anonymous access is *accepted*, then
   reads the bounded variable sample (``Browse`` from the requested node; depth, node count and time
   from the endpoint's ``browse_depth``/``browse_max_nodes``/``browse_seconds``, else the request's
   options; ``Read`` of AccessLevel, UserAccessLevel, RolePermissions, UserRolePermissions and
   AccessRestrictions) and, when no credentials are given, the server information reads. ``CloseSession``.
3. **Session with the user's credentials** (only if the inventory names them: ``username`` +
   ``password_env``/``password_file``, or ``client_cert_file``/``client_key_file`` for an X.509 user
   token): the server information reads (ServerStatus, BuildInfo, ServerCapabilities, Auditing), the
   roles of the RoleSet (Browse of ``Server/ServerCapabilities/RoleSet`` and of each role's properties, Read
   of who holds each role) and the same bounded browse as the audit account.
   Each session records the session timeout and channel lifetime the server granted against what was
   asked (the ``opcua:session:limits`` request asks for ``requested_timeout_ms``, else one minute).
4. **Client-trust probe** (only with ``probe_client_trust: true``): a fresh, untrusted certificate
   made in memory opens a secure channel and creates a session that is never activated and is closed
   at once; the status codes the server answered are recorded.
   A password is only ever sent over an endpoint that protects it (a SignAndEncrypt channel with a
   current policy, or a user token policy that encrypts it with a current policy); otherwise the
   session is not attempted and the evidence says why. Deprecated policies (Basic128Rsa15, Basic256)
   are never used by the auditor itself.

The connector can only send the services in :data:`ALLOWED_SERVICES`: an allow-list enforced where
asyncua sends requests (its request observer), so a Write, a Call, a subscription or a node
management request cannot leave this process even by mistake. Every service request, with the
connection it used, its duration and its result, is recorded in the ``opcua:client:log`` item.

Secure channels use the auditor's application certificate: the inventory's ``client_cert_file`` /
``client_key_file``, or one generated once and kept (:mod:`connectors.opcua.identity`). The server
certificate the channel is opened with is the one GetEndpoints returned (pinned for the session).
Every wait is bounded by the endpoint's ``timeout`` (each request) and a budget per connection, and
every answer by :mod:`connectors.opcua.limits` (message size, then what is kept of it; a cut is recorded
in the item's meta). Secrets are resolved at connection time and never recorded.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Sequence

from asyncua import Client, ua
from asyncua.client.ua_client import UASocketProtocol
from asyncua.common.connection import TransportLimits
from asyncua.crypto import security_policies as sp
from asyncua.observer import Observer
from cryptography import x509

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.secrets import SecretError, resolve
from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, stop_if_cancelled
from connectors.opcua import decoding, describe, limits
from connectors.opcua.identity import (ClientIdentity, ClientIdentityError, default_identity, load_identity,
                                       untrusted_identity)

log = logging.getLogger(__name__)


class _ProbePolicyNotice(logging.Filter):
    """asyncua warns whenever a Basic128Rsa15 policy object is made; the client-trust probe makes one on purpose
    (recorded in its evidence), so that warning would only be noise on the operator's terminal."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "Do not use SecurityPolicyBasic128Rsa15" not in record.getMessage()


logging.getLogger("asyncua.crypto.security_policies").addFilter(_ProbePolicyNotice())

__all__ = ["ALLOWED_SERVICES", "CLIENT_LOG", "OpcuaConnector", "ForbiddenService"]

CLIENT_LOG = EvidenceRequest(protocol="opcua", op="client", target="log")

#: The only service requests this connector can send (asyncua request class names). Everything else
#: (Write, Call, HistoryUpdate, AddNodes, CreateSubscription, RegisterServer, ...) is refused before it
#: is encoded.
ALLOWED_SERVICES = frozenset({
    "GetEndpointsRequest", "FindServersRequest", "CreateSessionRequest", "ActivateSessionRequest",
    "CloseSessionRequest", "ReadRequest", "BrowseRequest"})

#: Policies the auditor may use for its own channels, best first (deprecated ones are never used).
_CURRENT_POLICIES: dict[str, tuple[type[sp.SecurityPolicy], int]] = {
    describe.policy_name(sp.SecurityPolicyAes256Sha256RsaPss.URI): (sp.SecurityPolicyAes256Sha256RsaPss, 3),
    describe.policy_name(sp.SecurityPolicyBasic256Sha256.URI): (sp.SecurityPolicyBasic256Sha256, 2),
    describe.policy_name(sp.SecurityPolicyAes128Sha256RsaOaep.URI): (sp.SecurityPolicyAes128Sha256RsaOaep, 1),
}
#: Deprecated policies the client-trust probe may fall back to: it sends nothing secret and never activates a
#: session, and a legacy server that offers nothing newer is the one most likely to trust any certificate.
_PROBE_POLICIES: dict[str, tuple[type[sp.SecurityPolicy], int]] = {
    **_CURRENT_POLICIES,
    describe.policy_name(sp.SecurityPolicyBasic256.URI): (sp.SecurityPolicyBasic256, -1),
    describe.policy_name(sp.SecurityPolicyBasic128Rsa15.URI): (sp.SecurityPolicyBasic128Rsa15, -2),
}
_MODE_RANK = {ua.MessageSecurityMode.SignAndEncrypt: 2, ua.MessageSecurityMode.Sign: 1, ua.MessageSecurityMode.None_: 0}
_REJECTED = {"BadIdentityTokenRejected", "BadIdentityTokenInvalid", "BadUserAccessDenied",
             "BadSecurityPolicyRejected", "BadCertificateUntrusted", "BadSecurityChecksFailed"}
_TOO_LARGE = ("BadRequestTooLarge", "BadResponseTooLarge")
_BROWSE_CHUNK = 50  # nodes per Browse request
_READ_CHUNK = 100  # nodes per Read request
_MAX_DEPTH = 5
_MAX_NODES = 1000
_BROWSE_SECONDS = 10.0  # default time the access-rights browse may take in one session
_MAX_ROLES = 64  # roles of a RoleSet whose properties are read
#: Properties of a role (Part 18, RoleType) read to learn who holds it: identity mapping rules, and the client
#: applications and endpoints it is limited to (or excluded from).
_ROLE_PROPERTIES = {"Identities": "identities", "Applications": "applications",
                    "ApplicationsExclude": "applications_exclude", "Endpoints": "endpoints",
                    "EndpointsExclude": "endpoints_exclude"}
#: Attributes read of every browsed variable (Part 3): who may do what, per user and per role.
_ACCESS_ATTRIBUTES = (("access_level", ua.AttributeIds.AccessLevel),
                      ("user_access_level", ua.AttributeIds.UserAccessLevel),
                      ("role_permissions", ua.AttributeIds.RolePermissions),
                      ("user_role_permissions", ua.AttributeIds.UserRolePermissions),
                      ("access_restrictions", ua.AttributeIds.AccessRestrictions))
#: Session timeout the auditor asks for when it does not measure the server's cap (ms): an unclosed
#: session frees its slot soon.
_SESSION_TIMEOUT_MS = 60_000



def _browse_parameters(nodes: list[ua.NodeId], reference: int, node_class_mask: int,
                       max_references: int) -> ua.BrowseParameters:
    """One Browse request: forward from each of ``nodes`` along ``reference`` and its subtypes, to nodes of
    the classes in ``node_class_mask``, at most ``max_references`` references per node."""
    params = ua.BrowseParameters()
    params.View = ua.ViewDescription()
    params.RequestedMaxReferencesPerNode = max_references
    for node in nodes:
        desc = ua.BrowseDescription()
        desc.NodeId = node
        desc.BrowseDirection = ua.BrowseDirection.Forward
        desc.ReferenceTypeId = ua.NodeId(reference)
        desc.IncludeSubtypes = True
        desc.NodeClassMask = node_class_mask
        desc.ResultMask = int(ua.BrowseResultMask.All)
        params.NodesToBrowse.append(desc)
    return params

class _ReceiveLimits(TransportLimits):
    """asyncua's transport limits, except that the server's Acknowledge cannot raise what WE accept."""

    def update_client_limits(self, msg: ua.Acknowledge) -> None:
        self.max_send_buffer = msg.SendBufferSize  # as asyncua does; what we receive stays bounded
        self.max_recv_buffer = limits.MAX_CHUNK_BYTES
        self.max_message_size = limits.MAX_MESSAGE_BYTES
        self.max_chunk_count = limits.MAX_CHUNK_COUNT


class ResponseTooLarge(ua.UaError):
    """The server sent a chunk larger than :data:`limits.MAX_CHUNK_BYTES` (refused before it is buffered)."""


class _BoundedProtocol(UASocketProtocol):
    """asyncua's socket protocol, refusing to buffer a chunk larger than the auditor's limit.

    asyncua keeps appending to its receive buffer until the chunk length the header announced has arrived
    (up to 4 GiB) and checks the size only then; here the connection is closed as soon as the unparsed rest
    exceeds one chunk. The message size and chunk count are enforced by asyncua with :class:`_ReceiveLimits`.
    """

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        pending = len(self.receive_buffer or b"")
        if pending > limits.MAX_CHUNK_BYTES + 8:
            self.receive_buffer = None
            self._fail_all_pending(ResponseTooLarge(
                f"the server sent a chunk over the auditor's {limits.MAX_CHUNK_BYTES}-byte limit"))
            self.disconnect_socket()


def _limit_receiving(client: Client) -> None:
    """Give ``client`` the auditor's receive limits: announced in the Hello and enforced on what arrives."""
    client.max_messagesize = limits.MAX_MESSAGE_BYTES
    client.max_chunkcount = limits.MAX_CHUNK_COUNT
    uaclient = client.uaclient
    make = uaclient._make_protocol

    def make_bounded() -> UASocketProtocol:
        protocol = make()
        protocol._connection._limits = _ReceiveLimits(limits.MAX_CHUNK_BYTES, limits.MAX_CHUNK_BYTES,
                                                      limits.MAX_CHUNK_COUNT, limits.MAX_MESSAGE_BYTES)
        protocol.__class__ = _BoundedProtocol  # the same object, with the bounded data_received
        return protocol

    uaclient._make_protocol = make_bounded


class ForbiddenService(Exception):
    """The connector tried to send a service outside :data:`ALLOWED_SERVICES` (a bug, never sent)."""


class _Failure(Exception):
    """One connection or one session step failed; the message says why, without secrets."""


# ---------------------------------------------------------------------------------------- service log


@dataclass
class _Connection:
    number: int
    purpose: str
    security_policy: str = "None"
    security_mode: str = "None"
    identity: str | None = None
    services: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    started: float = field(default_factory=time.monotonic)
    duration_ms: float | None = None

    def add(self, service: str, started: float, result: str) -> None:
        self.services.append({"service": service, "ms": round((time.monotonic() - started) * 1000, 2),
                              "result": result})

    def as_dict(self) -> dict[str, Any]:
        return {"connection": self.number, "purpose": self.purpose, "security_policy": self.security_policy,
                "security_mode": self.security_mode, "identity": self.identity, "services": self.services,
                "error": self.error, "duration_ms": self.duration_ms}


class _Recorder(Observer):
    """asyncua's request observer: refuses services outside the allow-list and times the rest."""

    def __init__(self, connection: _Connection):
        self.connection = connection

    def observe_request(self, request: Any) -> AbstractContextManager[None]:
        name = type(request).__name__
        if name not in ALLOWED_SERVICES:
            self.connection.services.append({"service": name.removesuffix("Request"), "ms": 0.0,
                                             "result": "refused by the auditor (not read-only)"})
            raise ForbiddenService(f"{name} is not a read-only discovery/session/read/browse service")
        return self._time_request(name)

    def on_request(self, request_type: str, duration: float, error: BaseException | None) -> None:
        self.connection.services.append({"service": request_type.removesuffix("Request"),
                                         "ms": round(duration * 1000, 2), "result": _result(error)})


def _result(error: BaseException | None) -> str:
    if error is None:
        return "Good"
    if isinstance(error, ua.UaStatusCodeError):
        return describe.status_name(error.code)
    if isinstance(error, (asyncio.TimeoutError, TimeoutError)):
        return "timeout"
    if isinstance(error, asyncio.CancelledError):
        return "cancelled"
    return f"{type(error).__name__}: {error}"[:200]


# ---------------------------------------------------------------------------------------- plan


@dataclass
class _Plan:
    endpoints: EvidenceRequest | None = None
    find_servers: EvidenceRequest | None = None
    anonymous: EvidenceRequest | None = None
    reads: list[tuple[EvidenceRequest, list[ua.NodeId]]] = field(default_factory=list)
    browses: list[EvidenceRequest] = field(default_factory=list)  # as the anonymous user
    account_browses: list[EvidenceRequest] = field(default_factory=list)  # in the audit account's session
    session_limits: EvidenceRequest | None = None
    client_trust: EvidenceRequest | None = None
    log: EvidenceRequest | None = None


@dataclass
class _Credentials:
    endpoint: ua.EndpointDescription
    kind: str  # UserName | Certificate
    username: str | None
    password: str | None = field(repr=False, default=None)


@dataclass
class _SessionOutcome:
    attempted: bool = False
    skipped: bool = False  # deliberately not attempted (not allowed, not offered, not safe)
    accepted: bool | None = None
    status: str | None = None
    reason: str = ""
    endpoint: dict[str, Any] | None = None
    identity: str | None = None
    results: dict[str, tuple[Any, str | None]] = field(default_factory=dict)  # request key -> (data, error)
    cuts: dict[str, dict[str, Any]] = field(default_factory=dict)  # request key -> what the limits cut (meta)
    limits: dict[str, Any] | None = None  # requested and revised session timeout and channel lifetime


class OpcuaConnector(Connector):
    """Reads evidence from an OPC UA server (see the module docstring for the exact behaviour)."""

    protocol = "opcua"

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self._connections: list[_Connection] = []
        self._identity: ClientIdentity | None = None
        self._identity_error: str | None = None
        self._started = time.monotonic()
        self._notes: list[str] = []

    # ------------------------------------------------------------------ properties
    @property
    def url(self) -> str:
        host = self.asset.address
        if ":" in host:
            host = f"[{host}]"
        path = self.endpoint.path or ""
        if path and not path.startswith("/"):
            path = "/" + path
        return f"opc.tcp://{host}:{self.endpoint.port}{path}"

    @property
    def timeout(self) -> float:
        return float(self.endpoint.timeout)

    @property
    def budget(self) -> float:
        """Upper bound for one connection (open, a few requests, close)."""
        return 4 * self.timeout + 2

    # ------------------------------------------------------------------ collect
    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        decoding.install()  # no array announcing more elements than its answer has bytes
        self._started = time.monotonic()
        items = self.collected
        plan = _Plan()
        for req in requests:
            problem = self._classify(req, plan)
            if problem:
                items.append(self.item(req, started=time.monotonic(), status="error", error=problem))
        log_request = plan.log or CLIENT_LOG
        started = time.monotonic()
        try:
            endpoints, servers, find_error = await self._discovery(want_find=plan.find_servers is not None)
        except ConnectorError as exc:
            exc.partial_items = items + [self._log_item(log_request)]
            raise
        cuts = describe.Cuts()
        endpoints = cuts.first(endpoints, limits.MAX_ENDPOINTS, "endpoints")  # the sessions use these too
        if plan.endpoints is not None:
            items.append(self.item(plan.endpoints, started=started, encoding="json", response=json.dumps(
                [describe.endpoint(e, cuts) for e in endpoints], sort_keys=True), meta={"url": self.url, **cuts.meta()}))
        if plan.find_servers is not None:
            if find_error is not None:
                items.append(self.item(plan.find_servers, started=started, status="error", error=find_error))
            else:
                cuts = describe.Cuts()
                found = [describe.application(s, cuts) for s in cuts.first(servers, limits.MAX_SERVERS, "servers")]
                items.append(self.item(plan.find_servers, started=started, encoding="json", response=json.dumps(
                    found, sort_keys=True), meta={"url": self.url, **cuts.meta()}))

        credentials_given = bool(self.endpoint.username or (self.endpoint.client_cert_file and self.endpoint.client_key_file))
        choice: _Credentials | _SessionOutcome = _SessionOutcome(
            skipped=True, reason="no credentials in the inventory (username + password_env/password_file, or "
                                 "client_cert_file + client_key_file)")
        if (plan.reads or plan.account_browses or plan.session_limits) and credentials_given:
            choice = self._credential_choice(endpoints)
        use_credentials = isinstance(choice, _Credentials) or not choice.skipped  # a failure to resolve is an error
        reads_anonymously = bool(plan.reads or plan.session_limits) and not use_credentials
        needs_anonymous = bool(plan.anonymous or plan.browses or reads_anonymously)
        anonymous = _SessionOutcome(reason="not needed by the selected checks")
        anonymous_started = time.monotonic()
        if needs_anonymous:
            anonymous = await self._anonymous(endpoints, plan, read_too=reads_anonymously)
        anonymous_elapsed = time.monotonic() - anonymous_started
        credential_started = time.monotonic()
        credentialed = (await self._session("credentials", choice.endpoint, identity_kind=choice.kind,
                                            work=[*(r for r, _ in plan.reads), *plan.account_browses], plan=plan,
                                            username=choice.username, password=choice.password)
                        if isinstance(choice, _Credentials) else choice)
        credential_elapsed = time.monotonic() - credential_started
        trust_started = time.monotonic()
        trust = await self._trust_probe(endpoints) if plan.client_trust is not None else None
        # items are timed by the session that produced them
        anonymous_started = time.monotonic() - anonymous_elapsed
        credential_started = time.monotonic() - credential_elapsed

        if plan.anonymous is not None:
            items.append(self.item(plan.anonymous, started=anonymous_started, encoding="json", response=json.dumps({
                "attempted": anonymous.attempted, "accepted": anonymous.accepted, "status": anonymous.status,
                "reason": anonymous.reason, "endpoint": anonymous.endpoint,
                "allowed_by_inventory": bool(self.endpoint.anonymous_session)}, sort_keys=True)))
        for req in plan.browses:
            items.append(self._session_item(req, anonymous, anonymous_started,
                                            skipped_reason=self._skipped("anonymous", anonymous)))
        for req in plan.account_browses:
            items.append(self._session_item(req, credentialed, credential_started, skipped_reason=(
                None if use_credentials else f"no session with the audit account: {credentialed.reason}")))
        if plan.session_limits is not None:
            items.append(self._limits_item(plan.session_limits, credentialed if credentialed.limits else anonymous,
                                           credential_started if credentialed.limits else anonymous_started))
        if plan.client_trust is not None and trust is not None:
            items.append(self.item(plan.client_trust, started=trust_started, encoding="json",
                                   response=json.dumps(trust, sort_keys=True)))
        for req, _nodes in plan.reads:
            if use_credentials:
                # the user's own session: a failure (wrong password, timeout) is an error, not a skip
                items.append(self._session_item(req, credentialed, credential_started, skipped_reason=None))
            else:
                skipped = self._skipped("anonymous", anonymous)
                if skipped is not None:
                    skipped = f"no credentialed session: {credentialed.reason}; {skipped}"
                items.append(self._session_item(req, anonymous, anonymous_started, skipped_reason=skipped))
        items.append(self._log_item(log_request))
        return items

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """The connections and service requests :meth:`collect` may send (which sessions open depends on what
        GetEndpoints answers, so each says when it is sent); no network."""
        plan, steps = _Plan(), []
        for req in requests:
            problem = self._classify(req, plan)
            if problem:
                steps.append(PlannedRequest(req.op, req.target, 0, f"nothing sent: {problem}", req.key))
        steps.append(PlannedRequest("connect", self.url, 1, "connection 1: Hello, a secure channel with policy None "
                                    "(allowed for discovery), no session"))
        steps.append(PlannedRequest("GetEndpoints", self.url, 1, "", plan.endpoints.key if plan.endpoints else None))
        if plan.find_servers is not None:
            steps.append(PlannedRequest("FindServers", self.url, 1, "", plan.find_servers.key))
        ep = self.endpoint
        credentials = bool(ep.username or (ep.client_cert_file and ep.client_key_file))
        anonymous_reads = bool(plan.reads or plan.session_limits) and not credentials
        if plan.anonymous or plan.browses or anonymous_reads:
            if ep.anonymous_session:
                when = "an endpoint with a current policy offers the Anonymous token"
                # with credentials the reads still go here when no endpoint protects the credential
                fallback = [r for r, _ in plan.reads] if credentials and not anonymous_reads else []
                steps += self._plan_session("anonymous", when, [*plan.browses, *([r for r, _ in plan.reads]
                                                                                 if anonymous_reads else [])],
                                            fallback=fallback, fallback_when=f"{when} and no endpoint protects the "
                                                                             "credential")
            else:
                steps.append(PlannedRequest("CreateSession", "anonymous", 0, "nothing sent: the inventory does not "
                                            "allow an anonymous session (anonymous_session: true)",
                                            plan.anonymous.key if plan.anonymous else None))
        if (plan.reads or plan.account_browses or plan.session_limits) and credentials:
            kind = f"user {ep.username}" if ep.username else "the client certificate as user token"
            steps += self._plan_session(kind, "an endpoint protects the credential with a current policy",
                                        [*(r for r, _ in plan.reads), *plan.account_browses])
        if plan.client_trust is not None and ep.probe_client_trust:
            when = "an endpoint offers a security policy the auditor speaks"
            steps += [PlannedRequest("connect", self.url, 1, "a new connection and secure channel with a freshly "
                                     "generated certificate nobody trusts", plan.client_trust.key, when=when),
                      PlannedRequest("CreateSession", "untrusted client", 1, "never activated; closed at once",
                                     when=when),
                      PlannedRequest("CloseSession", "untrusted client", 1, when=when)]
        elif plan.client_trust is not None:
            steps.append(PlannedRequest("connect", "untrusted-client probe", 0, "nothing sent: the inventory does "
                                        "not allow it (probe_client_trust: true)", plan.client_trust.key))
        steps.append(PlannedRequest("record", "client log", 0, "nothing sent: every service request made",
                                    (plan.log or CLIENT_LOG).key))
        pacing = (f"one connection at a time, each closed before the next; {self.timeout:g} s per request, "
                  f"{self.budget:g} s per connection")
        return ConnectorPlan(pacing=pacing, steps=steps)

    def _plan_session(self, identity: str, when: str, work: list[EvidenceRequest], *,
                      fallback: Sequence[EvidenceRequest] = (), fallback_when: str = "") -> list[PlannedRequest]:
        steps = [PlannedRequest("connect", self.url, 1, f"a new connection and secure channel for a session as "
                                f"{identity}", when=when),
                 PlannedRequest("CreateSession", identity, 1, when=when),
                 PlannedRequest("ActivateSession", identity, 1, when=when)]
        for req, condition in [*((r, when) for r in work), *((r, fallback_when) for r in fallback)]:
            if req.op == "read":
                steps.append(PlannedRequest("Read", req.target, 1, "", req.key, when=condition))
            elif req.op == "role_set":
                steps.append(PlannedRequest("Browse", req.target, None, f"the roles of the RoleSet (at most "
                                            f"{_MAX_ROLES}) and their properties, then Read of Identities, "
                                            "Applications and Endpoints", req.key, when=condition))
            else:
                steps.append(PlannedRequest("Browse", req.target, None, f"depth {req.option('depth', 3)}, at most "
                                            f"{req.option('max_nodes', 200)} nodes, then Read of their access levels",
                                            req.key, when=condition))
        steps.append(PlannedRequest("CloseSession", identity, 1, when=when))
        return steps

    def _classify(self, req: EvidenceRequest, plan: _Plan) -> str | None:
        if req.protocol != "opcua":
            return f"unsupported request {req.key}"
        if req.op == "get_endpoints":
            plan.endpoints = req
        elif req.op == "find_servers":
            plan.find_servers = req
        elif req.op == "session" and req.target == "anonymous":
            plan.anonymous = req
        elif req.op == "client" and req.target == "log":
            plan.log = req
        elif req.op == "read":
            try:
                nodes = [ua.NodeId.from_string(part.strip()) for part in req.target.split(",") if part.strip()]
            except Exception as exc:
                return f"cannot parse the node ids of {req.key}: {exc}"
            if not nodes or len(nodes) > _READ_CHUNK:
                return f"{req.key}: between 1 and {_READ_CHUNK} node ids per read"
            if not hasattr(ua.AttributeIds, str(req.option("attribute", "Value"))):
                return f"{req.key}: unknown attribute {req.option('attribute')!r}"
            plan.reads.append((req, nodes))
        elif req.op == "role_set":  # read in the same session as the reads
            try:
                plan.reads.append((req, [ua.NodeId.from_string(req.target)]))
            except Exception as exc:
                return f"cannot parse the node id of {req.key}: {exc}"
        elif req.op == "browse":
            try:
                ua.NodeId.from_string(req.target)
                depth, max_nodes = int(req.option("depth", 3)), int(req.option("max_nodes", 200))
            except Exception as exc:
                return f"cannot parse {req.key}: {exc}"
            if not (1 <= depth <= _MAX_DEPTH and 1 <= max_nodes <= _MAX_NODES):
                return f"{req.key}: depth must be 1..{_MAX_DEPTH} and max_nodes 1..{_MAX_NODES}"
            identity = req.option("identity", "anonymous")
            if identity == "anonymous":
                plan.browses.append(req)
            elif identity == "credentials":
                plan.account_browses.append(req)
            else:
                return f"{req.key}: the identity is anonymous or credentials (the audit account)"
        elif req.op == "session" and req.target == "limits":
            try:
                timeout = int(req.option("requested_timeout_ms", 7_200_000))
            except (TypeError, ValueError):
                return f"{req.key}: requested_timeout_ms is not a number"
            if not 10_000 <= timeout <= 86_400_000:
                return f"{req.key}: requested_timeout_ms must be 10000..86400000"
            plan.session_limits = req
        elif req.op == "channel" and req.target == "untrusted-client":
            plan.client_trust = req
        else:
            return f"unsupported op {req.key}"
        return None

    def _skipped(self, identity: str, outcome: _SessionOutcome) -> str | None:
        """A reason when the session was deliberately not opened (not an error of collection)."""
        if outcome.accepted:
            return None
        if not outcome.attempted and outcome.skipped:
            return f"no {identity} session: {outcome.reason}"
        if outcome.accepted is False:
            return f"the {identity} session was rejected ({outcome.status}): {outcome.reason}"
        return None  # attempted and failed for another reason: an error

    def _session_item(self, req: EvidenceRequest, outcome: _SessionOutcome, started: float, *,
                      skipped_reason: str | None) -> EvidenceItem:
        if req.key in outcome.results:
            data, problem = outcome.results[req.key]
            if problem is not None:
                return self.item(req, started=started, status="error", error=problem)
            body = {"identity": outcome.identity, "endpoint": outcome.endpoint, **data}
            return self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True),
                             meta=outcome.cuts.get(req.key, {}))
        if skipped_reason is not None:
            # deliberately not collected: recorded as such so checks can say "manual", never "pass"
            return self.item(req, started=started, encoding="json",
                             response=json.dumps({"skipped": skipped_reason}, sort_keys=True))
        return self.item(req, started=started, status="error",
                         error=f"session failed: {outcome.reason or outcome.status or 'unknown reason'}")

    def _limits_item(self, req: EvidenceRequest, outcome: _SessionOutcome, started: float) -> EvidenceItem:
        """The session timeout and channel lifetime the server granted (revised) against what was asked."""
        if outcome.limits is not None:
            body = {"identity": outcome.identity, "endpoint": outcome.endpoint, **outcome.limits}
            return self.item(req, started=started, encoding="json", response=json.dumps(body, sort_keys=True))
        if not outcome.attempted:
            return self.item(req, started=started, encoding="json", response=json.dumps(
                {"skipped": f"no session was created: {outcome.reason or 'no session needed'}"}, sort_keys=True))
        return self.item(req, started=started, status="error",
                         error=f"no session was created: {outcome.reason or outcome.status or 'unknown reason'}")

    def _log_item(self, req: EvidenceRequest) -> EvidenceItem:
        body = {"url": self.url, "connections": [c.as_dict() for c in self._connections],
                "service_requests": sum(len(c.services) for c in self._connections),
                "allowed_services": sorted(s.removesuffix("Request") for s in ALLOWED_SERVICES),
                "client_certificate": self._identity.describe() if self._identity else None,
                "notes": self._notes}
        return self.item(req, started=self._started, encoding="json", response=json.dumps(body, sort_keys=True))

    # ------------------------------------------------------------------ connections
    def _client(self, connection: _Connection) -> Client:
        client = Client(self.url, timeout=self.timeout)
        client.name = "iacs-auditor"
        client.description = "iacs-auditor read-only audit"
        client.product_uri = "urn:iacs-auditor"
        client.application_uri = (self._identity.application_uri if self._identity else None) or "urn:iacs-auditor"
        client.session_timeout = _SESSION_TIMEOUT_MS
        client.uaclient.observer = _Recorder(connection)
        _limit_receiving(client)
        return client

    def _connection(self, purpose: str, **fields: Any) -> _Connection:
        connection = _Connection(number=len(self._connections) + 1, purpose=purpose, **fields)
        self._connections.append(connection)
        return connection

    async def _open(self, client: Client, connection: _Connection) -> None:
        """TCP connect, Hello, OpenSecureChannel; raises _Failure with a reason."""
        host, port, t = self.asset.address, self.endpoint.port, self.timeout
        started = time.monotonic()
        try:
            await client.connect_socket()
        except ConnectionRefusedError:
            connection.add("TCP connect", started, "refused")
            raise _Failure(f"connection refused by {host}:{port}") from None
        except (asyncio.TimeoutError, TimeoutError):
            connection.add("TCP connect", started, "timeout")
            raise _Failure(f"timed out after {t:g} s connecting to {host}:{port}") from None
        except OSError as exc:
            connection.add("TCP connect", started, "error")
            raise _Failure(f"cannot connect to {host}:{port}: {exc.strerror or exc}") from None
        connection.add("TCP connect", started, "Good")
        for step, call in (("Hello", client.send_hello), ("OpenSecureChannel", client.open_secure_channel)):
            stop_if_cancelled()
            started = time.monotonic()
            try:
                await asyncio.wait_for(call(), t)
            except (asyncio.TimeoutError, TimeoutError):
                connection.add(step, started, "timeout")
                raise _Failure(f"no answer from {host}:{port} to {step} within {t:g} s") from None
            except ConnectionError:
                connection.add(step, started, "connection closed")
                raise _Failure(f"{host}:{port} closed the connection during {step}") from None
            except ua.UaStatusCodeError as exc:
                connection.add(step, started, describe.status_name(exc.code))
                raise _Failure(f"{step} refused by {host}:{port}: {describe.status_name(exc.code)}") from None
            except Exception as exc:
                connection.add(step, started, _result(exc))
                raise _Failure(f"{step} with {host}:{port} failed: {_result(exc)}") from None
            connection.add(step, started, "Good")

    async def _call(self, what: str, coro: Awaitable[Any]) -> Any:
        """One service call, bounded; failures become _Failure (the observer already logged them)."""
        try:
            stop_if_cancelled()  # the asset timeout stops a browse even if wait_for swallowed its cancel
        except asyncio.CancelledError:
            if asyncio.iscoroutine(coro):
                coro.close()  # never started: nothing is sent
            raise
        try:
            return await asyncio.wait_for(coro, self.timeout)
        except (asyncio.TimeoutError, TimeoutError):
            raise _Failure(f"no answer to {what} within {self.timeout:g} s") from None
        except ConnectionError:
            raise _Failure(f"the server closed the connection during {what}") from None
        except ua.UaStatusCodeError as exc:
            status = describe.status_name(exc.code)
            if status in _TOO_LARGE:  # asyncua's own name for an answer over our message limits
                raise _Failure(f"{what} failed: the answer exceeds the auditor's limit of "
                               f"{limits.MAX_MESSAGE_BYTES} bytes or {limits.MAX_CHUNK_COUNT} chunks ({status})") from None
            raise _Failure(f"{what} failed: {status}") from None
        except ForbiddenService:
            raise
        except ResponseTooLarge as exc:
            raise _Failure(f"{what} failed: {exc}") from None
        except Exception as exc:
            raise _Failure(f"{what} failed: {_result(exc)}") from None

    async def _close(self, client: Client, connection: _Connection, *, session: bool) -> None:
        """Close session and channel politely, bounded; never raises."""
        t = min(self.timeout, 2.0)
        if session:
            try:
                await asyncio.wait_for(client.uaclient.close_session(True), t)
            except Exception:
                pass
        started = time.monotonic()
        try:
            await asyncio.wait_for(client.close_secure_channel(), t)
            connection.add("CloseSecureChannel", started, "Good")
        except Exception as exc:
            connection.add("CloseSecureChannel", started, _result(exc))

    async def _bounded(self, connection: _Connection, client: Client, work: Callable[[], Awaitable[Any]]) -> Any:
        """Run one connection's work within the budget; always drop the socket afterwards."""
        try:
            return await asyncio.wait_for(work(), self.budget)
        except (asyncio.TimeoutError, TimeoutError):
            connection.error = f"the connection exceeded its {self.budget:g} s budget and was closed"
            raise _Failure(connection.error) from None
        except _Failure as exc:
            connection.error = str(exc)
            raise
        finally:
            client.disconnect_socket()
            connection.duration_ms = round((time.monotonic() - connection.started) * 1000, 2)

    # ------------------------------------------------------------------ 1. discovery
    async def _discovery(self, *, want_find: bool) -> tuple[list[ua.EndpointDescription], list[Any] | None, str | None]:
        connection = self._connection("discovery")
        client = self._client(connection)
        find_error: list[str] = []

        async def work() -> tuple[list[ua.EndpointDescription], list[Any] | None]:
            await self._open(client, connection)
            endpoints = await self._call("GetEndpoints", client.get_endpoints())
            servers = None
            if want_find:
                try:
                    servers = await self._call("FindServers", client.find_servers())
                except _Failure as exc:
                    find_error.append(str(exc))
            await self._close(client, connection, session=False)
            return endpoints, servers

        try:
            endpoints, servers = await self._bounded(connection, client, work)
        except _Failure as exc:
            raise ConnectorError(f"OPC UA discovery at {self.url} failed: {exc}") from None
        return list(endpoints or []), servers, (find_error[0] if find_error else None)

    # ------------------------------------------------------------------ 2. anonymous session
    async def _anonymous(self, endpoints: list[ua.EndpointDescription], plan: _Plan, *,
                         read_too: bool) -> _SessionOutcome:
        offered = [e for e in endpoints if _token(e, ua.UserTokenType.Anonymous)]
        if not offered:
            return _SessionOutcome(skipped=True, reason="no endpoint offers the Anonymous user token")
        if not self.endpoint.anonymous_session:
            return _SessionOutcome(skipped=True, reason="the inventory does not allow an anonymous session "
                                          "(set anonymous_session: true on this endpoint)")
        chosen = _choose(offered, ua.UserTokenType.Anonymous, secret=False)
        if chosen is None:
            return _SessionOutcome(skipped=True, reason="Anonymous is offered only on endpoints with deprecated policies, "
                                          "which the auditor does not use")
        work = [*plan.browses, *([r for r, _ in plan.reads] if read_too else [])]
        return await self._session("anonymous", chosen, identity_kind="Anonymous", work=work, plan=plan)

    # ------------------------------------------------------------------ 3. credentialed session
    def _credential_choice(self, endpoints: list[ua.EndpointDescription]) -> "_Credentials | _SessionOutcome":
        """The endpoint for the user's credentials, or why there is none (skipped: deliberately not used)."""
        ep = self.endpoint
        if ep.username:
            try:
                password = resolve(ep.password_env, ep.password_file)
            except SecretError as exc:
                return _SessionOutcome(reason=str(exc))  # a broken reference: an error, not a skip
            kind, token_type = "UserName", ua.UserTokenType.UserName
            secret = password is not None
        else:
            password, kind, token_type, secret = None, "Certificate", ua.UserTokenType.Certificate, False
        offered = [e for e in endpoints if _token(e, token_type)]
        if not offered:
            return _SessionOutcome(skipped=True, reason=f"no endpoint offers the {kind} user token")
        chosen = _choose(offered, token_type, secret=secret)
        if chosen is None:
            why = ("no endpoint protects the password (a SignAndEncrypt channel or an encrypting user token "
                   "policy, with a current security policy), so the auditor does not send it"
                   if secret else f"no endpoint with a current security policy accepts the {kind} token")
            self._notes.append(f"credentialed session not attempted: {why}")
            return _SessionOutcome(skipped=True, reason=why)
        return _Credentials(chosen, kind, ep.username, password)

    # ------------------------------------------------------------------ one session
    async def _session(self, purpose: str, ep: ua.EndpointDescription, *, identity_kind: str,
                       work: list[EvidenceRequest], plan: _Plan, username: str | None = None,
                       password: str | None = None) -> _SessionOutcome:
        policy = describe.policy_name(ep.SecurityPolicyUri)
        mode_name = "None" if ep.SecurityMode == ua.MessageSecurityMode.None_ else ep.SecurityMode.name
        outcome = _SessionOutcome(attempted=True, identity=identity_kind.lower(),
                                  endpoint={"security_policy": policy, "security_mode": mode_name})
        connection = self._connection(purpose, security_policy=policy, security_mode=mode_name,
                                      identity=identity_kind)
        needs_cert = ep.SecurityMode != ua.MessageSecurityMode.None_ or identity_kind == "Certificate"
        if needs_cert:
            identity = await self._client_identity()
            if identity is None:
                outcome.attempted, outcome.reason = False, f"no client certificate: {self._identity_error}"
                connection.error = outcome.reason
                return outcome
        client = self._client(connection)
        if plan.session_limits is not None:
            client.session_timeout = int(plan.session_limits.option("requested_timeout_ms", 7_200_000))
        requested = {"requested_session_timeout_ms": client.session_timeout,
                     "requested_channel_lifetime_ms": client.secure_channel_timeout}
        if ep.SecurityMode != ua.MessageSecurityMode.None_:
            assert self._identity is not None
            try:
                # what Client.set_security does, without parsing our key again (RSA key checks cost ~100 ms);
                # the server certificate is the one GetEndpoints returned: pinned for this session
                server_cert = x509.load_der_x509_certificate(_first_der(ep.ServerCertificate))
                client.security_policy = _CURRENT_POLICIES[policy][0](
                    server_cert, self._identity.certificate, self._identity.key, ep.SecurityMode)
                client.uaclient.set_security(client.security_policy)
            except Exception as exc:
                outcome.attempted, outcome.reason = False, f"cannot set up the {policy} channel: {_result(exc)}"
                connection.error = outcome.reason
                return outcome
        if identity_kind == "Certificate":
            assert self._identity is not None
            client.user_certificate = self._identity.certificate
            client.user_private_key = self._identity.key
        reads = {r.key: nodes for r, nodes in plan.reads}

        async def run() -> None:
            await self._open(client, connection)  # asyncua keeps the revised channel lifetime
            created = await self._call("CreateSession", client.create_session())
            outcome.limits = {**requested, "revised_session_timeout_ms": created.RevisedSessionTimeout,
                              "revised_channel_lifetime_ms": client.secure_channel_timeout}
            try:
                if identity_kind == "Anonymous":
                    await asyncio.wait_for(client.activate_session(), self.timeout)
                elif identity_kind == "Certificate":
                    await asyncio.wait_for(client.activate_session(certificate=client.user_certificate), self.timeout)
                else:
                    await asyncio.wait_for(client.activate_session(username=username, password=password), self.timeout)
            except ua.UaStatusCodeError as exc:
                outcome.accepted, outcome.status = False, describe.status_name(exc.code)
                outcome.reason = f"ActivateSession answered {outcome.status}"
                await self._close(client, connection, session=True)
                return
            except (asyncio.TimeoutError, TimeoutError):
                raise _Failure(f"no answer to ActivateSession within {self.timeout:g} s") from None
            except ConnectionError:
                raise _Failure("the server closed the connection during ActivateSession") from None
            outcome.accepted, outcome.status, outcome.reason = True, "Good", "session activated"
            for req in work:
                cuts = describe.Cuts()
                try:
                    if req.op == "read":
                        data = await self._read(client, reads[req.key], cuts,
                                                getattr(ua.AttributeIds, str(req.option("attribute", "Value"))))
                    elif req.op == "role_set":
                        data = await self._role_set(client, reads[req.key][0], cuts)
                    else:
                        data = await self._browse(client, req, cuts)
                    outcome.results[req.key] = (data, None)
                    outcome.cuts[req.key] = cuts.meta()
                except _Failure as exc:
                    outcome.results[req.key] = (None, str(exc))
                    if "closed the connection" in str(exc):
                        break
            await self._close(client, connection, session=True)

        try:
            await self._bounded(connection, client, run)
        except _Failure as exc:
            if outcome.accepted is None:
                outcome.status = _status_of(str(exc))
                if outcome.status in _REJECTED:
                    outcome.accepted = False
            outcome.reason = str(exc)
            for req in work:
                outcome.results.setdefault(req.key, (None, f"session failed: {exc}"))
        return outcome

    async def _client_identity(self) -> ClientIdentity | None:
        if self._identity is None and self._identity_error is None:
            ep = self.endpoint
            try:
                if ep.client_cert_file and ep.client_key_file:
                    self._identity = await asyncio.to_thread(load_identity, ep.client_cert_file, ep.client_key_file)
                else:
                    self._identity = await asyncio.to_thread(default_identity)
            except ClientIdentityError as exc:
                self._identity_error = str(exc)
        return self._identity

    # ------------------------------------------------------------------ reads
    async def _read(self, client: Client, nodes: list[ua.NodeId], cuts: describe.Cuts,
                    attribute: ua.AttributeIds = ua.AttributeIds.Value) -> dict[str, Any]:
        params = ua.ReadParameters()
        params.TimestampsToReturn = ua.TimestampsToReturn.Neither
        for node in nodes:
            rv = ua.ReadValueId()
            rv.NodeId = node
            rv.AttributeId = attribute
            params.NodesToRead.append(rv)
        results = await self._call("Read", client.uaclient.read(params))
        return {"values": {n.to_string(): describe.data_value(dv, cuts) for n, dv in zip(nodes, results)}}

    def _browse_bounds(self, req: EvidenceRequest) -> tuple[int, int, float]:
        """Depth, node count and seconds of the browse: the endpoint's own, else the request's defaults."""
        ep = self.endpoint
        depth = ep.browse_depth or int(req.option("depth", 3))
        max_nodes = ep.browse_max_nodes or int(req.option("max_nodes", 200))
        seconds = ep.browse_seconds or _BROWSE_SECONDS
        return depth, max_nodes, min(float(seconds), self.budget / 2)

    async def _browse(self, client: Client, req: EvidenceRequest, cuts: describe.Cuts) -> dict[str, Any]:
        """Breadth-first over hierarchical references, bounded in depth, nodes and time; then the access
        attributes of the variables found (:data:`_ACCESS_ATTRIBUTES`). Browse and Read only."""
        start = ua.NodeId.from_string(req.target)
        depth, max_nodes, seconds = self._browse_bounds(req)
        deadline = time.monotonic() + seconds
        seen: set[ua.NodeId] = {start}
        frontier = [start]
        variables: list[dict[str, Any]] = []
        truncated = time_limit_reached = False
        browse_requests = 0
        for _level in range(depth):
            next_frontier: list[ua.NodeId] = []
            for offset in range(0, len(frontier), _BROWSE_CHUNK):
                if time.monotonic() > deadline:
                    truncated = time_limit_reached = True
                    break
                params = _browse_parameters(frontier[offset:offset + _BROWSE_CHUNK],
                                            ua.ObjectIds.HierarchicalReferences,
                                            int(ua.NodeClass.Object) | int(ua.NodeClass.Variable), max_nodes)
                results = await self._call("Browse", client.uaclient.browse(params))
                browse_requests += 1
                for result in results:
                    if result.ContinuationPoint:
                        truncated = True  # released when the session closes
                    for ref in result.References or []:
                        node = ua.NodeId(ref.NodeId.Identifier, ref.NodeId.NamespaceIndex)
                        if node.NamespaceIndex == 0 or node in seen:
                            continue  # namespace 0 is the standard model, not process data
                        if len(seen) - 1 >= max_nodes:
                            truncated = True
                            break
                        seen.add(node)
                        next_frontier.append(node)
                        if ref.NodeClass == ua.NodeClass.Variable:
                            variables.append({"node_id": node.to_string(),
                                              "browse_name": describe.jsonable(ref.BrowseName, cuts),
                                              "display_name": describe.jsonable(ref.DisplayName, cuts)})
            frontier = next_frontier
            if not frontier or time_limit_reached:
                break
        depth_limit_reached = bool(frontier) and not time_limit_reached
        read_requests = 0
        per_read = _READ_CHUNK // len(_ACCESS_ATTRIBUTES)
        for offset in range(0, len(variables), per_read):
            if time.monotonic() > deadline:
                truncated = time_limit_reached = True
                del variables[offset:]  # never listed without their access attributes
                break
            chunk = variables[offset:offset + per_read]
            params = ua.ReadParameters()
            params.TimestampsToReturn = ua.TimestampsToReturn.Neither
            for var in chunk:
                for _name, attribute in _ACCESS_ATTRIBUTES:
                    rv = ua.ReadValueId()
                    rv.NodeId = ua.NodeId.from_string(var["node_id"])
                    rv.AttributeId = attribute
                    params.NodesToRead.append(rv)
            results = await self._call("Read", client.uaclient.read(params))
            read_requests += 1
            for index, var in enumerate(chunk):
                for position, (name, _attribute) in enumerate(_ACCESS_ATTRIBUTES):
                    value = describe.data_value(results[len(_ACCESS_ATTRIBUTES) * index + position], cuts)
                    var[name] = value.get("value") if value["status"] == "Good" else None
                    if value["status"] != "Good":
                        var[f"{name}_status"] = value["status"]
        return {"start": start.to_string(), "depth": depth, "max_nodes": max_nodes, "seconds": seconds,
                "nodes_visited": len(seen) - 1, "truncated": truncated, "depth_limit_reached": depth_limit_reached,
                "time_limit_reached": time_limit_reached, "variables": variables,
                "requests": {"browse": browse_requests, "read": read_requests}}

    async def _browse_refs(self, client: Client, nodes: list[ua.NodeId], reference: int,
                           node_class: ua.NodeClass) -> list[Any]:
        """One Browse per chunk of nodes, forward along ``reference`` (and its subtypes); the BrowseResults."""
        results: list[Any] = []
        for offset in range(0, len(nodes), _BROWSE_CHUNK):
            params = _browse_parameters(nodes[offset:offset + _BROWSE_CHUNK], reference, int(node_class), _MAX_ROLES)
            results += await self._call("Browse", client.uaclient.browse(params))
        return results

    async def _role_set(self, client: Client, role_set: ua.NodeId, cuts: describe.Cuts) -> dict[str, Any]:
        """The roles of a RoleSet (OPC UA 1.05, Part 18) and who holds each: Browse of its components, Browse of
        each role's properties, one Read of their values. Browse and Read only; the role methods
        (AddIdentity, AddRole...) are never called."""
        [found] = await self._browse_refs(client, [role_set], ua.ObjectIds.HasComponent, ua.NodeClass.Object)
        status = describe.status_name(found.StatusCode) if found.StatusCode is not None else "Good"
        out: dict[str, Any] = {"role_set": role_set.to_string(), "status": status, "roles": [], "truncated": False}
        if status != "Good":
            return out
        refs = list(found.References or [])
        out["truncated"] = bool(found.ContinuationPoint) or len(refs) > _MAX_ROLES
        roles = [{"node_id": ua.NodeId(r.NodeId.Identifier, r.NodeId.NamespaceIndex).to_string(),
                  "browse_name": describe.jsonable(r.BrowseName, cuts)} for r in refs[:_MAX_ROLES]]
        properties = await self._browse_refs(client, [ua.NodeId.from_string(r["node_id"]) for r in roles],
                                             ua.ObjectIds.HasProperty, ua.NodeClass.Variable)
        wanted: list[tuple[dict[str, Any], str, ua.NodeId]] = []
        for role, result in zip(roles, properties):
            for ref in result.References or []:
                name = _ROLE_PROPERTIES.get(ref.BrowseName.Name)
                if name is not None:
                    wanted.append((role, name, ua.NodeId(ref.NodeId.Identifier, ref.NodeId.NamespaceIndex)))
        for offset in range(0, len(wanted), _READ_CHUNK):
            chunk = wanted[offset:offset + _READ_CHUNK]
            values = await self._read(client, [node for _, _, node in chunk], cuts)
            for role, name, node in chunk:
                value = values["values"][node.to_string()]
                role[name] = value.get("value") if value["status"] == "Good" else None
                if value["status"] != "Good":
                    role[f"{name}_status"] = value["status"]
        out["roles"] = roles
        return out

    # ------------------------------------------------------------------ 4. client-trust probe
    async def _trust_probe(self, endpoints: list[ua.EndpointDescription]) -> dict[str, Any]:
        """Open a secure channel with a fresh certificate nobody trusts, then CreateSession (never activated).

        Servers check the client certificate at OpenSecureChannel or at CreateSession; a server that lets
        both pass trusts any client application. The session is closed at once; nothing is read.
        """
        if not self.endpoint.probe_client_trust:
            return {"attempted": False, "accepted": None, "reason": "not probed: the inventory does not allow it "
                                                                   "(probe_client_trust: true on this endpoint)"}
        secured = [e for e in endpoints if e.SecurityMode != ua.MessageSecurityMode.None_ and e.ServerCertificate
                   and describe.policy_name(e.SecurityPolicyUri) in _PROBE_POLICIES]
        if not secured:
            return {"attempted": False, "accepted": None,
                    "reason": "no endpoint with a security policy the auditor speaks: no secure channel to probe"}
        ep = max(secured, key=lambda e: (_PROBE_POLICIES[describe.policy_name(e.SecurityPolicyUri)][1] >= 0,
                                         _MODE_RANK[e.SecurityMode],
                                         _PROBE_POLICIES[describe.policy_name(e.SecurityPolicyUri)][1]))
        policy = describe.policy_name(ep.SecurityPolicyUri)
        mode_name = ep.SecurityMode.name
        out: dict[str, Any] = {"attempted": True, "accepted": None, "endpoint": {"security_policy": policy,
                                                                                 "security_mode": mode_name},
                               "open_secure_channel": None, "create_session": None, "reason": ""}
        connection = self._connection("client-trust probe", security_policy=policy, security_mode=mode_name,
                                      identity="none (untrusted certificate, session never activated)")
        try:
            identity = await asyncio.to_thread(untrusted_identity)
        except Exception as exc:  # key generation failing is a local problem, not the server's answer
            out.update(attempted=False, reason=f"cannot generate the probe certificate: {_result(exc)}")
            connection.error = out["reason"]
            return out
        out["client_certificate_sha256"] = identity.describe()["sha256"]
        client = self._client(connection)
        client.application_uri = identity.application_uri or "urn:iacs-auditor:untrusted-probe"
        try:
            server_cert = x509.load_der_x509_certificate(_first_der(ep.ServerCertificate))
            client.security_policy = _PROBE_POLICIES[policy][0](server_cert, identity.certificate, identity.key,
                                                                ep.SecurityMode)
            client.uaclient.set_security(client.security_policy)
        except Exception as exc:
            out.update(attempted=False, reason=f"cannot set up the {policy} channel: {_result(exc)}")
            connection.error = out["reason"]
            return out

        async def run() -> None:
            try:
                await self._open(client, connection)
            except _Failure as exc:
                out["open_secure_channel"], out["reason"] = _status_of(str(exc)) or "failed", str(exc)
                return
            out["open_secure_channel"] = "Good"
            try:
                await self._call("CreateSession", client.create_session())
            except _Failure as exc:
                out["create_session"], out["reason"] = _status_of(str(exc)) or "failed", str(exc)
                await self._close(client, connection, session=False)
                return
            out["create_session"], out["reason"] = "Good", "channel opened and session created with an untrusted certificate"
            await self._close(client, connection, session=True)

        try:
            await self._bounded(connection, client, run)
        except _Failure as exc:
            out["reason"] = str(exc)
        if out["create_session"] == "Good":
            out["accepted"] = True
        elif str(out["open_secure_channel"] or "").startswith("Bad") or str(out["create_session"] or "").startswith("Bad"):
            out["accepted"] = False  # the server answered with a status code: it refused the certificate
        return out


# ---------------------------------------------------------------------------------------- helpers


def _token(ep: ua.EndpointDescription, token_type: ua.UserTokenType) -> ua.UserTokenPolicy | None:
    return next((t for t in ep.UserIdentityTokens or [] if t.TokenType == token_type), None)


def _choose(endpoints: list[ua.EndpointDescription], token_type: ua.UserTokenType, *,
            secret: bool) -> ua.EndpointDescription | None:
    """The endpoint the auditor uses for a session with this token (None: no acceptable endpoint).

    Never a deprecated policy. A password only where it is protected: a SignAndEncrypt channel with a
    current policy, or a user token policy that encrypts it with a current policy. Anonymous sessions
    prefer a None channel (nothing secret is sent and no client certificate has to be trusted).
    """
    best: tuple[tuple[int, ...], ua.EndpointDescription] | None = None
    for ep in endpoints:
        token = _token(ep, token_type)
        if token is None:
            continue
        policy = describe.policy_name(ep.SecurityPolicyUri)
        mode = ep.SecurityMode
        if mode == ua.MessageSecurityMode.None_:
            if policy not in ("None", ""):
                continue
            policy_rank = 0
        elif not ep.ServerCertificate:
            continue  # a secure channel needs the server certificate GetEndpoints should have given
        elif policy in _CURRENT_POLICIES:
            policy_rank = _CURRENT_POLICIES[policy][1]
        else:
            continue  # deprecated or unknown policy: not used by the auditor
        token_policy = describe.policy_name(token.SecurityPolicyUri) or policy
        if secret:
            # protected by the channel (SignAndEncrypt, current policy: checked above) or by the token's
            # own encryption with a current policy; a deprecated token policy is never used
            by_channel = mode == ua.MessageSecurityMode.SignAndEncrypt and token_policy in ("None", *_CURRENT_POLICIES)
            if not (by_channel or token_policy in _CURRENT_POLICIES):
                continue
        if token_type == ua.UserTokenType.Certificate and token_policy not in _CURRENT_POLICIES:
            continue  # the token signature needs a current policy
        if token_type == ua.UserTokenType.Anonymous:
            rank = (1 if mode == ua.MessageSecurityMode.None_ else 0, _MODE_RANK[mode], policy_rank)
        else:
            rank = (_MODE_RANK[mode], policy_rank)
        if best is None or rank > best[0]:
            best = (rank, ep)
    return best[1] if best else None


def _first_der(data: bytes) -> bytes:
    """The leaf of a ServerCertificate that may hold a concatenated chain."""
    if len(data) > 4 and data[0] == 0x30 and data[1] & 0x80:
        count = data[1] & 0x7F
        return data[:2 + count + int.from_bytes(data[2:2 + count], "big")]
    return data


def _status_of(reason: str) -> str | None:
    for word in reason.replace(":", " ").replace("(", " ").replace(")", " ").split():
        if word.startswith("Bad") and word[3:4].isupper():
            return word
    return None

