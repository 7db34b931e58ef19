"""``linux.accounts.*`` checks: empty passwords, UID 0, password hashes and lifetimes, service shells,
inactive accounts.

Evidence: :mod:`checks.linux.facts.accounts` (passwd, login.defs, the shadow summary, ``useradd -D``) and
:mod:`checks.linux.facts.pam`.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.accounts import AccountFiles, ShadowEntry
from checks.linux.facts.pam import PamConfig
from checks.linux.facts.parsing import int_or


@check("linux.accounts.empty-passwords", title="Accounts: no empty passwords",
       requirements=["SR 1.5", "SR 1.7", "CR 1.5"], applies_to=EMBEDDED_LINUX, severity="critical",
       remediation="Lock or set a password for each listed account: 'passwd -l USER' (or 'usermod -L USER'); "
                   "Debian/Ubuntu: also remove 'nullok' from pam_unix in /etc/pam.d/common-auth; RHEL: "
                   "'authselect disable-feature with-nullok'.")
def empty_passwords(acct_shadow: tuple[ShadowEntry, ...], acct_pam: PamConfig) -> Verdict:
    """An account with an empty password field needs no authenticator at all (SR 1.5); with pam_unix
    'nullok' it can log in on a console or via su without typing anything."""
    empty = sorted(e.name for e in acct_shadow if e.empty)
    nullok = sorted({name for name, lines in acct_pam.find("auth", "pam_unix").items()
                     if any(ln.arg("nullok") is not None for ln in lines)})
    observed = {"empty_password_accounts": empty, "pam_unix_nullok_in": nullok, "accounts": len(acct_shadow)}
    if empty:
        return failed(observed, "no account with an empty password field",
                      f"{len(empty)} account(s) without password: {', '.join(empty)}"
                      + (" (pam_unix nullok lets them log in without a password)" if nullok else ""))
    return passed(observed, "no account with an empty password field")


@check("linux.accounts.uid0-unique", title="Accounts: root is the only UID 0 account",
       requirements=["SR 1.1 RE1", "SR 2.1", "CR 1.1 RE1"], applies_to=EMBEDDED_LINUX, severity="critical",
       remediation="Give each extra UID 0 account its own UID ('usermod -u NEW_UID USER') or remove it "
                   "('userdel USER') and grant administrative rights through sudo (Debian/Ubuntu group 'sudo', "
                   "RHEL group 'wheel').")
def uid0_unique(acct_files: AccountFiles) -> Verdict:
    """A second UID 0 account is an unaccountable root (SR 1.1 RE1 unique identification) and a classic
    backdoor: it bypasses sudo's authorisation and logging (SR 2.1)."""
    uid0 = [u.name for u in acct_files.users if u.uid == 0]
    observed = {"uid0_accounts": uid0}
    if uid0 == ["root"]:
        return passed(observed, "only root has UID 0")
    return failed(observed, "only root has UID 0",
                  f"UID 0 accounts: {', '.join(uid0) or 'none'}" + ("" if "root" in uid0 else " (no root?)"))


STRONG_HASH_PREFIXES = ["$y$", "$gy$", "$7$", "$6$", "$5$", "$2b$", "$2y$"]
STRONG_ENCRYPT_METHODS = ["YESCRYPT", "GOST_YESCRYPT", "SHA512", "SHA256", "BCRYPT"]
_PAM_UNIX_HASH_OPTIONS = {"md5": "MD5", "bigcrypt": "BIGCRYPT", "sha256": "SHA256", "sha512": "SHA512",
                          "blowfish": "BCRYPT", "yescrypt": "YESCRYPT", "gost_yescrypt": "GOST_YESCRYPT"}


@check("linux.accounts.password-hash", title="Accounts: passwords stored with a strong hash",
       requirements=["SR 1.5", "CR 1.5"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"strong_prefixes": STRONG_HASH_PREFIXES, "strong_methods": STRONG_ENCRYPT_METHODS},
       remediation="Set 'ENCRYPT_METHOD YESCRYPT' (or SHA512) in /etc/login.defs; Debian/Ubuntu: pam_unix in "
                   "/etc/pam.d/common-password should carry 'yescrypt' (or 'sha512'); RHEL: authselect "
                   "profiles use 'sha512' (yescrypt on RHEL 9.x with 'authselect ... with-yescrypt' where "
                   "available). Then force a password change for the listed accounts ('chage -d 0 USER') so "
                   "their hashes are recomputed.")
