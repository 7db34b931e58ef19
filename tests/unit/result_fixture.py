"""A realistic, hand-built :class:`ScanResult` (and the evidence bundle behind it) for report tests.

Three assets:

* ``hmi-01``    host, SL-T 1, every check passes or is manual / n/a; every row no check could judge is
  answered by the site (one answer on a ``manual`` row, one ``not_applicable``, one confirming device
  evidence), so it meets its target on device evidence plus answers. The product is recorded and its
  vendor claims FR1 rows up to SL 2 and FR7 rows at SL 1 (SL-C). SL 2 and SL 3 were judged with the
  built-in ``host-sl2``/``host-sl3`` parameters (where ``CR 1.7`` fails), SL 4 was not evaluated.
* ``eng-ws-02`` host, SL-T 2 (vector), many failures, an error, a manual, a waiver and a check from a
  third-party pack that is not installed (``acme.historian.audit-forwarding``); site answers: one
  ``not_met`` (``CR 1.3``), one expired (``CR 1.2``), one ``met`` overruled by a failing check (``CR 1.7``)
  and one ``met`` full of hostile text (``CR 7.3``).
* ``plc-03``    embedded, could not be reached: ``status="error"``, every check ``error``.

The check verdicts and the answers file entries are written by hand; the answers are matched to rows with
the core's :class:`~auditor.assessment.attestations.AnswerBook`, and requirement rows, SL-A vectors, coverage and the
attestation outcomes are derived with the core's scoring functions over the real catalog, so the numbers
are the ones a scan with that answers file would give.

Hostile strings (``HOSTILE_*``) sit in device-controlled fields (address, zone, observed value, reason,
evidence response, endpoint error) and in a person's answer (``ANSWER_HOSTILE_*``: attested_by,
justification, evidence reference) so the HTML tests can prove they are escaped.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from typing import Any

from auditor.assessment.attestations import Answer, AnswerBook, outcomes
from auditor.assessment.catalog import load_catalog
from auditor.assessment.scoring import apply_answers, requirement_results, verdict_fields
from auditor.assessment.slvector import SLVector
from auditor.engine import summarize
from auditor.evidence import AssetEvidence, EvidenceBundle, EvidenceItem, EvidenceRequest, number_items
from auditor.plant.inventory import Inventory
from auditor.results import AnswerRef, AssetResult, CheckResult, LevelEvaluation, ScanResult, Summary

HOSTILE_SCRIPT = "<script>alert(1)</script>"
HOSTILE_ATTR = '"><img src=x onerror=alert(1)>'
HOSTILE_TEMPLATE = "{{7*7}}"
HOSTILES = (HOSTILE_SCRIPT, HOSTILE_ATTR, HOSTILE_TEMPLATE)
# hostile text a person typed into an answers file (distinct from the device-controlled ones above)
ANSWER_HOSTILE_BY = "M. Smith <img src=x onerror=alert('by')>"
ANSWER_HOSTILE_JUSTIFICATION = "<script>alert('justification')</script> nightly backups"
ANSWER_HOSTILE_EVIDENCE = "\"><svg onload=alert('evidence')>"
ANSWER_HOSTILES = (ANSWER_HOSTILE_BY, ANSWER_HOSTILE_JUSTIFICATION, ANSWER_HOSTILE_EVIDENCE)

TOOL = {"name": "iacs-auditor", "version": "0.1.0"}
STARTED = datetime(2025, 11, 20, 9, 15, 0, tzinfo=timezone.utc)
FINISHED = STARTED + timedelta(seconds=47, milliseconds=300)
SITE = "Riverside Water & Wastewater, plant 2"
ANSWERS_FILE = "answers.yaml"
AS_OF = STARTED.date()
HMI_PRODUCT = {"vendor": "Acme Automation", "name": "OperatorStation", "model": "OS-2200", "firmware": "4.2.1"}

UNKNOWN_CHECK = "acme.historian.audit-forwarding"  # third-party pack, not installed here
PLC_ERROR = f"ssh://{HOSTILE_ATTR}:22: connection timed out after 10 s; modbus://{HOSTILE_ATTR}:502: connection refused"


def _sudo(command: str) -> EvidenceRequest:
    return EvidenceRequest(protocol="ssh", op="exec", target=command, options=(("sudo", True),))


def _exec(command: str) -> EvidenceRequest:
    return EvidenceRequest(protocol="ssh", op="exec", target=command)


SESSION = EvidenceRequest(protocol="ssh", op="session", target="info")


def _item(asset: str, request: EvidenceRequest, response: Any, *, exit_code: int | None = 0,
          offset: float = 0.0) -> EvidenceItem:
    is_json = not isinstance(response, str)
    return EvidenceItem(
        asset=asset, endpoint="ssh:22", request=request, exit_code=None if is_json else exit_code,
        encoding="json" if is_json else "text", response=json.dumps(response) if is_json else response,
        meta={"sudo": bool(request.option("sudo"))}, collected_at=STARTED + timedelta(seconds=1 + offset),
        duration_ms=12.5)


def _session(banner: str | None) -> dict[str, Any]:
    return {"port": 22, "username": "auditor", "server_version": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3",
            "host_key_type": "ssh-ed25519", "host_key_fingerprint": "SHA256:q0Jx0mU3mXb4eC1o0m0O8pYQm6oJ0n8Xy3c0H3l8s1E",
            "auth_methods": ["publickey", "password"], "banner": banner, "sudo": True,
            "negotiated": {"cipher": "aes256-gcm@openssh.com", "mac": "<implicit>", "kex": "curve25519-sha256"}}


def build_evidence() -> EvidenceBundle:
    """The evidence bundle the result's evidence ids and manifest hash refer to."""
    inventory = Inventory.model_validate({
        "site": SITE,
        "zones": [{"id": "control", "sl_target": 2}, {"id": "dmz", "sl_target": 1}],
        "assets": [
            {"id": "hmi-01", "type": "host", "zone": "dmz", "address": "10.10.1.5", "sl_target": 1,
             "product": HMI_PRODUCT,
             "endpoints": [{"protocol": "ssh", "username": "auditor", "key_file": "~/.ssh/audit_ed25519"}]},
            {"id": "eng-ws-02", "type": "host", "zone": "control", "address": "10.10.1.22",
             "sl_target": {"FR1": 2, "FR2": 2, "FR3": 2, "FR4": 1, "FR5": 2, "FR6": 1, "FR7": 2},
             "endpoints": [{"protocol": "ssh", "username": "auditor", "key_file": "~/.ssh/audit_ed25519"}]},
            {"id": "plc-03", "type": "embedded", "zone": "control", "address": "10.10.2.10",
             "endpoints": [{"protocol": "ssh", "username": "auditor", "password_env": "PLC_PW"},
                           {"protocol": "modbus", "unit_id": 1}]},
        ]})
    hmi = [
        _item("hmi-01", _sudo("sshd -T"), "permitrootlogin no\npasswordauthentication no\n"
              "ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\n"),
        _item("hmi-01", _exec("head -v /etc/login.defs /etc/security/pwquality.conf"),
              "==> /etc/login.defs <==\nPASS_MAX_DAYS 90\n\n==> /etc/security/pwquality.conf <==\nminlen = 14\n", offset=0.1),
        _item("hmi-01", SESSION, _session("Authorised use only. Activity is monitored."), offset=0.2),
        _item("hmi-01", _exec("systemctl is-active auditd chronyd systemd-journald"), "active\nactive\nactive\n", offset=0.3),
        _item("hmi-01", _sudo("iptables -S"), "-P INPUT DROP\n-P FORWARD DROP\n-P OUTPUT ACCEPT\n"
              "-A INPUT -p tcp --dport 22 -s 10.10.0.0/24 -j ACCEPT\n", offset=0.4),
        _item("hmi-01", _exec("systemctl list-unit-files --state=enabled --no-legend"),
              "ssh.service enabled enabled\nchrony.service enabled enabled\n", offset=0.5),
        _item("hmi-01", _exec("dpkg -s aide"), "dpkg-query: package 'aide' is not installed\n", exit_code=1, offset=0.6),
    ]
    eng = [
        _item("eng-ws-02", _sudo("sshd -T"), "permitrootlogin yes\npasswordauthentication yes\n"
              "ciphers aes128-cbc,3des-cbc,aes256-gcm@openssh.com\n"),
        _item("eng-ws-02", _exec("head -v /etc/login.defs /etc/security/pwquality.conf /etc/security/faillock.conf"),
              "==> /etc/login.defs <==\nPASS_MAX_DAYS 99999\n\n==> /etc/security/pwquality.conf <==\nminlen = 6\n\n"
              "head: cannot open '/etc/security/faillock.conf' for reading: No such file or directory\n",
              exit_code=1, offset=0.1),
        _item("eng-ws-02", SESSION, _session(HOSTILE_SCRIPT), offset=0.2),
        _item("eng-ws-02", _exec("systemctl is-active auditd chronyd systemd-journald"),
              f"{HOSTILE_TEMPLATE}\nactive\nactive\n", exit_code=3, offset=0.3),
        _item("eng-ws-02", _sudo("iptables -S"), "-P INPUT ACCEPT\n-P FORWARD ACCEPT\n-P OUTPUT ACCEPT\n", offset=0.4),
        _item("eng-ws-02", _sudo("cat /etc/sudoers /etc/sudoers.d/*"),
              "root ALL=(ALL:ALL) ALL\n%operators ALL=(ALL) NOPASSWD: ALL\n", offset=0.5),
        _item("eng-ws-02", _exec("systemctl list-unit-files --state=enabled --no-legend"),
              "telnet.socket enabled enabled\nrsh.socket enabled enabled\nssh.service enabled enabled\n", offset=0.6),
        _item("eng-ws-02", _exec("apt list --upgradable"), "Listing...\n" + "".join(
            f"libfoo{i}/stable-security 1.{i} amd64 [upgradable from: 1.0]\n" for i in range(37)), offset=0.7),
        _item("eng-ws-02", _exec("dpkg -s aide"), "dpkg-query: package 'aide' is not installed\n", exit_code=1, offset=0.8),
    ]
    number_items("hmi-01", hmi)
    number_items("eng-ws-02", eng)
    assets = [
        AssetEvidence(asset="hmi-01", started_at=STARTED, finished_at=STARTED + timedelta(seconds=3), items=hmi),
        AssetEvidence(asset="eng-ws-02", started_at=STARTED, finished_at=STARTED + timedelta(seconds=4), items=eng),
        AssetEvidence(asset="plc-03", status="error", started_at=STARTED, finished_at=FINISHED,
                      error="ssh://10.10.2.10:22: connection timed out after 10 s",
                      endpoint_errors=["ssh://10.10.2.10:22: connection timed out after 10 s",
                                       "modbus://10.10.2.10:502: connection refused"]),
    ]
    return EvidenceBundle(tool=TOOL, started_at=STARTED, finished_at=FINISHED, inventory=inventory, assets=assets)


