"""The network configuration pack on a Hirschmann HiOS switch: recorded evidence of the CLI simulator's weak and
hardened RSP20 (``recorded/sim-hios-*.json``), each check's verdict on both, and one pass and one fail per
fact the HiOS parser reads, built by editing the recorded configuration script or status tables."""

from __future__ import annotations

import re

import pytest
from cli_evidence import Recording, netcli_checks

from auditor.protocols.cli import detect_platform, redact_config

#: (weak, hardened) verdict of every check on the recorded RSP20s. `manual`: settings HiOS's script never shows
#: (the question is asked); `fail` on the hardened one: SNTP has no authentication on HiOS.
EXPECTED = {
    "netcli.aaa.accounting": ("manual", "manual"),
    "netcli.aaa.authorization": ("manual", "manual"),
    "netcli.aaa.central": ("fail", "pass"),
    "netcli.acl.routed-interfaces": ("not_applicable", "not_applicable"),
    "netcli.banner.login": ("fail", "pass"),
    "netcli.config.archive": ("fail", "pass"),
    "netcli.config.change-log": ("manual", "manual"),
    "netcli.enable.secret": ("not_applicable", "not_applicable"),
    "netcli.firmware.minimum": ("manual", "manual"),  # no site minimum in the built-in profiles
    "netcli.image.verify": ("manual", "manual"),
    "netcli.inventory.identity": ("pass", "pass"),
    "netcli.l2.dhcp-snooping": ("fail", "pass"),
    "netcli.lines.exec-timeout": ("fail", "pass"),
    "netcli.logging.buffer": ("manual", "manual"),
    "netcli.logging.remote": ("fail", "pass"),
    "netcli.logging.timestamps": ("manual", "manual"),
    "netcli.login.block": ("fail", "pass"),
    "netcli.login.logging": ("manual", "manual"),
    "netcli.ntp.authentication": ("fail", "fail"),
    "netcli.ntp.servers": ("fail", "pass"),
    "netcli.password.min-length": ("fail", "pass"),
    "netcli.port.authentication": ("fail", "pass"),
    "netcli.ports.storm-control": ("fail", "pass"),
    "netcli.ports.unused-shutdown": ("fail", "pass"),
    "netcli.ports.vlan1": ("fail", "pass"),
    "netcli.services.cdp": ("pass", "pass"),
    "netcli.services.http": ("fail", "pass"),
    "netcli.services.https-restricted": ("fail", "pass"),
    "netcli.services.legacy": ("fail", "pass"),
    "netcli.services.remote-loading": ("fail", "pass"),
    "netcli.services.source-route": ("manual", "manual"),
    "netcli.services.tcp-keepalives": ("manual", "manual"),
    "netcli.snmp.default-community": ("fail", "pass"),
    "netcli.snmp.traps": ("fail", "pass"),
    "netcli.snmp.v3-priv-only": ("fail", "pass"),
    "netcli.snmp.write-community": ("fail", "pass"),
    "netcli.ssh.auth-retries": ("manual", "manual"),
    "netcli.ssh.version-2": ("pass", "pass"),
    "netcli.stp.bpduguard": ("fail", "pass"),
    "netcli.stp.root-guard": ("fail", "pass"),
    "netcli.trunk.native-vlan": ("fail", "pass"),
    "netcli.users.secret-storage": ("manual", "manual"),
    "netcli.vty.access-class": ("fail", "pass"),
    "netcli.vty.ssh-only": ("fail", "pass"),
}


@pytest.fixture(scope="module")
def weak() -> Recording:
    return Recording("hios-weak")


@pytest.fixture(scope="module")
def hardened() -> Recording:
    return Recording("hios-hardened")


def script(*, drop: str | None = None, add: str | None = None, replace: tuple[str, str] | None = None,
           base: str = "hios-hardened") -> Recording:
    """The recorded script edited: lines matching ``drop`` removed, ``add`` appended to the global part (before
    the first interface), or ``replace=(regex, text)``."""
    recording = Recording(base)
    text = recording.text("running-config")
    if drop is not None:
        text = "\n".join(line for line in text.split("\n") if not re.search(drop, line))
    if replace is not None:
        text = re.sub(replace[0], replace[1], text, flags=re.M)
    if add is not None:
        text = text.replace("\ninterface 1/1\n", f"\n{add}\n\ninterface 1/1\n", 1)
    return recording.set_text("running-config", text)


