"""linux.sshd.* (checks/linux/sshd.py, sshd_crypto.py, sshd_session.py) and its evidence
(checks/linux/facts/sshd.py, sshd_commands.py, openssh.py): instance selection, OpenSSH config semantics,
the shell commands, every check.

Recorded outputs (tests/unit/linux/recorded/<distro>/) are the two sshd commands' outputs on Debian 12
(OpenSSH 9.2p1, real), Ubuntu 22.04 (8.9p1, hardened cloud image) and RHEL 9 (8.7p1 with crypto-policies;
config 0600, so the unprivileged file read fails there).
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from auditor.facts import FactParseError, FactUnavailable
from auditor.registry import REGISTRY
from checks.linux.facts.openssh import (OPENSSH_DEFAULTS, apply_algorithm_modifier, openssh_seconds, parse_master,
                                        tokenize)
from checks.linux.facts.optional import Missing
from checks.linux.facts.pam import PAM_CONFIG_FILES
from checks.linux.facts.sshd_commands import (DEFAULT_CONFIG, SESSION_INFO, SSHD_EFFECTIVE, SSHD_EFFECTIVE_COMMAND,
                                              SSHD_FILES, SSHD_FILES_COMMAND, WIRE_KEXINIT)
from simulators.ssh.server import FIXTURES
from tests.support.ssh_fixture import fixture_answer, load
from tests.unit.linux.evidence import DISTROS, Evidence, recorded

REQUIRED = ["linux.sshd.permit-root-login", "linux.sshd.password-authentication", "linux.sshd.weak-crypto",
            "linux.sshd.max-auth-tries", "linux.sshd.banner", "linux.sshd.login-grace-time", "linux.sshd.idle-timeout"]
ALL_SSHD = REQUIRED + ["linux.sshd.permit-empty-passwords", "linux.sshd.forwarding", "linux.sshd.log-level",
                       "linux.sshd.session-limits", "linux.sshd.access-allow-list", "linux.sshd.host-key-strength",
                       "linux.sshd.mfa"]
NO_HOSTKEYS = "sshd: no hostkeys available -- exiting.\n@@iacs exit 1\n"
MASTER = "@@iacs master 612 sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups"

# ------------------------------------------------------------------------------------- helpers


def session(port: int = 22, methods: list[str] | None = None, banner: str | None = None,
            username: str = "auditor") -> dict[str, Any]:
    return {"port": port, "username": username, "auth_methods": methods if methods is not None else ["publickey"],
            "banner": banner, "server_version": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "sudo": False}


def wire(kex: list[str] | None = None, hostkeys: list[str] | None = None, ciphers: list[str] | None = None,
         macs: list[str] | None = None) -> dict[str, Any]:
    kex = kex or ["curve25519-sha256", "ext-info-s", "kex-strict-s-v00@openssh.com"]
    ciphers = ciphers or ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com"]
    macs = macs or ["hmac-sha2-256-etm@openssh.com"]
    return {"identification": "SSH-2.0-OpenSSH_9.2p1", "software": "OpenSSH_9.2p1", "kex_algorithms": kex,
            "server_host_key_algorithms": hostkeys or ["ssh-ed25519"],
            "encryption_algorithms_client_to_server": ciphers, "encryption_algorithms_server_to_client": ciphers,
            "mac_algorithms_client_to_server": macs, "mac_algorithms_server_to_client": macs,
            "compression_algorithms_client_to_server": ["none"], "compression_algorithms_server_to_client": ["none"],
            "first_kex_packet_follows": False}


def distro_evidence(distro: str, *, sudo: bool = True, files: str = "sshd_files.txt", **session_kw: Any) -> Evidence:
    ev = Evidence()
    if sudo:
        ev.cmd(SSHD_EFFECTIVE, recorded(distro, "sshd_T.txt"), sudo=True)
    else:
        ev.cmd(SSHD_EFFECTIVE, recorded(distro, "sshd_T_nosudo.txt"), sudo=False)
    return ev.cmd(SSHD_FILES, recorded(distro, files)).json(SESSION_INFO, session(**session_kw))


def files_output(files: dict[str, str | None], masters: list[str] | None = None, main: str = "/etc/ssh/sshd_config",
                 hostkeys: list[str] | None = None, banners: dict[str, str] | None = None) -> str:
    """The unprivileged file command's output for one config tree (None content = Permission denied)."""
    lines = list(masters if masters is not None else [MASTER]) + [f"@@iacs config {main}"]
    for path, content in files.items():
        if content is None:
            lines.append(f"head: cannot open '{path}' for reading: Permission denied")
        else:
            lines += [f"==> {path} <==", *textwrap.dedent(content).strip("\n").split("\n"), ""]
    for key in hostkeys or []:
        lines += [f"@@iacs hostkey {key.split()[0]}", key.split(" ", 1)[1]]
    for path, text in (banners or {}).items():
        lines += [f"@@iacs banner {path}", text]
    return "\n".join(lines) + "\n"


def config_evidence(config: str, *, extra: dict[str, str | None] | None = None, sess: dict | None = None,
                    wire_data: dict | None = None, hostkeys: list[str] | None = None,
                    banners: dict[str, str] | None = None, masters: list[str] | None = None) -> Evidence:
    """Evidence where sshd -T failed (no sudo) and the config files were read."""
    ev = Evidence()
    head = "\n".join(masters if masters is not None else [MASTER])
    ev.cmd(SSHD_EFFECTIVE, f"{head}\n@@iacs sshd-T cfg=/etc/ssh/sshd_config bin=/usr/sbin/sshd\n{NO_HOSTKEYS}",
           sudo=False)
    ev.cmd(SSHD_FILES, files_output({"/etc/ssh/sshd_config": config, **(extra or {})}, masters=masters,
                                    hostkeys=hostkeys, banners=banners))
    ev.json(SESSION_INFO, sess or session())
    if wire_data is not None:
        ev.json(WIRE_KEXINIT, wire_data)
    return ev


HARDENED = """
    PermitRootLogin no
    PasswordAuthentication no
    KbdInteractiveAuthentication no
    MaxAuthTries 3
    LoginGraceTime 30
    ClientAliveInterval 300
    ClientAliveCountMax 2
    Banner /etc/issue.net
    DisableForwarding yes
    LogLevel VERBOSE
    MaxSessions 4
    MaxStartups 10:30:60
    AllowGroups sshusers
    HostKey /etc/ssh/ssh_host_ed25519_key
    KexAlgorithms curve25519-sha256
    Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com
    MACs hmac-sha2-256-etm@openssh.com
    HostKeyAlgorithms ssh-ed25519
    AuthenticationMethods publickey,keyboard-interactive
"""
ED25519 = ["/etc/ssh/ssh_host_ed25519_key 256 SHA256:abc root@h (ED25519)"]
GOOD_BANNER = {"/etc/issue.net": "Authorized use only. Activity is monitored and recorded."}


