"""The CLI simulator's shell on its own (no SSH): prompt, echo, enable, paging, refusal, configuration mode, log."""

from __future__ import annotations

import pytest

from simulators.netcli.device import CliAnswer, CliDevice, CliShell, load_device


def run(device: CliDevice, typed: list[bytes]) -> tuple[str, list[tuple[str, dict]]]:
    out: list[bytes] = []
    log: list[tuple[str, dict]] = []
    keys = iter(typed)
    CliShell(device, out.append, lambda: next(keys, None), lambda line, **f: log.append((line, f))).run()
    return b"".join(out).decode(), log


DEVICE = CliDevice(platform="cisco_ios", hostname="sw", privilege=1, enable_secret="s3cret", page_lines=2,
                   answers={"show version": CliAnswer("line 1\nline 2\nline 3\n"),
                            "show running-config": CliAnswer("hostname sw\n", privilege=15)})


def test_enable_paging_refusal_and_the_log() -> None:
    screen, log = run(DEVICE, [b"show running-config\n", b"enable\n", b"wrong\n", b"enable\n", b"s3cret\n",
                               b"show running-config\n", b"show version\n", b" ", b"terminal length 0\n",
                               b"show version\n", b"reload\n", b"exit\n"])
    assert screen.startswith("\r\nsw>") and "% Access denied" in screen and "sw#" in screen
    assert screen.count("--More--") == 1 and "s3cret" not in screen  # the secret is never echoed
    assert "% Invalid input detected at '^' marker." in screen
    assert [(line, f["refused"], f["privilege"]) for line, f in log] == [
        ("show running-config", True, 1), ("enable", True, 1), ("enable", False, 15), ("show running-config", False, 15),
        ("show version", False, 15), ("terminal length 0", False, 15), ("show version", False, 15),
        ("reload", True, 15), ("exit", False, 15)]
    assert not any(f["config_mode"] for _, f in log)


def test_configuration_mode_is_entered_only_when_privileged_and_is_logged() -> None:
    _, user = run(DEVICE, [b"configure terminal\n", b"exit\n"])
    assert user[0] == ("configure terminal", {"refused": True, "privilege": 1, "config_mode": False})
    privileged = CliDevice(platform="cisco_ios", hostname="sw", privilege=15)
    screen, log = run(privileged, [b"conf t\n", b"end\n", b"exit\n"])
    assert "sw(config)#" in screen and [f["config_mode"] for _, f in log] == [True, False, False]


def test_fixture_validation(tmp_path) -> None:
    (tmp_path / "cfg.txt").write_text("hostname x\n")
    device = load_device({"platform": "cisco_ios", "answers": {"show running-config": {"file": "cfg.txt",
                                                                                        "privilege": 15}}},
                         tmp_path, "f.yaml")
    assert device.answers["show running-config"] == CliAnswer("hostname x\n", 15)
    for bad, message in [({"platform": "junos"}, "cli.platform"), ({"platform": "cisco_ios", "colour": 1}, "colour"),
                         ({"platform": "cisco_ios", "answers": {"show x": {"file": "nope.txt"}}}, "no file"),
                         ({"platform": "cisco_ios", "privilege": 7}, "privilege")]:
        with pytest.raises(ValueError, match=message):
            load_device(bad, tmp_path, "f.yaml")