def test_every_check_is_judged_and_each_expectation_is_listed() -> None:
    assert set(EXPECTED) == {c.id for c in netcli_checks()}


@pytest.mark.parametrize("check_id", sorted(EXPECTED))
def test_weak_and_hardened_rail_switch(check_id: str, weak: Recording, hardened: Recording) -> None:
    on_weak, on_hardened = weak.check(check_id), hardened.check(check_id)
    assert (on_weak.status, on_hardened.status) == EXPECTED[check_id], (on_weak, on_hardened)
    for verdict in (on_weak, on_hardened):
        assert verdict.status != "error", verdict
        if verdict.status == "manual":
            assert "HiOS" in verdict.reason, "a manual verdict asks the HiOS question"


def test_version_from_show_system_info(weak: Recording, hardened: Recording) -> None:
    version = weak.fact("cli_version")
    assert (version.platform, version.version, version.model, version.serial) == (
        "hirschmann_hios", "HiOS-2S-07.1.03", "RSP20-11003Z6TT-SK9V9HSE2S", "942053999000112233")
    assert hardened.fact("cli_version").version == "HiOS-2S-09.4.04"
    missing = Recording("hios-hardened").set_text("version", "System information\n------------------\n")
    assert missing.check("netcli.inventory.identity").status == "error"


def test_platform_from_show_system_info_and_the_identification() -> None:
    text = Recording("hios-weak").text("version")
    assert detect_platform(text) == "hirschmann_hios"
    assert detect_platform("", "SSH-2.0-HiOS") == "hirschmann_hios"
    assert detect_platform("", "SSH-2.0-SSH_Server") is None


def test_refused_or_unprivileged_script_is_an_error() -> None:
    refused = Recording("hios-hardened").set_text("running-config", "Error: Invalid command 'show running-config'\n")
    assert "Invalid command" in refused.check("netcli.aaa.central").reason
    cut = Recording("hios-hardened").set_text("running-config", "! RSP20 Configuration\n\nconfigure\nexit\n")
    assert "privileged mode" in cut.check("netcli.vty.ssh-only").reason


def test_management_lines_from_the_ssh_and_telnet_servers() -> None:
    telnet_on = script(replace=(r"^no telnet server$", "telnet server"))
    assert telnet_on.check("netcli.vty.ssh-only").status == "fail"
    unstated = script(drop=r"^no telnet server$")  # neither on nor off: the release default, never read as off
    assert "default" in unstated.check("netcli.vty.ssh-only").reason
    never = script(replace=(r"^ssh timeout 5$", "ssh timeout 0"))
    assert "line ssh: never" in never.check("netcli.lines.exec-timeout").reason
    open_access = script(replace=(r"^network management access operation$", "no network management access operation"))
    assert open_access.check("netcli.vty.access-class").status == "fail"
    assert open_access.check("netcli.services.https-restricted").status == "fail"


def test_login_list_password_length_and_lockout() -> None:
    local_first = script(replace=(r"defaultLoginAuthList radius local", "defaultLoginAuthList local radius"))
    assert local_first.check("netcli.aaa.central").status == "fail"
    short = script(replace=(r"^passwords min-length 12$", "passwords min-length 6"))
    assert short.check("netcli.password.min-length").status == "fail"
    unlimited = script(replace=(r"^passwords max-login-attempts 3$", "passwords max-login-attempts 0"))
    assert unlimited.check("netcli.login.block").status == "fail"
    banner_off = script(replace=(r"^system pre-login-banner operation$", "no system pre-login-banner operation"))
    assert banner_off.check("netcli.banner.login").status == "fail"


def test_snmp_communities_count_only_while_v1_or_v2c_is_on() -> None:
    dormant = script(add="snmp community ro public")  # v1 and v2 access are off on the hardened switch
    assert dormant.check("netcli.snmp.default-community").status == "pass"
    live = script(add="snmp community ro public", replace=(r"^no snmp access version v2$", "snmp access version v2"))
    assert live.check("netcli.snmp.default-community").status == "fail"
    assert live.check("netcli.snmp.v3-priv-only").status == "fail"
    auth_only = script(replace=(r"^users snmpv3 encryption auditor aescfb128$", "users snmpv3 encryption auditor none"))
    assert "auditor (auth)" in auth_only.check("netcli.snmp.v3-priv-only").reason
    no_receiver = script(drop=r"^snmp trap add ")
    assert no_receiver.check("netcli.snmp.traps").status == "fail"