def _check(check_id: str, title: str, status: str, severity: str, requirements: list[str], *,
           observed: Any = None, expected: str | None = None, reason: str = "", evidence: list[str] = (),
           remediation: str = "", target_sl: int | None = 1) -> CheckResult:
    return CheckResult(check_id=check_id, title=title, status=status, severity=severity, requirements=requirements,
                       target_sl=target_sl, observed=observed, expected=expected, reason=reason,
                       evidence=list(evidence), remediation=remediation)


ROOT_LOGIN = ("linux.sshd.permit-root-login", "SSH does not allow direct root login")
PW_LENGTH = ("linux.pam.password-min-length", "Minimum password length is enforced")
BANNER = ("linux.login.banner", "A system use notification is shown before login")
SUDO = ("linux.sudo.no-nopasswd", "sudo always asks for the user's password")
AUDITD = ("linux.auditd.enabled", "The audit daemon is running")
NTP = ("linux.time.ntp-sync", "The clock is synchronised to a time source")
GPG = ("linux.pkg.gpgcheck", "Package sources are signature-checked")
CIPHERS = ("linux.sshd.ciphers", "SSH offers only strong ciphers")
FIREWALL = ("linux.firewall.default-deny", "The host firewall drops unsolicited inbound traffic")
JOURNAL = ("linux.journald.persistent", "System logs survive a reboot")
SERVICES = ("linux.services.unneeded", "No legacy remote-access services are enabled")
AIDE = ("linux.fim.aide", "File integrity monitoring is installed and scheduled")
USB = ("linux.usb.storage-disabled", "USB mass storage is disabled")
UPDATES = ("linux.pkg.pending-updates", "Security updates are applied")


