"""``linux.sudo.*`` checks: who may become root without a password, and whether sudo logs.

Evidence: :mod:`checks.linux.facts.sudoers`.
"""

from __future__ import annotations

from typing import Any, Iterable

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, failed, manual, not_applicable, passed
from checks.linux.facts.sudoers import Sudoers


#: Programs that hand out a root shell when run through sudo.
SHELLS = ("sh", "bash", "dash", "zsh", "ksh", "csh", "tcsh", "fish", "su", "sudo", "env", "script")


def _gives_shell(command: str) -> bool:
    program = command.split()[0] if command.split() else ""
    return "*" in program or program.rsplit("/", 1)[-1] in SHELLS


def _split_users(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _expand(names: Iterable[str], aliases: dict[str, list[str]], depth: int = 0) -> list[str]:
    out = []
    for name in names:
        bare = name.lstrip("!")
        if bare in aliases and depth < 5:
            out += _expand(aliases[bare], aliases, depth + 1)
        else:
            out.append(name)
    return out


@check("linux.sudo.policy", title="sudo: no password-less full root and no rule for all users",
       requirements=["SR 2.1 RE1", "SR 2.1 RE2", "CR 2.1 RE1", "CR 2.1 RE2"], applies_to=EMBEDDED_LINUX, severity="high",
       params={"exempt": [], "exempt_audit_account": True},
       remediation="Remove 'NOPASSWD:' from rules granting ALL commands (visudo; files in /etc/sudoers.d/, e.g. "
                   "cloud-init's 90-cloud-init-users) and replace 'ALL ALL=(ALL) ALL' with rules for an admin "
                   "group (Debian/Ubuntu '%sudo', RHEL '%wheel'); grant service accounts only the commands they "
                   "need. Accounts that must keep such a rule (e.g. an automation account) can be listed in "
                   "'exempt' with a documented justification. The audit account's own rule (needed for 'sudo -n') "
                   "is reported, not failed, while 'exempt_audit_account' is true: remove it after the audit.")
def sudo_policy(acct_sudoers: Sudoers, sshd_session_maybe: Any, params: dict[str, Any]) -> Verdict:
    """sudo is how roles map to privileges on Linux (SR 2.1 RE1/RE2). 'NOPASSWD: ALL' turns any session of
    that user (a stolen key, a hijacked process) into root without re-authentication; a rule for ALL users
    removes authorisation altogether. The audit account needs password-less sudo for root-only reads, so its
    own rule is reported separately (parameter ``exempt_audit_account``)."""
    if not acct_sudoers.installed:
        return not_applicable("sudo is not installed (/etc/sudoers does not exist)")
    exempt = set(params["exempt"])
    audit_user = sshd_session_maybe.get("username") if sshd_session_maybe else None
    if params["exempt_audit_account"] and audit_user:
        exempt.add(audit_user)
    nopasswd_all, everyone, audit_rules = [], [], []
    # Defaults !authenticate (for everyone, or Defaults:USER) is NOPASSWD on every rule of those users
    no_auth_scopes = [scope for scope, entry in acct_sudoers.defaults if entry.replace(" ", "") == "!authenticate"]
    no_auth_all = any(scope == "Defaults" for scope in no_auth_scopes)
    no_auth_users = {u for scope in no_auth_scopes if scope.startswith("Defaults:")
                     for u in _expand(_split_users(scope[len("Defaults:"):]), acct_sudoers.aliases)}
    for rule in acct_sudoers.rules:
        users = [u for u in _expand(rule.users, acct_sudoers.aliases) if not u.startswith("!")]
        for command in rule.commands:
            cmds = _expand([command["command"]], acct_sudoers.aliases)
            if "ALL" in users:
                everyone.append(f"{rule.file}: {rule.text}")
            # a shell, su/sudo, env or a wildcard path run without a password is root without re-authentication
            root_equivalent = "ALL" in cmds or any(_gives_shell(c) for c in cmds)
            no_password = "NOPASSWD" in command["tags"] or no_auth_all or bool(set(users) & no_auth_users)
            if root_equivalent and no_password:
                for user in users:
                    if user == audit_user and user in exempt:
                        audit_rules.append(f"{user} ({rule.file})")
                    elif user not in exempt:
                        nopasswd_all.append(f"{user} ({rule.file})")
    observed = {"nopasswd_all": sorted(set(nopasswd_all)), "rules_for_all_users": sorted(set(everyone)),
                "files": acct_sudoers.files, "ignored_files": acct_sudoers.skipped, "rules": len(acct_sudoers.rules)}
    if audit_rules:
        observed["audit_account_nopasswd_all"] = sorted(set(audit_rules))
    expected = "no NOPASSWD rule for ALL commands (outside 'exempt') and no rule for ALL users"
    problems = []
    if nopasswd_all:
        problems.append(f"NOPASSWD: ALL (or a shell) for {', '.join(sorted(set(nopasswd_all)))}")
    if no_auth_all:
        problems.append("Defaults !authenticate: no sudo rule asks for a password")
    if everyone:
        problems.append(f"rule(s) for ALL users: {'; '.join(sorted(set(everyone)))}")
    note = (f"the audit account {audit_user} has NOPASSWD: ALL (for sudo -n); remove it after the audit"
            if audit_rules else "")
    if problems:
        return failed(observed, expected, "; ".join(problems + ([note] if note else [])))
    if acct_sudoers.unread_includes:  # rules in files the audit did not read may grant anything
        return manual("no problem in the files read, but sudoers includes files outside /etc/sudoers.d that were "
                      "not read: " + "; ".join(acct_sudoers.unread_includes), expected, observed)
    return passed(observed, expected, note)


@check("linux.sudo.logging", title="sudo: commands are logged",
       requirements=["SR 2.12", "CR 2.12", "SR 2.8", "CR 2.8"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"require_use_pty": False, "require_io_log": False},
       remediation="Keep sudo's syslog logging (remove 'Defaults !syslog'), or add 'Defaults logfile=/var/log/sudo.log'; "
                   "add 'Defaults use_pty' (and 'Defaults log_output' where session recording is required) with "
                   "visudo -f /etc/sudoers.d/10-logging on Debian/Ubuntu and RHEL.")
def sudo_logging(acct_sudoers: Sudoers, params: dict[str, Any]) -> Verdict:
    """Privileged commands must be attributable to the person who ran them (SR 2.12 non-repudiation, SR 2.8
    auditable events). sudo logs every command to syslog unless disabled; use_pty and I/O logging make the
    record complete."""
    if not acct_sudoers.installed:
        return not_applicable("sudo is not installed (/etc/sudoers does not exist)")
    entries = [entry.replace(" ", "") for scope, entry in acct_sudoers.defaults if scope == "Defaults"]
    syslog_off = "!syslog" in entries
    # Defaults:USER / Defaults!CMD / Defaults>RUNAS !syslog switch logging off for some users or commands
    scoped_off = sorted({scope for scope, entry in acct_sudoers.defaults
                         if scope != "Defaults" and entry.replace(" ", "") in ("!syslog", "!log_allowed")})
    logfile = any(e.startswith("logfile=") for e in entries)
    use_pty = "use_pty" in entries and "!use_pty" not in entries
    io_log = "log_output" in entries or "log_input" in entries
    observed = {"syslog": not syslog_off, "logfile": logfile, "use_pty": use_pty, "io_logging": io_log}
    expected = ("sudo logs to syslog or a logfile" + (", Defaults use_pty" if params["require_use_pty"] else "")
                + (", I/O logging" if params["require_io_log"] else ""))
    problems = []
    if syslog_off and not logfile:
        problems.append("sudo logging disabled (!syslog and no logfile)")
    if scoped_off and not logfile:
        observed["logging_off_for"] = scoped_off
        problems.append("sudo logging disabled for " + ", ".join(scoped_off))
    if params["require_use_pty"] and not use_pty:
        problems.append("Defaults use_pty missing")
    if params["require_io_log"] and not io_log:
        problems.append("no log_output/log_input")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)
