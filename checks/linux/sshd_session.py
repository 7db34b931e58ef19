"""``linux.sshd.*`` checks (3 of 3): what one connection and session may do.

Authentication attempts and grace time, idle timeout, session and startup limits, forwarding, the
pre-login banner and the log level.
"""

from __future__ import annotations

import re
from typing import Any

from auditor.registry import check
from checks.linux import EMBEDDED_LINUX
from auditor.verdicts import Verdict, error, failed, manual, passed
from checks.linux.banner import DISCLOSURE
from checks.linux.facts.openssh import openssh_seconds, openssh_version
from checks.linux.facts.optional import Missing
from checks.linux.facts.sshd import SshdConfig
from checks.linux.sshd import RELOAD, match_blocks_reviewed, observe


def _int_limit_check(config: SshdConfig, keyword: str, maximum: int, minimum: int = 1) -> Verdict:
    value = config.number(keyword)
    expected = f"{minimum}..{maximum}"
    bad = [o for o in config.overrides(keyword)
           if not (o[keyword].isdigit() and minimum <= int(o[keyword]) <= maximum)]
    observed = observe(config, **{keyword: value, "match_overrides": bad or None})
    if value is None:
        return error(f"{keyword} has no numeric value: {config.get(keyword)!r}", observed)
    if not minimum <= value <= maximum:
        return failed(observed, expected, f"{keyword} is {value}")
    if bad:
        return failed(observed, expected, "a Match block sets " + "; ".join(
            f"Match {o['match']}: {keyword} {o[keyword]}" for o in bad))
    return passed(observed, expected)


@check("linux.sshd.max-auth-tries", title="SSH: few authentication attempts per connection",
       requirements=["SR 1.11", "CR 1.11"], applies_to=EMBEDDED_LINUX, severity="medium", params={"max_auth_tries": 4},
       remediation="Set 'MaxAuthTries 4' (or lower; 3 is common) in /etc/ssh/sshd_config.d/00-iec62443.conf. "
                   + RELOAD)
