"""``python -m simulators.record ssh`` records a Windows host too: its sections' JSON, by request name."""

from __future__ import annotations

import json

import yaml

from auditor.evidence import EvidenceItem, EvidenceRequest
from simulators.record import ssh_fixture
from simulators.ssh.server import load_fixture
from tests.unit.windows.evidence import WindowsEvidence


def test_a_windows_recording_is_a_fixture_the_simulator_serves(tmp_path) -> None:
    items = WindowsEvidence("windows-hardened").items
    info = {"server_version": "SSH-2.0-OpenSSH_for_Windows_8.1", "platform": "windows", "auth_methods": ["publickey"],
            "host_key_type": "ecdsa-sha2-nistp256"}
    items.append(EvidenceItem(id="s", asset="w", endpoint="ssh", encoding="json", response=json.dumps(info),
                              request=EvidenceRequest(protocol="ssh", op="session", target="info")))
    files = ssh_fixture(items, port=22, hostname="HIST-01")
    assert set(files) == {"host.yaml", "windows.yaml"}
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    recorded = load_fixture(tmp_path)
    assert recorded.host.windows
    original = load_fixture("windows-hardened")
    assert {n: json.loads(c.privileged.stdout) for n, c in recorded.requests.items()} == \
        {n: json.loads(c.privileged.stdout) for n, c in original.requests.items()}
    assert yaml.safe_load(files["windows.yaml"])["requests"]["windows.os"]["exit"] == 0
