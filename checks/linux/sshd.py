"""``linux.sshd.*`` checks (1 of 3): who may log in over SSH, and how they authenticate.

Root login, password and empty-password logins, the login allow-list and multi-factor authentication.
The other sshd checks are in :mod:`checks.linux.sshd_crypto` (algorithms, host keys) and
:mod:`checks.linux.sshd_session` (attempts, timeouts, limits, forwarding, banner, log level), which share
:data:`RELOAD` and :func:`observe` from here. The evidence (which sshd instance is judged and where its
configuration comes from) is :mod:`checks.linux.facts.sshd`.
"""

from __future__ import annotations

import dataclasses
import functools

from typing import Any, Callable

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.optional import Missing
from checks.linux.facts.sshd import SshdConfig

RELOAD = ("Validate with 'sshd -t' and reload: Debian/Ubuntu 'systemctl reload ssh', RHEL 'systemctl reload "
          "sshd'. On both, /etc/ssh/sshd_config starts with 'Include /etc/ssh/sshd_config.d/*.conf' and the "
          "first value wins, so a drop-in such as /etc/ssh/sshd_config.d/00-iec62443.conf overrides the main "
          "file; also remove contradicting values from other drop-ins and from Match blocks.")


def observe(config: SshdConfig, **values: Any) -> dict[str, Any]:
    """``values`` plus where the configuration came from (:meth:`SshdConfig.basis`), for an observation."""
    return {**values, **config.basis()}


def match_blocks_reviewed(function: Callable[..., Verdict]) -> Callable[..., Verdict]:
    """For checks on keywords a ``Match`` block can override: a pass needs the Match blocks to have been read.

    When ``sshd -T`` answered (global values) but the config files could not be read, a Match block for some
    user or address may undo the setting, so the pass becomes a ``manual`` that says so. (Place it below
    ``@check``; the registry reads the wrapped function's signature.)
    """
    @functools.wraps(function)
    def judged(*args: Any, **kwargs: Any) -> Verdict:
        verdict = function(*args, **kwargs)
        config = kwargs.get("sshd_config", kwargs.get("sshd_config_maybe"))
        if verdict.status != "pass" or not isinstance(config, SshdConfig) or config.match_blocks_known:
            return verdict
        unread = next((n for n in config.notes if n.startswith("config files not readable")), "files not read")
        return manual(f"the global setting passes ({verdict.reason or 'sshd -T'}), but {unread}: a Match block "
                      "may override it for some users or addresses; allow the audit account to read the files "
                      "(sudo -n) or verify by hand", verdict.expected, verdict.observed)
    return judged


def _overrides_failing(config: SshdConfig, keyword: str, ok: Callable[[str], bool]) -> list[dict[str, str]]:
    return [o for o in config.overrides(keyword) if not ok(o[keyword])]


@check("linux.sshd.permit-root-login", title="SSH: direct root login disabled",
       requirements=["SR 1.1 RE1", "SR 2.1", "CR 1.1 RE1", "CR 2.1"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"allow_prohibit_password": False},
       remediation="Set 'PermitRootLogin no' (in /etc/ssh/sshd_config.d/00-iec62443.conf on Debian/Ubuntu and "
                   "RHEL) and have administrators log in with personal accounts and use sudo. " + RELOAD)
