"""Where and as whom an SSH endpoint connects: ssh_config (alias, HostName, User, Port, IdentityFile,
IdentitiesOnly, UserKnownHostsFile, ProxyJump), inventory jump hosts, and which source wins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auditor.errors import ConfigError
from auditor.plant.inventory import Asset, Inventory
from connectors.base import ScanOptions
from connectors.ssh.credentials import check_ssh_credentials
from connectors.ssh.sshconfig import SshConfigError, parse_jump_spec, resolve_target

CONFIG = """
Host ews-lab
    HostName 10.20.0.5
    User tech
    Port 2222
    IdentityFile ~/.ssh/plant_ed25519
    IdentitiesOnly yes
    UserKnownHostsFile ~/.ssh/plant_known_hosts
    ProxyJump bastion

Host bastion
    HostName 192.0.2.10
    User jumper
    Port 2200
    IdentityFile /keys/bastion

Host two-hops
    HostName 10.30.0.9
    ProxyJump ops@dmz-1:22,bastion

Host direct
    HostName 10.40.0.1
"""


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "ssh_config"
    path.write_text(CONFIG)
    return path


def asset(address: str = "ews-lab", **endpoint: Any) -> Asset:
    return Asset.model_validate({"id": "a", "type": "host", "address": address,
                                 "endpoints": [{"protocol": "ssh", **endpoint}]})


def target_of(item: Asset, **options: Any):
    return resolve_target(item, item.endpoints[0], ScanOptions(**options))


def test_alias_takes_hostname_user_port_identity_and_jump(config: Path) -> None:
    got = target_of(asset(ssh_config=str(config)))
    assert (got.host, got.port, got.username) == ("10.20.0.5", 2222, "tech")
    assert got.key_files == (str(Path("~/.ssh/plant_ed25519").expanduser()),)
    assert got.identities_only is True
    assert Path(got.known_hosts).expanduser() == Path("~/.ssh/plant_known_hosts").expanduser()
    assert got.ssh_config == str(config)
    (hop,) = got.jumps
    assert (hop.host, hop.port, hop.username, hop.key_files) == ("192.0.2.10", 2200, "jumper", ("/keys/bastion",))
    assert hop.known_hosts == got.known_hosts  # a hop without its own known_hosts uses the target's


def test_explicit_inventory_values_win_over_ssh_config(config: Path) -> None:
    got = target_of(asset(ssh_config=str(config), port=22, username="auditor", key_file="/keys/mine",
                          known_hosts="/kh", identities_only=False))
    assert (got.host, got.port, got.username, got.key_files) == ("10.20.0.5", 22, "auditor", ("/keys/mine",))
    assert got.known_hosts == "/kh" and got.identities_only is False
    # an inventory jump replaces ProxyJump
    jumped = target_of(asset(ssh_config=str(config), jump="ops@198.51.100.1:2022"))
    assert [(h.username, h.host, h.port) for h in jumped.jumps] == [("ops", "198.51.100.1", 2022)]


def test_cli_options_sit_between_the_endpoint_and_ssh_config(config: Path) -> None:
    got = target_of(asset(), ssh_config=str(config), ssh_key_file="/keys/cli", known_hosts=Path("/cli_kh"))
    assert got.key_files == ("/keys/cli",) and got.known_hosts is None  # None: the scan option's file is used
    assert got.username == "tech"
    endpoint_wins = target_of(asset(ssh_config=str(config), key_file="/keys/ep"), ssh_key_file="/keys/cli")
    assert endpoint_wins.key_files == ("/keys/ep",)


def test_default_port_of_the_model_is_not_explicit(config: Path) -> None:
    assert target_of(asset(ssh_config=str(config))).port == 2222  # the model's default 22 did not win
    assert target_of(asset("direct", ssh_config=str(config))).port == 22


def test_several_hops_each_completed_from_ssh_config(config: Path) -> None:
    got = target_of(asset("two-hops", ssh_config=str(config), username="u"))
    assert [(h.username, h.host, h.port) for h in got.jumps] == [("ops", "dmz-1", 22), ("jumper", "192.0.2.10", 2200)]
    assert got.host == "10.30.0.9"


def test_no_ssh_config_means_the_address_itself(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.ssh/config
    monkeypatch.setenv("USER", "localtech")
    monkeypatch.setenv("LOGNAME", "localtech")
    got = target_of(asset("10.0.0.1"))
    assert (got.host, got.port, got.username, got.jumps, got.ssh_config) == ("10.0.0.1", 22, "localtech", (), None)


def test_default_ssh_config_is_read_when_present(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / ".ssh").mkdir()
    (tmp_path / ".ssh" / "config").write_text(CONFIG)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert target_of(asset()).host == "10.20.0.5"
    with pytest.raises(SshConfigError, match="does not exist"):
        target_of(asset(ssh_config=str(tmp_path / "missing")))


def test_agent_default_and_switches(config: Path) -> None:
    assert target_of(asset(ssh_config=str(config))).use_agent is True
    assert target_of(asset(ssh_config=str(config), use_agent=False)).use_agent is False
    assert target_of(asset(ssh_config=str(config), use_agent=True), use_agent=False).use_agent is False  # --no-agent


@pytest.mark.parametrize("spec, hops", [
    ("bastion", [(None, "bastion", None)]),
    ("ops@10.0.0.1:2022", [("ops", "10.0.0.1", 2022)]),
    ("a@h1,b@h2:23", [("a", "h1", None), ("b", "h2", 23)]),
    ("ssh://ops@[fd00::1]:22", [("ops", "fd00::1", 22)]),
])
def test_jump_spec_parsing(spec: str, hops: list) -> None:
    assert parse_jump_spec(spec) == hops


@pytest.mark.parametrize("spec", ["", "a@", "u@h:99999", "u@h:port", "a@h,,b@h"])
def test_bad_jump_specs(spec: str) -> None:
    with pytest.raises(SshConfigError):
        parse_jump_spec(spec)


def inventory(**extra: Any) -> dict:
    return {"jump_hosts": [{"id": "bastion-1", "address": "192.0.2.10", "port": 2200, "username": "jumper",
                            "key_file": "/keys/bastion"}],
            "zones": [{"id": "cell", "jump": "bastion-1"}],
            "assets": [{"id": "plc-gw", "type": "host", "zone": "cell", "address": "10.1.1.1",
                        "endpoints": [{"protocol": "ssh", "username": "u"}]}], **extra}


def test_inventory_jump_hosts_by_id_zone_and_endpoint() -> None:
    inv = Inventory.model_validate(inventory())
    (jump,) = inv.assets[0].endpoints[0].jump
    assert (jump.id, jump.address, jump.port, jump.username) == ("bastion-1", "192.0.2.10", 2200, "jumper")
    own = inventory()
    own["assets"][0]["endpoints"][0]["jump"] = "ops@198.51.100.7,bastion-1"
    hops = target_of(Inventory.model_validate(own).assets[0]).jumps
    assert [(h.username, h.host, h.port) for h in hops] == [("ops", "198.51.100.7", 22), ("jumper", "192.0.2.10", 2200)]
    assert hops[1].key_files == ("/keys/bastion",) and hops[1].label == "bastion-1"


def test_unknown_jump_ids_are_config_errors(tmp_path: Path) -> None:
    from auditor.plant.inventory import load_inventory

    bad = inventory()
    bad["assets"][0]["endpoints"][0]["jump"] = "bastion-9"
    path = tmp_path / "plant.yaml"
    import yaml

    path.write_text(yaml.safe_dump(bad))
    with pytest.raises(ConfigError) as caught:
        load_inventory(path)
    assert "plant.yaml" in str(caught.value) and "jump" in str(caught.value) and "bastion-9" in str(caught.value)
    zone = inventory()
    zone["zones"][0]["jump"] = "nope"
    path.write_text(yaml.safe_dump(zone))
    with pytest.raises(ConfigError, match="unknown jump host 'nope'"):
        load_inventory(path)


def test_missing_credentials_are_found_before_connecting(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        check_ssh_credentials("plant.yaml", [asset("10.0.0.1", username="u")], ScanOptions())
    text = str(caught.value)
    assert "plant.yaml: assets (a).endpoints[0]: no credential for u@10.0.0.1:22" in text
    assert "SSH_AUTH_SOCK is not set" in text and "ssh-add" in text and "key_file" in text
    with pytest.raises(ConfigError, match=r"key file .*nope does not exist"):
        check_ssh_credentials("p", [asset("10.0.0.1", username="u", key_file=str(tmp_path / "nope"))], ScanOptions())
    jumped = Inventory.model_validate(inventory()).assets[0]
    with pytest.raises(ConfigError, match=r"jump \(jump host bastion-1\).*key file /keys/bastion does not exist"):
        check_ssh_credentials("p", [jumped], ScanOptions())
    monkeypatch.setenv("IACS_TEST_PW", "x")
    check_ssh_credentials("p", [asset("10.0.0.1", username="u", password_env="IACS_TEST_PW")], ScanOptions())


def test_terminal_prompt_asks_once_per_key(tmp_path: Path, monkeypatch) -> None:
    import shutil
    import subprocess

    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    key = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "secret words", "-f", str(key)], check=True)
    asked: list[str] = []

    def ask(prompt: str) -> str:
        asked.append(prompt)
        return "secret words"

    item = asset("10.0.0.1", username="u", key_file=str(key))
    check_ssh_credentials("p", [item, item], ScanOptions(), ask=ask)
    assert len(asked) == 1 and str(key) in asked[0]
    with pytest.raises(ConfigError, match="wrong passphrase"):
        other = tmp_path / "k2"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "right", "-f", str(other)], check=True)
        check_ssh_credentials("p", [asset("10.0.0.1", username="u", key_file=str(other))], ScanOptions(),
                              ask=lambda _prompt: "wrong")


def test_proxycommand_is_refused_not_silently_bypassed(tmp_path: Path) -> None:
    path = tmp_path / "cfg"
    path.write_text("Host hidden\n    HostName 10.9.9.9\n    ProxyCommand nc -X connect -x proxy:3128 %h %p\n")
    with pytest.raises(SshConfigError, match="ProxyCommand .* use ProxyJump"):
        target_of(asset("hidden", username="u", ssh_config=str(path)))


def test_cli_jump_accepts_an_alias(config: Path) -> None:
    from auditor.cli.scan import _ad_hoc_inventory

    inv = _ad_hoc_inventory("ssh://10.40.0.1", "host", None, None, None, jump="bastion,ops@198.51.100.9:2022",
                            ssh_config=str(config), no_agent=True)
    item = inv.assets[0]
    got = target_of(item)
    assert [(h.username, h.host, h.port) for h in got.jumps] == [("jumper", "192.0.2.10", 2200),
                                                               ("ops", "198.51.100.9", 2022)]
    assert got.use_agent is False


def test_no_passphrase_prompt_without_a_terminal(monkeypatch) -> None:
    import io
    import sys

    from auditor.cli.scan import _terminal_prompt

    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    assert _terminal_prompt() is None


def test_connector_label_names_the_port_really_used(config: Path) -> None:
    from connectors.ssh.connector import SshConnector

    item = asset(ssh_config=str(config))
    assert SshConnector(item, item.endpoints[0], ScanOptions()).label == "ssh://ews-lab:2222"


def test_openssh_default_key_files_when_none_is_named(tmp_path: Path, monkeypatch) -> None:
    import shutil
    import subprocess

    if shutil.which("ssh-keygen") is None:
        pytest.skip("needs ssh-keygen")
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / ".ssh").mkdir()
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / ".ssh" / "id_ed25519")],
                   check=True)
    subprocess.run(["ssh-keygen", "-q", "-t", "ecdsa", "-N", "locked", "-f", str(tmp_path / ".ssh" / "id_ecdsa")],
                   check=True)
    item = asset("10.0.0.1", username="u")
    got = target_of(item)
    assert got.default_keys and got.key_files == (str(tmp_path / ".ssh" / "id_ecdsa"),
                                                  str(tmp_path / ".ssh" / "id_ed25519"))
    check_ssh_credentials("p", [item], ScanOptions())  # the encrypted default key is skipped, not fatal
    from connectors.ssh.credentials import credentials_for

    found, _ = credentials_for(got, use_agent=False)
    assert [d for _, d, _ in found] == [f"key {tmp_path / '.ssh' / 'id_ed25519'}"]
    named = target_of(asset("10.0.0.1", username="u", key_file=str(tmp_path / ".ssh" / "id_ecdsa")))
    assert not named.default_keys
    with pytest.raises(ConfigError, match="encrypted"):
        check_ssh_credentials("p", [asset("10.0.0.1", username="u", key_file=str(tmp_path / ".ssh" / "id_ecdsa"))],
                              ScanOptions())
