"""``windows.password.*`` and ``windows.lockout.*``: local password and lockout policy (secedit ``[System Access]``)."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows.facts.policy import SecurityPolicy

_GPO = r"Computer Configuration\Windows Settings\Security Settings\Account Policies"
_VERIFY = "`secedit /export /cfg $env:TEMP\\p.inf /areas SECURITYPOLICY; Select-String -Path $env:TEMP\\p.inf -Pattern {}`"


def _missing(observed: dict[str, Any], expected: str) -> Verdict | None:
    absent = [k for k, v in observed.items() if v is None]
    return failed(observed, expected, f"not in the exported policy: {', '.join(absent)}") if absent else None


@check("windows.password.min-length",
       title="Password policy requires a minimum length",
       requirements=["SR 1.7", "CR 1.7"], applies_to=["host"], severity="high", params={"min_length": 12},
       remediation=(f"GPO: {_GPO}\\Password Policy\\Minimum password length = 12 or more (14 at SL 3). "
                    f"Verify: {_VERIFY.format('MinimumPasswordLength')}, or `net accounts`."))
def min_length(win_secpol: SecurityPolicy, params: dict[str, Any]) -> Verdict:
    """Short passwords fall to guessing and offline cracking; password strength (SR/CR 1.7) starts with a
    minimum length the operating system enforces for every local account."""
    expected = f"MinimumPasswordLength >= {params['min_length']}"
    observed = {"MinimumPasswordLength": win_secpol.number("MinimumPasswordLength")}
    if (problem := _missing(observed, expected)) is not None:
        return problem
    if observed["MinimumPasswordLength"] >= params["min_length"]:
        return passed(observed, expected)
    return failed(observed, expected, f"passwords of {observed['MinimumPasswordLength']} characters are accepted")


@check("windows.password.complexity",
       title="Password policy requires complexity",
       requirements=["SR 1.7", "CR 1.7"], applies_to=["host"], severity="medium",
       remediation=(f"GPO: {_GPO}\\Password Policy\\Password must meet complexity requirements = Enabled. "
                    f"Verify: {_VERIFY.format('PasswordComplexity')} (1 = enabled)."))
def complexity(win_secpol: SecurityPolicy) -> Verdict:
    """Without the complexity rule a password of one character class passes; CR 1.7 asks for configurable
    strength beyond length."""
    expected = "PasswordComplexity = 1"
    observed = {"PasswordComplexity": win_secpol.number("PasswordComplexity")}
    if (problem := _missing(observed, expected)) is not None:
        return problem
    if observed["PasswordComplexity"] == 1:
        return passed(observed, expected)
    return failed(observed, expected, "password complexity is disabled")


@check("windows.password.history",
       title="Password history prevents reuse of recent passwords",
       requirements=["SR 1.7 RE1", "CR 1.7 RE1"], applies_to=["host"], severity="low", params={"min_remember": 5},
       remediation=(f"GPO: {_GPO}\\Password Policy\\Enforce password history = 5 or more (10 at SL 4). "
                    f"Verify: {_VERIFY.format('PasswordHistorySize')}."))
def history(win_secpol: SecurityPolicy, params: dict[str, Any]) -> Verdict:
    """A forced change is worthless if the old password can be set again at once; the password lifetime
    rules of CR 1.7 RE1 need a history."""
    expected = f"PasswordHistorySize >= {params['min_remember']}"
    observed = {"PasswordHistorySize": win_secpol.number("PasswordHistorySize")}
    if (problem := _missing(observed, expected)) is not None:
        return problem
    if observed["PasswordHistorySize"] >= params["min_remember"]:
        return passed(observed, expected)
    return failed(observed, expected, f"only {observed['PasswordHistorySize']} previous passwords are remembered")


@check("windows.password.ageing",
       title="Password maximum and minimum age are set",
       requirements=["SR 1.7 RE1", "CR 1.7 RE1"], applies_to=["host"], severity="low",
       params={"max_days": 365, "min_days": 1},
       remediation=(f"GPO: {_GPO}\\Password Policy\\Maximum password age = 365 days or less (180 at SL 3, 90 at "
                    f"SL 4), Minimum password age = 1 day. Verify: {_VERIFY.format('PasswordAge')}."))
def ageing(win_secpol: SecurityPolicy, params: dict[str, Any]) -> Verdict:
    """CR 1.7 RE1 asks for password lifetime restrictions: a maximum age bounds how long a leaked password
    stays valid, a minimum age stops users cycling through the history at once."""
    expected = f"0 < MaximumPasswordAge <= {params['max_days']} and MinimumPasswordAge >= {params['min_days']}"
    observed = {"MaximumPasswordAge": win_secpol.number("MaximumPasswordAge"),
                "MinimumPasswordAge": win_secpol.number("MinimumPasswordAge")}
    if (problem := _missing(observed, expected)) is not None:
        return problem
    problems = []
    if not 0 < observed["MaximumPasswordAge"] <= params["max_days"]:
        problems.append("passwords never expire" if observed["MaximumPasswordAge"] in (-1, 0)
                        else f"passwords expire after {observed['MaximumPasswordAge']} days")
    if observed["MinimumPasswordAge"] < params["min_days"]:
        problems.append("a password may be changed again at once")
    return failed(observed, expected, "; ".join(problems)) if problems else passed(observed, expected)


@check("windows.lockout.threshold",
       title="Account lockout after repeated failed logons",
       requirements=["SR 1.11", "CR 1.11"], applies_to=["host"], severity="high",
       params={"deny_min": 3, "deny_max": 10, "min_duration_minutes": 15},
       remediation=(f"GPO: {_GPO}\\Account Lockout Policy\\Account lockout threshold = 3..10 invalid attempts (5 at "
                    "SL 3), Account lockout duration = 15 minutes or more (0: until an administrator unlocks). "
                    f"Verify: {_VERIFY.format('Lockout')}."))
def lockout(win_secpol: SecurityPolicy, params: dict[str, Any]) -> Verdict:
    """Without a lockout threshold a password can be guessed at network speed (SMB, RDP, WinRM); CR 1.11
    asks to limit unsuccessful login attempts."""
    expected = (f"{params['deny_min']} <= LockoutBadCount <= {params['deny_max']} and LockoutDuration >= "
                f"{params['min_duration_minutes']} (or 0: administrator unlock)")
    observed = {"LockoutBadCount": win_secpol.number("LockoutBadCount"),
                "LockoutDuration": win_secpol.number("LockoutDuration")}
    count, duration = observed["LockoutBadCount"], observed["LockoutDuration"]
    if count is None or count == 0:
        return failed(observed, expected, "no lockout threshold: failed logons are unlimited")
    if not params["deny_min"] <= count <= params["deny_max"]:
        return failed(observed, expected, f"lockout after {count} failed logons")
    if duration is None or 0 < duration < params["min_duration_minutes"]:
        return failed(observed, expected, f"accounts unlock after {duration} minutes")
    return passed(observed, expected)
