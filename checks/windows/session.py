"""``windows.session.*``, ``windows.rdp.idle-limits``, ``windows.logon.*``: session lock, RDP limits, logon notice."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import RDS_SESSION_HOST, SECURITY_OPTIONS, registry_verify
from checks.windows.facts.policy import RegistryValues
from checks.windows.facts.sections import POLICIES_SYSTEM, TS_POLICY, TS_SERVER


def rdp_disabled(win_registry: RegistryValues) -> bool:
    """RDP refuses connections: the policy's fDenyTSConnections, else the Terminal Server key's."""
    policy = win_registry.number(TS_POLICY, "fDenyTSConnections")
    return (policy if policy is not None else win_registry.number(TS_SERVER, "fDenyTSConnections")) == 1


@check("windows.session.lock",
       title="Interactive sessions lock after inactivity",
       requirements=["SR 2.5", "CR 2.5"], applies_to=["host"], severity="medium", params={"max_seconds": 900},
       remediation=(f"GPO: {SECURITY_OPTIONS}Interactive logon: Machine inactivity limit = 900 seconds or less (600 "
                    "at SL 3, 300 at SL 4). Verify: " + registry_verify(POLICIES_SYSTEM, "InactivityTimeoutSecs") + "."))
def session_lock(win_registry: RegistryValues, params: dict[str, Any]) -> Verdict:
    """An unattended, unlocked operator station lets anyone act with the logged-on user's rights; CR 2.5
    asks for a session lock after a configurable time of inactivity."""
    seconds = win_registry.number(POLICIES_SYSTEM, "InactivityTimeoutSecs")
    expected = f"0 < InactivityTimeoutSecs <= {params['max_seconds']}"
    observed = {"InactivityTimeoutSecs": seconds}
    if not seconds:
        return failed(observed, expected, "no machine inactivity limit")
    if seconds > params["max_seconds"]:
        return failed(observed, expected, f"locks after {seconds} s")
    return passed(observed, expected)


@check("windows.rdp.idle-limits",
       title="RDP idle and disconnected sessions are ended",
       requirements=["SR 2.6", "CR 2.6"], applies_to=["host"], severity="medium",
       params={"max_seconds": 900, "max_disconnected_seconds": 3600},
       remediation=(f"GPO: {RDS_SESSION_HOST}Session Time Limits\\Set time limit for active but idle Remote Desktop "
                    "Services sessions = 15 minutes or less; Set time limit for disconnected sessions = 1 hour or less. "
                    "Verify: " + registry_verify(TS_POLICY, "MaxIdleTime", "MaxDisconnectionTime")
                    + " (milliseconds)."))
def rdp_idle(win_registry: RegistryValues, params: dict[str, Any]) -> Verdict:
    """A forgotten RDP session keeps an authenticated path into the control zone open; CR 2.6 asks remote
    sessions to end after inactivity."""
    idle = win_registry.number(TS_POLICY, "MaxIdleTime")
    disconnected = win_registry.number(TS_POLICY, "MaxDisconnectionTime")
    expected = (f"RDP disabled, or 0 < MaxIdleTime <= {params['max_seconds'] * 1000} ms and 0 < MaxDisconnectionTime "
                f"<= {params['max_disconnected_seconds'] * 1000} ms")
    observed = {"rdp_disabled": rdp_disabled(win_registry), "MaxIdleTime": idle, "MaxDisconnectionTime": disconnected}
    if observed["rdp_disabled"]:
        return passed(observed, expected, "RDP is disabled (fDenyTSConnections = 1)")
    problems = []
    if not idle or idle > params["max_seconds"] * 1000:
        problems.append("idle sessions are never ended" if not idle else f"idle sessions end after {idle // 1000} s")
    if not disconnected or disconnected > params["max_disconnected_seconds"] * 1000:
        problems.append("disconnected sessions are kept forever" if not disconnected
                        else f"disconnected sessions end after {disconnected // 1000} s")
    return failed(observed, expected, "; ".join(problems)) if problems else passed(observed, expected)


@check("windows.logon.legal-notice",
       title="Legal notice shown before logon",
       requirements=["SR 1.12", "CR 1.12"], applies_to=["host"], severity="low",
       remediation=(f"GPO: {SECURITY_OPTIONS}Interactive logon: Message title for users attempting to log on, and "
                    "Message text for users attempting to log on (the site's authorised-use notice). Verify: "
                    + registry_verify(POLICIES_SYSTEM, "LegalNoticeCaption", "LegalNoticeText") + "."))
def legal_notice(win_registry: RegistryValues) -> Verdict:
    """CR 1.12 asks for a system use notification before access; it also makes the authorised-use terms
    known to everyone who logs on."""
    caption = win_registry.get(POLICIES_SYSTEM, "LegalNoticeCaption")
    text = win_registry.get(POLICIES_SYSTEM, "LegalNoticeText")
    expected = "LegalNoticeCaption and LegalNoticeText not empty"
    observed = {"LegalNoticeCaption": caption, "LegalNoticeText": (str(text)[:200] if text else text)}
    if str(caption or "").strip() and str(text or "").strip():
        return passed(observed, expected)
    return failed(observed, expected, "no logon notice is shown")
