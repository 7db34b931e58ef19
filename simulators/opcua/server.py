"""A real OPC UA server (asyncua) configured from a weak or a hardened fixture, for tests and demos.

:class:`OpcuaSimulator` runs an :class:`asyncua.Server` on its own asyncio loop in a background
thread, so synchronous code (the demo plant, the CLI, pytest fixtures) can start and stop it. It
listens on a loopback address (ephemeral port by default) and serves what its fixture names:

* ``security_policies``: asyncua :class:`~asyncua.ua.SecurityPolicyType` names
  (``NoSecurity``, ``Basic128Rsa15_SignAndEncrypt``, ``Basic256_Sign``, ``Basic256Sha256_SignAndEncrypt``,
  ``Aes256Sha256RsaPss_SignAndEncrypt``, ...);
* ``identity_tokens``: ``anonymous``, ``username``, ``certificate``;
* ``cleartext_password_on_none``: the UserName token of the None endpoint names no encrypting policy
  (the password would travel in clear text, as on many legacy servers);
* ``certificate``: ``{key_bits, hash (sha1|sha256), self_signed, valid_days}``; a CA-issued certificate
  is signed by a throw-away "demo plant CA" made for this server (1024-bit SHA-1 certificates are built
  by :mod:`simulators.opcua.certs`, since ``cryptography`` no longer signs with SHA-1);
* ``auditing`` (``Server.Auditing``, i=2994), ``build_info``, ``variables`` (``writable`` sets
  AccessLevel and UserAccessLevel CurrentWrite, ``node_writable`` AccessLevel only, so every session
  sees it narrowed by its UserAccessLevel; ``roles``: ``{Anonymous: [Browse, Read, Write], ...}``
  becomes the node's RolePermissions attribute, for reading only: asyncua does not enforce it),
  ``known_servers`` (what FindServers lists besides itself), ``users`` (username: password);
* ``accept_any_client_certificate``: no trust list, any client certificate gets a channel and a session
  (as many field devices ship); false: only the certificates the launcher trusts (checked at CreateSession);
* ``advertised_host``: the host its endpoint and discovery URLs announce instead of the address it listens on
  (``0.0.0.0``: as a server configured to listen on every interface announces itself; the simulator itself
  still listens on its loopback address only);
* ``role_identities``: ``{Operator: [Anonymous, "UserName:operator1"], ...}``, the identity mapping rules
  (``CriteriaType`` or ``CriteriaType:Criteria``) written into the Identities property of the well-known roles
  of ``Server/ServerCapabilities/RoleSet`` (read only: asyncua does not enforce them);
* ``max_session_timeout_ms`` (what a RequestedSessionTimeout is revised down to), ``limits``
  (ServerCapabilities MaxSessions/MaxSubscriptions and OperationLimits MaxNodesPerRead/Write/Browse/MethodCall
  by the pack's names; 0 means unlimited).

Every message a client sends is recorded in :attr:`OpcuaSimulator.requests` (thread-safe appends) as a
dict with ``kind`` = ``connect`` | ``hello`` | ``open_channel`` | ``close_channel`` | ``service`` and, for
services, ``service`` (``GetEndpoints``, ``CreateSession``, ``ActivateSession``, ``Read``, ``Browse``,
``Write``, ``Call``, ...) plus a few details (never a password). The recording hooks asyncua's
``UaProcessor`` (the per-connection request dispatcher) once per process and only records for servers
that belong to a simulator, so tests can prove that a scan sent no Write and no Call.

asyncua fills its standard address space node by node on every ``Server.init()`` (~1.3 s); the
simulator does that once per process and gives later servers a structural copy (~0.25 s).

Faults for robustness tests are switched on a running simulator through :attr:`OpcuaSimulator.faults`:
``{"delay": 5.0}`` waits that long before handling every message, ``{"drop_on": "Hello"}`` (or any
service name such as ``"CreateSession"``) closes the connection when that message arrives.
"""

from __future__ import annotations

import asyncio
import copy
import datetime as _dt
import logging
import secrets
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AttributeValue, NodeData
from asyncua.server.internal_server import ServerDesc
from asyncua.server.uaprocessor import UaProcessor
from asyncua.server.user_managers import UserManager
from asyncua.ua.ua_binary import nodeid_from_binary, struct_from_binary