@match_blocks_reviewed
def max_auth_tries(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SR 1.11 limits unsuccessful login attempts; a low MaxAuthTries slows online guessing on each
    connection and makes attacks visible in the log (account lockout is checked by linux.pam.faillock)."""
    return _int_limit_check(sshd_config, "maxauthtries", params["max_auth_tries"])


@check("linux.sshd.login-grace-time", title="SSH: short unauthenticated login grace time",
       requirements=["SR 7.1", "CR 7.1"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"max_login_grace_time": 60},
       remediation="Set 'LoginGraceTime 60' (or 30) in /etc/ssh/sshd_config.d/00-iec62443.conf; 0 means unlimited. "
                   + RELOAD)
def login_grace_time(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """Unauthenticated connections hold sshd resources; a long (or unlimited, 0) grace time lets an
    attacker exhaust MaxStartups slots (SR 7.1) and gives more time per guessing connection
    (the unsuccessful-login limit of SR 1.11 is MaxAuthTries' and pam_faillock's)."""
    return _int_limit_check(sshd_config, "logingracetime", params["max_login_grace_time"])


@check("linux.sshd.idle-timeout", title="SSH: unresponsive connections are ended (ClientAlive)",
       requirements=["SR 7.2", "CR 7.2"], applies_to=EMBEDDED_LINUX, severity="medium", params={"max_idle_seconds": 900},
       remediation="Set 'ClientAliveInterval 300' and 'ClientAliveCountMax 3' (product <= 900 s) in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf. This ends dead connections, not idle sessions: for "
                   "those set TMOUT (see linux.session.timeout) or, on OpenSSH >= 9.2, 'ChannelTimeout "
                   "session=15m'. " + RELOAD)
@match_blocks_reviewed
def idle_timeout(sshd_config: SshdConfig, sshd_wire_maybe: dict[str, Any] | Missing,
                 params: dict[str, Any]) -> Verdict:
    """Resource management (SR 7.2): a connection whose client vanished keeps its session, its processes and a
    MaxStartups/MaxSessions slot until sshd notices. ClientAliveInterval x ClientAliveCountMax bounds how long
    that takes; an interval of 0 (the default) never ends it, and since OpenSSH 8.2 a count of 0 switches the
    termination off too. This is not the idle-session limit of SR 2.6 (linux.session.timeout judges that):
    ClientAlive probes are answered by any live client, however long its user has been away."""
    config, limit = sshd_config, params["max_idle_seconds"]
    interval, count = config.number("clientaliveinterval"), config.number("clientalivecountmax")
    version = openssh_version(sshd_wire_maybe.get("software")) if sshd_wire_maybe else None
    observed = observe(config, clientaliveinterval=interval, clientalivecountmax=count,
                       openssh_version=".".join(map(str, version)) if version else None,
                       match_overrides=config.overrides("clientaliveinterval", "clientalivecountmax") or None)
    expected = f"ClientAliveInterval > 0, ClientAliveCountMax > 0 and their product <= {limit} s"
    if interval is None or count is None:
        return error("ClientAliveInterval/ClientAliveCountMax not numeric", observed)
    if interval <= 0:
        return failed(observed, expected, "ClientAliveInterval is 0: unresponsive connections are never ended")
    if count == 0:
        if version is None:
            return manual("ClientAliveCountMax is 0: OpenSSH 8.2 and later then never end an unresponsive "
                          "connection, older releases end it after one interval; the server's release is unknown",
                          expected, observed)
        if version >= (8, 2):
            return failed(observed, expected, f"ClientAliveCountMax 0 switches the termination off (OpenSSH "
                                              f"{version[0]}.{version[1]} >= 8.2)")
        count = 1  # before 8.2, a count of 0 ended the connection after the first unanswered interval
    total = interval * count
    observed["timeout_seconds"] = total
    if total > limit:
        return failed(observed, expected, f"unresponsive connections end after {total} s (> {limit} s)")
    loose = []
    for block in config.overrides("clientaliveinterval", "clientalivecountmax"):
        b_interval = openssh_seconds(block.get("clientaliveinterval", str(interval)))
        b_count = block.get("clientalivecountmax", str(count))
        if b_interval is None or not b_count.isdigit() or b_interval <= 0 or int(b_count) == 0 \
                or b_interval * int(b_count) > limit:
            loose.append(block)
    if loose:
        return failed(observed, expected, "a Match block lets unresponsive connections live longer: "
                      + "; ".join(f"Match {o['match']}" for o in loose))
    return passed(observed, expected)


def _max_startups(value: str | None) -> tuple[int, int, int] | None:
    if not value:
        return None
    parts = value.split(":")
    if not all(p.isdigit() for p in parts):
        return None
    if len(parts) == 1:
        return int(parts[0]), 100, int(parts[0])
    if len(parts) == 3:
        return int(parts[0]), int(parts[1]), int(parts[2])
    return None


@check("linux.sshd.session-limits", title="SSH: concurrent session and unauthenticated connection limits",
       requirements=["SR 7.1", "CR 7.1"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"max_sessions": 10, "max_startups_start": 10, "max_startups_full": 60},
       remediation="Set 'MaxSessions 4' (<= the site limit) and 'MaxStartups 10:30:60' in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf (Debian/Ubuntu and RHEL); per-user login limits "
                   "belong in /etc/security/limits.conf (maxlogins). " + RELOAD)
@match_blocks_reviewed
def session_limits(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """MaxSessions bounds the sessions multiplexed on one connection (a resource limit, not the per-user concurrent
    session control of SR 2.7, which pam_limits maxlogins gives);
    MaxStartups drops excess unauthenticated connections early, which protects sshd against connection
    floods (SR 7.1)."""
    sessions = sshd_config.number("maxsessions")
    startups = _max_startups(sshd_config.get("maxstartups"))
    observed = observe(sshd_config, maxsessions=sessions, maxstartups=sshd_config.get("maxstartups"),
                       match_overrides=sshd_config.overrides("maxsessions") or None)
    expected = (f"MaxSessions 1..{params['max_sessions']}, MaxStartups start <= {params['max_startups_start']} "
                f"and full <= {params['max_startups_full']}")
    if sessions is None or startups is None:
        return error("MaxSessions/MaxStartups not understood", observed)
    problems = []
    if not 1 <= sessions <= params["max_sessions"]:
        problems.append(f"MaxSessions {sessions}")
    if startups[0] > params["max_startups_start"] or startups[2] > params["max_startups_full"]:
        problems.append(f"MaxStartups {sshd_config.get('maxstartups')}")
    for o in sshd_config.overrides("maxsessions"):
        if not (o["maxsessions"].isdigit() and 1 <= int(o["maxsessions"]) <= params["max_sessions"]):
            problems.append(f"Match {o['match']}: MaxSessions {o['maxsessions']}")
    if problems:
        return failed(observed, expected, "; ".join(problems))
    return passed(observed, expected)


FORWARDING_KEYWORDS = ("x11forwarding", "allowtcpforwarding", "permittunnel", "allowagentforwarding",
                       "gatewayports", "allowstreamlocalforwarding")


@check("linux.sshd.forwarding", title="SSH: tunnelling and forwarding disabled",
       requirements=["SR 5.2", "SR 7.7", "CR 7.7"], applies_to=EMBEDDED_LINUX, severity="medium",
       params={"allowed": []},
       remediation="Set 'DisableForwarding yes' (or X11Forwarding no, AllowTcpForwarding no, "
                   "AllowStreamLocalForwarding no, AllowAgentForwarding no, PermitTunnel no, GatewayPorts no) in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf; Debian/Ubuntu ship 'X11Forwarding yes' in "
                   "/etc/ssh/sshd_config, RHEL in 50-redhat.conf: change it there too. Document any needed "
                   "forwarding and list it in the 'allowed' parameter. " + RELOAD)
@match_blocks_reviewed
def forwarding(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SSH port forwarding and tunnels carry arbitrary traffic through the host and bypass zone and conduit
    boundaries (SR 5.2) and are functionality an IACS host rarely needs (SR 7.7 least functionality)."""
    allowed = {k.lower() for k in params["allowed"]}
    disabled_all = sshd_config.get("disableforwarding") == "yes"
    values = {k: sshd_config.get(k) for k in FORWARDING_KEYWORDS}
    enabled = [k for k, v in values.items() if v not in (None, "no") and k not in allowed]
    bad = [o for o in sshd_config.overrides(*FORWARDING_KEYWORDS)
           if any(o.get(k) not in (None, "no") and k not in allowed for k in FORWARDING_KEYWORDS)]
    observed = observe(sshd_config, disableforwarding=sshd_config.get("disableforwarding"), **values,
                       match_overrides=bad or None)
    expected = "DisableForwarding yes, or every forwarding keyword 'no' (except those in 'allowed')"
    if disabled_all:
        # a Match block that sets DisableForwarding no falls back to the per-keyword values for its users
        undone = [o for o in sshd_config.overrides("disableforwarding", *FORWARDING_KEYWORDS)
                  if o.get("disableforwarding", "yes") != "yes"
                  and any(o.get(k, values[k]) not in (None, "no") and k not in allowed for k in FORWARDING_KEYWORDS)]
        if undone:
            observed["match_overrides"] = undone
            return failed(observed, expected, "a Match block sets DisableForwarding no and forwarding is then enabled: "
                          + "; ".join(f"Match {o['match']}" for o in undone))
        return passed(observed, expected, "DisableForwarding yes")
    if enabled:
        return failed(observed, expected, "enabled: " + ", ".join(f"{k} {values[k]}" for k in enabled))
    if bad:
        return failed(observed, expected, "a Match block enables forwarding")
    return passed(observed, expected)


@check("linux.sshd.log-level", title="SSH: logging at INFO or VERBOSE",
       requirements=["SR 2.8", "CR 2.8"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"allowed_levels": ["INFO", "VERBOSE"]},
       remediation="Set 'LogLevel VERBOSE' (logs key fingerprints used for login) or 'LogLevel INFO' in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf (Debian/Ubuntu and RHEL). " + RELOAD)
@match_blocks_reviewed
def log_level(sshd_config: SshdConfig, params: dict[str, Any]) -> Verdict:
    """SR 2.8 needs authentication events to be recorded: QUIET/FATAL/ERROR drop login records, DEBUG
    levels log private details and flood the audit trail."""
    allowed = [lv.upper() for lv in params["allowed_levels"]]
    value = sshd_config.get("loglevel")
    bad = [o for o in sshd_config.overrides("loglevel") if o["loglevel"] not in allowed]
    observed = observe(sshd_config, loglevel=value, match_overrides=bad or None)
    if value not in allowed:
        return failed(observed, " or ".join(allowed), f"LogLevel {value}")
    if bad:
        return failed(observed, " or ".join(allowed), "a Match block changes LogLevel")
    return passed(observed, " or ".join(allowed))


_DISCLOSURE_DEFAULT = DISCLOSURE


@check("linux.sshd.banner", title="SSH: pre-login use notification shown, without system details",
       requirements=["SR 1.12", "CR 1.12"], applies_to=EMBEDDED_LINUX, severity="low",
       params={"disclosure_patterns": _DISCLOSURE_DEFAULT, "min_length": 10},
       remediation="Write the approved system use notification (authorised use only, monitoring, no OS name or "
                   "version) to /etc/issue.net and set 'Banner /etc/issue.net' in "
                   "/etc/ssh/sshd_config.d/00-iec62443.conf (Debian/Ubuntu and RHEL). Debian/Ubuntu: also set "
                   "'DebianBanner no' to drop the OS name from the SSH version string. " + RELOAD)
@match_blocks_reviewed
def banner(sshd_config_maybe: SshdConfig | Missing, sshd_session_maybe: dict[str, Any] | Missing,
           params: dict[str, Any]) -> Verdict:
    """SR 1.12 requires a system use notification before authentication. The banner the server actually
    sent before authentication is judged first; the configured Banner file is cross-checked. The text must
    not disclose the operating system or versions, which helps an attacker pick exploits."""
    config, session = sshd_config_maybe, sshd_session_maybe
    expected = (f"a pre-authentication banner of at least {params['min_length']} characters that matches none of "
                "the disclosure patterns")
    if not config and not session:
        return error(f"neither the sshd configuration nor the session's banner is available: {config.reason}; "
                     f"{session.reason}")
    served = session.get("banner") if session else None
    configured_path = config.get("banner") if config else None
    configured_text = config.banner_text(configured_path) if config and configured_path not in (None, "none") else None
    observed: dict[str, Any] = {"served_banner": served if session else f"unavailable: {session.reason}"}
    if config:
        observed.update(config.basis())
        observed["configured_banner"] = configured_path
        if config.overrides("banner"):
            observed["match_overrides"] = config.overrides("banner")
    else:
        observed["config"] = f"unavailable: {config.reason}"
    if session:
        observed["server_identification"] = session.get("server_version")
    notes = []
    if session and config:
        if served and configured_path == "none":
            notes.append("config says 'Banner none' but the server sent a banner (config and wire disagree; "
                         "the wire wins)")
        if not served and configured_path not in (None, "none"):
            notes.append(f"config names banner file {configured_path} but the server sent no banner (missing or "
                         "empty file?)")
        if served and configured_text is not None and configured_text.strip() != served.strip():
            notes.append(f"the banner sent differs from the content of {configured_path}")
    text = served if session else configured_text
    if not session:
        if configured_path in (None, "none"):
            return failed(observed, expected, "no Banner configured")
        if configured_text is None:
            return error(f"Banner {configured_path} is configured but its content could not be read and the "
                         "session's banner is unavailable", observed)
    suffix = ("; " + "; ".join(notes)) if notes else ""
    if not text or not text.strip():
        return failed(observed, expected, "no banner is shown before authentication" + suffix)
    hits = [m.group(0) for p in params["disclosure_patterns"] for m in [re.search(p, text)] if m]
    if hits:
        return failed(observed, expected, f"banner discloses system details: {hits}" + suffix)
    if len(text.strip()) < params["min_length"]:
        return failed(observed, expected, f"banner is only {len(text.strip())} characters" + suffix)
    cut = (session.get("truncated") or {}).get("banner") if session else None
    if cut:
        # the part past the auditor's limit may disclose what the kept part does not
        observed["banner_truncated"] = cut
        return manual(f"the server sent a banner of {cut.get('original_chars')} characters; the auditor kept the "
                      f"first {cut.get('kept_chars')}, which disclose nothing: read the whole banner", expected,
                      observed)
    return passed(observed, expected, ("judged on the configured file only; " if not session else "")
                  + "; ".join(notes))
