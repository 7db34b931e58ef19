"""Canary secrets: a scan of every protocol at ``-vv`` never shows a secret, in any form, anywhere it writes.

A plant on 127.0.32.x (SSH with an encrypted key and SSH with a password, SNMPv2c, SNMPv3, OPC UA with a
password, Modbus/TCP Security with an encrypted client key) is scanned with canary values for every secret.
Then stderr, stdout, the ``--log-file``, every file in the output folder and every row of the SQLite history
store are searched for each canary as text, as a ``bytes`` repr, as hex and as base64. asyncua logs the whole
``UserNameIdentityToken`` (password included) at DEBUG: the redaction of the log handlers must catch it.
"""

from __future__ import annotations

import base64
import gzip
import os
import sqlite3
import subprocess
import sys
import types
from pathlib import Path

import paramiko
import pytest
import yaml
from cryptography.hazmat.primitives import serialization

import simulators.opcua.plant as opcua_plant
from simulators.plant import Plant, PlantHost
from simulators.snmp.server import load_fixture as snmp_fixture
from simulators.ssh.server import SshSimulator

REPO = Path(__file__).resolve().parents[2]
CANARIES = {
    "ssh_key_passphrase": "CanarySshKeyPass-5b1e77",
    "ssh_password": "CanarySshPassword-0c94d2",
    "snmp_community": "CanarySnmpCommunity-a61f",
    "snmp_auth_key": "CanarySnmpAuthKey-3e8c90",
    "snmp_priv_key": "CanarySnmpPrivKey-77d1b4",
    "opcua_password": "CanaryOpcUaPassword-f04a3c",
    "modbus_key_passphrase": "CanaryModbusKeyPass-92bd0e",
}


def canary_forms(value: str) -> dict[str, bytes]:
    """The forms a careless library prints a secret in (computed here, independently of the redaction)."""
    raw = value.encode()
    return {"text": raw, "bytes repr": repr(raw).encode(), "hex": raw.hex().encode(),
            "HEX": raw.hex().upper().encode(), "base64": base64.b64encode(raw).rstrip(b"="),
            "utf-16": value.encode("utf-16-le")}


def _snmp_fixture(tmp: Path, name: str, edit) -> str:
    data = snmp_fixture(name)
    edit(data["agent"])
    path = tmp / f"snmp-{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return str(path)


def _v2c(agent: dict) -> None:
    agent["communities"][0]["name"] = CANARIES["snmp_community"]


def _v3(agent: dict) -> None:
    user = next(u for u in agent["users"] if u.get("level", "authPriv") == "authPriv")
    user["auth_key"], user["priv_key"] = CANARIES["snmp_auth_key"], CANARIES["snmp_priv_key"]


def _encrypt_key(source: Path, target: Path, passphrase: str, openssh: bool) -> None:
    key = serialization.load_pem_private_key(source.read_bytes(), None) if not openssh else \
        serialization.load_ssh_private_key(source.read_bytes(), None)
    form = serialization.PrivateFormat.OpenSSH if openssh else serialization.PrivateFormat.PKCS8
    target.write_bytes(key.private_bytes(serialization.Encoding.PEM, form,
                                         serialization.BestAvailableEncryption(passphrase.encode())))
    target.chmod(0o600)


