"""Profiles: built-ins for every type and SL, extends, params validation, select/deselect."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.assessment.profiles import builtin_names, load_profile
from auditor.errors import ConfigError
from auditor.registry import REGISTRY


def test_builtins_cover_four_types_at_four_levels() -> None:
    names = builtin_names()
    for component_type in ("host", "network", "embedded", "application"):
        for sl in range(1, 5):
            profile = load_profile(f"{component_type}-sl{sl}")
            assert f"{component_type}-sl{sl}" in names
            assert profile.type == component_type and profile.sl_target.highest() == sl
    assert load_profile("host-sl3").chain == ["host-sl3", "host-sl2", "host-sl1"]


def test_user_profile_extends_builtin_and_overrides(tmp_path: Path) -> None:
    spec = next(iter(REGISTRY.load().for_type("host")), None)
    if spec is None or not spec.params:
        spec = next((s for s in REGISTRY.for_type("host") if s.params), None)
    assert spec is not None, "the host pack must have at least one parameterised check"
    name, default = next(iter(spec.params.items()))
    value = default + 1 if isinstance(default, int) and not isinstance(default, bool) else default
    path = tmp_path / "site.yaml"
    path.write_text(f"id: site-hosts\nextends: host-sl2\nparams:\n  {spec.id}:\n    {name}: {value!r}\n"
                    f"deselect: ['{spec.id}']\n")
    profile = load_profile(path)
    assert profile.type == "host" and profile.sl_target.FR1 == 2
    assert profile.params_for(spec)[name] == value
    assert not profile.selects(spec.id)
    assert spec.id not in [s.id for s in profile.selected_checks()]


@pytest.mark.parametrize("body, message", [
    ("id: p\nextends: host-sl2\nparams:\n  no.such.check: {x: 1}\n", "params.no.such.check: unknown check id"),
    ("id: p\ntype: pump\nsl_target: 2\n", "type"),
    ("id: p\ntype: host\nsl_target: 7\n", "out of range"),
    ("id: p\nextends: nothing-like-this\n", "no such profile"),
    ("id: p\nsl_target: 2\n", "type: required"),
    ("id: p\nextends: p.yaml\n", "loops"),
])
def test_invalid_profiles(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "p.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    assert message in str(info.value)


def test_param_type_and_name_are_validated(tmp_path: Path) -> None:
    spec = next(s for s in REGISTRY.load().for_type("host") if s.params)
    name = next(iter(spec.params))
    path = tmp_path / "p.yaml"
    path.write_text(f"id: p\nextends: host-sl1\nparams:\n  {spec.id}:\n    {name}: {{a: 1}}\n    bogus: 1\n")
    with pytest.raises(ConfigError) as info:
        load_profile(path)
    text = str(info.value)
    assert f"params.{spec.id}.bogus: unknown parameter" in text
    assert f"params.{spec.id}.{name}: expected" in text


def test_checks_for_an_asset_follow_its_interfaces() -> None:
    """A Modbus-only PLC gets no OPC UA checks (and vice versa); their requirements stay not assessed."""
    from auditor.plant.inventory import Asset

    profile = load_profile("embedded-sl2")
    registry = REGISTRY.load()
    plc = Asset.model_validate({"id": "plc", "type": "embedded", "address": "127.0.0.1",
                                "endpoints": [{"protocol": "modbus"}]})
    protocols = {registry.facts[f].protocol for spec in profile.checks_for(plc) for f in spec.facts}
    assert protocols == {"modbus"}
    both = plc.model_copy(update={"endpoints": plc.endpoints + [
        Asset.model_validate({"id": "x", "type": "embedded", "address": "h",
                              "endpoints": [{"protocol": "opcua"}]}).endpoints[0]]})
    assert {registry.facts[f].protocol for spec in profile.checks_for(both) for f in spec.facts} == {"modbus", "opcua"}


def test_what_a_profile_derives_once_follows_its_fields_and_its_copies() -> None:
    """The selection and parameter keys are derived once per profile object: the same answers every time, and a
    copy with another selection or other parameters derives its own (never the original's)."""
    profile = load_profile("host-sl2")
    registry = REGISTRY.load()
    first = [spec.id for spec in profile.selected_checks(registry)]
    assert first == [spec.id for spec in profile.selected_checks(registry)]
    assert first == [s.id for s in registry.for_type("host") if profile.selects(s.id)]
    narrowed = profile.model_copy(update={"select": ["linux.sshd.*"]})
    assert [spec.id for spec in narrowed.selected_checks(registry)] == [i for i in first if i.startswith("linux.sshd.")]
    spec = next(s for s in profile.selected_checks(registry) if s.params)
    name = next(iter(spec.params))
    changed = profile.model_copy(update={"params": {**profile.params, spec.id: {name: "other"}}})
    assert profile.params_key(spec) != changed.params_key(spec)
    assert '"other"' in changed.params_key(spec) and profile.params_key(spec) == profile.params_key(spec)
