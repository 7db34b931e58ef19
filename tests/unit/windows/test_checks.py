"""Every Windows check on recorded evidence: fail on the weak HMI, pass on the hardened historian, and the
edge cases that decide a verdict (unreadable evidence is an error, never a pass)."""

from __future__ import annotations

import pytest

from auditor.registry import REGISTRY, contract_problems
from checks.windows.facts.policy import parse_auditpol_csv
from checks.windows.facts.system import parse_w32tm_status
from checks.windows.malware import product_state
from tests.unit.windows.evidence import WindowsEvidence

WINDOWS_CHECKS = sorted(c.id for c in REGISTRY.load().checks.values() if c.id.startswith("windows."))
LSA = r"HKLM:\SYSTEM\CurrentControlSet\Control\Lsa"
TS_POLICY = r"HKLM:\SOFTWARE\Policies\Microsoft\Windows NT\Terminal Services"
TS_SERVER = r"HKLM:\SYSTEM\CurrentControlSet\Control\Terminal Server"


def weak() -> WindowsEvidence:
    return WindowsEvidence("windows-weak")


def hardened() -> WindowsEvidence:
    return WindowsEvidence("windows-hardened")


def test_the_pack_has_at_least_35_checks_over_all_seven_frs() -> None:
    specs = [REGISTRY.check(c) for c in WINDOWS_CHECKS]
    assert len(specs) >= 35
    frs = {r.split()[1].split(".")[0] for s in specs for r in s.requirements}
    assert frs == {"1", "2", "3", "4", "5", "6", "7"}
    assert all(REGISTRY.platforms_of(s) == ("windows",) for s in specs)
    assert not {s.id: contract_problems(s) for s in specs if contract_problems(s)}


@pytest.mark.parametrize("check_id", WINDOWS_CHECKS)
def test_weak_hmi_gives_the_declared_verdict(check_id: str) -> None:
    verdict = weak().check(check_id)
    assert verdict.status == REGISTRY.check(check_id).fixture_verdicts["weak"], verdict.reason
    assert verdict.expected and verdict.observed is not None


@pytest.mark.parametrize("check_id", WINDOWS_CHECKS)
def test_hardened_historian_passes(check_id: str) -> None:
    verdict = hardened().check(check_id)
    assert verdict.status == REGISTRY.check(check_id).fixture_verdicts["hardened"] == "pass", verdict.reason


@pytest.mark.parametrize("check_id", WINDOWS_CHECKS)
def test_a_failed_section_is_an_error_never_a_pass(check_id: str) -> None:
    """Every section of the hardened host throws (access denied): no check may pass on that."""
    evidence = hardened()
    for name in list(evidence.data):
        evidence.fail(name)
    verdict = evidence.check(check_id)
    assert verdict.status == "error", (verdict.status, verdict.reason)
    assert "Access is denied" in verdict.reason


@pytest.mark.parametrize("check_id", WINDOWS_CHECKS)
def test_uncollected_evidence_is_an_error(check_id: str) -> None:
    evidence = hardened()
    for name in list(evidence.data):
        evidence.drop(name)
    assert evidence.check(check_id).status == "error"


def test_profile_parameters_tighten_the_same_evidence() -> None:
    assert hardened().check("windows.password.min-length", min_length=16).status == "fail"
    assert hardened().check("windows.session.lock", max_seconds=120).status == "fail"
    assert hardened().check("windows.malware.signatures", max_signature_age_days=0).status == "pass"


def test_secedit_without_an_administrator_is_unavailable() -> None:
    evidence = hardened().set("windows.security-policy", {"ExitCode": 5, "Inf": None})
    verdict = evidence.check("windows.password.min-length")
    assert verdict.status == "error" and "Administrators" in verdict.reason


def test_lockout_threshold_edges() -> None:
    def inf(count: int, duration: int | None) -> str:
        extra = f"LockoutDuration = {duration}\n" if duration is not None else ""
        return f"[System Access]\nLockoutBadCount = {count}\n{extra}"

    for count, duration, status in ((5, 0, "pass"), (5, 15, "pass"), (5, 5, "fail"), (50, 30, "fail"), (2, 30, "fail")):
        evidence = hardened().set("windows.security-policy", {"ExitCode": 0, "Inf": inf(count, duration)})
        assert evidence.check("windows.lockout.threshold").status == status, (count, duration)


def test_german_auditpol_and_w32tm_output_are_understood() -> None:
    policy = parse_auditpol_csv("Computername,Richtlinienziel,Unterkategorie,Unterkategorie-GUID,"
                                "Einschlusseinstellung,Ausschlusseinstellung\n"
                                "H,System,Anmelden,{0CCE9215-69AE-11D9-BED3-505054503030},Erfolg und Fehler,\n")
    logon = policy.subcategories["0CCE9215-69AE-11D9-BED3-505054503030"]
    assert (logon.success, logon.failure) == (True, True)
    status = parse_w32tm_status("Sprungindikator: 0(keine Warnung)\nStratum: 4 (Sekundärreferenz)\nQuelle: dc01\n")
    assert (status.leap, status.stratum, status.source) == (0, 4, "dc01")