@pytest.fixture(scope="module")
def scanned(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("canaries")
    hosts = [PlantHost("ssh-key", "hardened", "127.0.32.1", "control"),
             PlantHost("sw-v2c", _snmp_fixture(tmp, "weak", _v2c), "127.0.32.21", "control", type="network",
                       protocol="snmp"),
             PlantHost("sw-v3", _snmp_fixture(tmp, "hardened", _v3), "127.0.32.22", "control", type="network",
                       protocol="snmp"),
             PlantHost("scada", "hardened", "127.0.32.41", "control", type="application", protocol="opcua"),
             PlantHost("plc", "hardened", "127.0.32.31", "control", type="embedded", protocol="modbus")]
    saved = opcua_plant.secrets
    opcua_plant.secrets = types.SimpleNamespace(token_urlsafe=lambda n: CANARIES["opcua_password"])
    plant = Plant(tmp / "plant", hosts, timeout=5.0)
    try:
        plant.start()
    finally:
        opcua_plant.secrets = saved
    password_ssh = SshSimulator("weak", host="127.0.32.2", password=CANARIES["ssh_password"])
    password_ssh.start()
    try:
        inventory = yaml.safe_load(plant.inventory_path.read_text())
        by_id = {a["id"]: a for a in inventory["assets"]}
        ssh = by_id["ssh-key"]["endpoints"][0]
        _encrypt_key(plant.key_path, tmp / "ssh_key", CANARIES["ssh_key_passphrase"], openssh=True)
        ssh.update(key_file=str(tmp / "ssh_key"), key_passphrase_env="CANARY_SSH_KEY_PASS", use_agent=False)
        plc = by_id["plc"]["endpoints"][0]
        _encrypt_key(Path(plc["client_key_file"]), tmp / "modbus_key.pem", CANARIES["modbus_key_passphrase"],
                     openssh=False)
        plc.update(client_key_file=str(tmp / "modbus_key.pem"), client_key_passphrase_env="CANARY_MODBUS_PASS")
        (tmp / "known_hosts").write_text(plant.known_hosts.read_text() + password_ssh.known_hosts_line)
        for asset in inventory["assets"]:
            for endpoint in asset["endpoints"]:
                if endpoint["protocol"] == "ssh":
                    endpoint["known_hosts"] = str(tmp / "known_hosts")
        inventory["assets"].append({
            "id": "ssh-password", "type": "host", "zone": "control", "address": "127.0.32.2",
            "endpoints": [{"protocol": "ssh", "port": password_ssh.port, "username": "auditor",
                           "password_env": "CANARY_SSH_PASSWORD", "use_agent": False,
                           "known_hosts": str(tmp / "known_hosts")}]})
        (tmp / "inventory.yaml").write_text(yaml.safe_dump(inventory))
        out, log_file, db = tmp / "out", tmp / "audit.log", tmp / "history.sqlite"
        env = {**os.environ, "PYTHONPATH": str(REPO), "CANARY_SSH_KEY_PASS": CANARIES["ssh_key_passphrase"],
               "CANARY_SSH_PASSWORD": CANARIES["ssh_password"], "CANARY_MODBUS_PASS": CANARIES["modbus_key_passphrase"]}
        env.pop("SSH_AUTH_SOCK", None)
        run = subprocess.run([sys.executable, "-m", "auditor", "-vv", "--log-file", str(log_file), "scan",
                              "--inventory", str(tmp / "inventory.yaml"), "--sl", "2", "--out", str(out),
                              "--db", f"sqlite:///{db}",
                              "-f", "json,html,csv,md,junit,oscal,matrix,matrix-csv"],
                             cwd=REPO, capture_output=True, timeout=300, env=env)
    finally:
        password_ssh.stop()
        plant.stop()
    return run, out, log_file, db, {"plant": plant, "password_ssh": password_ssh}


def _store_text(db: Path) -> bytes:
    """Every value of every row of the history store, gzip-compressed blobs opened."""
    parts = []
    with sqlite3.connect(db) as connection:
        tables = [row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                for value in row:
                    if isinstance(value, bytes):
                        try:
                            value = gzip.decompress(value)
                        except OSError:
                            pass
                        parts.append(value)
                    elif value is not None:
                        parts.append(str(value).encode())
    return b"\n".join(parts)


def test_every_protocol_was_scanned_and_its_library_logged_at_debug(scanned) -> None:
    run, out, log_file, db, _ = scanned
    assert run.returncode in (1, 3), run.stderr.decode()[-3000:]
    import json

    statuses = {a["id"]: a["status"] for a in json.loads((out / "result.json").read_text())["assets"]}
    assert statuses == dict.fromkeys(["ssh-key", "ssh-password", "sw-v2c", "sw-v3", "scada", "plc"], "assessed"), \
        (statuses, run.stderr.decode()[-3000:])
    stderr = run.stderr.decode()
    # paramiko logs on the connector's channel; pysnmp logs only when its own debug switch is on (never), and
    # the Modbus connector speaks its frames itself
    for library in ("asyncua", "connectors.ssh.connector.transport"):
        assert f"DEBUG {library}" in stderr, f"no {library} DEBUG line: the canary test would prove nothing"
    assert "UserNameIdentityToken" in stderr and "[secret]" in stderr  # the line that used to leak


def test_no_canary_in_any_output(scanned) -> None:
    run, out, log_file, db, _ = scanned
    places = {"stderr": run.stderr, "stdout": run.stdout, "log file": log_file.read_bytes(),
              "history store": _store_text(db)}
    places.update({f"out/{p.name}": p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()})
    assert len(places) >= 12 and log_file.stat().st_size > 10_000
    leaks = [(where, name, form) for name, value in CANARIES.items() for form, needle in canary_forms(value).items()
             for where, data in places.items() if needle in data]
    assert leaks == []
