"""``linux.pam.*`` checks: password quality, lockout after failed logins, password history.

Evidence: :mod:`checks.linux.facts.pam` (the resolved PAM stacks and pwquality/faillock/pwhistory settings).
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, failed, manual, passed
from checks.linux.facts.pam import PamConfig
from checks.linux.facts.parsing import int_or

_ESSENTIAL = ("IEC 62443-3-3 §4.2 (support of essential functions): on operator stations where a lockout "
              "could stop operation of the process, a documented exception with compensating measures "
              "(physical access control, monitoring of failed logins) may replace the lockout; record it as a "
              "waiver for this check.")


def _unread_settings(pam: PamConfig, path: str, what: str, expected: str, observed: Any) -> Verdict | None:
    """A manual verdict when a settings file exists but could not be read: its values (not the module's
    defaults) are what the module uses, so a pass on the defaults would be a guess."""
    unread = pam.unread_among(path)
    if not unread:
        return None
    return manual(f"the stacks pass with {what} as read, but " + "; ".join(unread)
                  + ": its values are unknown; allow the audit account to read it (sudo -n)", expected, observed)


def _pwquality_settings(pam: PamConfig) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Effective pwquality/cracklib settings per base password stack (module args override the files)."""
    per_stack, missing = {}, []
    for name, lines in pam.find("password", "pam_pwquality", "pam_cracklib").items():
        if not lines:
            missing.append(name)
            continue
        line = lines[0]
        settings: dict[str, Any] = dict(pam.pwquality) if line.module == "pam_pwquality" else {}
        for arg in line.args:
            key, sep, value = arg.partition("=")
            settings[key] = value if sep else ""
        per_stack[name] = {"module": line.module, "control": line.control, "settings": settings}
    return per_stack, missing


@check("linux.pam.pwquality", title="PAM: password quality enforced (length and complexity)",
       requirements=["SR 1.7", "CR 1.7"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"min_length": 12, "min_classes": 3},
       remediation="Debian/Ubuntu: 'apt install libpam-pwquality' (adds pam_pwquality to common-password); RHEL: "
                   "pam_pwquality is in system-auth/password-auth by default (authselect). Then set in "
                   "/etc/security/pwquality.conf (or a file in pwquality.conf.d/): 'minlen = 12' (or more), "
                   "'minclass = 3', 'dictcheck = 1', 'enforce_for_root'.")
def pwquality(acct_pam: PamConfig, params: dict[str, Any]) -> Verdict:
    """SR 1.7 requires enforcing password strength (length, character classes). Only a quality module in the
    password stack enforces it when passwords are changed; a setting in pwquality.conf alone does nothing."""
    per_stack, missing = _pwquality_settings(acct_pam)
    expected = (f"pam_pwquality/pam_cracklib in every base password stack with minlen >= {params['min_length']} "
                f"and >= {params['min_classes']} required character classes, dictcheck on")
    observed: dict[str, Any] = {"stacks": {n: {"module": s["module"], **{k: s["settings"].get(k) for k in
                                                ("minlen", "minclass", "dcredit", "ucredit", "lcredit", "ocredit",
                                                 "dictcheck", "enforce_for_root")}} for n, s in per_stack.items()},
                                "missing_in": missing, "pwquality_files": list(acct_pam.pwquality_files)}
    if missing:
        return failed(observed, expected, f"no password quality module in {', '.join(missing)}")
    problems = []
    for name, stack in per_stack.items():
        settings = stack["settings"]
        minlen = int_or(settings.get("minlen"), 9 if stack["module"] == "pam_pwquality" else 9)
        credits = sum(1 for k in ("dcredit", "ucredit", "lcredit", "ocredit") if int_or(settings.get(k), 0) < 0)
        classes = max(int_or(settings.get("minclass"), 0), credits)
        if minlen < params["min_length"]:
            problems.append(f"{name}: minlen {minlen}")
        if classes < params["min_classes"]:
            problems.append(f"{name}: {classes} character classes required")
        if settings.get("dictcheck") == "0":
            problems.append(f"{name}: dictcheck disabled")
        if stack["control"] == "optional":  # its failure does not stop the password change
            problems.append(f"{name}: {stack['module']} is 'optional', so a weak password is still accepted")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return _unread_settings(acct_pam, "/etc/security/pwquality.conf", "pam_pwquality's settings", expected, observed) or passed(observed, expected)


