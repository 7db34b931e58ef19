"""``linux.log.*`` checks: log file permissions, forwarding to a collector, a persistent journal.

Evidence: :mod:`checks.linux.facts.logs`, the stat listing and the unit list.
"""

from __future__ import annotations

from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.facts.commands import ROOT_HINT
from checks.linux.facts.files import Stats
from checks.linux.facts.logs import Logging
from checks.linux.facts.systemd import Units

LOG_FILES = ("/var/log/audit/audit.log", "/var/log/messages", "/var/log/secure", "/var/log/syslog", "/var/log/auth.log")


@check("linux.log.permissions",
       title="Audit and system log files readable only by root and the log group",
       requirements=["SR 3.9", "CR 3.9"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"owners": ["root", "syslog"], "file_mode_max": "0640", "audit_dir_mode_max": "0750"},
       remediation=("`chmod 0750 /var/log/audit; chmod 0600 /var/log/audit/audit.log` and `log_group = root` in "
                    "auditd.conf; `chmod 0640 /var/log/syslog /var/log/auth.log` (Debian/Ubuntu, rsyslog "
                    "`$FileCreateMode 0640`) or `chmod 0600 /var/log/messages /var/log/secure` (RHEL)."))
def log_permissions(sys_stats: Stats, params: dict[str, Any]) -> Verdict:
    """Audit records and security logs must be protected from unauthorised read, change and deletion
    (SR 3.9); world-readable logs also leak user names, mistyped passwords and addresses."""
    try:
        file_max = int(str(params.get("file_mode_max", "0640")), 8)
        dir_max = int(str(params.get("audit_dir_mode_max", "0750")), 8)
    except ValueError:
        return error("file_mode_max / audit_dir_mode_max must be octal strings such as '0640'")
    owners = set(params.get("owners") or ["root"])
    expected = f"log files mode <= {file_max:04o}, /var/log/audit <= {dir_max:04o}, owned by {sorted(owners)}"
    observed: dict[str, Any] = {}
    problems = []
    directory = sys_stats.get("/var/log/audit")
    if directory is not None:
        observed["/var/log/audit"] = f"{directory.mode:04o} {directory.owner}:{directory.group}"
        if directory.mode & 0o777 & ~dir_max:
            problems.append(f"/var/log/audit mode {directory.mode:04o}")
        if directory.owner not in owners:
            problems.append(f"/var/log/audit owned by {directory.owner}")
    for path in LOG_FILES:
        stat = sys_stats.get(path)
        if stat is None:
            if path in sys_stats.errors and "No such file" not in sys_stats.errors[path]:
                observed[path] = sys_stats.errors[path]
            continue
        observed[path] = f"{stat.mode:04o} {stat.owner}:{stat.group}"
        if stat.mode & 0o777 & ~file_max:
            problems.append(f"{path} mode {stat.mode:04o}")
        if stat.owner not in owners:
            problems.append(f"{path} owned by {stat.owner}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    if not observed:
        return manual("no classic log file found (journald only?); verify /var/log/journal file modes (0640, "
                      "group systemd-journal/adm)", expected, observed)
    hidden = [p for p, v in observed.items() if "denied" in str(v).lower()]
    note = f"; not stat-able without root (protected by their directory): {hidden}" if hidden else ""
    return passed(observed, expected, "log files and /var/log/audit restricted" + note)


FORWARDING_AGENTS = ["wazuh-agent", "splunkforwarder", "SplunkForwarder", "filebeat", "auditbeat", "elastic-agent",
                     "fluent-bit", "td-agent-bit", "td-agent", "fluentd", "nxlog", "vector", "otelcol-contrib",
                     "datadog-agent", "amazon-cloudwatch-agent", "google-cloud-ops-agent", "ossec"]


@check("linux.log.remote-forwarding",
       title="Logs forwarded to a central collector",
       requirements=["SR 2.8 RE1", "SR 6.2", "CR 6.2"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"require_tls": False, "agents": FORWARDING_AGENTS},
       remediation=("Forward to the site's log collector/SIEM with rsyslog over TLS: in "
                    "/etc/rsyslog.d/90-forward.conf `*.* action(type=\"omfwd\" target=\"<collector>\" "
                    "port=\"6514\" protocol=\"tcp\" StreamDriver=\"gtls\" StreamDriverMode=\"1\" "
                    "StreamDriverAuthMode=\"x509/name\")` (Debian/Ubuntu: `apt install rsyslog rsyslog-gnutls`; "
                    "RHEL: `dnf install rsyslog rsyslog-gnutls`), or systemd-journal-upload with an https URL, or "
                    "the site's SIEM agent; forward audit records with audisp-remote (Debian `audispd-plugins`, "
                    "RHEL `audispd-plugins`)."))
def remote_forwarding(sys_logging: Logging, sys_units: Units, params: dict[str, Any]) -> Verdict:
    """A centrally managed audit trail (SR 2.8 RE1) and continuous monitoring (SR 6.2) need the host's
    events at a collector; local logs are lost with the host and can be edited by an intruder."""
    require_tls = bool(params.get("require_tls"))
    expected = "an active log forwarder with a remote destination" + (" over TLS" if require_tls else "")
    daemons = {"rsyslog": sys_units.is_active("rsyslog"),
               "syslog-ng": sys_units.is_active("syslog-ng"),
               "journal-upload": sys_units.is_active("systemd-journal-upload"),
               "audisp-remote": sys_units.is_active("auditd")}
    active = [f for f in sys_logging.forwards if daemons.get(f.via, False) or not sys_units.available]
    agents = [a for a in (params.get("agents") or []) if sys_units.is_active(a)]
    observed: dict[str, Any] = {
        "forwards": [{"via": f.via, "target": f.target, "transport": f.transport, "tls": f.tls,
                      "daemon_active": daemons.get(f.via)} for f in sys_logging.forwards],
        "agents": agents}
    if not active and not agents:
        if sys_logging.forwards:
            return failed(observed, expected, "forwarding is configured but its daemon is not running")
        if sys_logging.unreadable:
            return error(f"log configuration not readable: {list(sys_logging.unreadable)}; {ROOT_HINT}", observed)
        return failed(observed, expected, "no log forwarding rule and no forwarding agent found")
    if require_tls:
        if any(f.tls for f in active):
            return passed(observed, expected, "TLS forwarding to " + ", ".join(f.target for f in active if f.tls))
        if agents:
            return manual(f"agent(s) {agents} forward logs; verify their transport is TLS-protected", expected,
                          observed)
        return failed(observed, expected, "logs are forwarded without TLS: " + ", ".join(
            f"{f.via} -> {f.target} ({f.transport})" for f in active))
    targets = [f"{f.via} -> {f.target} ({f.transport}{', tls' if f.tls else ''})" for f in active] + agents
    if not sys_units.available and not agents:  # a configured rule proves nothing while its daemon may be stopped
        return manual("forwarding is configured (" + "; ".join(targets) + "), but the unit list could not be read, "
                      "so whether its daemon runs is unknown; verify it is active", expected, observed)
    return passed(observed, expected, "forwarding: " + "; ".join(targets))


@check("linux.log.journald-persistent",
       title="System journal kept across reboots (persistent journal or a syslog daemon)",
       requirements=["SR 2.8", "CR 2.8"], applies_to=EMBEDDED_LINUX, severity="low",
       remediation=("Set `Storage=persistent` (and a bound such as `SystemMaxUse=1G`) in "
                    "/etc/systemd/journald.conf.d/60-persistent.conf, or create /var/log/journal, then "
                    "`systemctl restart systemd-journald`; alternatively run rsyslog (Debian/Ubuntu `apt install "
                    "rsyslog`, RHEL `dnf install rsyslog`)."))
def journald_persistent(sys_logging: Logging, sys_stats: Stats, sys_units: Units) -> Verdict:
    """Auditable events (SR 2.8) are only useful if the records survive: a volatile journal loses all events of
    the incident when the host reboots or crashes."""
    storage = (sys_logging.journald.get("storage") or "auto").lower()
    journal_dir = sys_stats.exists("/var/log/journal")
    syslog_daemon = sys_units.first_active(["rsyslog", "syslog-ng"])
    observed = {"Storage": storage, "/var/log/journal": journal_dir, "syslog_daemon": syslog_daemon,
                "SystemMaxUse": sys_logging.journald.get("systemmaxuse")}
    expected = "Storage=persistent (or auto with /var/log/journal), or a running syslog daemon"
    if storage == "persistent" or (storage == "auto" and journal_dir):
        return passed(observed, expected, "journal stored in /var/log/journal")
    if syslog_daemon:
        return passed(observed, expected, f"{syslog_daemon} persists the logs")
    if storage == "auto" and journal_dir is None:
        return error("/var/log/journal could not be checked (stat refused)", observed)
    return failed(observed, expected, f"journal is volatile (Storage={storage}"
                  + (", no /var/log/journal" if storage == "auto" else "") + ") and no syslog daemon runs")
