"""README "Writing a check" is a test: adding a check is one function plus its fixture entries.

The Python block of that section is run in a scratch module against the real registry (and taken out of it
again afterwards). The example must keep the check contract; the built-in SSH fixtures have no entry for its
request's name yet, so the simulator would answer "not found" and the check would err instead of giving its
declared verdicts (the registry-driven fixture test would fail); with the README's YAML entries added to a
copy of the fixtures, the check fails on the weak host and passes on the hardened one, through the same
fixture -> evidence path as the simulator.
"""

from __future__ import annotations

import re
import shutil
import sys
import types
from pathlib import Path
from typing import Iterator

import pytest
import yaml

from auditor.assessment.evaluate import FactCache, run_check
from auditor.registry import REGISTRY, contract_problems
from simulators.ssh.server import FIXTURES, load_fixture
from tests.support.ssh_fixture import MissingAnswer, fixture_answer, fixture_items

README = Path(__file__).resolve().parents[2] / "README.md"


def section(title: str) -> str:
    text = README.read_text()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end > 0 else len(text)]


def blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S)


class Example:
    def __init__(self, module: types.ModuleType, facts: list[str], checks: list[str], requests: list) -> None:
        self.module, self.facts, self.checks, self.requests = module, facts, checks, requests


@pytest.fixture
def example() -> Iterator[Example]:
    """The README's Python block, run in a scratch module; its check, fact and request name are removed after."""
    registry = REGISTRY.load()
    code = "\n".join(blocks(section("Writing a check"), "python"))
    assert "@check(" in code and "@fact(" in code
    before = (set(registry.facts), set(registry.checks), dict(registry.request_names))
    module = types.ModuleType("readme_example_check")
    sys.modules[module.__name__] = module
    try:
        exec(compile(code, "README.md (Writing a check)", "exec"), module.__dict__)
        facts = sorted(set(registry.facts) - before[0])
        checks = sorted(set(registry.checks) - before[1])
        requests = [r for name in facts for r in registry.facts[name].requests]
        yield Example(module, facts, checks, requests)
    finally:
        for name in set(registry.facts) - before[0]:
            del registry.facts[name]
        for check_id in set(registry.checks) - before[1]:
            del registry.checks[check_id]
        for key in set(registry.request_names) - set(before[2]):
            del registry.request_names[key]
        sys.modules.pop(module.__name__, None)
    assert (set(registry.facts), set(registry.checks), registry.request_names) == before


def fixture_entries() -> dict[str, tuple[str, dict]]:
    """The README's YAML entries: fixture name -> (file, {request name: answer})."""
    documents = {}
    for block in blocks(section("Writing a check"), "yaml"):
        for part in block.split("\n---\n"):
            where = re.search(r"simulators/ssh/fixtures/(\w+)/(\S+\.yaml)", part)
            assert where, part
            documents[where.group(1)] = (where.group(2), yaml.safe_load(part))
    return documents


def with_entries(tmp: Path, fixture: str, file: str, entries: dict) -> Path:
    folder = tmp / fixture
    shutil.copytree(FIXTURES / fixture, folder)
    data = yaml.safe_load((folder / file).read_text())
    assert not set(entries) & set(data["requests"])
    data["requests"].update(entries)
    (folder / file).write_text(yaml.safe_dump(data))
    return folder


def verdict(folder: Path | str, example: Example) -> str:
    items = fixture_items(folder, example.requests, unknown="shell")
    [check_id] = example.checks
    spec = REGISTRY.check(check_id)
    return run_check(spec, FactCache(items, REGISTRY), spec.params)[0].status


def test_the_readme_check_keeps_the_contract(example: Example) -> None:
    assert example.checks == ["linux.kernel.recent-boot"] and example.facts == ["uptime_seconds"]
    spec = REGISTRY.check("linux.kernel.recent-boot")
    assert contract_problems(spec) == []
    assert spec.facts == ("uptime_seconds",) and spec.takes_params
    [request] = example.requests
    assert REGISTRY.request_name(request) == "system.uptime"
    assert request.key == "ssh:exec:cat /proc/uptime"  # the name is not part of the evidence key


def test_without_fixture_entries_the_check_cannot_give_its_declared_verdicts(example: Example) -> None:
    spec = REGISTRY.check(example.checks[0])
    [request] = example.requests
    for fixture in ("weak", "hardened"):
        assert "system.uptime" not in load_fixture(fixture).requests
        with pytest.raises(MissingAnswer, match="system.uptime"):
            fixture_answer(fixture, request)
        # what the simulator answers instead: a shell's "not found"; the check errs, not fail/pass
        assert fixture_answer(fixture, request, unknown="shell").exit_code == 127
        got = verdict(fixture, example)
        assert got == "error" != spec.fixture_verdicts[fixture]


def test_with_the_readme_fixture_entries_weak_fails_and_hardened_passes(example: Example, tmp_path: Path) -> None:
    spec = REGISTRY.check(example.checks[0])
    entries = fixture_entries()
    assert set(entries) == {"weak", "hardened"}
    for fixture, (file, answers) in entries.items():
        assert set(answers) == {"system.uptime"}
        folder = with_entries(tmp_path, fixture, file, answers)
        assert fixture_answer(folder, example.requests[0]).name == "system.uptime"
        assert verdict(folder, example) == spec.fixture_verdicts[fixture] == {"weak": "fail", "hardened": "pass"}[
            fixture]


def test_once_the_check_is_gone_its_entries_are_stale(tmp_path: Path) -> None:
    """After the example is removed from the registry, a fixture still answering its name is refused."""
    file, answers = fixture_entries()["weak"]
    folder = with_entries(tmp_path, "weak", file, answers)
    assert "system.uptime" not in REGISTRY.load().named_requests()
    with pytest.raises(ValueError, match="no registered request is named 'system.uptime'"):
        load_fixture(folder)
