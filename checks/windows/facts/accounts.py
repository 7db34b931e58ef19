"""Local users (``Get-LocalUser``) and the members of Administrators and Remote Desktop Users."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.facts import FactEvidence, FactParseError
from auditor.registry import fact
from checks.windows.facts.json import as_list, section_json
from checks.windows.facts.sections import GROUPS, LOCAL_USERS

ADMINISTRATORS = "S-1-5-32-544"
REMOTE_DESKTOP_USERS = "S-1-5-32-555"


@dataclass(frozen=True)
class LocalUser:
    name: str
    sid: str
    enabled: bool
    password_required: bool

    @property
    def rid(self) -> str:
        return self.sid.rsplit("-", 1)[-1]


@fact("win_users", protocol="ssh", requests=[LOCAL_USERS])
def win_users(evidence: FactEvidence) -> tuple[LocalUser, ...]:
    """Every local account with its SID, whether it is enabled and whether it must have a password."""
    users = []
    for entry in as_list(section_json(evidence, LOCAL_USERS)):
        if not isinstance(entry, dict) or not entry.get("Name") or not entry.get("SID"):
            raise FactParseError(f"Get-LocalUser entry without Name/SID: {entry!r}"[:200])
        users.append(LocalUser(str(entry["Name"]), str(entry["SID"]), bool(entry.get("Enabled")),
                               entry.get("PasswordRequired") is not False))
    if not users:
        raise FactParseError("Get-LocalUser listed no account (every Windows host has the built-in ones)")
    return tuple(users)


@dataclass(frozen=True)
class Member:
    name: str
    sid: str
    object_class: str
    source: str


@fact("win_groups", protocol="ssh", requests=[GROUPS])
def win_groups(evidence: FactEvidence) -> dict[str, tuple[Member, ...]]:
    """Members of Administrators (S-1-5-32-544) and Remote Desktop Users (S-1-5-32-555), by group SID."""
    data = section_json(evidence, GROUPS)
    if not isinstance(data, dict) or ADMINISTRATORS not in data:
        raise FactParseError("the group section did not list the Administrators group")
    return {sid: tuple(Member(str(m.get("Name")), str(m.get("SID")), str(m.get("ObjectClass")),
                              str(m.get("PrincipalSource"))) for m in as_list(members) if isinstance(m, dict))
            for sid, members in data.items()}