def test_an_unknown_audit_setting_is_reported_not_guessed() -> None:
    evidence = hardened().edit("windows.audit-policy", lambda d: d.update(
        Csv=d["Csv"].replace("Logon,{0CCE9215-69AE-11D9-BED3-505054503030},Success and Failure",
                             "Logon,{0CCE9215-69AE-11D9-BED3-505054503030},Réussite et échec")))
    verdict = evidence.check("windows.audit.logon")
    assert verdict.status == "fail" and verdict.observed["not_understood"]


def test_auditpol_csv_with_a_lone_carriage_return_is_an_error_not_a_crash() -> None:
    # found by the fuzzer: the csv module refuses a bare "\r" inside an unquoted field
    evidence = hardened().edit("windows.audit-policy",
                               lambda d: d.update(Csv=d["Csv"].replace("Logon,", "Lo\rgon,", 1)))
    verdict = evidence.check("windows.audit.logon")
    assert verdict.status == "error" and "no readable CSV" in verdict.reason and "crashed" not in verdict.reason


def test_third_party_antivirus_counts_through_the_security_center() -> None:
    assert product_state(397568) == (True, True) and product_state(393472) == (False, True)
    evidence = weak().edit("windows.antivirus", lambda d: d.update(
        Defender=None, DefenderError="Get-MpComputerStatus: 0x800106ba",
        SecurityCenter=[{"displayName": "Trellix Endpoint Security", "productState": 266240}]))
    assert evidence.check("windows.malware.antivirus").status == "pass"
    assert evidence.check("windows.malware.signatures").status == "pass"
    stale = weak().edit("windows.antivirus", lambda d: d.update(
        Defender=None, SecurityCenter=[{"displayName": "Trellix Endpoint Security", "productState": 266256}]))
    assert stale.check("windows.malware.signatures").status == "fail"


def test_secure_boot_states() -> None:
    assert weak().check("windows.boot.secure-boot").reason.startswith("legacy BIOS")
    off = hardened().set("windows.secure-boot", {"SecureBoot": False, "Error": None})
    assert off.check("windows.boot.secure-boot").status == "fail"
    denied = hardened().set("windows.secure-boot", {"SecureBoot": None, "Error": "Access was denied."})
    assert denied.check("windows.boot.secure-boot").status == "error"


def test_rdp_disabled_passes_the_rdp_checks_without_session_limits() -> None:
    def disable(data: dict) -> None:
        data[TS_POLICY] = {"Exists": False, "Values": {}}
        data[TS_SERVER] = {"Exists": True, "Values": {"fDenyTSConnections": 1}}

    evidence = weak().edit("windows.registry", disable)
    assert evidence.check("windows.rdp.idle-limits").status == "pass"
    assert evidence.check("windows.rdp.nla-tls").status == "pass"


def test_application_control_modes() -> None:
    audit_only = hardened().set("windows.device-guard", {"UsermodeCodeIntegrityPolicyEnforcementStatus": 0}).edit(
        "windows.applocker", lambda d: d.update(PolicyXml=d["PolicyXml"].replace('Type="Exe" EnforcementMode="Enabled"',
                                                                               'Type="Exe" EnforcementMode="AuditOnly"')))
    assert audit_only.check("windows.appcontrol.enforced").reason == "AppLocker only audits executables"
    applocker = hardened().set("windows.device-guard", {"UsermodeCodeIntegrityPolicyEnforcementStatus": 0})
    assert applocker.check("windows.appcontrol.enforced").status == "pass"
    no_service = applocker.edit("windows.services", lambda d: d.__setitem__(0, {**d[0], "Status": "Stopped"}))
    assert no_service.check("windows.appcontrol.enforced").status == "fail"


def test_lm_level_absent_means_the_default_that_accepts_ntlmv1() -> None:
    evidence = hardened().edit("windows.registry", lambda d: d[LSA]["Values"].update(LmCompatibilityLevel=None))
    assert evidence.check("windows.auth.lm-ntlmv1-refused").status == "fail"


def test_listeners_ignore_loopback_and_rpc_dynamic_ports_only() -> None:
    verdict = weak().check("windows.services.listening-allow-list")
    assert "3389/tcp" in verdict.reason and "49664" not in verdict.reason
    extra = hardened().edit("windows.listeners", lambda d: d.append(
        {"LocalAddress": "0.0.0.0", "LocalPort": 50000, "OwningProcess": 9, "Process": "rogue"}))
    assert extra.check("windows.services.listening-allow-list").status == "fail"


def test_backup_with_only_old_shadow_copies_fails() -> None:
    evidence = weak().set("windows.shadow-copies", [{"VolumeName": "v", "InstallDate": "2026-01-01T00:00:00Z"}])
    assert evidence.check("windows.backup.detected").status == "fail"


def test_update_age_is_measured_on_the_hosts_clock() -> None:
    verdict = hardened().check("windows.updates.recent")
    assert verdict.observed["age_days"] == 17
    later = hardened().edit("windows.os", lambda d: d.update(Now="2027-03-01T00:00:00Z"))
    assert later.check("windows.updates.recent").status == "fail"


def test_an_umlaut_mangled_by_the_console_code_page_is_still_understood() -> None:
    for text in ("Keine Überwachung", "Keine \ufffdberwachung", "Keine \x9aberwachung"):
        policy = parse_auditpol_csv(f"H,System,Prozesserstellung,{{0CCE922B-69AE-11D9-BED3-505054503030}},{text},\n")
        found = policy.subcategories["0CCE922B-69AE-11D9-BED3-505054503030"]
        assert (found.success, found.failure) == (False, False) and not policy.unknown
