"""OPC UA resource limits: what the server bounds (sessions, operations per request) and how long an idle
session lives. Read in a session; without one the checks say ``manual``."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.opcua.endpoints import APPLIES, not_audited
from checks.opcua.facts import Capabilities, NoSession, NotAudited, SessionLimits


@check("opcua.server.operation-limits", title="OPC UA server bounds its sessions and operations per request",
       requirements=["SR 7.1", "SR 7.2", "CR 7.1", "CR 7.2"], applies_to=APPLIES, severity="medium",
       params={"required": ["max_sessions", "max_nodes_per_read", "max_nodes_per_write", "max_nodes_per_browse"]},
       remediation="Configure the server's limits: a maximum number of sessions and subscriptions sized for its "
                   "clients, and OperationLimits (MaxNodesPerRead, MaxNodesPerWrite, MaxNodesPerBrowse, "
                   "MaxNodesPerMethodCall) other than 0 (unlimited); update firmware that cannot set them.")
def operation_limits(opcua_capabilities: Capabilities | NoSession | NotAudited, params: dict[str, Any]) -> Verdict:
    """A server without a session limit or with unlimited operations per request lets one client (or a flood of
    them) take all its memory and CPU, and the control functions with them (SR 7.1 denial of service protection,
    SR 7.2 resource management). ServerCapabilities publishes the limits; 0 means unlimited."""
    if (skip := not_audited(opcua_capabilities)):
        return skip
    required = list(params["required"])
    expected = "set (not 0, meaning unlimited): " + ", ".join(required)
    if isinstance(opcua_capabilities, NoSession):
        return manual(f"reading ServerCapabilities needs a session, which was not opened: {opcua_capabilities.reason}",
                      expected)
    caps = opcua_capabilities
    assert isinstance(caps, Capabilities)
    observed: dict[str, Any] = {name: caps.values.get(name, caps.statuses.get(name)) for name in caps.statuses}
    observed["read_as"] = caps.identity
    unknown = [name for name in required if name not in caps.statuses]
    if unknown:
        return manual(f"the profile names unknown limits {unknown}", expected, observed)
    unlimited = [name for name in required if caps.statuses[name] == "Good" and caps.values.get(name) == 0]
    odd = [name for name in required if caps.statuses[name] == "Good"
           and (isinstance(caps.values.get(name), bool) or not isinstance(caps.values.get(name), int))]
    unread = [f"{name} ({caps.statuses[name]})" for name in required if caps.statuses[name] != "Good"]
    if unlimited:
        return failed(observed, expected, "unlimited (0): " + ", ".join(unlimited))
    if odd or unread:
        return manual("limits not readable: " + ", ".join(unread + [f"{n} = {caps.values.get(n)!r}" for n in odd])
                      + " (MaxSessions exists from OPC UA 1.05); check the server's limits by hand", expected, observed)
    return passed(observed, expected)


@check("opcua.session.timeout", title="OPC UA server ends idle sessions within the site maximum",
       requirements=["SR 2.6", "CR 2.6", "SR 7.2", "CR 7.2"], applies_to=APPLIES, severity="medium",
       params={"max_session_timeout_ms": 3_600_000},
       remediation="Set the server's maximum session timeout (the value it revises a client's RequestedSessionTimeout "
                   "to) to the site maximum, e.g. one hour or less, so abandoned sessions are closed and their slots "
                   "freed.")
def session_timeout(opcua_session_limits: SessionLimits | NoSession | NotAudited, params: dict[str, Any]) -> Verdict:
    """A session nobody closes stays open as long as the server grants: a server that grants any timeout keeps
    abandoned sessions (and their identity) alive for hours, and a few clients exhaust its session slots (SR 2.6
    remote session termination, SR 7.2). The auditor asks for a long timeout and reads what the server revised it
    to; the session is closed at once."""
    if (skip := not_audited(opcua_session_limits)):
        return skip
    limit = float(params["max_session_timeout_ms"])
    expected = f"revised session timeout <= {limit:g} ms"
    if isinstance(opcua_session_limits, NoSession):
        return manual(f"no session was created: {opcua_session_limits.reason}", expected)
    limits = opcua_session_limits
    assert isinstance(limits, SessionLimits)
    observed = {"requested_session_timeout_ms": limits.requested_session_timeout_ms,
                "revised_session_timeout_ms": limits.revised_session_timeout_ms,
                "requested_channel_lifetime_ms": limits.requested_channel_lifetime_ms,
                "revised_channel_lifetime_ms": limits.revised_channel_lifetime_ms, "session": limits.identity}
    if limits.revised_session_timeout_ms > limit:
        return failed(observed, expected, f"the server granted {limits.revised_session_timeout_ms:g} ms")
    if limits.revised_session_timeout_ms <= 0:
        return manual("the server revised the session timeout to 0; check its session settings", expected, observed)
    if limits.requested_session_timeout_ms <= limit:
        return manual(f"the auditor asked for {limits.requested_session_timeout_ms:g} ms, no more than the maximum, so "
                      "the server's cap is unknown", expected, observed)
    return passed(observed, expected, f"asked for {limits.requested_session_timeout_ms:g} ms, granted "
                                      f"{limits.revised_session_timeout_ms:g} ms")