def hardened(**kw: Any) -> Evidence:
    kw.setdefault("sess", session(banner=GOOD_BANNER["/etc/issue.net"]))
    kw.setdefault("wire_data", wire())
    return config_evidence(HARDENED, hostkeys=ED25519, banners=GOOD_BANNER, **kw)


def pam_evidence(ev: Evidence, sshd_pam: str = "@include common-auth\n") -> Evidence:
    return ev.cmd(PAM_CONFIG_FILES, files_output({"/etc/pam.d/common-auth": "auth required pam_unix.so\n",
                                                  "/etc/pam.d/sshd": sshd_pam}, masters=[]).split("\n", 1)[1])


# ------------------------------------------------------------------------------- recorded outputs


@pytest.mark.parametrize("distro", DISTROS)
def test_recorded_sshd_T_is_parsed(distro: str) -> None:
    config = distro_evidence(distro).fact("sshd_config")
    assert config.source == "sshd -T"
    assert config.instance["config"] == "/etc/ssh/sshd_config" and config.instance["ports"] == [22]
    assert {k["type"] for k in config.host_keys} == {"RSA", "ECDSA", "ED25519"}
    assert [k["bits"] for k in config.host_keys if k["type"] == "RSA"] == [3072]
    expected = {"debian12": ("prohibit-password", "yes", "6"), "ubuntu2204": ("no", "no", "3"),
                "rhel9": ("yes", "yes", "6")}[distro]
    assert (config.get("permitrootlogin"), config.get("passwordauthentication"), config.get("maxauthtries")) == expected


@pytest.mark.parametrize("distro,files", [("debian12", "sshd_files.txt"), ("ubuntu2204", "sshd_files.txt"),
                                          ("rhel9", "sshd_files_root.txt")])
def test_config_files_give_the_same_values_as_sshd_T(distro: str, files: str) -> None:
    """Includes, first-wins, defaults and aliases reproduce what sshd -T printed on the same host."""
    effective = distro_evidence(distro, files=files).fact("sshd_config")
    parsed = distro_evidence(distro, sudo=False, files=files).fact("sshd_config")
    assert parsed.source == "config files + OpenSSH defaults"
    keys = set(OPENSSH_DEFAULTS) | {"allowgroups", "allowusers", "hostkey"}
    assert {k: parsed.all(k) for k in keys} == {k: effective.all(k) for k in keys}
    assert parsed.host_keys == effective.host_keys


def test_rhel9_crypto_policy_include_chain() -> None:
    config = distro_evidence("rhel9", sudo=False, files="sshd_files_root.txt").fact("sshd_config")
    assert config.files == ("/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/01-permitrootlogin.conf",
                            "/etc/ssh/sshd_config.d/50-redhat.conf",
                            "/etc/crypto-policies/back-ends/opensshserver.config")
    assert config.get("permitrootlogin") == "yes"  # anaconda's 01- drop-in wins over everything after it
    assert config.get("kbdinteractiveauthentication") == "no"  # ChallengeResponseAuthentication alias
    assert "hmac-sha1" in config.algorithms("macs")


def test_rhel9_without_sudo_is_unavailable_with_a_sudo_hint() -> None:
    ev = distro_evidence("rhel9", sudo=False)
    with pytest.raises(FactUnavailable, match="sudo -n") as info:
        ev.fact("sshd_config")
    assert "/etc/ssh/sshd_config: Permission denied" in str(info.value)
    assert ev.check("linux.sshd.permit-root-login").status == "error"
    assert isinstance(ev.fact("sshd_config_maybe"), Missing)


def test_ubuntu_match_block_is_recorded_not_applied() -> None:
    config = distro_evidence("ubuntu2204", sudo=False).fact("sshd_config")
    assert config.match_blocks == ({"criteria": "Group sftponly", "file": "/etc/ssh/sshd_config.d/10-hardening.conf",
                                    "settings": {"forcecommand": "internal-sftp", "chrootdirectory": "/srv/sftp/%u",
                                                 "allowtcpforwarding": "no"}},)
    assert config.get("allowtcpforwarding") == "no" and config.get("forcecommand") is None
    assert config.banner_text("/etc/issue.net") == "Ubuntu 22.04.4 LTS\n"


# --------------------------------------------------------------------------------- instance selection


def test_parse_master_command_lines() -> None:
    m = parse_master(1, "sshd: /usr/sbin/sshd -D -e -f /tmp/x/sshd_config -p 40022 -o ListenAddress=127.0.0.1 "
                        "[listener] 0 of 10-100 startups")
    assert (m.binary, m.config, m.cli_ports, m.cli_options) == ("/usr/sbin/sshd", "/tmp/x/sshd_config", (40022,),
                                                                (("listenaddress", "127.0.0.1"),))
    m = parse_master(2, "/usr/sbin/sshd -D -oPort=2200 -o PasswordAuthentication=YES -f/etc/ssh/alt")
    assert (m.config, m.cli_ports, m.cli_options) == ("/etc/ssh/alt", (2200,), (("passwordauthentication", "yes"),))
    m = parse_master(3, "sshd -D -o Ciphers aes128-ctr -o ListenAddress=[::1]:2022")
    assert (m.binary, m.cli_ports, m.cli_options) == (None, (2022,), (("ciphers", "aes128-ctr"),))
    m = parse_master(4, "sshd: /usr/sbin/sshd -D -f")  # truncated: no crash, default config
    assert m.config == DEFAULT_CONFIG


def two_masters(first: str, second: str, port: int, configs: dict[str, str]) -> Evidence:
    masters = [f"@@iacs master 100 {first}", f"@@iacs master 200 {second}"]
    out = "\n".join(masters) + "\n"
    for path, text in configs.items():
        out += files_output({path: text}, masters=[], main=path)
    ev = Evidence()
    ev.cmd(SSHD_EFFECTIVE, "\n".join(masters) + "\n" + "".join(
        f"@@iacs sshd-T cfg={p} bin=/usr/sbin/sshd\n{NO_HOSTKEYS}" for p in configs), sudo=False)
    return ev.cmd(SSHD_FILES, out).json(SESSION_INFO, session(port=port))


def test_instance_chosen_by_command_line_port() -> None:
    ev = two_masters("sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups",
                     "sshd: /usr/sbin/sshd -D -f /etc/ssh/alt.conf -p 2200 [listener] 0 of 10-100 startups", 2200,
                     {"/etc/ssh/sshd_config": "PermitRootLogin yes", "/etc/ssh/alt.conf": "PermitRootLogin no"})
    config = ev.fact("sshd_config")
    assert config.instance["pid"] == 200 and config.instance["ports_from"] == "command line"
    assert ev.check("linux.sshd.permit-root-login").status == "pass"


