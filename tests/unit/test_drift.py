"""Drift between two scans: verdict changes, SL-A, assets, and evidence snapshots."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from auditor.assessment.slvector import SLVector
from auditor.evidence import AssetEvidence, EvidenceItem, EvidenceRequest
from auditor.registry import REGISTRY, snapshot
from auditor.results import AssetResult, CheckResult, Coverage, ScanResult, Summary
from auditor.store.drift import diff, render_text, take_snapshot

T0 = datetime(2025, 6, 1, 2, 0, tzinfo=timezone.utc)


def _asset(asset_id: str, statuses: dict[str, str], sl: int = 1, status: str = "assessed") -> AssetResult:
    return AssetResult(
        id=asset_id, type="host", zone="control", address="10.0.0.1", profile="p", status=status,  # type: ignore[arg-type]
        sl_target=SLVector.uniform(2), sl_achieved=SLVector.uniform(sl), sl_achieved_strict=SLVector.uniform(0),
        meets_target=sl >= 2, coverage=Coverage(assessed=1, applicable=1, ratio=1.0, by_fr={}),
        results=[CheckResult(check_id=c, title=c, status=s, severity="high", requirements=["CR 1.1"])  # type: ignore[arg-type]
                 for c, s in statuses.items()])


def _scan(scan_id: str, assets: list[AssetResult], offset: int = 0) -> ScanResult:
    return ScanResult(tool={"name": "iacs-auditor", "version": "t"}, site="s", started_at=T0 + timedelta(days=offset),
                      finished_at=T0 + timedelta(days=offset, minutes=1), profile="sl2", scan_id=scan_id,
                      summary=Summary(assets=len(assets), assessed=len(assets), errors=0, meeting_target=0,
                                      checks_by_status={}), assets=assets)


def test_verdicts_assets_and_sl_changes() -> None:
    a = _scan("1", [_asset("hmi-01", {"x.a": "pass", "x.b": "fail", "x.c": "waived", "x.d": "pass"}, sl=1),
                    _asset("old-01", {"x.a": "pass"})])
    b = _scan("2", [_asset("hmi-01", {"x.a": "fail", "x.b": "pass", "x.c": "fail", "x.e": "pass"}, sl=2),
                    _asset("new-01", {"x.a": "pass"})], offset=7)
    drift = diff(a, b)
    assert drift.assets_added == ["new-01"] and drift.assets_gone == ["old-01"]
    hmi = drift.assets[0]
    assert {c.check_id for c in hmi.newly_failing} == {"x.a", "x.c"}  # x.c: its waiver lapsed
    assert [c.check_id for c in hmi.newly_passing] == ["x.b"]
    assert {(c.check_id, c.before, c.after) for c in hmi.other_changes} == {("x.d", "pass", None), ("x.e", None, "pass")}
    assert hmi.sl_changes == {fr: [1, 2] for fr in ("FR1", "FR2", "FR3", "FR4", "FR5", "FR6", "FR7")}
    assert not hmi.meets_before and hmi.meets_after
    text = "\n".join(render_text(drift))
    assert "+ asset new-01 added" in text and "- asset old-01 gone" in text and "newly failing: x.a" in text
    assert drift.changed and not diff(a, a).changed and "no drift" in render_text(diff(a, a))


def test_evidence_drift_kinds() -> None:
    old = {"hmi-01": {
        "os": {"label": "operating system release", "kind": "version", "value": "Debian 11"},
        "packages": {"label": "installed software", "kind": "map", "value": {"openssh-server": "1:8.4p1-5", "telnetd": "0.17"}},
        "listeners": {"label": "listening services", "kind": "set", "value": ["0.0.0.0:22/tcp"]},
        "ssh_host_key": {"label": "SSH host key", "kind": "fingerprint", "value": {"ssh-ed25519": "SHA256:aaa"}},
        "kernel": {"label": "kernel release", "kind": "version", "value": "5.10"}}}
    new = {"hmi-01": {
        "os": {"label": "operating system release", "kind": "version", "value": "Debian 12"},
        "packages": {"label": "installed software", "kind": "map", "value": {"openssh-server": "1:9.2p1-2", "nginx": "1.22"}},
        "listeners": {"label": "listening services", "kind": "set", "value": ["0.0.0.0:22/tcp", "0.0.0.0:502/tcp"]},
        "ssh_host_key": {"label": "SSH host key", "kind": "fingerprint", "value": {"ssh-ed25519": "SHA256:bbb"}}}}
    scan = [_asset("hmi-01", {"x.a": "pass"})]
    changes = diff(_scan("1", scan), _scan("2", scan, 1), old, new).assets[0].evidence
    details = {c.detail for c in changes}
    assert "operating system release: Debian 11 -> Debian 12" in details
    assert "openssh-server 1:8.4p1-5 -> 1:9.2p1-2" in details and "nginx 1.22 installed" in details
    assert "telnetd 0.17 removed" in details
    assert "new listening service: 0.0.0.0:502/tcp" in details
    assert "SSH host key ssh-ed25519 replaced: SHA256:aaa -> SHA256:bbb" in details
    assert not any("kernel" in d for d in details)  # unknown on one side: not reported as a change


def _item(key_request: EvidenceRequest, response: str, encoding: str = "text", exit_code: int | None = 0) -> EvidenceItem:
    return EvidenceItem(id="a#1", asset="a", endpoint="ssh:22", request=key_request, response=response,
                        encoding=encoding, exit_code=exit_code)  # type: ignore[arg-type]


def test_snapshot_from_real_parsers_and_custom_snapshotter() -> None:
    from checks.linux.facts.network import LISTENERS
    from checks.linux.facts.sshd_commands import SESSION_INFO

    listeners = ("Netid State  Recv-Q Send-Q Local Address:Port Peer Address:Port\n"
                 "tcp   LISTEN 0      128          0.0.0.0:22        0.0.0.0:*\n"
                 "tcp   LISTEN 0      128        127.0.0.1:5432      0.0.0.0:*\n")
    info = '{"port": 22, "server_version": "SSH-2.0-OpenSSH_9.2p1", "host_key_type": "ssh-ed25519", ' \
           '"host_key_fingerprint": "SHA256:abc"}'
    evidence = AssetEvidence(asset="a", items=[_item(LISTENERS, listeners),
                                               _item(SESSION_INFO, info, encoding="json", exit_code=None)])
    snap = take_snapshot(evidence)
    assert snap["listeners"]["value"] == ["0.0.0.0:22/tcp", "127.0.0.1:5432/tcp"]
    assert snap["ssh_host_key"]["value"] == {"ssh-ed25519": "SHA256:abc"}
    assert snap["ssh_server"]["value"] == "SSH-2.0-OpenSSH_9.2p1"
    assert "os" not in snap  # not collected: left out, never guessed

    @snapshot("test_banner", label="banner", kind="version", items=["ssh:session:info"])
    def _banner(data):
        return data.get("server_version", "").upper()

    try:
        assert take_snapshot(evidence)["test_banner"]["value"] == "SSH-2.0-OPENSSH_9.2P1"
    finally:
        REGISTRY.snapshots.pop("test_banner")
    assert take_snapshot(AssetEvidence(asset="a", status="error", error="down")) == {}
