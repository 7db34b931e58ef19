"""linux.audit.*, linux.log.*, linux.time.* (checks/linux/audit.py, log.py, time.py) and their evidence
(checks/linux/facts/audit.py, logs.py, timesync.py): auditd, audit rules, audit storage, log protection and
forwarding, journald persistence, time synchronisation and authentication, on Debian 12 / Ubuntu 22.04 /
RHEL 9 outputs (tests/unit/linux/recorded/*/audit_*), variants of them, and garbage."""

from __future__ import annotations

import pytest
from system_evidence import DISTROS, recorded, recorded_host

from auditor.facts import CommandOutput
from checks.linux.facts.audit import parse_audit_rule, parse_audit_rules, parse_audit_status
from checks.linux.facts.logs import parse_logging, rsyslog_forwards, syslog_ng_forwards
from checks.linux.facts.parsing import parse_files
from checks.linux.facts.timesync import CHRONY_TRACKING, TIMEDATE, parse_time_sources, parse_tracking

FULL_RULES = """-w /etc/ssh/sshd_config -p wa -k sshd
-a always,exit -F arch=b64 -S mount -F auid>=1000 -F auid!=-1 -F key=mounts
-a always,exit -S all -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F auid!=-1 -F key=privileged
-a always,exit -F arch=b64 -S chmod,fchmod,fchmodat -F auid>=1000 -F auid!=-1 -F key=perm_mod
"""


# ------------------------------------------------------------------------------------ parsers

@pytest.mark.parametrize("distro,enabled,pid", [("debian12", 1, 612), ("rhel9", 1, 812)])
def test_auditctl_status_parser(distro: str, enabled: int, pid: int) -> None:
    status = parse_audit_status(CommandOutput(recorded(distro, "audit_auditctl_s.txt"), 0, True))
    assert status.tool.state == "ok" and (status.enabled, status.pid) == (enabled, pid)
    assert status.values["backlog_limit"] == "8192"


def test_auditctl_status_absent_and_not_root() -> None:
    absent = parse_audit_status(CommandOutput(recorded("ubuntu2204", "audit_auditctl_s.txt"), 127, True))
    assert absent.tool.state == "absent"
    assert parse_audit_status(CommandOutput("sudo: auditctl: command not found\n", 1)).tool.state == "absent"
    not_root = parse_audit_status(CommandOutput("You must be root to run this program.\n", 4))
    assert not_root.tool.state == "needs-root"


def test_auditctl_rules_parser_debian() -> None:
    rules = parse_audit_rules(CommandOutput(recorded("debian12", "audit_auditctl_l.txt"), 0, True))
    assert rules.tool.state == "ok" and len(rules.rules) == 13
    assert rules.rules[0].watches == ("/etc/passwd",) and rules.rules[0].perms == "wa"
    time_rule = next(r for r in rules.rules if "adjtimex" in r.syscalls)
    assert "settimeofday" in time_rule.syscalls and time_rule.action == "always"


def test_auditctl_rules_parser_rhel_no_rules_and_path_fields() -> None:
    assert parse_audit_rules(CommandOutput(recorded("rhel9", "audit_auditctl_l.txt"), 0)).rules == ()
    rule = parse_audit_rule("-a always,exit -S all -F path=/usr/bin/sudo -F perm=x -F auid>=1000 -F key=privileged")
    assert rule.watches == ("/usr/bin/sudo",) and rule.perms == "x" and rule.syscalls == ("all",)
    assert parse_audit_rule("-a never,exit -F arch=b64 -S all").action == "never"
    assert parse_audit_rule("-D") is None and parse_audit_rule("garbage 'unbalanced") is None


@pytest.mark.parametrize("distro,stratum,ref", [("debian12", 3, "10.0.1.5"), ("rhel9", 4, "162.159.200.123")])
def test_chronyc_tracking_parser(distro: str, stratum: int, ref: str) -> None:
    tracking = parse_tracking(CommandOutput(recorded(distro, "audit_chronyc_tracking.txt"), 0))
    assert tracking.tool.state == "ok" and tracking.stratum == stratum and tracking.reference_name == ref
    assert tracking.leap_status == "Normal" and abs(tracking.offset_seconds) < 0.001


def test_chronyc_tracking_absent_daemon_down_and_local_clock() -> None:
    assert parse_tracking(CommandOutput(recorded("ubuntu2204", "audit_chronyc_tracking.txt"), 127)).tool.state == "absent"
    assert parse_tracking(CommandOutput("506 Cannot talk to daemon\n", 1)).tool.state == "failed"
    local = parse_tracking(CommandOutput("Reference ID    : 7F7F0101 ()\nStratum         : 10\n"
                                         "System time     : 0.000000000 seconds fast of NTP time\n"
                                         "Leap status     : Normal\n", 0))
    assert local.reference_id == "7F7F0101" and local.offset_seconds == 0.0