def test_instance_chosen_by_config_port() -> None:
    ev = two_masters("/usr/sbin/sshd -D", "/usr/sbin/sshd -D -f /etc/ssh/alt.conf", 22,
                     {"/etc/ssh/sshd_config": "Port 22\nPermitRootLogin yes", "/etc/ssh/alt.conf": "Port 2200\n"})
    config = ev.fact("sshd_config")
    assert config.instance["pid"] == 100 and config.instance["ports_from"] == "config files"
    assert ev.check("linux.sshd.permit-root-login").status == "fail"


def test_several_masters_none_matching_is_an_error_listing_them() -> None:
    ev = two_masters("/usr/sbin/sshd -D -p 2201", "/usr/sbin/sshd -D -f /etc/ssh/alt.conf -p 2200", 2222,
                     {"/etc/ssh/sshd_config": "", "/etc/ssh/alt.conf": ""})
    with pytest.raises(FactUnavailable, match=r"none of the 2 sshd masters.*pid 100.*2201.*pid 200.*2200"):
        ev.fact("sshd_config")
    verdict = ev.check("linux.sshd.max-auth-tries")
    assert verdict.status == "error" and "pid 200" in verdict.reason


def test_same_port_different_configs_is_an_error() -> None:
    ev = two_masters("/usr/sbin/sshd -D -p 22", "/usr/sbin/sshd -D -f /etc/ssh/alt.conf -p 22", 22,
                     {"/etc/ssh/sshd_config": "", "/etc/ssh/alt.conf": ""})
    with pytest.raises(FactParseError, match="several sshd masters"):
        ev.fact("sshd_config")


def test_single_master_on_another_port_is_used_with_a_note() -> None:
    config = config_evidence("Port 22\n", sess=session(port=2222)).fact("sshd_config")
    assert config.instance["ports"] == [22] and any("NAT" in n for n in config.notes)


def test_no_master_visible_uses_the_default_config() -> None:
    config = config_evidence("PermitRootLogin no\n", masters=[]).fact("sshd_config")
    assert config.instance["pid"] == 0 and config.get("permitrootlogin") == "no"
    assert any("no listening sshd master" in n for n in config.notes)


def test_command_line_options_override_sshd_T() -> None:
    t_out = recorded("ubuntu2204", "sshd_T.txt").replace(
        "sshd: /usr/sbin/sshd -D [listener]", "sshd: /usr/sbin/sshd -D -o PasswordAuthentication=yes [listener]")
    ev = Evidence().cmd(SSHD_EFFECTIVE, t_out).cmd(SSHD_FILES, recorded("ubuntu2204", "sshd_files.txt"))
    ev.json(SESSION_INFO, session())
    assert ev.fact("sshd_config").get("passwordauthentication") == "yes"
    assert ev.check("linux.sshd.password-authentication").status == "fail"


# ------------------------------------------------------------------------------ config semantics


def test_openssh_semantics_first_wins_includes_match_and_modifiers() -> None:
    main = """
        # comment
        Include /etc/ssh/sshd_config.d/*.conf
        PermitRootLogin yes
        MaxAuthTries=8
        LoginGraceTime 1m30s
        Ciphers +aes128-cbc
        MACs -hmac-sha1*,umac-64*
        KexAlgorithms ^curve25519-sha256
        Banner "/etc/issue net"
        AllowUsers alice bob
        Match Address 10.0.0.0/8
            PasswordAuthentication yes
            Include extra.conf
        Match all
        LogLevel verbose # trailing comment
    """
    ev = config_evidence(main, extra={"/etc/ssh/sshd_config.d/10-a.conf": "permitrootlogin no\nAllowUsers carol",
                                      "/etc/ssh/sshd_config.d/20-b.conf": "PermitRootLogin without-password",
                                      "/etc/ssh/extra.conf": "PermitRootLogin yes"})
    config = ev.fact("sshd_config")
    assert config.get("permitrootlogin") == "no"  # the drop-in before the main line wins
    assert config.get("maxauthtries") == "8" and config.number("logingracetime") == 90
    assert config.algorithms("ciphers")[-1] == "aes128-cbc"
    assert not [m for m in config.algorithms("macs") if m.startswith(("hmac-sha1", "umac-64"))]
    assert config.algorithms("kexalgorithms")[0] == "curve25519-sha256"
    assert config.get("banner") == "/etc/issue net"
    assert config.all("allowusers") == ["carol", "alice", "bob"]
    assert config.get("loglevel") == "VERBOSE" and config.get("passwordauthentication") == "yes"  # default
    assert config.match_blocks[0]["criteria"] == "Address 10.0.0.0/8"
    assert config.match_blocks[0]["settings"] == {"passwordauthentication": "yes", "permitrootlogin": "yes"}
    assert "passwordauthentication" in config.defaulted and "permitrootlogin" not in config.defaulted
    verdict = ev.check("linux.sshd.password-authentication")
    assert verdict.status == "fail"


def test_match_block_enabling_root_login_fails() -> None:
    ev = config_evidence("PermitRootLogin no\nMatch Address 192.168.1.0/24\n  PermitRootLogin yes\n")
    verdict = ev.check("linux.sshd.permit-root-login")
    assert verdict.status == "fail" and "Match Address 192.168.1.0/24" in verdict.reason


def test_unreadable_include_makes_the_config_unavailable() -> None:
    ev = config_evidence("Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\n",
                         extra={"/etc/ssh/sshd_config.d/*.conf": None})
    with pytest.raises(FactUnavailable, match=r"sshd_config.d/\*.conf: Permission denied"):
        ev.fact("sshd_config")


def test_an_unreadable_drop_in_matched_by_a_glob_is_never_skipped() -> None:
    """A 0600 drop-in the audit account cannot read (say cloud-init's PasswordAuthentication yes) must not
    leave the configuration taken as fully read: the checks err and name the file, they never pass."""
    ev = config_evidence("Include /etc/ssh/sshd_config.d/*.conf\nPermitRootLogin no\nPasswordAuthentication no\n",
                         extra={"/etc/ssh/sshd_config.d/10-site.conf": "MaxAuthTries 3\n",
                                "/etc/ssh/sshd_config.d/50-cloud-init.conf": None})
    with pytest.raises(FactUnavailable, match=r"50-cloud-init.conf: Permission denied"):
        ev.fact("sshd_config")
    root = ev.check("linux.sshd.permit-root-login")
    assert root.status == "error" and "50-cloud-init.conf" in root.reason
    # passwords not offered to the audit account: still no pass, the unread file is named
    password = ev.check("linux.sshd.password-authentication")
    assert password.status == "manual" and "50-cloud-init.conf" in password.reason


