"""OPC UA server properties read in a session: auditing, build information, and what anonymous users may write.

These reads need a session. The connector opens one only where the inventory allows it (user
credentials, or ``anonymous_session: true``); without a session the checks say ``manual`` with the
reason, never ``pass``.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import re
from typing import Any

from auditor.clock import skew_seconds
from auditor.registry import check
from auditor.verdicts import Verdict, failed, manual, passed
from checks.opcua.endpoints import APPLIES, not_audited
from checks.opcua.facts import SERVER_NODES, Endpoint, NoSession, NotAudited, ServerInfo, VariableSample

_HOW_TO_READ = ("give the endpoint credentials (username + password_env/password_file, or client_cert_file + "
                "client_key_file) or allow an anonymous session (anonymous_session: true) in the inventory")


def _no_session(value: Any, what: str, expected: str) -> Verdict | None:
    if isinstance(value, NoSession):
        return manual(f"{what} needs a session, which was not opened: {value.reason}; {_HOW_TO_READ}, or verify "
                      "by hand", expected)
    return None


@check("opcua.server.auditing", title="OPC UA server generates audit events (Server.Auditing)",
       requirements=["SR 2.8", "CR 2.8"], applies_to=APPLIES, severity="medium",
       remediation="Enable auditing in the server configuration so that Server.Auditing (i=2994) is true and the "
                   "server emits AuditEvents for sessions, security and writes; forward them to the site's log "
                   "collection.")
def auditing(opcua_server_info: ServerInfo | NoSession | NotAudited) -> Verdict:
    """Without audit events there is no record of who connected, who was rejected and who changed what:
    incidents cannot be reconstructed (SR 2.8 auditable events)."""
    if (skip := not_audited(opcua_server_info)):
        return skip
    expected = "Server.Auditing (i=2994) is true"
    if (skip := _no_session(opcua_server_info, "reading Server.Auditing", expected)):
        return skip
    assert isinstance(opcua_server_info, ServerInfo)
    if not opcua_server_info.good("auditing"):
        return manual(f"Server.Auditing (i=2994) could not be read ({opcua_server_info.statuses.get('auditing')}) "
                      f"as {opcua_server_info.identity}; check the audit configuration by hand", expected)
    value = opcua_server_info.values["auditing"]
    observed = {"auditing": value, "read_as": opcua_server_info.identity}
    if value is True:
        return passed(observed, expected)
    if value is False:
        return failed(observed, expected, "the server does not generate audit events")
    return manual(f"Server.Auditing has an unexpected value {value!r}", expected, observed)


@check("opcua.identity.build-info", title="OPC UA server reports its product and software version (BuildInfo)",
       requirements=["SR 7.8", "CR 7.8"], applies_to=APPLIES, severity="low",
       params={"required_fields": ["product_name", "manufacturer_name", "software_version"],
               "vulnerable_versions": [], "minimum_versions": []},
       remediation="Configure (or update to a firmware/software release that fills) the server's BuildInfo: "
                   "ProductName, ManufacturerName, SoftwareVersion and BuildNumber, so the component inventory and "
                   "vulnerability management can identify it; update any version listed as vulnerable or older "
                   "than the site's minimum.")
def build_info(opcua_server_info: ServerInfo | NoSession | NotAudited, params: dict[str, Any]) -> Verdict:
    """The component inventory (SR 7.8) and every vulnerability advisory work with product and version. A server
    whose BuildInfo is empty cannot be matched against advisories, and a version the site lists as vulnerable
    (``vulnerable_versions``: ``{product: glob, version: glob, advisory: text}``) or older than its minimum
    (``minimum_versions``: ``{product: glob, version: "3.2.1"}``, compared number by number) must be updated."""
    if (skip := not_audited(opcua_server_info)):
        return skip
    required = list(params["required_fields"])
    expected = f"BuildInfo {', '.join(required)} present, not a version listed as vulnerable nor below the minimum"
    if (skip := _no_session(opcua_server_info, "reading BuildInfo", expected)):
        return skip
    assert isinstance(opcua_server_info, ServerInfo)
    info = opcua_server_info
    fields = ("product_name", "manufacturer_name", "software_version", "build_number", "product_uri", "build_date")
    observed: dict[str, Any] = {name: info.values.get(name) for name in fields}
    observed["read_as"] = info.identity
    unknown = [name for name in required if name not in SERVER_NODES]
    if unknown:
        return manual(f"profile names unknown BuildInfo fields {unknown}", expected, observed)
    unreadable = [f"{name} ({info.statuses.get(name)})" for name in required if not info.good(name)]
    empty = [name for name in required if info.good(name) and not str(info.values.get(name) or "").strip()]
    if unreadable or empty:
        parts = []
        if empty:
            parts.append("empty: " + ", ".join(empty))
        if unreadable:
            parts.append("not readable: " + ", ".join(unreadable))
        return failed(observed, expected, "incomplete BuildInfo (" + "; ".join(parts) + ")")
    product = str(info.values.get("product_name") or "")
    version = str(info.values.get("software_version") or "")
    for entry in params["vulnerable_versions"]:
        if not isinstance(entry, dict) or "product" not in entry or "version" not in entry:
            return manual(f"vulnerable_versions entry {entry!r} needs 'product' and 'version' globs", expected, observed)
        if fnmatch.fnmatchcase(product, str(entry["product"])) and fnmatch.fnmatchcase(version, str(entry["version"])):
            advisory = entry.get("advisory") or "listed as vulnerable by the site"
            return failed(observed, expected, f"{product} {version}: {advisory}")
    for entry in params["minimum_versions"]:
        if not isinstance(entry, dict) or "product" not in entry or "version" not in entry:
            return manual(f"minimum_versions entry {entry!r} needs 'product' (a glob) and 'version'", expected, observed)
        if not fnmatch.fnmatchcase(product, str(entry["product"])):
            continue
        have, least = version_key(version), version_key(str(entry["version"]))
        if have is None:
            return manual(f"software version {version!r} cannot be compared with the minimum {entry['version']}",
                          expected, observed)
        if least is not None and have < least:
            return failed(observed, expected, f"{product} {version} is older than the site's minimum {entry['version']}")
    return passed(observed, expected)


def version_key(text: str) -> tuple[int, ...] | None:
    """``"V3.2.1 (build 7)"`` -> ``(3, 2, 1)``: the leading dotted numbers; None without any."""
    match = re.match(r"\s*[vV]?(\d+(?:\.\d+)*)", text)
    return tuple(int(part) for part in match.group(1).split(".")) if match else None


@check("opcua.variables.anonymous-write", title="Anonymous OPC UA users cannot write process variables",
       requirements=["SR 1.1", "SR 2.1", "CR 1.1", "CR 2.1"], applies_to=APPLIES, severity="high",
       remediation="Remove anonymous access, or restrict the anonymous role to read-only (UserAccessLevel without "
                   "CurrentWrite) on every process variable; grant write access only to named operator roles.")
def anonymous_write(opcua_endpoints: list[Endpoint] | NotAudited,
                    opcua_variable_access: VariableSample | NoSession | NotAudited) -> Verdict:
    """If an anonymous session may write process variables, anyone who reaches the port can change set points
    and commands without being identified (SR 2.1 authorization enforcement, SR 1.1). Judged from the
    UserAccessLevel attribute (CurrentWrite or HistoryWrite) of a bounded sample of variables read as the
    anonymous user; nothing is ever written."""
    if (skip := not_audited(opcua_endpoints, opcua_variable_access)):
        return skip
    expected = "no sampled variable has CurrentWrite or HistoryWrite in its UserAccessLevel for the anonymous user"
    offering = [e.label for e in opcua_endpoints if "Anonymous" in e.token_types()]  # type: ignore[union-attr]
    if not offering:
        return passed({"endpoints_offering_anonymous": []}, expected,
                      "no endpoint offers the Anonymous user token, so no anonymous session can write")
    if isinstance(opcua_variable_access, NoSession):
        return manual(f"anonymous access is offered ({', '.join(offering)}) but the variables were not sampled: "
                      f"{opcua_variable_access.reason}; allow an anonymous session (anonymous_session: true) or "
                      "check the anonymous role's write rights by hand", expected)
    sample = opcua_variable_access
    assert isinstance(sample, VariableSample)
    writable = sample.writable()
    observed = {"variables_sampled": len(sample.variables), "nodes_visited": sample.nodes_visited,
                "browse_depth": sample.depth, "max_nodes": sample.max_nodes, "truncated": sample.truncated,
                "writable_by_anonymous": [f"{v.name} ({v.node_id})" for v in writable[:25]],
                "writable_count": len(writable)}
    if writable:
        return failed(observed, expected, f"{len(writable)} of {len(sample.variables)} sampled variables are writable "
                                          "by an anonymous session")
    if not sample.variables or sample.unreadable == len(sample.variables):
        return manual("the anonymous session saw no variable whose access level it could read; check the anonymous "
                      "role's write rights by hand", expected, observed)
    if sample.truncated or sample.unreadable:
        # a partial view: variables past the node limit, or whose access level could not be read, may be writable
        why = []
        if sample.truncated:
            why.append(f"the browse stopped at its limit of {sample.max_nodes} nodes")
        if sample.unreadable:
            why.append(f"{sample.unreadable} variables' UserAccessLevel could not be read")
        return manual(f"none of the {len(sample.variables)} sampled variables is writable anonymously, but "
                      + " and ".join(why) + "; check the anonymous role's write rights in the server configuration",
                      expected, observed)
    return passed(observed, expected, f"all {len(sample.variables)} variables the anonymous session can browse "
                                      f"(depth {sample.depth}) are read-only for it")


@check("opcua.server.clock", title="OPC UA server clock agrees with the auditor's (ServerStatus.CurrentTime)",
       requirements=["SR 2.11", "SR 2.11 RE1", "CR 2.11", "CR 2.11 RE1"], applies_to=APPLIES, severity="low",
       params={"max_skew_seconds": 2.0},
       fixture_verdicts={"weak": "pass", "hardened": "pass"},
       fixture_note="both simulated servers run on the auditor's own clock; the unit tests fail it on a skewed time",
       remediation="Synchronize the server's clock with the site's time source (NTP/PTP), so audit events and "
                   "alarms carry comparable timestamps.")
def clock(opcua_server_info: ServerInfo | NoSession | NotAudited, params: dict[str, Any]) -> Verdict:
    """Every OPC UA event, audit events included, carries the server's timestamp (Part 5, BaseEventType Time), so
    the server's clock is what its audit records are stamped with (SR 2.11); a clock off by more than a few
    seconds breaks the ordering of events across components during an investigation (SR 2.11 RE1). The
    server's CurrentTime is compared with the auditor's clock over the session that read it (the auditor's
    clock is assumed synchronized)."""
    if (skip := not_audited(opcua_server_info)):
        return skip
    limit = float(params["max_skew_seconds"])
    expected = f"ServerStatus.CurrentTime within {limit:g} s of the auditor's clock"
    if (skip := _no_session(opcua_server_info, "reading ServerStatus.CurrentTime", expected)):
        return skip
    assert isinstance(opcua_server_info, ServerInfo)
    raw = opcua_server_info.values.get("current_time")
    window = opcua_server_info.read_window
    try:
        server_time = _dt.datetime.fromisoformat(str(raw))
    except ValueError:
        return manual(f"CurrentTime (i=2258) is not a time ({raw!r}); check the clock by hand", expected)
    if window is None or server_time.tzinfo is None:
        return manual("the read time or the server's time zone is unknown; check the clock by hand", expected)
    start, end = window
    skew = abs(skew_seconds(server_time, start, end))
    observed = {"server_time": server_time.isoformat(), "auditor_time": end.isoformat(), "skew_seconds": round(skew, 3)}
    if skew > limit:
        return failed(observed, expected, f"the server's clock is off by {skew:.1f} s")
    return passed(observed, expected)


@check("opcua.server.audit-events", title="OPC UA audit events can be read by monitoring tools (event subscription)",
       requirements=["SR 6.1", "CR 6.1"], applies_to=APPLIES, severity="medium",
       remediation="Enable auditing (Server.Auditing) and event delivery on the Server object, and let the site's "
                   "monitoring or SIEM collector subscribe to the audit events with a read-only account.")
def audit_events(opcua_server_info: ServerInfo | NoSession | NotAudited,
                 opcua_server_events: int | None | NoSession | NotAudited) -> Verdict:
    """Audit records help only if tools can read them: an OPC UA server makes its audit events available to any
    authorized client through an event subscription on the Server object, a read-only channel (SR 6.1 audit log
    accessibility). Passes when Server.Auditing is true and the Server object's EventNotifier has
    SubscribeToEvents; nothing is subscribed to find out."""
    if (skip := not_audited(opcua_server_info, opcua_server_events)):
        return skip
    expected = "Server.Auditing true and the Server object (i=2253) with EventNotifier SubscribeToEvents"
    if (skip := _no_session(opcua_server_info, "reading Server.Auditing", expected)
            or _no_session(opcua_server_events, "reading the Server object's EventNotifier", expected)):
        return skip
    assert isinstance(opcua_server_info, ServerInfo)
    auditing = opcua_server_info.values.get("auditing") if opcua_server_info.good("auditing") else None
    observed = {"auditing": auditing, "event_notifier": opcua_server_events}
    if auditing is False:
        return failed(observed, expected, "the server generates no audit events to read")
    if opcua_server_events is not None and not opcua_server_events & 0x01:
        return failed(observed, expected, "the Server object does not deliver events to subscribers")
    if auditing is True and opcua_server_events is not None:
        return passed(observed, expected)
    return manual("Server.Auditing or the EventNotifier could not be read; check how audit events are collected",
                  expected, observed)