def _hmi_results() -> list[CheckResult]:
    e = "hmi-01#"
    return [
        _check(*ROOT_LOGIN, "pass", "high", ["SR 1.1", "CR 1.1"], observed="no", expected="no",
               evidence=[e + "1"], remediation="Set `PermitRootLogin no` in /etc/ssh/sshd_config and reload sshd."),
        _check(*PW_LENGTH, "pass", "medium", ["SR 1.7", "CR 1.7"], observed=14, expected=">= 12",
               evidence=[e + "2"], remediation="Set `minlen = 12` (or more) in /etc/security/pwquality.conf."),
        _check(*BANNER, "pass", "low", ["SR 1.12", "CR 1.12"],
               observed="Authorised use only. Activity is monitored.", expected="a non-empty pre-login banner",
               evidence=[e + "3"], remediation="Put the site's use notification in /etc/issue.net and set `Banner /etc/issue.net`."),
        _check(*SUDO, "pass", "high", ["SR 2.1", "CR 2.1"], observed=[], expected="no NOPASSWD rules",
               evidence=[], remediation="Remove NOPASSWD from /etc/sudoers and /etc/sudoers.d/*."),
        _check(*AUDITD, "pass", "medium", ["SR 2.8", "CR 2.8"], observed="active", expected="active",
               evidence=[e + "4"], remediation="Install auditd and `systemctl enable --now auditd`."),
        _check(*NTP, "pass", "medium", ["SR 2.11", "CR 2.11", "CR 2.11 RE1"], observed="chronyd active",
               expected="an NTP client running", evidence=[e + "4"], remediation="Enable chronyd or systemd-timesyncd."),
        _check(*CIPHERS, "pass", "high", ["SR 3.1", "CR 3.1", "SR 4.3", "CR 4.3"],
               observed=["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"],
               expected="no CBC, 3DES or arcfour ciphers", evidence=[e + "1"],
               remediation="Set `Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com`."),
        _check(*FIREWALL, "pass", "high", ["SR 5.1", "CR 5.1"], observed={"INPUT": "DROP", "FORWARD": "DROP"},
               expected="INPUT policy DROP or REJECT", evidence=[e + "5"],
               remediation="Set a default-deny inbound policy (nftables/iptables/firewalld) with explicit allow rules."),
        _check(*JOURNAL, "pass", "low", ["SR 6.1", "CR 6.1"], observed="active", expected="journald active",
               evidence=[e + "4"], remediation="Set `Storage=persistent` in /etc/systemd/journald.conf."),
        _check(*SERVICES, "pass", "medium", ["SR 7.7", "CR 7.7"], observed=[], expected="no telnet/rsh/rlogin/tftp",
               evidence=[e + "6"], remediation="Disable and mask the listed units."),
        _check(*AIDE, "manual", "medium", ["SR 3.4", "CR 3.4"], observed="aide not installed",
               expected="file integrity monitoring in place",
               reason="AIDE is absent; another FIM product may be in use: confirm with the system owner.",
               evidence=[e + "7"], remediation="Install AIDE, initialise its database and schedule a daily check."),
        _check(*USB, "not_applicable", "low", ["HDR 2.13"], reason="usb-storage module is not built for this kernel",
               target_sl=2, remediation="Blacklist usb-storage in /etc/modprobe.d/."),
    ]