def test_sshd_T_without_readable_files_never_passes_what_a_match_block_could_undo() -> None:
    """sshd -T (under sudo) gives the global values only: with the files unread, Match blocks are unknown, so a
    check on a keyword a Match block can override is manual and says why, never a pass with an empty reason."""
    ev = Evidence()
    ev.cmd(SSHD_EFFECTIVE, recorded("debian12", "sshd_T.txt"), sudo=True)
    ev.cmd(SSHD_FILES, files_output({"/etc/ssh/sshd_config": None}))
    ev.json(SESSION_INFO, session())
    config = ev.fact("sshd_config")
    assert config.source == "sshd -T" and not config.match_blocks_known
    assert distro_evidence("debian12").check("linux.sshd.log-level").status == "pass"  # files read: a pass
    unread = ev.check("linux.sshd.log-level")
    assert unread.status == "manual" and "Match block" in unread.reason and "Permission denied" in unread.reason
    for check_id in ("linux.sshd.permit-root-login", "linux.sshd.log-level", "linux.sshd.forwarding"):
        assert ev.check(check_id).status != "pass", check_id
    # keywords a Match block cannot set are still judged from sshd -T
    assert ev.check("linux.sshd.weak-crypto").status == distro_evidence("debian12").check("linux.sshd.weak-crypto").status


@pytest.mark.parametrize("server, status", [("SSH-2.0-OpenSSH_6.6.1p1 Ubuntu-2ubuntu2", "fail"),
                                            ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "pass")])
def test_unset_keywords_take_the_defaults_of_the_announced_release(server: str, status: str) -> None:
    """No PermitRootLogin line: OpenSSH before 7.0 permits root login with a password by default."""
    sess = {**session(), "server_version": server}
    ev = config_evidence("PasswordAuthentication no\n", sess=sess)
    verdict = ev.check("linux.sshd.permit-root-login", allow_prohibit_password=True)
    assert verdict.status == status, verdict.reason
    assert any(server.split("-")[2].split("_")[1][:3] in n for n in ev.fact("sshd_config").notes)


def test_evidence_recorded_before_the_files_read_asked_for_sudo_still_rescores() -> None:
    """Bundles from before the sshd file read asked for sudo carry it without the option: still that read."""
    from auditor.evidence import EvidenceRequest

    old_request = EvidenceRequest(protocol="ssh", op="exec", target=SSHD_FILES.target)
    ev = config_evidence("PermitRootLogin no\n")
    for item in ev.items:
        if item.request.key == SSHD_FILES.key:
            item.request = old_request
    assert ev.check("linux.sshd.permit-root-login").status == "pass"


def test_openssh_time_and_modifier_helpers() -> None:
    assert openssh_seconds("2m") == 120 and openssh_seconds("1h30m") == 5400 and openssh_seconds("45") == 45
    assert openssh_seconds("soon") is None
    assert apply_algorithm_modifier("-a*", "a1,b,a2") == "b"
    assert apply_algorithm_modifier("^c,b", "a,b") == "c,b,a"
    assert tokenize('Banner = "/x y" # c') == ["Banner", "/x y"]


# ----------------------------------------------------------------------------- the shell commands


def test_commands_are_sh_scripts_without_single_quotes_that_do_not_start_a_shell() -> None:
    for command in (SSHD_EFFECTIVE_COMMAND, SSHD_FILES_COMMAND):
        assert "'" not in command and not command.startswith(("sh ", "bash "))  # see the sudoers rule
        assert subprocess.run(["sh", "-n", "-c", command], capture_output=True).returncode == 0
    assert SSHD_EFFECTIVE.option("sudo") is True and SSHD_FILES.option("sudo") is True  # 0600 drop-ins: read as root


def test_evidence_recorded_with_the_former_sh_c_wrapper_is_still_read() -> None:
    from auditor.evidence import EvidenceItem, EvidenceRequest
    from auditor.facts import FactEvidence
    from auditor.registry import REGISTRY

    old = EvidenceRequest(protocol="ssh", op="exec", target=f"sh -c '{SSHD_FILES_COMMAND}'", options=(("sudo", True),))
    item = EvidenceItem(asset="a", endpoint="ssh", request=old, response="@@iacs config /etc/ssh/sshd_config\n",
                        exit_code=0)
    view = FactEvidence("sshd_config", [SSHD_FILES], {old.key: item}, REGISTRY.former_keys)
    assert view.item(SSHD_FILES) is item
    with pytest.raises(Exception, match="was not collected"):
        FactEvidence("sshd_config", [SSHD_FILES], {old.key: item}).item(SSHD_FILES)


