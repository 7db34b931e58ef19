"""Local accounts of a Linux host (Debian/Ubuntu and RHEL families).

Evidence (all strictly read-only):

* ``/etc/passwd``, ``/etc/login.defs`` (one ``head -v`` command, unprivileged);
* ``/etc/shadow`` reduced ON THE HOST to ``user:<hash-class>:lastchg:min:max:warn:inactive`` by awk,
  so that no password hash ever leaves the host (class = ``$6$``, ``$y$``, ``!$6$`` (locked),
  ``!``, ``!!``, ``*``, ``empty``, ``des``, ``other``...). Needs root: ``sudo=True``;
* ``useradd -D`` (defaults for new accounts; unprivileged, ``/usr/sbin`` put on the PATH).

PAM is :mod:`checks.linux.facts.pam`, sudo :mod:`checks.linux.facts.sudoers`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from auditor.facts import FactEvidence, FactParseError, FactUnavailable
from auditor.registry import fact, ssh_exec
from checks.linux.facts.files import files_from
from checks.linux.facts.optional import fact_with_optional
from checks.linux.facts.parsing import key_values, read_files_command

ACCOUNT_FILES = ssh_exec(read_files_command("/etc/passwd", "/etc/login.defs"), name="accounts.files")

USERADD_DEFAULTS = ssh_exec("env PATH=/usr/sbin:/sbin:/usr/bin:/bin useradd -D", name="accounts.useradd-defaults")

#: awk program reducing /etc/shadow to ``user:class:lastchg:min:max:warn:inactive``. The hash field is
#: replaced by its class (the ``$id$`` prefix, lock markers, ``empty``, ``des``...); nothing else of it is
#: printed, so no hash or salt can leave the host.
_SHADOW_AWK = (
    '{h=$2; l=""; while (substr(h, 1, 1) == "!") {l=l "!"; h=substr(h, 2)}; '
    'if ($2 == "") c="empty"; '
    'else if ($2 ~ /^[!*]+$/) c=$2; '
    'else if (h ~ /^[$][0-9a-z]+[$]/) {split(h, a, "$"); c=(length(a[2]) <= 8 ? l "$" a[2] "$" : l "other")} '
    'else if (length(h) == 13 && h ~ /^[.\\/0-9A-Za-z]+$/) c=l "des"; '
    'else if (h ~ /^_/) c=l "bsdi"; '
    'else c=l "other"; '
    'print $1 ":" c ":" $3 ":" $4 ":" $5 ":" $6 ":" $7}')
SHADOW_SUMMARY = ssh_exec(f"awk -F: '{_SHADOW_AWK}' /etc/shadow", sudo=True, name="accounts.shadow-summary")


@dataclass(frozen=True)
class PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str
    shell: str


@dataclass(frozen=True)
class AccountFiles:
    """``/etc/passwd`` entries and ``/etc/login.defs`` settings (upper-case keys, last value wins)."""

    users: tuple[PasswdEntry, ...]
    login_defs: dict[str, str]
    login_defs_present: bool
    malformed: tuple[str, ...] = ()

    def int_def(self, key: str, default: int | None = None) -> int | None:
        value = self.login_defs.get(key)
        try:
            return int(value) if value is not None else default
        except ValueError:
            return default

    @property
    def uid_min(self) -> int:
        return self.int_def("UID_MIN", 1000) or 1000

    @property
    def uid_max(self) -> int:
        return self.int_def("UID_MAX", 60000) or 60000

    def is_human(self, entry: PasswdEntry) -> bool:
        return self.uid_min <= entry.uid <= self.uid_max


def _id(text: str) -> bool:
    """A uid or gid: decimal and 32-bit (a 5,000-digit field is a malformed line, not a number to convert)."""
    return text.isdigit() and len(text) <= 10


@fact("acct_files", protocol="ssh", requests=[ACCOUNT_FILES])
def acct_files(evidence: FactEvidence) -> AccountFiles:
    """/etc/passwd entries and /etc/login.defs settings."""
    files = files_from(evidence, ACCOUNT_FILES, "/etc/passwd and /etc/login.defs")
    passwd = files.get("/etc/passwd")
    if passwd is None or not passwd.readable:
        raise FactUnavailable(f"/etc/passwd not readable: {passwd.error if passwd else 'not in output'}")
    users, malformed = [], []
    for line in (passwd.content or "").splitlines():
        if not line.strip() or line.startswith(("#", "+", "-")):
            continue
        parts = line.split(":")
        if len(parts) != 7 or not _id(parts[2]) or not _id(parts[3]) or not parts[0]:
            malformed.append(line[:80])
            continue
        users.append(PasswdEntry(parts[0], int(parts[2]), int(parts[3]), parts[5], parts[6]))
    if not users:
        raise FactParseError(f"/etc/passwd has no valid entries ({len(malformed)} malformed lines)")
    defs = files.get("/etc/login.defs")
    login_defs = key_values(defs.content or "", lower_keys=False) if defs and defs.readable else {}
    return AccountFiles(tuple(users), login_defs, bool(defs and defs.readable), tuple(malformed))


@dataclass(frozen=True)
class ShadowEntry:
    name: str
    hash_class: str
    lastchg: int | None
    min_days: int | None
    max_days: int | None
    warn_days: int | None
    inactive_days: int | None

    @property
    def locked(self) -> bool:
        return self.hash_class.startswith(("!", "*"))

    @property
    def empty(self) -> bool:
        return self.hash_class == "empty"

    @property
    def stored_hash(self) -> str | None:
        """The class of the stored hash even when locked (``!$1$`` -> ``$1$``); None when there is none."""
        cls = self.hash_class.lstrip("!")
        return None if not cls or cls.startswith("*") or self.empty else cls

    @property
    def has_password(self) -> bool:
        """A usable password hash (not locked, not empty)."""
        return not self.locked and not self.empty


_HASH_CLASS = re.compile(r"^(empty|[!*]+|!*(\$[0-9a-z]{1,8}\$|des|bsdi|other))$")


def _opt_int(text: str) -> int | None:
    text = text.strip()
    if text == "":
        return None
    if not re.fullmatch(r"-?\d+", text):
        raise ValueError(text)
    return int(text)


@fact_with_optional("acct_shadow", protocol="ssh", requests=[SHADOW_SUMMARY])
def acct_shadow(evidence: FactEvidence) -> tuple[ShadowEntry, ...]:
    """/etc/shadow reduced on the host to hash class and ageing fields (never the hashes)."""
    out = evidence.command(SHADOW_SUMMARY)
    if out.exit_code == 127:
        raise FactUnavailable(f"awk not found on the target: {out.stdout.strip()[:120]}")
    if out.exit_code != 0:
        raise FactUnavailable(
            f"/etc/shadow not readable{'' if out.sudo else ' without sudo'} (exit {out.exit_code}: "
            f"{out.stdout.strip()[:160]}); allow the audit user 'sudo -n' to read it")
    entries = []
    for line in out.lines():
        if not line.strip():
            continue
        parts = line.split(":")
        if len(parts) != 7 or not _HASH_CLASS.match(parts[1]):
            raise FactParseError(f"unexpected shadow summary line: {line[:80]!r}")
        try:
            numbers = [_opt_int(p) for p in parts[2:]]
        except ValueError as exc:
            raise FactParseError(f"non-numeric shadow field {exc} in line for {parts[0]!r}") from None
        entries.append(ShadowEntry(parts[0], parts[1], *numbers))
    if not entries:
        raise FactParseError("shadow summary is empty")
    return tuple(entries)


@fact("acct_useradd_defaults", protocol="ssh", requests=[USERADD_DEFAULTS])
def acct_useradd_defaults(evidence: FactEvidence) -> dict[str, str]:
    """Defaults for new accounts as ``useradd -D`` prints them (INACTIVE, EXPIRE, SHELL...)."""
    out = evidence.command(USERADD_DEFAULTS)
    if out.exit_code == 127:
        raise FactUnavailable(f"useradd not found on the target: {out.stdout.strip()[:120]}")
    values = key_values(out.stdout, separator="=", lower_keys=False)
    if out.exit_code != 0 or "INACTIVE" not in values:
        raise FactParseError(f"useradd -D printed no INACTIVE (exit {out.exit_code}): {out.stdout.strip()[:160]!r}")
    return values
