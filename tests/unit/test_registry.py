"""The check registry: decorator validation and third-party packs through entry points."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from auditor.registry import REGISTRY, check

REPO = Path(__file__).resolve().parents[2]


def test_bad_metadata_is_refused_at_import() -> None:
    with pytest.raises(ValueError, match="lowercase and dotted"):
        check("Linux.SSH", title="t", requirements=["SR 1.1"], applies_to=["host"], severity="low", remediation="r")
    with pytest.raises(ValueError, match="severity"):
        check("x.y.z", title="t", requirements=["SR 1.1"], applies_to=["host"], severity="urgent", remediation="r")
    with pytest.raises(ValueError, match="component types"):
        check("x.y.z", title="t", requirements=["SR 1.1"], applies_to=["pump"], severity="low", remediation="r")


def test_builtin_checks_name_real_requirements_and_facts() -> None:
    registry = REGISTRY.load()
    assert not registry.load_errors
    registry.validate()  # raises on an unknown fact or requirement id
    assert len(registry.for_type("host")) >= 35


def _spec(**changes):
    from auditor.registry import CheckSpec

    base = dict(id="x.host.thing", title="A thing is configured safely", rationale="Why it matters: " + "x" * 40,
                remediation="Configure the thing safely on every host of the zone.", requirements=("SR 7.8", "CR 7.8"),
                applies_to=("host",), severity="low", facts=(), params={}, function=lambda: None, pack="checks.x")
    return CheckSpec(**{**base, **changes})


@pytest.mark.parametrize("changes, message", [
    ({"title": "Short"}, "title"),
    ({"title": "Ends with a full stop."}, "title"),
    ({"rationale": "Because."}, "rationale"),
    ({"remediation": "Fix it."}, "remediation"),
    ({"requirements": ()}, "at least one"),
    ({"requirements": ("SR 99.1",)}, "unknown requirement"),
    ({"requirements": ("NDR 1.6",)}, "NDR 1.6 is a network requirement"),
    ({"params": {"when": object()}}, "params.when"),
    ({"fixture_verdicts": {"weak": "manual"}}, "fixture_verdicts"),
    ({"fixture_verdicts": {"weak": "manual", "hardened": "pass"}}, "fixture_note"),
])
def test_check_contract(changes: dict, message: str) -> None:
    from auditor.registry import contract_problems

    assert contract_problems(_spec()) == []
    problems = contract_problems(_spec(**changes))
    assert any(message in p for p in problems), problems
    assert not contract_problems(_spec(fixture_verdicts={"weak": "manual", "hardened": "pass"},
                                       fixture_note="the weak fixture cannot show the problem over the wire"))


def test_a_third_party_check_breaking_the_contract_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "sloppypack.py").write_text(textwrap.dedent('''
        from auditor.registry import check
        from auditor.verdicts import passed

        @check("sloppy.host.thing", title="Thing", requirements=["CR 7.8"], applies_to=["host"], severity="low",
               remediation="fix")
        def thing():
            return passed(1, "1")
    '''))
    dist = tmp_path / "sloppypack-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: sloppypack\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[iacs_auditor.checks]\nsloppy = sloppypack\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    run = subprocess.run([sys.executable, "-m", "auditor", "checks", "list", "--json"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0 and "sloppy.host.thing" not in {c["id"] for c in json.loads(run.stdout)}
    assert "breaks the check contract" in run.stderr and "remediation" in run.stderr


def _install_tiny_pack(site: Path) -> None:
    """What pip leaves behind for a pack: the module plus dist-info with an entry point."""
    (site / "tinypack.py").write_text(textwrap.dedent('''
        """A third-party pack used by the tests."""
        from auditor.registry import check, fact, ssh_exec
        from auditor.verdicts import failed, passed

        UPTIME = ssh_exec("cat /proc/uptime")

        @fact("tiny_uptime", protocol="ssh", requests=[UPTIME])
        def tiny_uptime(ev):
            return float(ev.command(UPTIME).stdout.split()[0])

        @check("tiny.host.uptime", title="Host rebooted within a year", requirements=["SR 7.8", "CR 7.8"],
               applies_to=["host"], severity="low", params={"max_days": 365},
               remediation="Plan a reboot into the patched kernel in the next maintenance window.")
        def uptime_check(tiny_uptime, params):
            """Very long uptimes hint at missing kernel patches."""
            days = tiny_uptime / 86400
            ok = days <= params["max_days"]
            return (passed if ok else failed)(round(days), f"<= {params['max_days']} days")
    '''))
    dist = site / "tinypack-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tinypack\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[iacs_auditor.checks]\ntiny = tinypack\n")


def test_third_party_pack_via_entry_point(tmp_path: Path) -> None:
    _install_tiny_pack(tmp_path)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    listing = subprocess.run([sys.executable, "-m", "auditor", "checks", "list", "--json"], env=env,
                             capture_output=True, text=True, timeout=60, check=True)
    ids = {c["id"]: c for c in json.loads(listing.stdout)}
    assert ids["tiny.host.uptime"]["pack"] == "tinypack"
    assert ids["tiny.host.uptime"]["requirements"] == ["SR 7.8", "CR 7.8"]
    shown = subprocess.run([sys.executable, "-m", "auditor", "checks", "show", "tiny.host.uptime"], env=env,
                           capture_output=True, text=True, timeout=60, check=True).stdout
    assert "cat /proc/uptime" in shown and "max_days: 365" in shown and "Control system component inventory" in shown


def test_broken_third_party_pack_does_not_take_the_tool_down(tmp_path: Path) -> None:
    (tmp_path / "brokenpack.py").write_text("raise RuntimeError('boom')\n")
    dist = tmp_path / "brokenpack-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: brokenpack\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[iacs_auditor.checks]\nbroken = brokenpack\n")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)])}
    run = subprocess.run([sys.executable, "-m", "auditor", "checks", "list"], env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0
    assert "brokenpack" in run.stderr and "boom" in run.stderr


def test_builtin_drift_snapshots_are_declared_by_their_packs() -> None:
    registry = REGISTRY.load()
    builtin = {spec.name: spec.pack for spec in registry.snapshots.values() if spec.pack.startswith("checks.")}
    assert set(builtin.values()) == {"checks.linux.drift", "checks.modbus.drift", "checks.opcua.drift",
                                     "checks.snmp.drift", "checks.windows.drift", "checks.netcli.drift",
                                     "checks.s7.drift"}
    assert {"os", "kernel", "packages", "listeners", "ssh_host_key", "ssh_server"} <= set(builtin)  # stored names


def test_packs_and_renderers_keep_to_their_layer() -> None:
    """A check pack never reaches into a connector; a renderer reads the result, never the registry or packs."""
    imports = re.compile(r"^\s*(?:from|import)\s+([\w.]+)", re.MULTILINE)
    for folder, forbidden in (("checks", ("connectors",)), ("reports", ("auditor.registry", "checks"))):
        for path in sorted((REPO / folder).rglob("*.py")):
            for module in imports.findall(path.read_text()):
                assert not any(module == f or module.startswith(f + ".") for f in forbidden), (path, module)
