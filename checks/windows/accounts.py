"""``windows.accounts.*``: built-in accounts, Administrators members, blank passwords, cached logons."""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from auditor.verdicts import Verdict, failed, passed
from checks.windows._gpo import SECURITY_OPTIONS
from checks.windows.facts.accounts import ADMINISTRATORS, LocalUser, Member
from checks.windows.facts.policy import RegistryValues, SecurityPolicy
from checks.windows.facts.sections import LSA, WINLOGON

#: Well-known SIDs that must never be members of Administrators: Everyone, Authenticated Users, Users,
#: Guests, Interactive, Network, and a domain's Domain Users (RID 513).
BROAD_SIDS = {"S-1-1-0": "Everyone", "S-1-5-11": "Authenticated Users", "S-1-5-32-545": "Users",
              "S-1-5-32-546": "Guests", "S-1-5-4": "Interactive", "S-1-5-2": "Network"}


@check("windows.accounts.guest-disabled",
       title="Built-in Guest account disabled",
       requirements=["SR 1.1", "CR 1.1", "SR 1.3", "CR 1.3"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {SECURITY_OPTIONS}"
                    "Accounts: Guest account status = Disabled. Verify: `Get-LocalUser | Where-Object { $_.SID -like "
                    "'*-501' } | Select-Object Name, Enabled`."))
def guest_disabled(win_users: tuple[LocalUser, ...], win_secpol: SecurityPolicy) -> Verdict:
    """The Guest account logs on without an identity of its own; every human user must be identified and
    authenticated (CR 1.1), and unused accounts removed or disabled (CR 1.3)."""
    guest = next((u for u in win_users if u.rid == "501"), None)
    expected = "Guest (RID 501) disabled and EnableGuestAccount = 0"
    observed = {"guest": guest.name if guest else None, "enabled": guest.enabled if guest else None,
                "EnableGuestAccount": win_secpol.number("EnableGuestAccount")}
    if (guest and guest.enabled) or observed["EnableGuestAccount"] == 1:
        return failed(observed, expected, "the Guest account is enabled")
    if guest is None and observed["EnableGuestAccount"] is None:
        return failed(observed, expected, "neither the account list nor the policy shows the Guest account's state")
    return passed(observed, expected)


@check("windows.accounts.builtin-administrator",
       title="Built-in Administrator account disabled",
       requirements=["SR 1.1 RE1", "CR 1.1 RE1", "SR 1.3", "CR 1.3"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {SECURITY_OPTIONS}"
                    "Accounts: Administrator account status = Disabled (administer with named accounts; LAPS for "
                    "break-glass). Verify: `Get-LocalUser | Where-Object { $_.SID -like '*-500' } | "
                    "Select-Object Name, Enabled`."))
def builtin_administrator(win_users: tuple[LocalUser, ...]) -> Verdict:
    """The built-in Administrator (RID 500) is a shared, well-known, never-locked-out account: its use
    cannot be attributed to a person (CR 1.1 RE1) and it is the first target of password guessing."""
    admin = next((u for u in win_users if u.rid == "500"), None)
    expected = "the RID 500 account disabled"
    observed = {"name": admin.name if admin else None, "enabled": admin.enabled if admin else None}
    if admin is None:
        return failed(observed, expected, "no RID 500 account in Get-LocalUser's list")
    if admin.enabled:
        return failed(observed, expected, f"built-in administrator {admin.name!r} is enabled")
    return passed(observed, expected, f"built-in administrator {admin.name!r} is disabled")


@check("windows.accounts.administrators-members",
       title="Local Administrators group has few, named members",
       requirements=["SR 2.1", "CR 2.1", "SR 1.3", "CR 1.3"], applies_to=["host"], severity="high",
       params={"max_members": 3, "allowed": []},
       remediation=("Remove broad groups and unneeded accounts from Administrators; manage membership centrally "
                    r"(GPO: Computer Configuration\Preferences\Control Panel Settings\Local Users and Groups, or "
                    "Restricted Groups). Verify: `Get-LocalGroupMember -SID S-1-5-32-544`."))