def _eng_results() -> list[CheckResult]:
    e = "eng-ws-02#"
    return [
        _check(*ROOT_LOGIN, "fail", "high", ["SR 1.1", "CR 1.1"], observed="yes", expected="no",
               reason="PermitRootLogin yes lets anyone who knows the root password log in over the network.",
               evidence=[e + "1"], remediation="Set `PermitRootLogin no` in /etc/ssh/sshd_config and reload sshd."),
        _check("linux.sshd.password-authentication", "SSH password logins are disabled", "fail", "medium",
               ["SR 1.1 RE1", "CR 1.1 RE1", "SR 1.5", "CR 1.5"], observed="yes", expected="no", target_sl=1,
               reason="Password authentication is offered to every network peer.", evidence=[e + "1", e + "3"],
               remediation="Set `PasswordAuthentication no` and use keys (or certificates) for every account."),
        _check(*PW_LENGTH, "fail", "medium", ["SR 1.7", "CR 1.7"], observed=6, expected=">= 12",
               reason="minlen = 6 in /etc/security/pwquality.conf", evidence=[e + "2"],
               remediation="Set `minlen = 12` (or more) in /etc/security/pwquality.conf."),
        _check("linux.pam.faillock", "Repeated failed logins lock the account", "fail", "medium", ["SR 1.11", "CR 1.11"],
               observed={"deny": None, "unlock_time": None}, expected="deny <= 5, unlock_time >= 900",
               reason="/etc/security/faillock.conf is missing and pam_faillock is not in the PAM stack.",
               evidence=[e + "2"], remediation="Enable pam_faillock (authselect enable-feature with-faillock on RHEL)."),
        _check(*BANNER, "fail", "low", ["SR 1.12", "CR 1.12"], observed=HOSTILE_SCRIPT,
               expected="the site-approved use notification",
               reason=f"The banner does not contain the approved text; it reads {HOSTILE_SCRIPT}",
               evidence=[e + "3"], remediation="Put the site's use notification in /etc/issue.net and set `Banner /etc/issue.net`."),
        _check(*SUDO, "fail", "high", ["SR 2.1", "CR 2.1", "CR 2.1 RE1"],
               observed=["%operators ALL=(ALL) NOPASSWD: ALL"], expected="no NOPASSWD rules",
               reason="Members of %operators get root without re-authenticating.", evidence=[e + "6"],
               remediation="Remove NOPASSWD from /etc/sudoers and /etc/sudoers.d/*."),
        _check(*AUDITD, "error", "medium", ["SR 2.8", "CR 2.8"], observed=HOSTILE_TEMPLATE,
               reason=f"evidence unparseable for fact 'service_states': unexpected line {HOSTILE_TEMPLATE!r} "
                      "from systemctl is-active",
               evidence=[e + "4"], remediation="Install auditd and `systemctl enable --now auditd`."),
        _check(*NTP, "pass", "medium", ["SR 2.11", "CR 2.11", "CR 2.11 RE1"], observed="chronyd active",
               expected="an NTP client running", evidence=[e + "4"], remediation="Enable chronyd or systemd-timesyncd."),
        _check(*CIPHERS, "fail", "high", ["SR 3.1", "CR 3.1", "SR 4.3", "CR 4.3"],
               observed=["aes128-cbc", "3des-cbc", "aes256-gcm@openssh.com"], expected="no CBC, 3DES or arcfour ciphers",
               reason="CBC-mode and 3DES ciphers are offered.", evidence=[e + "1"],
               remediation="Set `Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com`."),
        _check(*FIREWALL, "fail", "high", ["SR 5.1", "CR 5.1"], observed={"INPUT": "ACCEPT", "rules": 0},
               expected="INPUT policy DROP or REJECT", reason="No packet filter: every listening service is reachable.",
               evidence=[e + "5"],
               remediation="Set a default-deny inbound policy (nftables/iptables/firewalld) with explicit allow rules."),
        _check(*JOURNAL, "pass", "low", ["SR 6.1", "CR 6.1"], observed="active", expected="journald active",
               evidence=[e + "4"], remediation="Set `Storage=persistent` in /etc/systemd/journald.conf."),
        _check(UNKNOWN_CHECK, "Historian forwards audit records to the SIEM", "fail", "critical", ["SR 6.2", "CR 6.2"],
               observed={"forwarding": False, "target": None}, expected="forwarding enabled to the site SIEM",
               reason="Audit forwarding is switched off in the historian configuration.", target_sl=2,
               evidence=[], remediation="Enable syslog forwarding in Historian > Settings > Audit."),
        _check(*SERVICES, "fail", "low", ["SR 7.7", "CR 7.7"], observed=["telnet.socket", "rsh.socket"],
               expected="no telnet/rsh/rlogin/tftp", reason="Legacy clear-text remote shells are enabled.",
               evidence=[e + "7"], remediation="`systemctl disable --now telnet.socket rsh.socket` and mask them."),
        _check(*AIDE, "fail", "medium", ["SR 3.4", "CR 3.4"], observed="aide not installed",
               expected="file integrity monitoring in place", reason="No file integrity tool found (SL-T 2 needs one).",
               evidence=[e + "9"], remediation="Install AIDE, initialise its database and schedule a daily check."),
        _check(*UPDATES, "manual", "info", ["SR 3.2", "HDR 3.10"], observed={"upgradable": 37, "cache_age_days": 41},
               expected="patches applied per the site's patch process",
               reason="37 upgradable packages in the cached lists (cache 41 days old); patching is a process "
                      "decision (IEC 62443-2-3).", evidence=[e + "8"],
               remediation="Apply vendor-approved updates in the next maintenance window."),
        _check(*USB, "waived", "low", ["HDR 2.13"], observed="usb-storage loadable", expected="usb-storage blacklisted",
               reason="waived until 2026-06-30: USB ports are physically blocked (ticket OPS-1142)", target_sl=2,
               evidence=[], remediation="Blacklist usb-storage in /etc/modprobe.d/."),
    ]