@match_blocks_reviewed
def permit_root_login(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """A shared root login defeats unique identification (SR 1.1 RE1): actions cannot be traced to a
    person, and a guessed or stolen root credential gives full control at once. With
    ``prohibit-password`` root may still log in with a key; that is accepted only when the site says so."""
    allowed = {"no"} | ({"prohibit-password", "forced-commands-only"} if params["allow_prohibit_password"] else set())
    value = sshd_config.get("permitrootlogin")
    bad = _overrides_failing(sshd_config, "permitrootlogin", lambda v: v in allowed)
    observed = observe(sshd_config, permitrootlogin=value, match_overrides=bad or None)
    expected = " or ".join(sorted(allowed))
    if value not in allowed:
        return failed(observed, expected, f"sshd permits root login ({value})")
    if bad:
        return failed(observed, expected, "a Match block permits root login: "
                      + "; ".join(f"Match {o['match']}: {o['permitrootlogin']}" for o in bad))
    return passed(observed, expected)


def _password_methods(config: SshdConfig) -> list[str]:
    methods = []
    if config.get("passwordauthentication") == "yes":
        methods.append("password")
    if config.get("kbdinteractiveauthentication") == "yes" and config.get("usepam") == "yes":
        methods.append("keyboard-interactive")  # with PAM this normally asks for the password
    return methods


def _with(config: SshdConfig, **values: str) -> SshdConfig:
    """``config`` with some keywords set otherwise (to judge what a Match block makes of it)."""
    return dataclasses.replace(config, values={**config.values, **{k: (v,) for k, v in values.items()}})


def _password_is_sole_factor(config: SshdConfig, methods: list[str]) -> bool:
    lists = (config.get("authenticationmethods") or "any").split()
    if not methods:
        return False
    if lists == ["any"]:
        return True
    for entry in lists:
        steps = {step.split(":")[0] for step in entry.split(",")}
        if steps and steps <= {"password", "keyboard-interactive"} and steps & set(methods):
            return True
    return False


@check("linux.sshd.password-authentication", title="SSH: password authentication disabled",
       requirements=["SR 1.7", "SR 1.5", "CR 1.7", "CR 1.5"], applies_to=EMBEDDED_LINUX, severity="medium",
       remediation="Set 'PasswordAuthentication no' and 'KbdInteractiveAuthentication no' (unless keyboard-"
                   "interactive is a second factor required by AuthenticationMethods) and use personal SSH keys "
                   "(ideally FIDO/hardware-backed). If passwords must stay, enforce the pam_pwquality and "
                   "pam_faillock settings checked by linux.pam.* and document the exception. " + RELOAD)
@match_blocks_reviewed
def password_authentication(sshd_config_maybe: SshdConfig | Missing,
                            sshd_session_maybe: dict[str, Any] | Missing) -> Verdict:
    """Passwords can be guessed, phished and reused; a network-reachable password login is the usual entry
    point of brute-force attacks. Keys (or passwords only as a second factor) satisfy SR 1.5/1.7 far
    better. The configuration is cross-checked against the methods the server actually offered to the
    auditor before authentication; when they disagree, the offered methods win."""
    config, session = sshd_config_maybe, sshd_session_maybe
    offered = session.get("auth_methods") if session else None
    offered_pw = sorted({"password", "keyboard-interactive"} & set(offered or []))
    expected = "no password (or PAM keyboard-interactive) login as a single factor"
    if not config and offered is None:
        return error(f"neither the sshd configuration nor the offered methods are available: "
                     f"{config.reason if isinstance(config, Missing) else ''}; "
                     f"{session.reason if isinstance(session, Missing) else 'no auth_methods in session info'}")
    observed: dict[str, Any] = {"offered_before_auth": offered}
    notes = []
    if config:
        methods = _password_methods(config)
        observed.update(observe(config, passwordauthentication=config.get("passwordauthentication"),
                                kbdinteractiveauthentication=config.get("kbdinteractiveauthentication"),
                                usepam=config.get("usepam"),
                                authenticationmethods=config.get("authenticationmethods")))
        sole = _password_is_sole_factor(config, methods)
        bad = _overrides_failing(config, "passwordauthentication", lambda v: v == "no")
        if config.get("usepam") == "yes":  # with PAM, keyboard-interactive normally asks for the password
            bad += [o for o in _overrides_failing(config, "kbdinteractiveauthentication", lambda v: v == "no")
                    if o["match"] not in {b["match"] for b in bad}]
        if bad:
            observed["match_overrides"] = bad
        if offered is not None and not offered_pw and sole:
            notes.append("config enables password login but the server did not offer it to the auditor "
                         "(Match block or AuthenticationMethods?)")
        if offered_pw and not methods:
            return failed(observed, expected,
                          f"config and wire disagree: the server offers {offered_pw} although the "
                          f"configuration ({config.source}) disables it; the wire wins")
        if sole:
            return failed(observed, expected, f"password login is enabled ({', '.join(methods)})"
                          + (f"; {'; '.join(notes)}" if notes else ""))
        if bad:
            return failed(observed, expected, "a Match block enables password login: "
                          + "; ".join(f"Match {o['match']}" for o in bad))
        # a Match block may make a globally second-factor password the only factor for some users
        sole_in_block = [o for o in config.overrides("authenticationmethods") if methods and _password_is_sole_factor(
            _with(config, authenticationmethods=o["authenticationmethods"]), methods)]
        if sole_in_block:
            observed["match_overrides"] = sole_in_block
            return failed(observed, expected, "a Match block lets a password alone log in: " + "; ".join(
                f"Match {o['match']}: AuthenticationMethods {o['authenticationmethods']}" for o in sole_in_block))
        reason = "passwords only as a second factor" if methods else ""
        if offered is None:
            notes.append("offered methods unknown (session info unavailable)")
        return passed(observed, expected, "; ".join(filter(None, [reason] + notes)))
    observed["config"] = f"unavailable: {config.reason}"
    if offered_pw:
        return failed(observed, expected, f"the server offers {offered_pw} before authentication")
    # what the server offered the audit account proves nothing about other users: a Match User/Group/Address
    # block in the unread configuration may enable passwords for them
    return manual("the server offered no password method to the audit account, but the sshd configuration could "
                  f"not be read ({config.reason}), so Match blocks for other users and addresses are unknown; "
                  "allow the audit account to read it (sudo -n) or verify by hand", expected, observed)


@check("linux.sshd.permit-empty-passwords", title="SSH: no empty passwords, host-based trust or user environment",
       requirements=["SR 1.1", "SR 1.2", "SR 1.5", "CR 1.1", "CR 1.5"], applies_to=EMBEDDED_LINUX, severity="high",
       remediation="Set 'PermitEmptyPasswords no', 'HostbasedAuthentication no', 'IgnoreRhosts yes' and "
                   "'PermitUserEnvironment no' (the OpenSSH defaults) and remove contrary lines from "
                   "/etc/ssh/sshd_config and /etc/ssh/sshd_config.d/*.conf (Debian/Ubuntu and RHEL). " + RELOAD)
@match_blocks_reviewed
def permit_empty_passwords(sshd_config: SshdConfig) -> Verdict:
    """Empty passwords and host-based (rhosts) trust authenticate nobody (SR 1.1/1.5); a user-controlled
    environment (PermitUserEnvironment) can bypass restrictions such as forced commands (LD_PRELOAD)."""
    wanted = {"permitemptypasswords": "no", "hostbasedauthentication": "no", "ignorerhosts": "yes",
              "permituserenvironment": "no"}
    values = {k: sshd_config.get(k) for k in wanted}
    wrong = [f"{k} {v}" for k, v in values.items() if v != wanted[k]]
    bad = [o for o in sshd_config.overrides(*wanted) for k in wanted if k in o and o[k] != wanted[k]]
    observed = observe(sshd_config, **values, match_overrides=bad or None)
    expected = ", ".join(f"{k} {v}" for k, v in wanted.items())
    if wrong:
        return failed(observed, expected, "; ".join(wrong))
    if bad:
        return failed(observed, expected, "a Match block relaxes these settings")
    return passed(observed, expected)


@check("linux.sshd.access-allow-list", title="SSH: login restricted to an allow-list of users or groups",
       requirements=["SR 2.1", "CR 2.1"], applies_to=EMBEDDED_LINUX, severity="medium",
       remediation="Create a group for remote administrators (e.g. 'groupadd sshusers' and add the members) and set "
                   "'AllowGroups sshusers' (or 'AllowUsers ...') in /etc/ssh/sshd_config.d/00-iec62443.conf on "
                   "Debian/Ubuntu and RHEL; include the audit account if it logs in over SSH. " + RELOAD)
@match_blocks_reviewed
def access_allow_list(sshd_config: SshdConfig) -> Verdict:
    """Only accounts that need remote access should be able to use it (SR 2.1 authorisation
    enforcement); an allow-list also shuts out service and forgotten accounts."""
    users, groups = sshd_config.all("allowusers"), sshd_config.all("allowgroups")
    observed = observe(sshd_config, allowusers=users, allowgroups=groups,
                       denyusers=sshd_config.all("denyusers"), denygroups=sshd_config.all("denygroups"))
    expected = "AllowUsers or AllowGroups naming the accounts that need remote access (no bare wildcard)"
    # sshd -T prints each entry space-separated; a pattern that is only wildcards (* or *@host) allows anyone
    entries = [e for value in users + groups for e in value.split()]
    wildcards = [e for e in entries if e.split("@", 1)[0].strip("*?") == ""]
    if wildcards:
        return failed(observed, expected, f"the allow-list admits every account: {', '.join(wildcards)}")
    if users or groups:
        return passed(observed, expected)
    reason = "no AllowUsers/AllowGroups: every account with a valid credential may log in"
    if sshd_config.all("denyusers") or sshd_config.all("denygroups"):
        reason += " (DenyUsers/DenyGroups is a deny-list, not an allow-list)"
    return failed(observed, expected, reason)


#: PAM modules that add a second factor to the sshd stack.
MFA_PAM_MODULES = ("pam_u2f", "pam_oath", "pam_google_authenticator", "pam_duo", "pam_radius_auth", "pam_yubico",
                   "pam_privacyidea", "pam_linotp", "pam_mfa", "pam_sss_gss")


#: PAM modules that ask for the account's password (a knowledge factor) in sshd's auth stack.
PASSWORD_PAM_MODULES = ("pam_unix", "pam_sss", "pam_ldap", "pam_krb5", "pam_winbind", "pam_pwdb", "pam_userdb")


def _factors(entry: str, otp: bool, pam_password: bool = True) -> set[str]:
    """The independent authenticators one AuthenticationMethods list demands: a key, a secret the user knows,
    or a one-time code. keyboard-interactive is a one-time code only where an enforcing second-factor PAM
    module is in sshd's stack; otherwise it asks for the password again (two knowledge prompts are one
    factor), or for nothing at all when no password module is in the stack either."""
    kbd = "one-time code" if otp else ("knowledge" if pam_password else "")
    kinds = {"publickey": "key", "hostbased": "key", "password": "knowledge", "gssapi-with-mic": "knowledge",
             "keyboard-interactive": kbd}
    found = {kinds.get(method.split(":")[0], method.split(":")[0]) for method in entry.split(",") if method}
    return found - {""}


@check("linux.sshd.mfa", title="SSH: multi-factor authentication for interactive logins",
       requirements=["SR 1.1 RE2", "SR 1.1 RE3", "CR 1.1 RE2"], applies_to=EMBEDDED_LINUX, severity="medium",
       remediation="Require two factors, e.g. 'AuthenticationMethods publickey,keyboard-interactive' with a "
                   "one-time-password PAM module in /etc/pam.d/sshd (Debian/Ubuntu: libpam-google-authenticator or "
                   "libpam-oath; RHEL: google-authenticator from EPEL or FreeIPA/sssd OTP), or FIDO2 keys with "
                   "'PubkeyAuthOptions verify-required' and only sk-* algorithms in PubkeyAcceptedAlgorithms. At "
                   "SL3 this is required at least for access from untrusted networks (Match Address), at SL4 for "
                   "all. If a jump host enforces MFA instead, document it as a compensating countermeasure. "
                   + RELOAD)
@match_blocks_reviewed
def mfa(sshd_config: SshdConfig, acct_pam: Any) -> Verdict:
    """SR 1.1 RE2/RE3 (and CR 1.1 RE2) require multifactor authentication for human users, from SL3.
    sshd proves it when every AuthenticationMethods list, the global one and those of every Match block,
    combines two different factors (a key and a password or one-time code; not a password and a
    keyboard-interactive password prompt), or when it only accepts FIDO keys with user verification; a
    second-factor PAM module alone proves nothing if a key or a password suffices on its own."""
    lists = (sshd_config.get("authenticationmethods") or "any").split()
    mfa_lines = [ln for ln in acct_pam.stack("sshd", "auth") if ln.module in MFA_PAM_MODULES]
    pam_modules = sorted({ln.module for ln in mfa_lines})
    # a second-factor module enforces only when its failure stops the login, and not for users without a token
    lax = [f"{ln.module} ({ln.control}{' nullok' if ln.arg('nullok') is not None else ''})" for ln in mfa_lines
           if ln.control in ("optional", "sufficient") or ln.arg("nullok") is not None]
    otp = bool(mfa_lines) and not lax
    pam_password = any(ln.module in PASSWORD_PAM_MODULES for ln in acct_pam.stack("sshd", "auth"))
    match_am = sshd_config.overrides("authenticationmethods")
    observed = observe(sshd_config, authenticationmethods=lists, mfa_pam_modules=pam_modules,
                       mfa_pam_not_enforcing=lax or None,
                       pubkeyauthoptions=sshd_config.get("pubkeyauthoptions"),
                       match_overrides=match_am or None)
    expected = ("every AuthenticationMethods list (global and per Match block) requires two different factors, "
                "or FIDO keys with verify-required only")
    weak_blocks = [o for o in match_am
                   if any(len(_factors(entry, otp, pam_password)) < 2
                          for entry in (o["authenticationmethods"] or "any").split())
                   or o["authenticationmethods"] == "any"]
    if weak_blocks:
        return failed(observed, expected, "a Match block lets one factor suffice: " + "; ".join(
            f"Match {o['match']}: AuthenticationMethods {o['authenticationmethods']}" for o in weak_blocks))
    if lists != ["any"] and all(len(_factors(entry, otp, pam_password)) >= 2 for entry in lists):
        return passed(observed, expected, "every AuthenticationMethods list requires two different factors"
                      + (" (Match blocks included)" if match_am else ""))
    pubkey_algs = sshd_config.algorithms("pubkeyacceptedalgorithms")
    if ("verify-required" in (sshd_config.get("pubkeyauthoptions") or "")
            and pubkey_algs and all(a.startswith("sk-") for a in pubkey_algs)
            and not _password_methods(sshd_config)):
        return passed(observed, expected, "only FIDO keys with user verification are accepted")
    if match_am:
        return manual("AuthenticationMethods requires two factors in Match blocks only (MFA for some networks or "
                      "users): verify that they cover access from untrusted networks (SL3) or all access (SL4)",
                      expected, observed)
    if pam_modules and not sshd_config.get("pubkeyauthentication") == "yes" and lists == ["any"]:
        return manual(f"second-factor PAM modules {pam_modules} are in the sshd stack and public key login is off: "
                      "verify that the PAM stack requires both the password and the second factor",
                      expected, observed)
    single = [e for e in lists if len(_factors(e, otp, pam_password)) < 2]
    return failed(observed, expected, "a single authentication factor is enough to log in"
                  + (f" (AuthenticationMethods {' '.join(single)})" if lists != ["any"] else "")
                  + ("; password and keyboard-interactive without a one-time-code PAM module are both knowledge"
                     if any("password" in e and "keyboard-interactive" in e for e in single) else "")
                  + (f"; PAM modules {pam_modules} do not apply when a single method suffices" if pam_modules else ""))