def password_hash(acct_files: AccountFiles, acct_pam: PamConfig, acct_shadow_maybe: Any,
                  params: dict[str, Any]) -> Verdict:
    """Password hashes are read by anyone who obtains /etc/shadow or a backup; MD5-crypt and DES hashes are
    cracked in minutes to hours, salted SHA-512 and yescrypt resist offline guessing (SR 1.5 protection
    of authenticators)."""
    strong_methods = [m.upper() for m in params["strong_methods"]]
    method = acct_files.login_defs.get("ENCRYPT_METHOD")
    pam_methods = sorted({_PAM_UNIX_HASH_OPTIONS[a] for name in acct_pam.base_stacks("password")
                          for ln in acct_pam.stack(name, "password") if ln.module == "pam_unix"
                          for a in ln.args if a in _PAM_UNIX_HASH_OPTIONS})
    observed: dict[str, Any] = {"login_defs_encrypt_method": method, "pam_unix_hash": pam_methods}
    problems = []
    if method is None and not pam_methods:
        problems.append("ENCRYPT_METHOD not set in /etc/login.defs (shadow-utils then falls back to DES)")
    elif method is not None and method.upper() not in strong_methods:
        problems.append(f"ENCRYPT_METHOD {method}")
    problems += [f"pam_unix uses {m}" for m in pam_methods if m not in strong_methods]
    shadow = acct_shadow_maybe
    if shadow:
        prefixes = params["strong_prefixes"]
        weak = sorted(f"{e.name} ({e.stored_hash})" for e in shadow
                      if e.stored_hash is not None and e.stored_hash not in prefixes)
        observed["weak_hash_accounts"] = weak
        observed["hash_classes"] = sorted({e.hash_class for e in shadow})
        if weak:
            problems.append(f"weak hashes: {', '.join(weak)}")
    else:
        observed["shadow"] = f"unavailable: {shadow.reason}"
    expected = f"ENCRYPT_METHOD/pam_unix in {strong_methods}; every stored hash one of {params['strong_prefixes']}"
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not shadow:
        return error("hash settings are strong, but the stored hashes could not be checked: " + shadow.reason,
                     observed)
    return passed(observed, expected)


def _ageing_problems(acct_files: AccountFiles, shadow: Any, params: dict[str, Any], humans_only: bool
                     ) -> tuple[list[str], dict[str, Any]]:
    max_days, min_days = acct_files.int_def("PASS_MAX_DAYS"), acct_files.int_def("PASS_MIN_DAYS")
    observed: dict[str, Any] = {"PASS_MAX_DAYS": max_days, "PASS_MIN_DAYS": min_days,
                                "PASS_WARN_AGE": acct_files.int_def("PASS_WARN_AGE")}
    problems = []
    if max_days is None or max_days < 0 or max_days > params["max_days"]:
        problems.append(f"login.defs PASS_MAX_DAYS {max_days}")
    if min_days is None or min_days < params["min_days"]:
        problems.append(f"login.defs PASS_MIN_DAYS {min_days}")
    if shadow:
        humans = {u.name for u in acct_files.users if acct_files.is_human(u)}
        bad = sorted(e.name for e in shadow if e.has_password and (not humans_only or e.name in humans)
                     and (e.max_days is None or e.max_days < 0 or e.max_days > params["max_days"]
                          or e.min_days is None or e.min_days < params["min_days"]))
        observed["accounts_outside_policy"] = bad
        if bad:
            problems.append(f"accounts with password max > {params['max_days']} or min < {params['min_days']} "
                            f"days: {', '.join(bad)}")
    else:
        observed["shadow"] = f"unavailable: {shadow.reason}"
    return problems, observed


_AGEING_REMEDIATION = ("Set 'PASS_MAX_DAYS 365' (or the site value) and 'PASS_MIN_DAYS 1' in /etc/login.defs "
                       "(Debian/Ubuntu and RHEL; applies to new accounts) and apply them to existing accounts: "
                       "'chage --maxdays 365 --mindays 1 USER'.")


@check("linux.accounts.password-ageing", title="Accounts: password lifetime limits for human users",
       requirements=["SR 1.7 RE1", "CR 1.7 RE1"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"max_days": 365, "min_days": 1}, remediation=_AGEING_REMEDIATION)
def password_ageing(acct_files: AccountFiles, acct_shadow_maybe: Any, params: dict[str, Any]) -> Verdict:
    """SR 1.7 RE1 (SL3) requires minimum and maximum password lifetimes for human users: a maximum bounds
    how long a disclosed password stays useful, a minimum stops users cycling back to the old password.
    The login.defs policy decides; existing human accounts are also checked when /etc/shadow is readable."""
    problems, observed = _ageing_problems(acct_files, acct_shadow_maybe, params, humans_only=True)
    expected = f"PASS_MAX_DAYS <= {params['max_days']}, PASS_MIN_DAYS >= {params['min_days']} (policy and human accounts)"
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not acct_shadow_maybe:  # login.defs applies to new accounts only: existing ones keep their own ageing
        return manual("the login.defs policy is right, but existing accounts keep their own ageing fields and "
                      f"/etc/shadow could not be read ({acct_shadow_maybe.reason}); allow the audit account to read "
                      "them (sudo -n) or verify with 'chage -l' per human account", expected, observed)
    return passed(observed, expected)