def _plc_results() -> list[CheckResult]:
    reason = f"asset could not be assessed: {PLC_ERROR}"
    return [
        _check("modbus.access.unauthenticated-read", "Modbus reads need authentication", "error", "high",
               ["SR 1.2", "CR 1.2"], reason=reason, target_sl=2,
               remediation="Restrict Modbus/TCP to the engineering subnet or enable Modbus/TCP Security."),
        _check("modbus.device.identification", "The device identifies its firmware version", "error", "info",
               ["SR 7.8", "CR 7.8"], reason=reason, target_sl=2, remediation="Record firmware versions in the inventory."),
        _check("ssh.session.banner", "A system use notification is shown before login", "error", "low",
               ["SR 1.12", "CR 1.12"], reason=reason, remediation="Configure the login banner."),
    ]


def _asset(asset_id: str, component_type: str, zone: str | None, address: str, profile: str, target: SLVector,
           results: list[CheckResult], *, status: str = "assessed", error: str | None = None,
           endpoint_errors: list[str] = (), book: AnswerBook | None = None,
           levels: list[LevelEvaluation] | None = None, product: dict[str, str] | None = None) -> AssetResult:
    rows = load_catalog().rows("component", component_type)
    answers: dict[str, AnswerRef] = {}
    claims: dict[str, AnswerRef] = {}
    if book is not None:
        answers = book.match(asset_id, zone, component_type, rows, AS_OF)
        claims = book.match(asset_id, zone, component_type, rows, AS_OF, capability=True)
    requirements = apply_answers(requirement_results(rows, results), answers, claims)
    applied = target.highest()
    if levels is None:
        levels = [LevelEvaluation(sl=level, profile=None) for level in range(applied + 1, 5)]
    return AssetResult(
        id=asset_id, type=component_type, zone=zone, address=address, profile=profile, status=status, error=error,
        sl_target=target, applied_sl=applied, levels=levels, results=results, endpoint_errors=list(endpoint_errors),
        product=dict(product or {}),
        **verdict_fields(requirements, target, applied_sl=applied, levels=levels, assessed=status == "assessed"))


