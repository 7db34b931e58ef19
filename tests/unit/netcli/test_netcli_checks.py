"""Every network configuration check on recorded CLI evidence: fail on the weak switch, pass on the hardened one,
and the edge cases each check must get right (defaults IOS leaves out of the configuration, parameters,
not-applicable paths, and error, never a guess, when the evidence is missing or incomplete)."""

from __future__ import annotations

import pytest
from cli_evidence import Recording, netcli_checks, request

from auditor.registry import REGISTRY


@pytest.fixture(scope="module")
def weak() -> Recording:
    return Recording("ios-weak")


@pytest.fixture(scope="module")
def hardened() -> Recording:
    return Recording("ios-hardened")


@pytest.mark.parametrize("check_id", [c.id for c in netcli_checks()])
def test_weak_and_hardened_switch_give_the_declared_verdicts(check_id: str, weak: Recording,
                                                             hardened: Recording) -> None:
    spec = REGISTRY.check(check_id)
    on_weak, on_hardened = weak.check(check_id), hardened.check(check_id)
    assert (on_weak.status, on_hardened.status) == (spec.fixture_verdicts["weak"], spec.fixture_verdicts["hardened"]), (
        on_weak, on_hardened)
    for verdict in (on_weak, on_hardened):
        assert verdict.expected, "every verdict says what was expected"
        if verdict.status == "fail":
            assert verdict.observed is not None or verdict.reason, "a failure shows what was found"


@pytest.mark.parametrize("check_id", [c.id for c in netcli_checks()])
def test_failed_reads_give_error_never_a_verdict(check_id: str) -> None:
    spec = REGISTRY.check(check_id)
    for req in {r.key: r for name in spec.facts for r in REGISTRY.facts[name].requests}.values():
        verdict = Recording("ios-hardened").fail_read(req.target).check(check_id)
        assert verdict.status == "error", (req.target, verdict)
        assert req.target in verdict.reason or "failed" in verdict.reason


def test_a_configuration_read_below_privilege_15_is_an_error_with_the_fix() -> None:
    # what IOS prints for `show running-config` to a user below 15 without command rights: only what it may change
    recording = Recording("ios-hardened").set_text("running-config", "Building configuration...\n\n"
                                                   "Current configuration : 41 bytes\n!\n!\nend\n")
    verdict = recording.check("netcli.vty.ssh-only")
    assert verdict.status == "error" and "privilege 15" in verdict.reason
    refused = Recording("ios-hardened").set_text("running-config", "                    ^\n"
                                                 "% Invalid input detected at '^' marker.\n")
    assert "Invalid input" in refused.check("netcli.aaa.central").reason


def test_secret_storage_types() -> None:
    md5 = Recording("ios-hardened").config(add="username old privilege 1 secret 5 <removed>")
    verdict = md5.check("netcli.users.secret-storage")
    assert verdict.status == "fail" and "MD5" in verdict.reason
    unset_type = Recording("ios-hardened").config(add="username plain password <removed>")
    assert "clear text" in unset_type.check("netcli.users.secret-storage").reason
    none = Recording("ios-hardened").config(drop=r"^username ")
    assert none.check("netcli.users.secret-storage").status == "pass"
    md5_enable = Recording("ios-hardened").config(replace=(r"^enable algorithm-type scrypt secret 9", "enable secret 5"))
    assert md5_enable.check("netcli.enable.secret").status == "fail"
    no_enable = Recording("ios-hardened").config(drop=r"^enable ")
    assert "no enable secret" in no_enable.check("netcli.enable.secret").reason


def test_aaa_needs_a_server_group_first() -> None:
    local_first = Recording("ios-hardened").config(replace=(r"^aaa authentication login default group ISE local",
                                                           "aaa authentication login default local group ISE"))
    assert local_first.check("netcli.aaa.central").status == "fail"


def test_vty_transport_default_is_not_ssh_only() -> None:
    recording = Recording("ios-hardened").config(drop=r"^ transport input ssh")
    verdict = recording.check("netcli.vty.ssh-only")
    assert verdict.status == "fail" and "default" in verdict.reason


def test_exec_timeout_limits_and_default() -> None:
    long_console = Recording("ios-hardened").config(replace=(r"^ exec-timeout 10 0", " exec-timeout 20 0"))
    assert "con 0: 1200 s" in long_console.check("netcli.lines.exec-timeout").reason
    assert long_console.check("netcli.lines.exec-timeout", max_console_seconds=1800).status == "pass"
    # no exec-timeout line: the IOS default of 10 minutes, within the vty limit of 600 s
    default = Recording("ios-hardened").config(drop=r"^ exec-timeout 5 0")
    assert default.check("netcli.lines.exec-timeout").status == "pass"
    assert default.check("netcli.lines.exec-timeout", max_vty_seconds=300).status == "fail"


def test_login_block_attempts_parameter() -> None:
    hardened = Recording("ios-hardened")
    assert hardened.check("netcli.login.block", max_attempts=2).status == "fail"
    assert hardened.check("netcli.password.min-length", min_length=14).status == "fail"