@pytest.mark.parametrize("distro,via,tls", [("debian12", "journal-upload", True), ("rhel9", "rsyslog", False)])
def test_logging_parser_forwarding(distro: str, via: str, tls: bool) -> None:
    logging = parse_logging(parse_files(recorded(distro, "audit_files.txt")))
    assert [(f.via, f.tls) for f in logging.forwards] == [(via, tls)]


def test_logging_parser_ubuntu_has_no_forwarding_and_ignores_local_actions() -> None:
    logging = parse_logging(parse_files(recorded("ubuntu2204", "audit_files.txt")))
    assert logging.forwards == () and logging.journald == {}


def test_rsyslog_forward_syntaxes() -> None:
    legacy = rsyslog_forwards("f", "auth.* @@(o)10.1.2.3:6514\n*.info;mail.none @[fd00::5]:514\n#*.* @@x\n", False)
    assert [(f.target, f.transport) for f in legacy] == [("10.1.2.3:6514", "tcp"), ("[fd00::5]:514", "udp")]
    rainer = rsyslog_forwards("f", 'action(type="omfwd" Target="siem" Port="6514" Protocol="tcp"\n'
                                   '       StreamDriver="ossl" StreamDriverMode="1")\n'
                                   'action(type="omrelp" target="relp.example" port="2514" tls="on")\n', False)
    assert [(f.target, f.transport, f.tls) for f in rainer] == [("siem:6514", "tcp", True),
                                                                ("relp.example:2514", "relp", True)]
    assert rsyslog_forwards("f", "*.* @@loghost\n", True)[0].tls      # global gtls driver + mode 1


def test_syslog_ng_forward() -> None:
    text = 'destination d_siem { network("10.9.9.9" port(6514) transport("tls") tls(ca-dir("/etc/ca"))); };\n' \
           'destination d_udp { udp("10.9.9.8"); };\nlog { source(s_src); destination(d_siem); };\n'
    found = syslog_ng_forwards("f", text)
    assert [(f.target, f.tls) for f in found] == [("10.9.9.9", True), ("10.9.9.8", False)]


@pytest.mark.parametrize("distro,expected", [
    ("debian12", [("server", "10.0.1.5", False), ("server", "10.0.1.6", False)]),
    ("ubuntu2204", [("NTP", "ntp1.plant.example", False), ("NTP", "ntp2.plant.example", False)]),
    ("rhel9", [("pool", "2.rhel.pool.ntp.org", False)]),
])
def test_time_sources_parser(distro: str, expected: list) -> None:
    sources = parse_time_sources(parse_files(recorded(distro, "audit_files.txt")))
    assert [(s.kind, s.address, s.authenticated) for s in sources if s.kind != "sourcedir"] == expected


def test_time_fact_reads_timedatectl() -> None:
    state = recorded_host("ubuntu2204").fact("sys_time")
    assert state.timedate["NTPSynchronized"] == "yes" and state.tracking.tool.state == "absent"


# ------------------------------------------------------------------------------------ auditd checks