DOE = "J. Doe, OT security lead"
VENDOR = "Acme Automation PSIRT"
CHECKLIST_SHA256 = "3f0a6c1e9b2d4f5a6b7c8d9e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c"


def _entry(requirement: str, answer: str, *, assets: list[str], attested_by: str = DOE,
           when: date = date(2025, 11, 18), expires: date | None = date(2026, 11, 18), evidence: list[Any] = (),
           justification: str | None = None, capability: bool = False) -> Answer:
    return Answer(requirement=requirement, assets=assets, answer=answer, attested_by=attested_by, date=when,
                  expires=expires, evidence=list(evidence), justification=justification, capability=capability)


# hmi-01's rows up to SL 1 that no check decides (open without answers, or manual), answered one by one
HMI_ANSWERED = ("CR 1.3", "CR 1.4", "CR 1.5", "CR 1.10", "CR 1.11", "HDR 2.4", "CR 2.5", "CR 2.9", "CR 2.10",
                "CR 2.12", "HDR 3.2", "CR 3.3", "CR 3.5", "CR 3.6", "CR 3.7", "HDR 3.10", "HDR 3.14", "CR 4.1",
                "CR 7.1", "CR 7.2", "CR 7.3", "CR 7.4", "CR 7.6")
# the vendor's capability claims for hmi-01's product: FR1 rows up to SL 2, FR7 rows at SL 1
HMI_CLAIMED = ("CR 1.1", "CR 1.1 RE1", "CR 1.2", "CR 1.3", "CR 1.4", "CR 1.5", "CR 1.7", "CR 1.8", "CR 1.9",
               "CR 1.10", "CR 1.11", "CR 1.12", "CR 1.14", "CR 7.1", "CR 7.2", "CR 7.3", "CR 7.4", "CR 7.6",
               "CR 7.7")