def administrators_members(win_groups: dict[str, tuple[Member, ...]], params: dict[str, Any]) -> Verdict:
    """Every member of Administrators holds every privilege of the host; least privilege (CR 2.1) needs that
    group small and free of groups that include every user."""
    members = win_groups.get(ADMINISTRATORS, ())
    allowed = {a.lower() for a in params["allowed"]}
    expected = (f"no broad group, at most {params['max_members']} members"
                + (f" (or only {', '.join(params['allowed'])})" if allowed else ""))
    observed = {"members": [m.name for m in members]}
    broad = [m.name for m in members if m.sid in BROAD_SIDS or m.sid.endswith("-513")]
    if broad:
        return failed(observed, expected, f"groups of every user are administrators: {', '.join(broad)}")
    if allowed and all(m.name.lower() in allowed for m in members):
        return passed(observed, expected, "every member is on the allow-list")
    if len(members) > params["max_members"]:
        return failed(observed, expected, f"{len(members)} members")
    return passed(observed, expected)


@check("windows.accounts.blank-passwords",
       title="No enabled local account without a password",
       requirements=["SR 1.5", "CR 1.5", "SR 1.7", "CR 1.7"], applies_to=["host"], severity="high",
       remediation=(f"GPO: {SECURITY_OPTIONS}"
                    "Accounts: Limit local account use of blank passwords to console logon only = Enabled; give "
                    "each account a password (`Set-LocalUser -Name X -Password (Read-Host -AsSecureString)`) and "
                    "require one (`net user X /passwordreq:yes`), or disable it. Verify: "
                    "`Get-LocalUser | Where-Object { $_.Enabled -and -not $_.PasswordRequired }`."))
def blank_passwords(win_users: tuple[LocalUser, ...], win_registry: RegistryValues) -> Verdict:
    """An enabled account that needs no password is an open door; where one exists, at least the network
    logon with a blank password must be refused (LimitBlankPasswordUse)."""
    no_password = [u.name for u in win_users if u.enabled and not u.password_required]
    limit = win_registry.number(LSA, "LimitBlankPasswordUse")
    expected = "every enabled account requires a password; LimitBlankPasswordUse = 1 (absent: 1)"
    observed = {"enabled_without_password_required": no_password, "LimitBlankPasswordUse": limit}
    if limit == 0:
        return failed(observed, expected, "blank passwords are accepted over the network")
    if no_password:
        return failed(observed, expected, f"enabled accounts need no password: {', '.join(no_password)}")
    return passed(observed, expected)


@check("windows.accounts.cached-logons",
       title="Cached domain logons limited",
       requirements=["SR 1.5", "CR 1.5"], applies_to=["host"], severity="low", params={"max_cached": 4},
       remediation=(f"GPO: {SECURITY_OPTIONS}"
                    "Interactive logon: Number of previous logons to cache = 4 or fewer (0..1 where the domain is "
                    "always reachable). Verify: `Get-ItemProperty 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\"
                    "CurrentVersion\\Winlogon' -Name CachedLogonsCount`."))
def cached_logons(win_registry: RegistryValues, params: dict[str, Any]) -> Verdict:
    """Each cached domain logon leaves a crackable verifier on the disk; authenticator protection (CR 1.5)
    keeps that cache as small as operations allow."""
    value = win_registry.get(WINLOGON, "CachedLogonsCount")
    count = int(value) if isinstance(value, (int, str)) and str(value).strip().isdigit() else None
    expected = f"CachedLogonsCount <= {params['max_cached']}"
    observed = {"CachedLogonsCount": value}
    if count is None:
        return failed(observed, expected, "not set: Windows caches 10 logons by default")
    if count > params["max_cached"]:
        return failed(observed, expected, f"{count} logons are cached")
    return passed(observed, expected)
