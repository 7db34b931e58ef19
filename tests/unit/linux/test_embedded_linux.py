"""Linux-based controllers: which Linux checks apply to ``embedded`` assets, that their HDR rows have their EDR
twins, and that on the weak and hardened fixtures they fail and pass for a controller as for a host."""

from __future__ import annotations

from auditor.registry import REGISTRY
from tests.support.checks import check_verdicts
from tests.support.ssh_fixture import fixture_items

#: Checks of a general-purpose host's facilities (they judge what a controller's firmware does not have).
HOST_ONLY = ("linux.audit.", "linux.updates.", "linux.fim.", "linux.malware.", "linux.boot.", "linux.disk.",
             "linux.backup.", "linux.mac.", "linux.usb.", "linux.inventory.packages",
             "linux.packages.signature-policy")


def _embedded_linux() -> list:
    return [c for c in REGISTRY.load().for_type("embedded") if c.id.startswith("linux.")]


def test_the_controller_checks_are_the_host_checks_minus_the_host_facilities() -> None:
    registry = REGISTRY.load()
    linux = [c for c in registry.checks.values() if c.id.startswith("linux.")]
    embedded = {c.id for c in _embedded_linux()}
    assert all("host" in c.applies_to for c in linux)
    assert embedded == {c.id for c in linux if not c.id.startswith(HOST_ONLY)}
    # every FR5 (CR 5.1) and FR6 (CR 6.2) check of the Linux pack judges controllers too
    assert {c.id for c in linux if {"CR 5.1", "CR 6.2"} & set(c.requirements)} <= embedded


def test_an_hdr_row_of_a_controller_check_has_its_edr_twin() -> None:
    for spec in _embedded_linux():
        for row in spec.requirements:
            if row.startswith("HDR "):
                assert "EDR " + row[4:] in spec.requirements, (spec.id, row)


def test_weak_and_hardened_fixtures_give_the_same_verdicts_on_a_controller() -> None:
    """The checks read from the script alone (the sshd checks also need the live handshake: the e2e scan)."""
    specs = [s for s in _embedded_linux()
             if all(r.op == "exec" for name in s.facts for r in REGISTRY.facts[name].requests)]
    assert len(specs) >= 20
    requests = [r for spec in specs for name in spec.facts for r in REGISTRY.facts[name].requests]
    unique = list({r.key: r for r in requests}.values())
    for fixture, wanted in (("weak", "fail"), ("hardened", "pass")):
        verdicts = check_verdicts(fixture_items(fixture, unique, unknown="shell"), specs)
        declared = {s.id: s.fixture_verdicts[fixture] for s in specs}
        assert {k: v.status for k, v in verdicts.items()} == declared, fixture
        assert wanted in {v.status for v in verdicts.values()}
