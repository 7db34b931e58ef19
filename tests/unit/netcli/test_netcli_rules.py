"""The CLI connector's safety rules, without a device: the allow-list, the line guard, secret removal."""

from __future__ import annotations

import pytest

from auditor.protocols.cli import FORBIDDEN_WORDS, PLATFORMS, READS, REDACTED, allowed, detect_platform, redact_config
from auditor.registry import REGISTRY
from connectors.netcli.driver import LineGuard, RefusedCommand

DANGEROUS = ["configure terminal", "conf t", "write memory", "write erase", "copy running-config startup-config",
             "copy running-config tftp://127.0.0.1/x", "reload", "reload in 5", "debug all", "undebug all",
             "clear counters", "clear logging", "delete flash:config.text", "erase startup-config", "test cable tdr",
             "archive config", "boot system flash:x.bin", "show running-config | redirect flash:x",
             "show running-config | tee flash:x", "show tech-support", "save", "tclsh", "setup",
             "show version\nconfigure terminal", "show running-config\rreload"]


def test_every_request_of_the_pack_is_on_the_allow_list() -> None:
    """The static proof: every read the pack can ask for is a logical read whose command, on every platform that
    has one, passes the connector's allow-list; Cisco IOS has a command for each."""
    cli_requests = {r for f in REGISTRY.load().facts.values() if f.protocol == "cli" for r in f.requests}
    assert cli_requests, "the network configuration pack declares CLI reads"
    for req in cli_requests:
        if (req.op, req.target) == ("session", "info"):  # the session record: written by the connector, never sent
            continue
        assert (req.protocol, req.op) == ("cli", "show") and req.target in READS, req.key
        assert PLATFORMS["cisco_ios"].command_for(req.target) is not None, req.target
        for platform in PLATFORMS.values():
            command = platform.command_for(req.target)
            assert command is None or allowed(platform.name, command), (platform.name, req.target, command)


def test_every_platform_command_is_a_plain_show() -> None:
    for platform in PLATFORMS.values():
        assert set(platform.commands) <= set(READS) and {"version", "running-config"} <= set(platform.commands)
        for command in platform.commands.values():
            words = command.split()
            assert words[0] == "show" and not set(words) & set(FORBIDDEN_WORDS) and "|" not in command, command


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
@pytest.mark.parametrize("command", DANGEROUS)
def test_dangerous_commands_are_refused_before_they_are_written(platform: str, command: str) -> None:
    assert not allowed(platform, command)
    guard = LineGuard(platform, secret=None)
    with pytest.raises(RefusedCommand):
        guard.check(command + "\n")
    assert guard.sent == []  # refused whole: not even an allowed first line of it is written


def test_the_guard_lets_the_session_commands_the_reads_and_the_secret_through() -> None:
    guard = LineGuard("cisco_ios", secret="en-S3cret")
    for line in ("terminal width 511\n", "terminal length 0\n", "\n", "enable\n", "en-S3cret\n", "show running-config\n",
                 "exit\n"):
        guard.check(line)
    assert guard.sent == ["terminal width 511", "terminal length 0", "enable", "<enable secret>",
                          "show running-config", "exit"]
    with pytest.raises(RefusedCommand):
        LineGuard("cisco_ios", secret=None).check("en-S3cret\n")  # no secret configured: it is just a word


def test_platform_detection() -> None:
    assert detect_platform("Cisco IOS Software, IE4000  Software (IE4000-UNIVERSALK9-M), Version 15.2(7)E8") == "cisco_ios"
    assert detect_platform("Cisco IOS XE Software, Version 17.09.04a") == "cisco_ios"
    assert detect_platform("", "SSH-2.0-Cisco-1.25") == "cisco_ios"
    assert detect_platform("System Description....Hirschmann Railswitch HiOS-2A-09.1.00") == "hirschmann_hios"
    assert detect_platform("% Invalid input detected at '^' marker.", "SSH-2.0-OpenSSH_8.4") is None


def test_redaction_keeps_the_storage_type_and_drops_every_secret() -> None:
    config = "\n".join([
        "enable secret 9 $9$abcdefghijklmn$0123456789abcdefghijklmnopqrstuvwxyzABCDEFG",
        "enable password 7 0822455D0A16",
        "username admin privilege 15 password 0 cleartext-pw",
        "username ops secret 5 $1$salt$hashhashhash",
        "username new privilege 15 algorithm-type scrypt secret 9 $9$x$y",
        "snmp-server community s1te-c0mmunity RO 10",
        "snmp-server community public RO",
        "snmp-server user u1 grp v3 auth sha authpass123 priv aes 128 privpass456",
        "tacacs-server key plainkey",
        "tacacs server ise-01",
        " key 7 104D000A0618",
        "ntp authentication-key 1 md5 1511021F07257A767B 7",
        "ntp server 127.0.10.251 key 1 prefer",
        "key chain K",
        " key 1",
        "  key-string 7 0011223344",
        "line vty 0 4",
        " password cisco",
    ])
    text, removed = redact_config(config, ("public", "private"))
    for secret in ("$9$abcdefghijklmn", "0822455D0A16", "cleartext-pw", "$1$salt", "$9$x$y", "s1te-c0mmunity",
                   "authpass123", "privpass456", "plainkey", "104D000A0618", "1511021F07257A767B", "0011223344", "cisco"):
        assert secret not in text, secret
    assert removed == 13
    assert "enable secret 9 <removed>" in text and "password 0 <removed>" in text and "secret 5 <removed>" in text
    assert "snmp-server community public RO" in text and f"snmp-server community {REDACTED} RO 10" in text
    assert "ntp server 127.0.10.251 key 1 prefer" in text and "\n key 1\n" in text  # key ids are not secrets
    assert redact_config(text, ("public",)) == (text, 0)  # idempotent