@check("linux.accounts.password-ageing-all", title="Accounts: password lifetime limits for every account with a password",
       requirements=["SR 1.7 RE2", "CR 1.7 RE2"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"max_days": 365, "min_days": 1}, remediation=_AGEING_REMEDIATION
       + " Service accounts should have no password at all ('passwd -l USER'), or the same limits.")
def password_ageing_all(acct_files: AccountFiles, acct_shadow: tuple[ShadowEntry, ...],
                        params: dict[str, Any]) -> Verdict:
    """SR 1.7 RE2 (SL4) extends lifetime restrictions to all users, including service accounts that have a
    password; accounts without a usable password are not concerned."""
    problems, observed = _ageing_problems(acct_files, acct_shadow, params, humans_only=False)
    expected = f"every account with a password: max <= {params['max_days']}, min >= {params['min_days']} days"
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)


NON_LOGIN_SHELLS = ["nologin", "false", "sync", "shutdown", "halt"]


@check("linux.accounts.service-shells", title="Accounts: system and service accounts cannot log in interactively",
       requirements=["SR 1.3", "CR 1.3"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"exempt": ["root"], "non_login_shells": NON_LOGIN_SHELLS},
       remediation="Set a non-login shell: 'usermod -s /usr/sbin/nologin USER' (Debian/Ubuntu) or "
                   "'usermod -s /sbin/nologin USER' (RHEL), and lock the password ('passwd -l USER').")
def service_shells(acct_files: AccountFiles, params: dict[str, Any]) -> Verdict:
    """Service accounts are not bound to a person; account management (SR 1.3) expects that they
    cannot be used for interactive logon. A login shell lets a stolen key, a weak password or a misconfigured service be
    turned into a shell."""
    shells = params["non_login_shells"]
    interactive = sorted(f"{u.name} (uid {u.uid}, {u.shell or '/bin/sh (empty)'})" for u in acct_files.users
                         if not acct_files.is_human(u) and u.name not in params["exempt"]
                         and not any(u.shell.rsplit("/", 1)[-1] == s or u.shell == s for s in shells + ["/dev/null"]))
    observed = {"uid_min": acct_files.uid_min, "uid_max": acct_files.uid_max, "system_accounts_with_shell": interactive}
    expected = f"every account outside UID_MIN..UID_MAX (except {params['exempt']}) has a non-login shell"
    if interactive:
        return failed(observed, expected, f"{len(interactive)} system account(s) with a login shell: "
                      + ", ".join(interactive))
    return passed(observed, expected)


@check("linux.accounts.inactive-lock", title="Accounts: unused accounts disabled after password expiry",
       requirements=["SR 1.3", "CR 1.3"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"max_inactive_days": 90},
       remediation="Set the default for new accounts with 'useradd -D -f 30' (writes INACTIVE in "
                   "/etc/default/useradd on Debian/Ubuntu and RHEL) and apply it to existing human accounts: "
                   "'chage --inactive 30 USER'. Review unused accounts with 'lastlog -b 90'.")
def inactive_lock(acct_useradd_defaults: dict[str, str], acct_files: AccountFiles, acct_shadow_maybe: Any,
                  params: dict[str, Any]) -> Verdict:
    """SR 1.3 account management includes disabling unused accounts. INACTIVE disables an account a given
    number of days after its password expired, so forgotten accounts do not stay usable indefinitely."""
    limit = params["max_inactive_days"]
    inactive = int_or(acct_useradd_defaults.get("INACTIVE"), -1)
    observed: dict[str, Any] = {"useradd_INACTIVE": inactive}
    expected = f"useradd -D INACTIVE 0..{limit} (and the same for existing human accounts)"
    problems = []
    if not 0 <= inactive <= limit:
        problems.append(f"useradd -D INACTIVE={inactive}" + (" (never disabled)" if inactive < 0 else ""))
    shadow = acct_shadow_maybe
    if shadow:
        humans = {u.name for u in acct_files.users if acct_files.is_human(u)}
        bad = sorted(e.name for e in shadow if e.name in humans and e.has_password
                     and (e.inactive_days is None or not 0 <= e.inactive_days <= limit))
        observed["human_accounts_without_inactive"] = bad
        if bad:
            problems.append(f"human accounts without an inactivity limit: {', '.join(bad)}")
    else:
        observed["shadow"] = f"unavailable: {shadow.reason}"
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not shadow:  # the useradd default applies to new accounts only
        return manual("the useradd INACTIVE default is right, but existing accounts keep their own setting and "
                      f"/etc/shadow could not be read ({shadow.reason}); allow the audit account to read it "
                      "(sudo -n) or verify with 'chage -l' per account", expected, observed)
    return passed(observed, expected)