@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("rhel9", "pass"), ("ubuntu2204", "fail")])
def test_auditd_running(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.audit.auditd-running").status == status


def test_auditd_running_variants() -> None:
    ev = recorded_host("rhel9").replace("auditctl_s", "pid 812", "pid 0")
    assert ev.check("linux.audit.auditd-running").status == "fail"
    ev = recorded_host("rhel9").replace("auditctl_s", "enabled 1", "enabled 0")
    assert "enabled 0" in ev.check("linux.audit.auditd-running").reason
    ev = recorded_host("debian12").replace("files", " ro quiet", " ro quiet audit=0")
    assert "audit=0" in ev.check("linux.audit.auditd-running").reason
    verdict = recorded_host("debian12").check("linux.audit.auditd-running", require_boot_parameter=True)
    assert verdict.status == "fail" and "audit=1" in verdict.reason


def test_auditd_running_without_root_uses_the_unit_state_honestly() -> None:
    verdict = recorded_host("debian12", sudo=False).check("linux.audit.auditd-running")
    # the unit active is no proof that the kernel audits and events reach the daemon
    assert verdict.status == "manual" and "could not be read" in verdict.reason
    ev = recorded_host("debian12", sudo=False).replace("units", "auditd.service                         loaded    active   running",
                                                     "auditd.service                         loaded    failed   failed ")
    assert ev.check("linux.audit.auditd-running").status == "fail"


@pytest.mark.parametrize("distro", DISTROS)
def test_audit_rules_fail_on_recorded_hosts(distro: str) -> None:
    verdict = recorded_host(distro).check("linux.audit.rules")
    assert verdict.status == "fail", verdict
    if distro == "debian12":
        assert verdict.observed["missing"] == ["sshd-config", "mounts", "privileged", "perm-mod"]


def test_audit_rules_pass_when_all_categories_are_covered() -> None:
    ev = recorded_host("debian12")
    ev.replace("auditctl_l", "-w /etc/passwd -p wa -k identity\n", "-w /etc/passwd -p wa -k identity\n" + FULL_RULES)
    verdict = ev.check("linux.audit.rules")
    assert verdict.status == "pass" and verdict.observed["missing"] == []


def test_a_read_only_watch_does_not_cover_changes() -> None:
    rules = FULL_RULES.replace("-w /etc/ssh/sshd_config -p wa", "-w /etc/ssh/sshd_config -p r")
    ev = recorded_host("debian12")
    ev.replace("auditctl_l", "-w /etc/passwd -p wa -k identity\n", "-w /etc/passwd -p wa -k identity\n" + rules)
    verdict = ev.check("linux.audit.rules")
    assert verdict.status == "fail" and "sshd-config" in verdict.observed["missing"]


def test_audit_rules_params_and_no_root() -> None:
    verdict = recorded_host("debian12").check("linux.audit.rules", required_categories=["identity", "time-change"])
    assert verdict.status == "pass"
    assert recorded_host("debian12").check("linux.audit.rules", required_categories=["bogus"]).status == "error"
    verdict = recorded_host("debian12", sudo=False).check("linux.audit.rules")
    assert verdict.status == "error" and "sudo -n" in verdict.reason


def test_audit_immutable() -> None:
    assert recorded_host("rhel9").check("linux.audit.immutable").status == "fail"
    assert recorded_host("ubuntu2204").check("linux.audit.immutable").status == "fail"
    ev = recorded_host("rhel9").replace("auditctl_s", "enabled 1", "enabled 2")
    assert ev.check("linux.audit.immutable").status == "pass"
    assert recorded_host("rhel9", sudo=False).check("linux.audit.immutable").status == "error"


@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("rhel9", "pass"), ("ubuntu2204", "fail")])
def test_audit_capacity(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.audit.capacity").status == status


@pytest.mark.parametrize("old,new,words", [
    ("space_left_action = SYSLOG", "space_left_action = IGNORE", "no warning"),
    ("disk_full_action = SUSPEND", "disk_full_action = IGNORE", "disk_full_action = ignore"),
    ("disk_error_action = SUSPEND", "disk_error_action = HALT", "essential-function"),
])
def test_audit_capacity_failures(old: str, new: str, words: str) -> None:
    verdict = recorded_host("rhel9").replace("files", old, new).check("linux.audit.capacity")
    assert verdict.status == "fail" and words in verdict.reason


def test_audit_capacity_params() -> None:
    ev = recorded_host("rhel9").replace("files", "disk_error_action = SUSPEND", "disk_error_action = HALT")
    assert ev.check("linux.audit.capacity", halt_allowed=True).status == "pass"
    verdict = recorded_host("rhel9").check("linux.audit.capacity", require_separate_partition=True)
    assert verdict.status == "fail" and "own filesystem" in verdict.reason
    assert recorded_host("rhel9", sudo=False).check("linux.audit.capacity").status == "error"


# ------------------------------------------------------------------------------------ log checks

@pytest.mark.parametrize("distro", DISTROS)
def test_log_permissions_pass(distro: str) -> None:
    assert recorded_host(distro).check("linux.log.permissions").status == "pass"


def test_log_permissions_fail() -> None:
    ev = recorded_host("ubuntu2204").set_stat("/var/log/syslog", "644", "syslog", "adm")
    verdict = ev.check("linux.log.permissions")
    assert verdict.status == "fail" and "/var/log/syslog mode 0644" in verdict.reason
    ev = recorded_host("rhel9").set_stat("/var/log/audit", "755", kind="directory")
    assert ev.check("linux.log.permissions").status == "fail"


@pytest.mark.parametrize("distro,status", [("debian12", "pass"), ("rhel9", "pass"), ("ubuntu2204", "fail")])
def test_remote_forwarding(distro: str, status: str) -> None:
    assert recorded_host(distro).check("linux.log.remote-forwarding").status == status


def test_remote_forwarding_tls_and_daemon_state() -> None:
    verdict = recorded_host("rhel9").check("linux.log.remote-forwarding", require_tls=True)
    assert verdict.status == "fail" and "without TLS" in verdict.reason
    assert recorded_host("debian12").check("linux.log.remote-forwarding", require_tls=True).status == "pass"
    ev = recorded_host("rhel9").replace("units", "rsyslog.service                                     loaded    active   running",
                                        "rsyslog.service                                     loaded    inactive dead   ")
    assert "not running" in ev.check("linux.log.remote-forwarding").reason
    ev = recorded_host("ubuntu2204").replace("units", "snapd.service ", "wazuh-agent.service ")
    assert ev.check("linux.log.remote-forwarding").status == "pass"
    assert ev.check("linux.log.remote-forwarding", require_tls=True).status == "manual"


@pytest.mark.parametrize("distro", DISTROS)
def test_journald_persistent_pass(distro: str) -> None:
    assert recorded_host(distro).check("linux.log.journald-persistent").status == "pass"


def test_journald_volatile_fails() -> None:
    ev = recorded_host("debian12").set_file("/etc/systemd/journald.conf.d/10-volatile.conf",
                                            "[Journal]\nStorage=volatile\n")
    verdict = ev.check("linux.log.journald-persistent")
    assert verdict.status == "fail" and "volatile" in verdict.reason
    ev = recorded_host("debian12").replace(
        "stat", "1709543200|2755|root|systemd-journal|directory|/var/log/journal",
        "stat: cannot statx '/var/log/journal': No such file or directory")
    assert ev.check("linux.log.journald-persistent").status == "fail"


# ------------------------------------------------------------------------------------ time checks

@pytest.mark.parametrize("distro", DISTROS)
def test_time_synchronized_pass(distro: str) -> None:
    assert recorded_host(distro).check("linux.time.synchronized").status == "pass"


def test_time_synchronized_failures() -> None:
    ev = recorded_host("debian12").replace("chronyc", "Leap status     : Normal", "Leap status     : Not synchronised")
    assert ev.check("linux.time.synchronized").status == "fail"
    ev = recorded_host("debian12").replace("chronyc", "0.000021345 seconds slow", "3.500000000 seconds slow")
    verdict = ev.check("linux.time.synchronized")
    assert verdict.status == "fail" and "-3.500" in verdict.reason
    verdict = recorded_host("rhel9").check("linux.time.synchronized", approved_sources=["10.0.1.*", "ntp*.plant.example"])
    assert verdict.status == "fail" and "not approved" in verdict.reason
    assert recorded_host("debian12").check("linux.time.synchronized", approved_sources=["10.0.1.*"]).status == "pass"
    ev = recorded_host("ubuntu2204").replace("timedatectl", "NTPSynchronized=yes", "NTPSynchronized=no")
    assert ev.check("linux.time.synchronized").status == "fail"


def test_time_synchronized_no_service_and_unknown() -> None:
    ev = recorded_host("ubuntu2204")
    ev.replace("timedatectl", "NTPSynchronized=yes", "NTPSynchronized=no").replace("timedatectl", "NTP=yes", "NTP=no")
    assert "NTP=no" in ev.check("linux.time.synchronized").reason
    ev = recorded_host("debian12")
    ev.out(TIMEDATE, "Unknown operation show.\n", 1).out(CHRONY_TRACKING, "506 Cannot talk to daemon\n", 1)
    assert ev.check("linux.time.synchronized").status == "manual"


def test_time_authenticated() -> None:
    for distro in DISTROS:
        assert recorded_host(distro).check("linux.time.authenticated").status == "fail", distro
    ev = recorded_host("debian12").replace("files", "server 10.0.1.5 iburst\nserver 10.0.1.6 iburst",
                                           "server 10.0.1.5 iburst nts\nserver 10.0.1.6 iburst key 7")
    assert ev.check("linux.time.authenticated").status == "pass"
    assert "timesyncd" in recorded_host("ubuntu2204").check("linux.time.authenticated").reason


def test_time_synchronized_approved_host_names_explain_the_reference_address() -> None:
    ev = recorded_host("debian12").replace("files", "server 10.0.1.5 iburst\nserver 10.0.1.6 iburst",
                                           "server ntp1.plant.example iburst\nserver ntp2.plant.example iburst")
    assert ev.check("linux.time.synchronized", approved_sources=["*.plant.example"]).status == "pass"
    ev = recorded_host("debian12").replace("files", "server 10.0.1.5 iburst\nserver 10.0.1.6 iburst", "")
    verdict = ev.check("linux.time.synchronized", approved_sources=["*.plant.example"])
    assert verdict.status == "fail" and "reference 10.0.1.5" in verdict.reason   # only DHCP/sourcedir sources