def build_answers() -> AnswerBook:
    """The answers file of the fixture, as loaded (file evidence hashed)."""
    hmi, eng = ["hmi-01"], ["eng-ws-02"]
    entries: list[Answer] = [
        _entry("CR 1.1", "met", assets=hmi, evidence=[{"ref": "IAM procedure IAM-04 rev 2"}]),  # confirmed
        _entry("CR 3.4", "met", assets=hmi, evidence=[{"ref": "Tripwire integrity report TW-2025-11-14"}],
               justification="File integrity is monitored by the site's Tripwire agent, not AIDE."),  # a manual row
        _entry("CR 2.2", "not_applicable", assets=hmi, evidence=[{"url": "https://docs.acme.invalid/os-2200/datasheet"}],
               justification="The OS-2200 has no wireless interface (no Wi-Fi or Bluetooth hardware)."),
    ]
    entries += [_entry(row, "met", assets=hmi,
                       evidence=[{"ref": f"Hardening checklist HC-7 rev 4, item {row}"},
                                 {"file": "evidence/hmi-01-checklist.pdf"}])
                for row in HMI_ANSWERED]
    entries += [_entry(row, "met", assets=hmi, attested_by=VENDOR, when=date(2025, 10, 1), expires=None,
                       capability=True, evidence=[{"ref": "OperatorStation security manual v4.2, section 5.3"}])
                for row in HMI_CLAIMED]
    entries += [
        _entry("CR 1.7", "met", assets=eng, evidence=[{"ref": "Password policy PP-2 rev 1"}]),  # overruled
        _entry("CR 1.3", "not_met", assets=eng,
               justification="The shared account 'ops' is still used on this workstation (ticket OPS-1201)."),
        _entry("CR 1.2", "met", assets=eng, attested_by="K. Lee, IT security", when=date(2024, 10, 1),
               expires=date(2025, 10, 1), evidence=[{"ref": "Device PKI procedure P-12 rev 3"}]),  # expired
        _entry("CR 7.3", "met", assets=eng, attested_by=ANSWER_HOSTILE_BY, when=date(2025, 11, 19),
               justification=ANSWER_HOSTILE_JUSTIFICATION,
               evidence=[{"ref": ANSWER_HOSTILE_EVIDENCE}, {"url": "https://backup.invalid/jobs?id=7&view=<b>"}]),
    ]
    labelled = [(f"answers[{n}] ({entry.requirement})", entry) for n, entry in enumerate(entries)]
    return AnswerBook(entries=labelled, source=ANSWERS_FILE,
                      hashes={"evidence/hmi-01-checklist.pdf": CHECKLIST_SHA256},
                      expired=[label for label, entry in labelled if not entry.current(AS_OF)])