from auditor.safeload import load_yaml_file
from simulators.opcua.certs import CertKey, der, make_certificate, make_key

log = logging.getLogger(__name__)

__all__ = ["FIXTURES", "OpcuaFixture", "OpcuaSimulator", "load_fixture"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"
START_TIMEOUT = 30.0
#: ServerCapabilities nodes a fixture's ``limits`` may set (names as in the OPC UA pack's facts).
_LIMIT_NODES = {"max_sessions": ua.ObjectIds.Server_ServerCapabilities_MaxSessions,
                "max_subscriptions": ua.ObjectIds.Server_ServerCapabilities_MaxSubscriptions,
                "max_nodes_per_read": ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerRead,
                "max_nodes_per_write": ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerWrite,
                "max_nodes_per_method_call": ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerMethodCall,
                "max_nodes_per_browse": ua.ObjectIds.Server_ServerCapabilities_OperationLimits_MaxNodesPerBrowse}
#: Well-known roles (Part 3, 4.9) a fixture's variable may name.
_ROLES = {"Anonymous": ua.ObjectIds.WellKnownRole_Anonymous,
          "AuthenticatedUser": ua.ObjectIds.WellKnownRole_AuthenticatedUser,
          "Observer": ua.ObjectIds.WellKnownRole_Observer, "Operator": ua.ObjectIds.WellKnownRole_Operator,
          "Engineer": ua.ObjectIds.WellKnownRole_Engineer, "Supervisor": ua.ObjectIds.WellKnownRole_Supervisor}

#: The Identities property of each well-known role a fixture's ``role_identities`` may set (Part 18).
_ROLE_IDENTITIES = {name: getattr(ua.ObjectIds, f"WellKnownRole_{name}_Identities")
                    for name in ("Anonymous", "AuthenticatedUser", "Observer", "Operator", "Engineer", "Supervisor",
                                 "ConfigureAdmin", "SecurityAdmin")}


@dataclass(frozen=True)
class OpcuaFixture:
    name: str
    application: dict[str, str]
    build_info: dict[str, str]
    security_policies: list[str]
    identity_tokens: list[str]
    certificate: dict[str, Any]
    auditing: bool = False
    cleartext_password_on_none: bool = False
    users: dict[str, str] = field(default_factory=dict)
    known_servers: list[dict[str, str]] = field(default_factory=list)
    variables: list[dict[str, Any]] = field(default_factory=list)
    accept_any_client_certificate: bool = True
    max_session_timeout_ms: float = 600_000
    limits: dict[str, int] = field(default_factory=dict)
    advertised_host: str | None = None
    role_identities: dict[str, list[str]] = field(default_factory=dict)


def load_fixture(fixture: str | Path) -> OpcuaFixture:
    """A built-in fixture by name (``weak``, ``hardened``) or a fixture YAML file."""
    path = Path(fixture)
    if not path.suffix:
        path = FIXTURES / f"{fixture}.yaml"
    data = load_yaml_file(path)
    for policy in data["security_policies"]:
        if not hasattr(ua.SecurityPolicyType, policy):
            raise ValueError(f"{path}: unknown security policy {policy!r}")
    unknown = set(data["identity_tokens"]) - {"anonymous", "username", "certificate"}
    if unknown:
        raise ValueError(f"{path}: unknown identity tokens {sorted(unknown)}")
    unknown = set(data.get("limits") or {}) - set(_LIMIT_NODES)
    if unknown:
        raise ValueError(f"{path}: unknown limits {sorted(unknown)}")
    for role, rules in (data.get("role_identities") or {}).items():
        if role not in _ROLE_IDENTITIES or not all(str(r).split(":", 1)[0] in ua.IdentityCriteriaType.__members__
                                                   for r in rules):
            raise ValueError(f"{path}: role_identities: unknown role or identity criteria type in {role}: {rules}")
    for spec in data.get("variables") or []:
        for role, rights in (spec.get("roles") or {}).items():
            if role not in _ROLES or not set(rights) <= set(ua.PermissionType.__members__):
                raise ValueError(f"{path}: variable {spec.get('path')}: unknown role or permission in {role}: {rights}")
    return OpcuaFixture(name=path.stem, **data)


# ---------------------------------------------------------------------------------------- recording hooks

_HOOKED = False
_HOOK_LOCK = threading.Lock()
_MESSAGE_KIND = {ua.MessageType.Hello: "hello", ua.MessageType.SecureOpen: "open_channel",
                 ua.MessageType.SecureClose: "close_channel"}


def _service_name(typeid: ua.NodeId) -> str:
    name = ua.ObjectIdNames.get(typeid.Identifier, f"i={typeid.Identifier}") if typeid.NamespaceIndex == 0 else str(typeid)
    for suffix in ("Request_Encoding_DefaultBinary", "_Encoding_DefaultBinary"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def _install_hooks() -> None:
    """Wrap UaProcessor.process/process_message once; they record only for simulator-owned servers."""
    global _HOOKED
    with _HOOK_LOCK:
        if _HOOKED:
            return
        original_process = UaProcessor.process
        original_process_message = UaProcessor.process_message
        original_init = UaProcessor.__init__

        def init(self: UaProcessor, internal_server: Any, transport: Any, limits: Any) -> None:
            original_init(self, internal_server, transport, limits)
            sim = getattr(internal_server, "_iacs_simulator", None)
            if sim is not None:
                sim._record(self, "connect")

        async def process(self: UaProcessor, header: Any, body: Any) -> bool:
            sim = getattr(self.iserver, "_iacs_simulator", None)
            if sim is None:
                return await original_process(self, header, body)
            kind = _MESSAGE_KIND.get(header.MessageType)
            if kind is not None and kind != "open_channel":
                sim._record(self, kind)
            if await sim._fault(self, "Hello" if kind == "hello" else None):
                return False
            try:
                return await original_process(self, header, body)
            finally:
                if kind == "open_channel":  # after the channel chose its policy, so the record names it
                    sim._record(self, kind)

        async def process_message(self: UaProcessor, seqhdr: Any, body: Any) -> bool:
            sim = getattr(self.iserver, "_iacs_simulator", None)
            if sim is not None:
                service = "?"
                details: dict[str, Any] = {}
                try:
                    peek = body.copy()
                    service = _service_name(nodeid_from_binary(peek))
                    details = _details(service, peek)
                except Exception as exc:  # recording must never break the server
                    details = {"unparsed": repr(exc)}
                sim._record(self, "service", service=service, **details)
                if await sim._fault(self, service, delay=False):
                    return False
            return await original_process_message(self, seqhdr, body)

        UaProcessor.__init__ = init  # type: ignore[method-assign]
        UaProcessor.process = process  # type: ignore[method-assign]
        UaProcessor.process_message = process_message  # type: ignore[method-assign]
        _HOOKED = True


def _details(service: str, peek: Any) -> dict[str, Any]:
    """What a test may want to assert about a request: node counts, identity types. Never a secret."""
    struct_from_binary(ua.RequestHeader, peek)
    if service == "Read":
        params = struct_from_binary(ua.ReadParameters, peek)
        return {"nodes": len(params.NodesToRead),
                "attributes": sorted({int(r.AttributeId) for r in params.NodesToRead})}
    if service == "Browse":
        params = struct_from_binary(ua.BrowseParameters, peek)
        return {"nodes": len(params.NodesToBrowse)}
    if service == "Write":
        params = struct_from_binary(ua.WriteParameters, peek)
        return {"nodes": len(params.NodesToWrite)}
    if service == "Call":
        params = struct_from_binary(ua.CallParameters, peek)
        return {"methods": len(params.MethodsToCall)}
    if service == "ActivateSession":
        params = struct_from_binary(ua.ActivateSessionParameters, peek)
        token = params.UserIdentityToken
        out: dict[str, Any] = {"identity": type(token).__name__}
        if isinstance(token, ua.UserNameIdentityToken):
            out["username"] = token.UserName
            out["password_encrypted"] = bool(token.EncryptionAlgorithm)
        return out
    return {}


# ---------------------------------------------------------------------------------------- address space

# asyncua fills the standard address space (~6000 nodes) node by node on every Server.init(), ~1.3 s.
# The simulator fills it once per process and gives later servers a structural copy (~0.25 s): fresh
# NodeData, AttributeValue and ReferenceDescription objects around shared (replaced-on-write) values.
_TEMPLATE: dict[ua.NodeId, NodeData] | None = None
_TEMPLATE_LOCK = threading.Lock()


def _clone_nodes(nodes: dict[ua.NodeId, NodeData]) -> dict[ua.NodeId, NodeData]:
    out = {}
    for nodeid, data in nodes.items():
        node = NodeData(nodeid)
        node.attributes = {attr: AttributeValue(value.value) for attr, value in data.attributes.items()}
        node.references = [copy.copy(ref) for ref in data.references]
        node.call = data.call
        out[nodeid] = node
    return out


def _fast_standard_address_space(iserver: Any) -> None:
    """Make ``iserver.load_standard_address_space`` use the process-wide template once there is one."""
    original = iserver.load_standard_address_space

    async def load(shelf_file: Path | None = None) -> None:
        global _TEMPLATE
        template = _TEMPLATE
        if template is not None:
            iserver.aspace._nodes.update(_clone_nodes(template))
            return
        await original(shelf_file)
        fresh = iserver.aspace._nodes
        if all(not a.value_callback and not a.value_setter and not a.datachange_callbacks
               for n in fresh.values() for a in n.attributes.values()):
            snapshot = _clone_nodes(fresh)  # taken before this server's own changes
            with _TEMPLATE_LOCK:
                if _TEMPLATE is None:
                    _TEMPLATE = snapshot

    iserver.load_standard_address_space = load


# ---------------------------------------------------------------------------------------- users


class _Users(UserManager):
    """Fixture users by password, trusted user certificates, and anonymous when the fixture enables it.

    asyncua hands ``get_user`` the channel's client certificate for anonymous sessions on secure
    channels and the token's certificate for X.509 tokens, so "no username" means either; a
    certificate that is not trusted falls back to anonymous only where anonymous is enabled.
    """

    def __init__(self, users: dict[str, str], certificates: list[bytes], allow_anonymous: bool):
        self.users = dict(users)
        self.certificates = list(certificates)
        self.allow_anonymous = allow_anonymous

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is not None:
            expected = self.users.get(username)
            ok = expected is not None and password is not None and secrets.compare_digest(
                str(password).encode(), expected.encode())
            return User(role=UserRole.User, name=username) if ok else None
        if certificate:
            data = certificate if isinstance(certificate, bytes) else der(certificate)
            if data in self.certificates:
                return User(role=UserRole.User, name="certificate")
        return User(role=UserRole.User, name="anonymous") if self.allow_anonymous else None


# ---------------------------------------------------------------------------------------- simulator


class OpcuaSimulator:
    """An asyncua server on a loopback address, run in a background thread (see the module docstring)."""

    def __init__(self, fixture: str | Path | OpcuaFixture = "weak", host: str = "127.0.0.1", port: int = 0, *,
                 username: str | None = "auditor", password: str | None = None,
                 trusted_client_certs: list[bytes] | None = None, user_certs: list[bytes] | None = None):
        self.fixture = fixture if isinstance(fixture, OpcuaFixture) else load_fixture(fixture)
        self.host = host
        self.port = port
        self.username = username
        self.password = password if password is not None else (secrets.token_urlsafe(18) if username else None)
        self.trusted_client_certs = trusted_client_certs
        self.user_certs = list(user_certs or [])
        self.requests: list[dict[str, Any]] = []
        self.faults: dict[str, Any] = {}
        self.certificate: bytes = b""
        self.ca_certificate: bytes | None = None
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_event: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._server: Server | None = None

    # ------------------------------------------------------------------ public
    @property
    def url(self) -> str:
        return f"opc.tcp://{self.host}:{self.port}/iacs-sim/"

    def start(self, timeout: float = START_TIMEOUT) -> "OpcuaSimulator":
        _install_hooks()
        self._thread = threading.Thread(target=self._run, name=f"opcua-sim-{self.fixture.name}-{self.host}",
                                        daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise TimeoutError(f"OPC UA simulator did not start within {timeout:g} s")
        if self._error is not None:
            self._thread.join(5)
            raise RuntimeError(f"OPC UA simulator failed to start: {self._error!r}") from self._error
        return self

    def stop(self) -> None:
        loop, event = self._loop, self._stop_event
        if loop is not None and event is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # loop already closed
                pass
        if self._thread is not None:
            self._thread.join(15)

    def __enter__(self) -> "OpcuaSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def services(self, since: int = 0) -> list[str]:
        """The service names received (GetEndpoints, CreateSession, Read, ...), in order."""
        with self._lock:
            return [r["service"] for r in self.requests[since:] if r["kind"] == "service"]

    # ------------------------------------------------------------------ hooks (called on the server loop)
    def _record(self, processor: UaProcessor, kind: str, **details: Any) -> None:
        policy = getattr(getattr(processor, "_connection", None), "security_policy", None)
        entry: dict[str, Any] = {"kind": kind, "time": time.time(), "peer": _peer(processor.name)}
        if policy is not None:
            entry["channel"] = {"policy": str(getattr(policy, "URI", "")).rsplit("#", 1)[-1],
                                "mode": getattr(getattr(policy, "Mode", None), "name", None)}
        entry.update(details)
        with self._lock:
            self.requests.append(entry)

    async def _fault(self, processor: UaProcessor, message: str | None, *, delay: bool = True) -> bool:
        """Apply the configured faults; True means the connection was dropped."""
        faults = dict(self.faults)
        if delay and faults.get("delay"):
            await asyncio.sleep(float(faults["delay"]))
        if message is not None and faults.get("drop_on") == message:
            processor._transport.close()
            return True
        return False

    # ------------------------------------------------------------------ server thread
    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            loop.run_until_complete(self._main())
        except BaseException as exc:  # reported by start()
            self._error = exc
            log.debug("OPC UA simulator stopped with an error", exc_info=True)
        finally:
            self._ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    async def _main(self) -> None:
        self._stop_event = asyncio.Event()
        server = await self._build()
        await server.start()
        self._server = server
        try:
            self.port = server.bserver.port if server.bserver else self.port  # type: ignore[union-attr]
            self._finish_endpoints(server)
            self._ready.set()
            await self._stop_event.wait()
        finally:
            await server.stop()

    async def _build(self) -> Server:
        fx = self.fixture
        users = dict(fx.users)
        if self.username and self.password is not None:
            users[self.username] = self.password
        server = Server(user_manager=_Users(users, self.user_certs, "anonymous" in fx.identity_tokens))
        _fast_standard_address_space(server.iserver)
        await server.init()
        server.iserver._iacs_simulator = self  # type: ignore[attr-defined]
        server.set_endpoint(f"opc.tcp://{self.host}:{self.port}/iacs-sim/")
        server.set_server_name(fx.application["name"])
        await server.set_application_uri(fx.application["application_uri"])
        server.product_uri = fx.application["product_uri"]
        info = fx.build_info
        await server.set_build_info(fx.application["product_uri"], info.get("manufacturer_name", ""),
                                    info.get("product_name", ""), info.get("software_version", ""),
                                    info.get("build_number", ""), _dt.datetime(2024, 3, 1, tzinfo=_dt.timezone.utc))
        await server.get_node(ua.NodeId(ua.ObjectIds.Server_Auditing)).write_value(bool(fx.auditing))
        cert = self._certificate(fx)
        server.iserver.certificate = cert.certificate
        server.iserver.private_key = cert.key
        self.certificate = cert.der
        server.set_security_policy([getattr(ua.SecurityPolicyType, p) for p in fx.security_policies])
        tokens = {"anonymous": ua.AnonymousIdentityToken, "username": ua.UserNameIdentityToken,
                  "certificate": ua.X509IdentityToken}
        server.set_identity_tokens([tokens[t] for t in fx.identity_tokens])
        if self.trusted_client_certs is not None:
            server.set_certificate_validator(self._validate_client)  # type: ignore[arg-type]
        server.iserver.max_session_timeout_ms = float(fx.max_session_timeout_ms)
        for name, value in fx.limits.items():
            node = server.get_node(ua.NodeId(_LIMIT_NODES[name]))  # all UInt32 (Part 5, ServerCapabilitiesType)
            await node.write_value(ua.Variant(int(value), ua.VariantType.UInt32))
        await self._variables(server, fx)
        for role, rules in fx.role_identities.items():
            mapped = [ua.IdentityMappingRuleType(CriteriaType=ua.IdentityCriteriaType[kind], Criteria=criteria)
                      for kind, _, criteria in (str(rule).partition(":") for rule in rules)]
            server.iserver.aspace._nodes[ua.NodeId(_ROLE_IDENTITIES[role])].attributes[ua.AttributeIds.Value] = \
                AttributeValue(ua.DataValue(ua.Variant(mapped, ua.VariantType.ExtensionObject)))
        return server

    def _certificate(self, fx: OpcuaFixture) -> CertKey:
        spec = fx.certificate
        key = make_key(int(spec.get("key_bits", 2048)))
        issuer = None
        if not spec.get("self_signed", True):
            ca_key = make_key(2048)
            ca = make_certificate(ca_key, "Demo plant CA", is_ca=True, valid_days=3650, dns_names=())
            issuer = CertKey(ca, ca_key)
            self.ca_certificate = der(ca)
        hostname = socket.gethostname()
        certificate = make_certificate(
            key, fx.application["name"], application_uri=fx.application["application_uri"],
            hash_name=spec.get("hash", "sha256"), issuer=issuer, valid_days=float(spec.get("valid_days", 365)),
            dns_names=tuple(dict.fromkeys(["localhost", hostname])), ip_addresses=(self.host,))
        return CertKey(certificate, key)

    async def _validate_client(self, certificate: Any, _application: Any) -> None:
        if der(certificate) not in (self.trusted_client_certs or []):
            raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)

    async def _variables(self, server: Server, fx: OpcuaFixture) -> None:
        idx = await server.register_namespace("urn:iacs-sim:plant")
        made: dict[tuple[str, ...], Any] = {}
        for spec in fx.variables:
            path = tuple(spec["path"])
            parent = server.nodes.objects
            for depth in range(1, len(path)):
                prefix = path[:depth]
                if prefix not in made:
                    made[prefix] = (await parent.add_folder(idx, prefix[-1]) if depth == 1
                                    else await parent.add_object(idx, prefix[-1]))
                parent = made[prefix]
            variable = await parent.add_variable(idx, path[-1], spec.get("value", 0))
            if spec.get("writable"):
                await variable.set_writable()
            if spec.get("node_writable"):  # the node may be written, but not by the fixture's sessions
                attributes = server.iserver.aspace._nodes[variable.nodeid].attributes
                level = int(ua.AccessLevelType.CurrentRead | ua.AccessLevelType.CurrentWrite)
                attributes[ua.AttributeIds.AccessLevel] = AttributeValue(ua.DataValue(ua.Variant(level, ua.VariantType.Byte)))
            if spec.get("roles"):
                permissions = [ua.RolePermissionType(RoleId=ua.NodeId(_ROLES[role]), Permissions=ua.PermissionType(
                    sum(int(ua.PermissionType[right]) for right in rights))) for role, rights in spec["roles"].items()]
                server.iserver.aspace._nodes[variable.nodeid].attributes[ua.AttributeIds.RolePermissions] = \
                    AttributeValue(ua.DataValue(ua.Variant(permissions, ua.VariantType.ExtensionObject)))

    def _finish_endpoints(self, server: Server) -> None:
        """Advertise the real port, the cleartext password token and the extra known servers."""
        iserver = server.iserver
        url = self.url
        if self.fixture.advertised_host:
            url = f"opc.tcp://{self.fixture.advertised_host}:{self.port}/iacs-sim/"
            # asyncua answers GetEndpoints with the URL the client asked for by default: announce the fixture's
            iserver.match_discovery_endpoint_url = iserver.match_discovery_source_ip = False
        for edp in iserver.endpoints:
            edp.EndpointUrl = url
            edp.Server.DiscoveryUrls = [url]
            if self.fixture.cleartext_password_on_none and edp.SecurityMode == ua.MessageSecurityMode.None_:
                for token in edp.UserIdentityTokens:
                    if token.TokenType == ua.UserTokenType.UserName:
                        token.SecurityPolicyUri = ""  # "the endpoint's policy", i.e. None: no encryption
        for desc in iserver._known_servers.values():
            desc.Server.DiscoveryUrls = [url]
        for other in self.fixture.known_servers:
            app = ua.ApplicationDescription()
            app.ApplicationUri = other["application_uri"]
            app.ProductUri = other.get("product_uri", other["application_uri"])
            app.ApplicationName = ua.LocalizedText(other.get("name", other["application_uri"]))
            app.ApplicationType = ua.ApplicationType.Server
            app.DiscoveryUrls = [other["discovery_url"]]
            iserver._known_servers[app.ApplicationUri] = ServerDesc(app)


def _peer(name: Any) -> str:
    if isinstance(name, tuple) and len(name) >= 2:
        return f"{name[0]}:{name[1]}"
    return str(name)