def test_syslog_and_sntp_count_only_while_their_client_runs() -> None:
    syslog_off = script(replace=(r"^logging syslog operation$", "no logging syslog operation"))
    assert syslog_off.check("netcli.logging.remote").status == "fail"
    only_audit_trail = script(drop=r"type systemlog$")
    assert only_audit_trail.check("netcli.logging.remote").status == "fail"
    warnings = script(replace=(r"severity informational type systemlog", "severity warning type systemlog"))
    assert "warnings" in warnings.check("netcli.logging.remote").reason
    sntp_off = script(replace=(r"^sntp client operation$", "no sntp client operation"))
    assert sntp_off.check("netcli.ntp.servers").status == "fail"


def test_ports_from_the_script_and_show_port() -> None:
    open_port = script(replace=(r"^port-security operation$", "no port-security operation"))
    assert open_port.check("netcli.port.authentication").status == "fail"
    no_guard = script(replace=(r"^spanning-tree bpdu-guard$", "no spanning-tree bpdu-guard"))
    assert no_guard.check("netcli.stp.bpduguard").status == "fail"
    native1 = script(replace=(r"^vlan pvid 998$", "vlan pvid 1"))
    assert native1.check("netcli.trunk.native-vlan").status == "fail"
    # a port enabled without a link: the status table says so even where the script did not shut it
    status = Recording("hios-hardened")
    status.set_text("interfaces-status", status.text("interfaces-status").replace(
        "1/5        -         disabled", "1/5        -         enabled "))
    edited = status.set_text("running-config", status.text("running-config").replace(
        "name \"unused\"\nvlan participation include 999\nvlan pvid 999\nport-security operation\nshutdown\n",
        "name \"unused\"\nvlan participation include 999\nvlan pvid 999\nport-security operation\nno shutdown\n", 1))
    verdict = edited.check("netcli.ports.unused-shutdown")
    assert verdict.status == "fail" and "1/5" in verdict.reason


def test_services_remote_loading_and_backup() -> None:
    hidiscovery = script(replace=(r"^no network hidiscovery operation$", "network hidiscovery operation"))
    assert "hidiscovery (read-only)" in hidiscovery.check("netcli.services.legacy").observed
    modbus = script(replace=(r"^no modbus-tcp operation$", "modbus-tcp operation"))
    assert modbus.check("netcli.services.legacy").status == "fail"
    usb = script(replace=(r"^no config envm auto-update usb$", "config envm auto-update usb"))
    assert usb.check("netcli.services.remote-loading").status == "fail"
    no_backup = script(replace=(r"^config remote-backup operation$", "no config remote-backup operation"))
    assert no_backup.check("netcli.config.archive").status == "fail"
    http = script(replace=(r"^no http server$", "http server"))
    assert http.check("netcli.services.http").status == "fail"


def test_the_device_masks_its_secrets_and_the_connector_removes_communities() -> None:
    recorded = Recording("hios-weak").text("running-config")
    assert '! users password admin "********"' in recorded
    text, removed = redact_config('snmp community rw "plant-rw"\nsnmp community ro public\n'
                                  '! users password admin "********"\n', ("public", "private"), "hirschmann_hios")
    assert removed == 1 and "plant-rw" not in text and "snmp community ro public" in text
    assert '! users password admin "********"' in text  # the user name of a masked line is kept
    clear, removed = redact_config('users password admin "Hi0S-secret"\nradius server modify 1 secret Rad1us\n',
                                   (), "hirschmann_hios")
    assert removed == 2 and "Hi0S-secret" not in clear and "Rad1us" not in clear
    assert 'users password admin "<removed>"' in clear  # should a release print it in clear: the name stays


def test_drift_snapshots_of_a_hios_switch() -> None:
    from checks.netcli.drift import exposure_snapshot, release_snapshot

    weak = Recording("hios-weak")
    assert release_snapshot(weak.fact("cli_version")) == "RSP20-11003Z6TT-SK9V9HSE2S HiOS-2S-07.1.03"
    exposure = exposure_snapshot(weak.fact("cli_config"))
    assert exposure["telnet on vty"] == "telnet" and exposure["snmp communities"] == "public RO, private RW"
    assert exposure["ip source-route"] == "not shown"  # never "off" for a setting the script does not show
