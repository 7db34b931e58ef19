"""Every evidence request has a short, stable name; the SSH simulator's fixtures answer requests by it.

A request's name (``ssh_exec(..., name="files.dump")``) is not part of its key, so recorded evidence and the
history store are unchanged by it; the fixtures are keyed by it, so a request's command text can change
without touching a fixture, and a fixture entry whose name no request has any more is an error.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from auditor.registry import REGISTRY, REQUEST_NAME, ssh_exec
from checks.linux.facts.files import FILES
from simulators.ssh.server import FIXTURES, RequestNames, load_fixture
from tests.support.ssh_fixture import MissingAnswer, fixture_answer

BUILTIN = ("weak", "hardened")


def builtin_requests():
    registry = REGISTRY.load()
    return {r.key: (r, spec) for spec in registry.facts.values() if spec.pack.startswith("checks.")
            for r in spec.requests}


def linux_exec_requests():
    return [r for r, spec in builtin_requests().values() if spec.pack.startswith("checks.linux") and r.op == "exec"]


def test_every_builtin_request_has_a_name() -> None:
    registry = REGISTRY.load()
    unnamed = [key for key in builtin_requests() if key not in registry.request_names]
    assert not unnamed, unnamed
    names = [registry.request_names[key] for key in builtin_requests()]
    assert len(names) == len(set(names))
    assert all(REQUEST_NAME.match(name) for name in names)
    assert registry.request_name(FILES) == "files.dump"


def test_the_name_is_not_part_of_the_key() -> None:
    named = ssh_exec("uname -r", name="test.uname")
    try:
        assert named == ssh_exec("uname -r") and named.key == "ssh:exec:uname -r"
        assert REGISTRY.request_name(ssh_exec("uname -r")) == "test.uname"
        with pytest.raises(ValueError, match="already named"):
            ssh_exec("uname -r", name="test.other")
        with pytest.raises(ValueError, match="already taken"):
            ssh_exec("uname -a", name="test.uname")
        with pytest.raises(ValueError, match="lowercase and dotted"):
            ssh_exec("uname -a", name="Uname")
    finally:
        REGISTRY.request_names.pop(named.key, None)


@pytest.mark.parametrize("fixture", BUILTIN)
def test_builtin_fixtures_answer_every_linux_request_by_name(fixture: str) -> None:
    loaded = load_fixture(fixture)  # a stale entry (a name no registered request has) fails here
    assert not loaded.commands, "built-in fixtures answer registered requests by name only"
    answered = set()
    for req in linux_exec_requests():
        answered.add(fixture_answer(fixture, req).name)
    assert answered == set(loaded.requests), set(loaded.requests) ^ answered


def test_a_stale_fixture_entry_is_an_error(tmp_path: Path) -> None:
    folder = tmp_path / "stale"
    shutil.copytree(FIXTURES / "weak", folder)
    (folder / "extra.yaml").write_text("requests:\n  files.dump-old:\n    stdout: x\n")
    with pytest.raises(ValueError, match="no registered request is named 'files.dump-old'"):
        load_fixture(folder)


def test_a_named_command_must_be_answered_by_its_name(tmp_path: Path) -> None:
    folder = tmp_path / "by-text"
    folder.mkdir()
    (folder / "a.yaml").write_text(yaml.safe_dump({"commands": {"auditctl -s": {"stdout": "enabled 1\n"}}}))
    with pytest.raises(ValueError, match="is the request 'audit.status'"):
        load_fixture(folder)


def test_a_changed_command_text_keeps_its_fixture_answer() -> None:
    """Adding a path to the composed FILES read changes its text, not its name: the fixtures still answer it."""
    longer = ssh_exec(FILES.target + " /etc/new-file.conf", sudo=True)
    names = RequestNames({**REGISTRY.load().named_requests(), "files.dump": longer})
    weak = load_fixture("weak", names)
    assert weak.command(longer.target, names.name_of(longer.target, True)) is weak.requests["files.dump"]
    assert names.name_of(FILES.target, True) is None  # the old text is just an unknown command now


def test_a_missing_entry_is_reported_by_name(tmp_path: Path) -> None:
    folder = tmp_path / "partial"
    shutil.copytree(FIXTURES / "weak", folder)
    data = yaml.safe_load((folder / "system.yaml").read_text())
    del data["requests"]["audit.rules"]
    (folder / "system.yaml").write_text(yaml.safe_dump(data))
    rules = next(r for r in linux_exec_requests() if REGISTRY.request_name(r) == "audit.rules")
    with pytest.raises(MissingAnswer, match="audit.rules"):
        fixture_answer(folder, rules)