def test_banner_must_not_name_the_device() -> None:
    recording = Recording("ios-hardened").config(replace=(r"^Authorised access only\.", "sw-cell-02: authorised access only."))
    verdict = recording.check("netcli.banner.login")
    assert verdict.status == "fail" and "names the device" in verdict.reason


def test_routed_interfaces_need_a_deny_by_default_acl() -> None:
    layer2 = Recording("ios-hardened").config(drop=r"^ip routing$")
    assert layer2.check("netcli.acl.routed-interfaces").status == "not_applicable"
    permissive = Recording("ios-hardened").config(replace=(r"^ deny   ip any any log\nip access-list extended MGMT-IN",
                                                          " permit ip any any\nip access-list extended MGMT-IN"))
    verdict = permissive.check("netcli.acl.routed-interfaces")
    assert verdict.status == "fail" and "CELL20-IN does not deny by default" in verdict.reason
    undefined = Recording("ios-hardened").config(replace=(r"ip access-group CELL20-IN in", "ip access-group NOPE in"))
    assert "not defined" in undefined.check("netcli.acl.routed-interfaces").reason


def test_logging_trap_level_and_ntp_keys() -> None:
    warnings = Recording("ios-hardened").config(replace=(r"^logging trap informational", "logging trap warnings"))
    assert "warnings" in warnings.check("netcli.logging.remote").reason
    unkeyed = Recording("ios-hardened").config(replace=(r"^ntp server 127.0.10.252 key 1 prefer", "ntp server 127.0.10.252"))
    verdict = unkeyed.check("netcli.ntp.authentication")
    assert verdict.status == "fail" and "127.0.10.252" in verdict.reason
    one_server = Recording("ios-hardened").config(drop=r"^ntp server 127.0.10.252")
    assert one_server.check("netcli.ntp.servers").status == "fail"
    assert one_server.check("netcli.ntp.servers", min_servers=1).status == "pass"


def test_layer2_guards_and_ports() -> None:
    loopguard = Recording("ios-weak").config(add="spanning-tree loopguard default")
    assert loopguard.check("netcli.stp.root-guard").status == "pass"
    per_port_cdp = Recording("ios-hardened").config(replace=(r"^no cdp run$", "cdp run"))
    assert per_port_cdp.check("netcli.services.cdp").status == "fail"
    # a port that came up since the configuration was written: enabled, connected, so not unused
    status = Recording("ios-hardened")
    status.set_text("interfaces-status", status.text("interfaces-status").replace(
        "Gi1/3                        disabled     999", "Gi1/3                        notconnect   999"))
    status.config(replace=(r"(interface GigabitEthernet1/3\n description unused\n switchport access vlan 999\n"
                           r" switchport mode access)\n shutdown", r"\1"))
    verdict = status.check("netcli.ports.unused-shutdown")
    assert verdict.status == "fail" and "GigabitEthernet1/3" in verdict.reason
    https = Recording("ios-hardened").config(replace=(r"^no ip http secure-server", "ip http secure-server"))
    assert https.check("netcli.services.https-restricted").status == "fail"
    assert https.config(add="ip http access-class MGMT-HOSTS").check("netcli.services.https-restricted").status == "pass"


def test_an_http_server_the_configuration_does_not_mention_is_asked_not_passed() -> None:
    silent = Recording("ios-hardened").config(drop=r"ip http (secure-)?server$")
    assert silent.check("netcli.services.http").status == "manual"
    assert silent.check("netcli.services.https-restricted").status == "manual"
    assert silent.config(add="ip http access-class MGMT-HOSTS").check("netcli.services.https-restricted").status == "pass"


def test_the_verdict_names_its_evidence() -> None:
    verdict, used = Recording("ios-weak").check_with_evidence("netcli.vty.ssh-only")
    assert verdict.status == "fail" and used


def test_requests_are_the_four_logical_reads() -> None:
    reads = {r.target for f in REGISTRY.load().facts.values() if f.protocol == "cli" for r in f.requests
             if r.op == "show"}
    assert reads == {"version", "running-config", "interfaces-status", "ssh-status"}
    # beside them only the session record the connector always writes (the SSH identification)
    assert {r.key for f in REGISTRY.facts.values() if f.protocol == "cli" for r in f.requests
            if r.op != "show"} == {"cli:session:info"}
    assert request("version").key == "cli:show:version"


def test_ports_that_cannot_be_judged_are_asked_or_not_applicable_never_failed() -> None:
    """No port in the status table is a question, not a finding; only trunks means no access port to judge."""
    import dataclasses

    from auditor.registry import REGISTRY

    config = Recording("ios-hardened").fact("cli_config")
    unused, vlan1 = (REGISTRY.check(c).function for c in ("netcli.ports.unused-shutdown", "netcli.ports.vlan1"))
    portless = dataclasses.replace(config, ports=())
    assert unused(cli_config=portless).status == "manual" and vlan1(cli_config=portless).status == "manual"
    trunks = dataclasses.replace(config, ports=tuple(dataclasses.replace(p, mode="trunk")
                                                     for p in config.ports))
    assert vlan1(cli_config=trunks).status == "not_applicable"
    assert unused(cli_config=trunks).status == "manual"
    assert unused(cli_config=config).status == "pass" and vlan1(cli_config=config).status == "pass"