@check("linux.pam.faillock", title="PAM: accounts locked after repeated failed logins",
       requirements=["SR 1.11", "CR 1.11"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"deny_min": 3, "deny_max": 10},
       remediation="Debian/Ubuntu: add pam_faillock to /etc/pam.d/common-auth ('auth required pam_faillock.so "
                   "preauth' before pam_unix, 'auth [default=die] pam_faillock.so authfail' after it) and "
                   "'account required pam_faillock.so' to common-account; RHEL: 'authselect enable-feature "
                   "with-faillock'. Set 'deny = 5', 'unlock_time = 900', 'fail_interval = 900' in "
                   "/etc/security/faillock.conf. " + _ESSENTIAL)
def faillock(acct_pam: PamConfig, params: dict[str, Any]) -> Verdict:
    """SR 1.11 requires limiting consecutive unsuccessful login attempts. pam_faillock (or the legacy
    pam_tally2) locks an account after 'deny' failures, for 'unlock_time' seconds. Essential-function
    caveat: operator consoles may document an exception (3-3 §4.2)."""
    found = acct_pam.find("auth", "pam_faillock", "pam_tally2")
    observed: dict[str, Any] = {"stacks": {n: [f"{ln.module} {' '.join(ln.args)}".strip() for ln in lines]
                                           for n, lines in found.items()},
                                "faillock_conf": {k: acct_pam.faillock.get(k) for k in
                                                  ("deny", "unlock_time", "fail_interval", "even_deny_root")
                                                  if k in acct_pam.faillock}}
    expected = (f"pam_faillock (or pam_tally2) in every base auth stack with deny {params['deny_min']}.."
                f"{params['deny_max']} and an unlock_time")
    missing = [n for n, lines in found.items() if not lines]
    if missing or not found:
        return failed(observed, expected, f"no lockout module in the auth stack of {', '.join(missing) or 'any service'}")
    problems = []
    for name, lines in found.items():
        line = lines[0]
        faillock = line.module == "pam_faillock"
        conf = acct_pam.faillock if faillock else {}
        on_line = {k: next((ln.arg(k) for ln in lines if ln.arg(k) is not None), None)
                   for k in ("deny", "unlock_time")}
        # module defaults: pam_faillock deny=3 unlock_time=600; pam_tally2 deny=0 (never locks)
        deny = int_or(on_line["deny"] if on_line["deny"] is not None else conf.get("deny", 3 if faillock else 0), -1)
        unlock = on_line["unlock_time"] if on_line["unlock_time"] is not None else conf.get(
            "unlock_time", "600" if faillock else None)
        observed.setdefault("effective", {})[name] = {"module": line.module, "deny": deny, "unlock_time": unlock}
        if not params["deny_min"] <= deny <= params["deny_max"]:
            problems.append(f"{name}: deny={deny}")
        if unlock is None:
            problems.append(f"{name}: no unlock_time")
        if line.module == "pam_faillock" and not any(ln.arg("preauth") is not None or ln.arg("authfail") is not None
                                                     for ln in lines):
            problems.append(f"{name}: pam_faillock without preauth/authfail (does not count failures)")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return _unread_settings(acct_pam, "/etc/security/faillock.conf", "pam_faillock's settings", expected, observed) or passed(observed, expected)


@check("linux.pam.password-history", title="PAM: previous passwords cannot be reused",
       requirements=["SR 1.7 RE1", "CR 1.7 RE1"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"min_remember": 5},
       remediation="Debian/Ubuntu: add 'password required pam_pwhistory.so remember=5 use_authtok' before "
                   "pam_unix in /etc/pam.d/common-password; RHEL: 'authselect enable-feature with-pwhistory' and "
                   "'remember = 5' in /etc/security/pwhistory.conf.")
def password_history(acct_pam: PamConfig, params: dict[str, Any]) -> Verdict:
    """SR 1.7 RE1 (SL3) includes preventing the reuse of recent passwords; otherwise lifetime limits are
    defeated by changing back to the old password."""
    expected = f"pam_pwhistory (or pam_unix remember=) with remember >= {params['min_remember']} in every base password stack"
    effective, problems = {}, []
    for name, lines in acct_pam.find("password", "pam_pwhistory", "pam_unix").items():
        remember = None
        for line in lines:
            if line.module == "pam_pwhistory":
                value = line.arg("remember") or acct_pam.pwhistory.get("remember") or "10"  # module default 10
                remember = max(remember or 0, int_or(value, 0))
            elif line.arg("remember") is not None:
                remember = max(remember or 0, int_or(line.arg("remember"), 0))
        effective[name] = remember
        if remember is None or remember < params["min_remember"]:
            problems.append(f"{name}: remember={remember}")
    observed = {"remember": effective}
    if problems or not effective:
        return failed(observed, expected, "; ".join(problems) or "no password stack found")
    return _unread_settings(acct_pam, "/etc/security/pwhistory.conf", "pam_pwhistory's settings", expected, observed) or passed(observed, expected)