def _summary(assets: list[AssetResult]) -> Summary:
    return summarize(assets)


def build_assets(book: AnswerBook | None = None) -> list[AssetResult]:
    book = build_answers() if book is None else book
    hmi_levels = [LevelEvaluation(sl=2, profile="host-sl2", changed={"CR 1.7": "failed"}),
                  LevelEvaluation(sl=3, profile="host-sl3", changed={"CR 1.7": "failed"}),
                  LevelEvaluation(sl=4, profile=None)]
    return [
        _asset("hmi-01", "host", "dmz", "10.10.1.5", "host-sl1", SLVector.uniform(1), _hmi_results(), book=book,
               levels=hmi_levels, product=HMI_PRODUCT),
        _asset("eng-ws-02", "host", "control", "10.10.1.22", "host-sl2",
               SLVector.model_validate({"FR1": 2, "FR2": 2, "FR3": 2, "FR4": 1, "FR5": 2, "FR6": 1, "FR7": 2}),
               _eng_results(), book=book),
        _asset("plc-03", "embedded", f"control {HOSTILE_TEMPLATE}", HOSTILE_ATTR, "embedded-sl2", SLVector.uniform(2),
               _plc_results(), status="error", error=PLC_ERROR,
               endpoint_errors=[f"ssh://{HOSTILE_ATTR}:22: connection timed out after 10 s",
                                f"modbus://{HOSTILE_ATTR}:502: connection refused"]),
    ]


def result_with(assets: list[AssetResult], bundle: EvidenceBundle | None = None,
                book: AnswerBook | None = None) -> ScanResult:
    """A ScanResult around the given assets, with the fixture's header fields and a consistent summary.

    With ``book``, the result also carries what each answers file entry did (``attestations``)."""
    return ScanResult(
        tool=TOOL, site=SITE, started_at=STARTED, finished_at=FINISHED, profile="inventory", basis="component",
        evidence_manifest_sha256=(bundle or build_evidence()).manifest_sha256, interrupted=False,
        summary=_summary(assets), assets=assets,
        attestations=outcomes(book, assets, AS_OF) if book is not None else [],
        attestations_source=book.source if book is not None else None)


def build_result() -> ScanResult:
    """The three-asset result described in the module docstring."""
    book = build_answers()
    return result_with(build_assets(book), book=book)


def asset_without_results(asset_id: str = "sw-04") -> AssetResult:
    """An assessed network asset for which no check was selected: every requirement ``not_assessed``."""
    return _asset(asset_id, "network", None, "10.10.0.4", "network-sl1", SLVector.uniform(1), [])