@pytest.fixture()
def fake_host(tmp_path: Path) -> dict[str, Any]:
    """A fake `ps` and a config tree with relative, quoted and glob Includes.

    `ps` lists a root sshd master whose binary is NOT a standard sshd path (it must not be run; the
    standard /usr/sbin/sshd is used instead), a forged master of uid 1000 pointing at a config that
    must never be read, a per-connection child and a re-exec'ed child.
    """
    root = tmp_path / "etc"
    (root / "conf.d").mkdir(parents=True)
    (root / "sshd_config").write_text(f'Include "{root}/conf.d/*.conf"\nInclude {root}/missing/*.conf\n'
                                      f"HostKey {root}/hk\nBanner {root}/banner\nPermitRootLogin yes\n")
    (root / "conf.d" / "20-b.conf").write_text("PermitRootLogin prohibit-password\n")
    (root / "conf.d" / "10-a.conf").write_text(f"PermitRootLogin no\nInclude {root}/deep.conf\n")
    (root / "deep.conf").write_text("MaxAuthTries 2\nPort 2222\n")
    (root / "banner").write_text("Authorised use only.\n")
    (root / "secret").write_text("TOPSECRET line\n")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(root / "hk")], check=True)
    bindir = tmp_path / "bin"
    bindir.mkdir()
    untrusted = bindir / "sshd"
    untrusted.write_text(f"#!/bin/sh\necho ran > {tmp_path}/untrusted-binary-ran\n")
    fake_ps = bindir / "ps"
    fake_ps.write_text("#!/bin/sh\n"
                       "echo '    0     1 /sbin/init'\n"
                       f"echo '    0    77 sshd: {untrusted} -D -f {root}/sshd_config [listener] 0 of 10-100 startups'\n"
                       f"echo ' 1000    66 sshd: /usr/sbin/sshd -D -f {root}/secret [listener] 0 of 10-100 startups'\n"
                       "echo '    0    78 sshd: alice@pts/0'\necho '    0    79 /usr/sbin/sshd -D -R'\n"
                       "echo ' 1000    80 awk /sshd/'\n")
    for tool in (untrusted, fake_ps):
        tool.chmod(tool.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": f"{bindir}:/usr/bin:/bin", "LC_ALL": "C"}
    return {"root": root, "env": env, "tmp": tmp_path}


@pytest.mark.skipif(shutil.which("ssh-keygen") is None, reason="ssh-keygen not installed")
def test_files_command_expands_includes_on_the_target(fake_host: dict[str, Any]) -> None:
    out = subprocess.run(["sh", "-c", SSHD_FILES_COMMAND], env=fake_host["env"], capture_output=True,
                         text=True, timeout=30).stdout
    root = fake_host["root"]
    assert out.count("@@iacs master") == 1 and "@@iacs master 77 sshd:" in out
    assert "alice@pts" not in out and " -R" not in out and "secret" not in out and "TOPSECRET" not in out
    assert f"@@iacs config {root}/sshd_config" in out
    for name in (f"{root}/conf.d/10-a.conf", f"{root}/conf.d/20-b.conf", f"{root}/deep.conf"):
        assert f"==> {name} <==" in out
    assert f"head: cannot open '{root}/missing/*.conf' for reading: No such file or directory" in out
    assert f"@@iacs hostkey {root}/hk" in out and "(ED25519)" in out
    assert f"@@iacs banner {root}/banner\nAuthorised use only." in out
    ev = Evidence().cmd(SSHD_EFFECTIVE, "", exit_code=127).cmd(SSHD_FILES, out)
    config = ev.json(SESSION_INFO, session(port=2222)).fact("sshd_config")
    assert config.get("permitrootlogin") == "no" and config.get("maxauthtries") == "2"
    assert config.instance["ports"] == [2222] and config.instance["ports_from"] == "config files"
    assert config.host_keys[0]["type"] == "ED25519" and config.banner_text(f"{root}/banner") == "Authorised use only.\n"


@pytest.mark.skipif(not os.access("/usr/sbin/sshd", os.X_OK) or shutil.which("ssh-keygen") is None,
                    reason="needs /usr/sbin/sshd and ssh-keygen")
def test_effective_command_runs_a_trusted_sshd_only(fake_host: dict[str, Any]) -> None:
    out = subprocess.run(["sh", "-c", SSHD_EFFECTIVE_COMMAND], env=fake_host["env"], capture_output=True,
                         text=True, timeout=30).stdout
    root = fake_host["root"]
    assert not (fake_host["tmp"] / "untrusted-binary-ran").exists()  # the master's own path was not executed
    assert f"@@iacs sshd-T cfg={root}/sshd_config bin=/usr/sbin/sshd\n" in out
    assert "secret" not in out and "TOPSECRET" not in out  # the uid 1000 "master" was ignored
    assert "@@iacs exit 0" in out and f"@@iacs banner {root}/banner\nAuthorised use only." in out
    config = Evidence().cmd(SSHD_EFFECTIVE, out).json(SESSION_INFO, session(port=2222)).fact("sshd_config")
    assert config.source == "sshd -T" and config.instance["ports"] == [2222]
    assert config.get("permitrootlogin") == "no" and config.get("maxauthtries") == "2"  # real sshd -T agrees


# ------------------------------------------------------------------------------------ the checks


def test_hardened_config_passes_every_check() -> None:
    ev = pam_evidence(hardened())
    for check_id in ALL_SSHD:
        verdict = ev.check(check_id)
        assert verdict.status == "pass", (check_id, verdict)
        assert verdict.observed.get("effective") == "config files + OpenSSH defaults" or check_id.endswith("crypto")


@pytest.mark.parametrize("check_id", ALL_SSHD)
def test_debian12_defaults_fail_most_checks(check_id: str) -> None:
    ev = pam_evidence(distro_evidence("debian12", methods=["publickey", "password"]).json(WIRE_KEXINIT, wire()))
    verdict = ev.check(check_id)
    expected = "pass" if check_id in ("linux.sshd.permit-empty-passwords", "linux.sshd.log-level",
                                      "linux.sshd.host-key-strength") else "fail"
    assert verdict.status == expected, verdict
    assert verdict.observed is not None


def test_permit_root_login_prohibit_password_param() -> None:
    ev = config_evidence("PermitRootLogin prohibit-password\n")
    assert ev.check("linux.sshd.permit-root-login").status == "fail"
    assert ev.check("linux.sshd.permit-root-login", allow_prohibit_password=True).status == "pass"


def test_password_authentication_wire_disagreement_and_second_factor() -> None:
    ev = config_evidence("PasswordAuthentication no\nKbdInteractiveAuthentication no\n",
                         sess=session(methods=["publickey", "password"]))
    verdict = ev.check("linux.sshd.password-authentication")
    assert verdict.status == "fail" and "wire wins" in verdict.reason
    ev = config_evidence("PasswordAuthentication yes\nAuthenticationMethods publickey,password\n")
    verdict = ev.check("linux.sshd.password-authentication")
    assert verdict.status == "pass" and "second factor" in verdict.reason
    ev = config_evidence("PasswordAuthentication no\nKbdInteractiveAuthentication yes\nUsePAM yes\n")
    assert ev.check("linux.sshd.password-authentication").status == "fail"  # PAM keyboard-interactive = password


def test_a_match_block_making_the_password_the_only_factor_fails() -> None:
    ev = config_evidence("PasswordAuthentication yes\nAuthenticationMethods publickey,password\n"
                         "Match Address 10.0.0.0/8\n  AuthenticationMethods password\n")
    verdict = ev.check("linux.sshd.password-authentication")
    assert verdict.status == "fail" and "Match Address 10.0.0.0/8" in verdict.reason
    second = config_evidence("PasswordAuthentication yes\nAuthenticationMethods publickey,password\n")
    assert second.check("linux.sshd.password-authentication").status == "pass"


def test_a_match_block_enabling_passwords_for_other_users_fails() -> None:
    """Judged for all users, not for what the audit account was offered: Match User/Group blocks count."""
    for line in ("PasswordAuthentication yes", "KbdInteractiveAuthentication yes"):
        ev = config_evidence(f"PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM yes\n"
                             f"Match Group contractors\n  {line}\n", sess=session(methods=["publickey"]))
        verdict = ev.check("linux.sshd.password-authentication")
        assert verdict.status == "fail" and "Match Group contractors" in verdict.reason, (line, verdict)


def test_password_authentication_from_offered_methods_when_config_unreadable() -> None:
    ev = distro_evidence("rhel9", sudo=False, methods=["publickey"])
    verdict = ev.check("linux.sshd.password-authentication")
    # not offered to the audit account proves nothing about other users (Match User/Group/Address)
    assert verdict.status == "manual" and "Match blocks for other users" in verdict.reason
    ev = distro_evidence("rhel9", sudo=False, methods=["publickey", "keyboard-interactive"])
    assert ev.check("linux.sshd.password-authentication").status == "fail"


def test_weak_crypto_config_and_wire() -> None:
    assert hardened().check("linux.sshd.weak-crypto").status == "pass"
    # clean config, but the wire offers SHA-1 kex and CBC: the wire wins, the disagreement is reported
    verdict = hardened(wire_data=wire(kex=["curve25519-sha256", "diffie-hellman-group14-sha1"],
                                      ciphers=["aes256-gcm@openssh.com", "aes128-cbc"])).check("linux.sshd.weak-crypto")
    assert verdict.status == "fail" and "disagree" in verdict.reason
    assert verdict.observed["weak_offered"] == {"kex": ["diffie-hellman-group14-sha1"], "ciphers": ["aes128-cbc"]}
    assert verdict.observed["config_wire_disagreement"]
    # weak config that the wire does not show (e.g. stale file) still fails
    ev = config_evidence("MACs hmac-sha2-256,hmac-md5\n", wire_data=wire())
    assert ev.check("linux.sshd.weak-crypto").status == "fail"
    # ssh-rsa (SHA-1 signatures) offered
    verdict = hardened(wire_data=wire(hostkeys=["rsa-sha2-512", "ssh-rsa"])).check("linux.sshd.weak-crypto")
    assert verdict.status == "fail" and "ssh-rsa" in verdict.reason
    # hmac-sha1 is weak by default; a site can relax the list
    ev = config_evidence("MACs hmac-sha2-256,hmac-sha1\nKexAlgorithms curve25519-sha256\n",
                         wire_data=wire(macs=["hmac-sha2-256", "hmac-sha1"]))
    assert ev.check("linux.sshd.weak-crypto").status == "fail"
    assert ev.check("linux.sshd.weak-crypto", weak_macs=["hmac-md5*"]).status == "pass"


def test_weak_crypto_from_wire_only_and_nothing_at_all() -> None:
    ev = distro_evidence("rhel9", sudo=False).json(WIRE_KEXINIT, wire())
    verdict = ev.check("linux.sshd.weak-crypto")
    assert verdict.status == "pass" and "wire only" in verdict.reason
    ev = distro_evidence("rhel9", sudo=False).failed(WIRE_KEXINIT, "connection refused")
    verdict = ev.check("linux.sshd.weak-crypto")
    assert verdict.status == "error" and "sudo -n" in verdict.reason


@pytest.mark.parametrize("check_id,line,bad", [
    ("linux.sshd.max-auth-tries", "MaxAuthTries {}", (5, 4)),
    ("linux.sshd.login-grace-time", "LoginGraceTime {}", ("0", "60")),
    ("linux.sshd.login-grace-time", "LoginGraceTime {}", ("2m", "1m")),
])
def test_numeric_limits(check_id: str, line: str, bad: tuple) -> None:
    assert config_evidence(line.format(bad[0])).check(check_id).status == "fail"
    assert config_evidence(line.format(bad[1])).check(check_id).status == "pass"


def test_idle_timeout() -> None:
    assert config_evidence("ClientAliveInterval 300\nClientAliveCountMax 3\n").check(
        "linux.sshd.idle-timeout").status == "pass"
    verdict = config_evidence("ClientAliveInterval 600\nClientAliveCountMax 3\n").check("linux.sshd.idle-timeout")
    assert verdict.status == "fail" and verdict.observed["timeout_seconds"] == 1800
    assert config_evidence("").check("linux.sshd.idle-timeout").status == "fail"  # default 0
    assert config_evidence("ClientAliveInterval 600\nClientAliveCountMax 3\n").check(
        "linux.sshd.idle-timeout", max_idle_seconds=1800).status == "pass"


@pytest.mark.parametrize("software, status", [("OpenSSH_9.2p1", "fail"), ("OpenSSH_8.2p1", "fail"),
                                              ("OpenSSH_7.4p1", "pass"), (None, "manual")])
def test_client_alive_count_max_zero_depends_on_the_release(software: str | None, status: str) -> None:
    """Since OpenSSH 8.2, ClientAliveCountMax 0 switches the termination off (it used to end the connection
    after one interval): never taken as 1."""
    data = {**wire(), "software": software, "identification": f"SSH-2.0-{software}"} if software else None
    verdict = config_evidence("ClientAliveInterval 300\nClientAliveCountMax 0\n", wire_data=data).check(
        "linux.sshd.idle-timeout")
    assert verdict.status == status, verdict.reason


def test_client_alive_is_resource_management_not_idle_session_termination() -> None:
    from auditor.registry import REGISTRY

    assert REGISTRY.load().checks["linux.sshd.idle-timeout"].requirements == ("SR 7.2", "CR 7.2")
    assert "CR 2.6" in REGISTRY.checks["linux.session.timeout"].requirements
    assert "linux.session.tmout" not in " ".join(c.remediation for c in REGISTRY.checks.values())


@pytest.mark.parametrize("text, status", [
    ("Authorised use only. Notice per IEC 62443-3-3 SR 1.12; see section 4.2 of policy P-7.", "pass"),
    ("Authorised use only. Activity is logged (procedure 2.3.1).", "pass"),
    ("Authorised use only. Debian GNU/Linux 12", "fail"),
    ("Authorised use only. Appliance firmware v2.3.1", "fail"),
    ("Authorised use only. Served by OpenSSH_9.2p1", "fail"),
    ("Authorised use only. Kernel 6.1.0-18-amd64 on an x86_64", "fail"),
])
def test_banner_disclosure_looks_for_system_details_not_any_dotted_number(text: str, status: str) -> None:
    verdict = config_evidence("Banner none\n", sess=session(banner=text)).check("linux.sshd.banner")
    assert verdict.status == status, verdict.reason


def test_banner_served_configured_and_disclosing() -> None:
    assert hardened().check("linux.sshd.banner").status == "pass"
    # Ubuntu's stock /etc/issue.net names the OS and version
    verdict = distro_evidence("ubuntu2204", banner="Ubuntu 22.04.4 LTS\n").check("linux.sshd.banner")
    assert verdict.status == "fail" and "Ubuntu" in verdict.reason
    # the config names a banner but none is sent: disagreement reported
    verdict = distro_evidence("ubuntu2204", banner=None).check("linux.sshd.banner")
    assert verdict.status == "fail" and "sent no banner" in verdict.reason
    # no config, no session: the banner check can still not pass
    verdict = config_evidence("").check("linux.sshd.banner")
    assert verdict.status == "fail"
    # config unreadable, the served banner decides
    verdict = distro_evidence("rhel9", sudo=False, banner=GOOD_BANNER["/etc/issue.net"]).check("linux.sshd.banner")
    assert verdict.status == "pass"
    verdict = config_evidence("Banner none\n", sess=session(banner="Authorised personnel only, all access logged.")
                              ).check("linux.sshd.banner")
    assert verdict.status == "pass" and "disagree" in verdict.reason


def test_permit_empty_passwords_family() -> None:
    for line in ("PermitEmptyPasswords yes", "HostbasedAuthentication yes", "IgnoreRhosts no",
                 "PermitUserEnvironment yes"):
        assert config_evidence(line).check("linux.sshd.permit-empty-passwords").status == "fail", line
    assert config_evidence("").check("linux.sshd.permit-empty-passwords").status == "pass"


def test_forwarding_and_allowed_param() -> None:
    ev = config_evidence("AllowTcpForwarding no\nAllowAgentForwarding no\nAllowStreamLocalForwarding no\n"
                         "X11Forwarding yes\n")
    verdict = ev.check("linux.sshd.forwarding")
    assert verdict.status == "fail" and verdict.reason == "enabled: x11forwarding yes"
    assert ev.check("linux.sshd.forwarding", allowed=["X11Forwarding"]).status == "pass"
    assert config_evidence("DisableForwarding yes\n").check("linux.sshd.forwarding").status == "pass"


def test_log_level_session_limits_allow_list() -> None:
    assert config_evidence("LogLevel QUIET").check("linux.sshd.log-level").status == "fail"
    assert config_evidence("LogLevel DEBUG3").check("linux.sshd.log-level").status == "fail"
    assert config_evidence("").check("linux.sshd.log-level").status == "pass"
    assert config_evidence("MaxStartups 10:30:60").check("linux.sshd.session-limits").status == "pass"
    assert config_evidence("MaxStartups 10:30:60\nMaxSessions 20").check("linux.sshd.session-limits").status == "fail"
    assert config_evidence("").check("linux.sshd.session-limits").status == "fail"  # default 10:30:100
    assert config_evidence("DenyUsers guest").check("linux.sshd.access-allow-list").status == "fail"
    assert config_evidence("AllowGroups ssh-admins").check("linux.sshd.access-allow-list").status == "pass"


def test_host_key_strength() -> None:
    assert hardened().check("linux.sshd.host-key-strength").status == "pass"
    ev = config_evidence("", hostkeys=["/etc/ssh/ssh_host_rsa_key 1024 SHA256:x root@h (RSA)",
                                       "/etc/ssh/ssh_host_ed25519_key 256 SHA256:y root@h (ED25519)"])
    verdict = ev.check("linux.sshd.host-key-strength")
    assert verdict.status == "fail" and "RSA 1024" in verdict.reason
    assert "fingerprint" not in str(verdict.observed)
    ev = config_evidence("HostKey /etc/ssh/ssh_host_dsa_key",
                         hostkeys=["/etc/ssh/ssh_host_dsa_key 1024 SHA256:x root@h (DSA)"])
    assert ev.check("linux.sshd.host-key-strength").status == "fail"
    # config unreadable: an RSA key is offered but its size is unknown -> error, not pass
    ev = distro_evidence("rhel9", sudo=False).json(WIRE_KEXINIT, wire(hostkeys=["rsa-sha2-512", "ssh-ed25519"]))
    assert ev.check("linux.sshd.host-key-strength").status == "error"
    ev = distro_evidence("rhel9", sudo=False).json(WIRE_KEXINIT, wire(hostkeys=["ssh-ed25519"]))
    assert ev.check("linux.sshd.host-key-strength").status == "pass"


@pytest.mark.parametrize("line, status", [("AllowUsers *", "fail"), ("AllowUsers *@10.0.0.*", "fail"),
                                          ("AllowGroups *", "fail"), ("AllowUsers ops-*", "pass"),
                                          ("AllowGroups ssh-admins", "pass")])
def test_an_allow_list_of_wildcards_allows_everyone(line: str, status: str) -> None:
    assert config_evidence(line).check("linux.sshd.access-allow-list").status == status


def test_client_alive_match_blocks_are_judged() -> None:
    ev = config_evidence("ClientAliveInterval 300\nClientAliveCountMax 2\nMatch Address 10.0.0.0/8\n"
                         "  ClientAliveInterval 0\n")
    verdict = ev.check("linux.sshd.idle-timeout")
    assert verdict.status == "fail" and "Match Address 10.0.0.0/8" in verdict.reason


def test_a_match_block_undoing_disable_forwarding_fails() -> None:
    ev = config_evidence("DisableForwarding yes\nMatch Group engineers\n  DisableForwarding no\n")
    verdict = ev.check("linux.sshd.forwarding")  # AllowTcpForwarding defaults to yes for that group
    assert verdict.status == "fail" and "Match Group engineers" in verdict.reason
    fine = config_evidence("DisableForwarding yes\nAllowTcpForwarding no\nAllowAgentForwarding no\n"
                           "AllowStreamLocalForwarding no\nX11Forwarding no\nPermitTunnel no\nGatewayPorts no\n"
                           "Match Group engineers\n  DisableForwarding no\n")
    assert fine.check("linux.sshd.forwarding").status == "pass"


def test_a_host_key_whose_size_could_not_be_read_is_not_a_pass() -> None:
    ev = config_evidence("HostKey /etc/ssh/ssh_host_ed25519_key\nHostKey /etc/ssh/ssh_host_ecdsa_key\n",
                         hostkeys=["/etc/ssh/ssh_host_ed25519_key 256 SHA256:abc root@h (ED25519)",
                                   "/etc/ssh/ssh_host_ecdsa_key ssh-keygen: /etc/ssh/ssh_host_ecdsa_key.pub: Permission denied"])
    verdict = ev.check("linux.sshd.host-key-strength")
    assert verdict.status != "pass", verdict


def test_mfa_match_blocks_and_factor_kinds() -> None:
    """A Match block that lets a key alone in defeats a global two-factor list; two knowledge prompts
    (password, then a PAM password via keyboard-interactive) are one factor."""
    otp = "auth required pam_google_authenticator.so\n@include common-auth\n"
    bypass = pam_evidence(config_evidence("AuthenticationMethods publickey,keyboard-interactive\n"
                                          "Match Address 10.0.0.0/8\n  AuthenticationMethods publickey\n"), sshd_pam=otp)
    verdict = bypass.check("linux.sshd.mfa")
    assert verdict.status == "fail" and "Match Address 10.0.0.0/8" in verdict.reason
    knowledge = pam_evidence(config_evidence("AuthenticationMethods password,keyboard-interactive\n"))
    verdict = knowledge.check("linux.sshd.mfa")
    assert verdict.status == "fail" and "both knowledge" in verdict.reason
    with_otp = pam_evidence(config_evidence("AuthenticationMethods password,keyboard-interactive\n"), sshd_pam=otp)
    assert with_otp.check("linux.sshd.mfa").status == "pass"
    both = pam_evidence(config_evidence("AuthenticationMethods publickey,password\n"
                                        "Match Address 10.0.0.0/8\n  AuthenticationMethods publickey,password\n"))
    assert both.check("linux.sshd.mfa").status == "pass"


@pytest.mark.parametrize("line", ["auth required pam_google_authenticator.so nullok",
                                  "auth optional pam_google_authenticator.so"])
def test_mfa_pam_module_that_does_not_enforce_is_no_second_factor(line: str) -> None:
    """nullok lets users without an enrolled token in on the key alone; optional never stops a login."""
    ev = pam_evidence(config_evidence("AuthenticationMethods publickey,keyboard-interactive\n"
                                      "PasswordAuthentication no\nKbdInteractiveAuthentication yes\n"),
                      sshd_pam=f"{line}\n")
    verdict = ev.check("linux.sshd.mfa")
    assert verdict.status != "pass" or "knowledge" in str(verdict.observed), verdict
    enforced = pam_evidence(config_evidence("AuthenticationMethods password,keyboard-interactive\n"),
                            sshd_pam="auth required pam_google_authenticator.so\n")
    lax = pam_evidence(config_evidence("AuthenticationMethods password,keyboard-interactive\n"),
                       sshd_pam=f"{line}\n")
    assert enforced.check("linux.sshd.mfa").status == "pass" and lax.check("linux.sshd.mfa").status == "fail"


def test_mfa() -> None:
    assert pam_evidence(hardened()).check("linux.sshd.mfa").status == "pass"
    ev = pam_evidence(config_evidence("PasswordAuthentication no\n"),
                      sshd_pam="auth required pam_google_authenticator.so\n@include common-auth\n")
    verdict = ev.check("linux.sshd.mfa")
    assert verdict.status == "fail" and "pam_google_authenticator" in verdict.reason
    ev = pam_evidence(config_evidence("PubkeyAuthentication no\nKbdInteractiveAuthentication yes\nUsePAM yes\n"
                                      "PasswordAuthentication no\n"),
                      sshd_pam="auth required pam_google_authenticator.so\n@include common-auth\n")
    assert ev.check("linux.sshd.mfa").status == "manual"
    ev = pam_evidence(config_evidence("Match Address 0.0.0.0/0\n  AuthenticationMethods publickey,password\n"))
    assert ev.check("linux.sshd.mfa").status == "manual"
    ev = pam_evidence(config_evidence("PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                                      "PubkeyAuthOptions verify-required\n"
                                      "PubkeyAcceptedAlgorithms sk-ssh-ed25519@openssh.com\n"))
    assert ev.check("linux.sshd.mfa").status == "pass"


# ------------------------------------------------------------------------------------ garbage


@pytest.mark.parametrize("output", ["", "garbage\n\x00\x01", "@@iacs master x y\n", "sh: 1: sh: not found\n"])
def test_garbage_sshd_output_never_crashes(output: str) -> None:
    ev = Evidence().cmd(SSHD_EFFECTIVE, output).cmd(SSHD_FILES, output).json(SESSION_INFO, session())
    with pytest.raises((FactParseError, FactUnavailable)):
        ev.fact("sshd_config")
    for check_id in ALL_SSHD:
        verdict = ev.check(check_id)
        if check_id == "linux.sshd.password-authentication":  # the offered methods alone never pass it
            assert verdict.status == "manual" and "could not be read" in verdict.reason
        elif check_id == "linux.sshd.banner":  # the session says no banner was sent
            assert verdict.status == "fail"
        else:
            assert verdict.status == "error", (check_id, verdict)


def test_garbage_sshd_T_falls_back_to_files() -> None:
    out = "@@iacs sshd-T cfg=/etc/ssh/sshd_config bin=/usr/sbin/sshd\n\x00\xff garbage\n@@iacs exit 0\n"
    ev = Evidence().cmd(SSHD_EFFECTIVE, MASTER + "\n" + out).cmd(SSHD_FILES, files_output({
        "/etc/ssh/sshd_config": "PermitRootLogin no"})).json(SESSION_INFO, session())
    assert ev.fact("sshd_config").source == "config files + OpenSSH defaults"


@pytest.mark.parametrize("data", ["not json object", [1, 2], {"port": "22", "auth_methods": "password"},
                                  {"banner": 5}])
def test_garbage_session_and_wire(data: Any) -> None:
    ev = Evidence().json(SESSION_INFO, data).json(WIRE_KEXINIT, data)
    with pytest.raises(FactParseError):
        ev.fact("sshd_session")
    with pytest.raises(FactParseError):
        ev.fact("sshd_wire")
    assert ev.check("linux.sshd.weak-crypto").status == "error"


def test_missing_items_are_unavailable() -> None:
    ev = Evidence()
    with pytest.raises(FactUnavailable):
        ev.fact("sshd_config")
    assert ev.check("linux.sshd.banner").status == "error"


# ------------------------------------------------------------------------------- metadata, fixtures


def test_check_metadata() -> None:
    REGISTRY.load()
    for check_id in ALL_SSHD:
        spec = REGISTRY.check(check_id)
        assert spec.rationale and spec.title and "Debian" in spec.remediation and "RHEL" in spec.remediation
        assert any(r.startswith("SR ") for r in spec.requirements), check_id
        assert any(r.startswith(("CR ", "HDR ")) for r in spec.requirements), check_id
    assert REGISTRY.check("linux.sshd.mfa").requirements == ("SR 1.1 RE2", "SR 1.1 RE3", "CR 1.1 RE2")


@pytest.mark.parametrize("name", ["weak", "hardened"])
def test_fixtures_answer_every_sshd_command(name: str) -> None:
    for req in (SSHD_EFFECTIVE, SSHD_FILES):
        assert fixture_answer(name, req).name in ("sshd.effective-config", "sshd.config-files")
    # sshd -T needs root: the fixture also says what a plain user gets
    assert "sshd.effective-config" in load(name).requests and load(name).requests["sshd.effective-config"].unprivileged


@pytest.mark.parametrize("name,expected", [("weak", "fail"), ("hardened", "pass")])
def test_fixture_outputs_give_opposite_verdicts(name: str, expected: str) -> None:
    """The fixture texts alone (no simulator): the weak host fails, the hardened host passes."""
    host = yaml.safe_load((FIXTURES / name / "host.yaml").read_text())["host"]
    port = 40022
    ev = Evidence()
    for req in (SSHD_EFFECTIVE, SSHD_FILES, PAM_CONFIG_FILES):
        ev.cmd(req, fixture_answer(name, req, port=port).stdout)
    ev.json(SESSION_INFO, session(port=port, methods=host["auth_methods"], banner=host["banner"]))
    ev.json(WIRE_KEXINIT, wire(kex=host["kex"], ciphers=host["ciphers"], macs=host["macs"],
                               hostkeys=["ecdsa-sha2-nistp256"] if host["host_key_type"] == "ecdsa" else
                               ["rsa-sha2-512", "rsa-sha2-256", "ssh-rsa"]))
    config = ev.fact("sshd_config")
    assert config.instance["ports"] == [port] and config.instance["pid"] in (1093, 702)
    for check_id in ALL_SSHD:
        verdict = ev.check(check_id)
        assert verdict.status == expected, (name, check_id, verdict.reason)
    # unprivileged: sshd -T fails, the readable config files still decide
    ev2 = Evidence().cmd(SSHD_EFFECTIVE, fixture_answer(name, SSHD_EFFECTIVE, sudo=False, port=port).stdout, sudo=False)
    ev2.cmd(SSHD_FILES, fixture_answer(name, SSHD_FILES, sudo=False, port=port).stdout)
    ev2.json(SESSION_INFO, session(port=port, methods=host["auth_methods"], banner=host["banner"]))
    assert ev2.fact("sshd_config").source == "config files + OpenSSH defaults"
    for check_id in REQUIRED:
        if check_id != "linux.sshd.weak-crypto":
            assert ev2.check(check_id).status == expected, (name, check_id)


def test_environment_is_not_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsing does not depend on the machine running the tests."""
    monkeypatch.setenv("PATH", "/nonexistent")
    os.environ.pop("LC_ALL", None)
    assert distro_evidence("debian12").fact("sshd_config").get("port") == "22"
