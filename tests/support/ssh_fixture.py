"""The SSH simulator's fixtures as evidence, offline: what the simulator would answer a request, as an item.

The simulator answers a command by the name of the registered request that sends it (``requests:`` of
the fixture), else by its exact text (``commands:``). :func:`fixture_answer` does the same lookup with
the simulator's own code (:class:`simulators.ssh.server.RequestNames`, :meth:`Fixture.command`), runs the
command "under sudo" when the request asks for sudo and ``sudo`` says it works (else the
``unprivileged`` answer, if any), and substitutes ``{port}``; :func:`fixture_items` turns answers into
evidence items, so unit tests can run parsers and checks on a fixture without starting a server.

A request without an entry raises :class:`MissingAnswer` (the simulator would answer it like ``sh``:
exit 127, command not found), so a test sees at once which fixture entry is missing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from auditor.evidence import EvidenceItem, EvidenceRequest
from simulators.ssh.server import FIXTURES, Fixture, RequestNames, load_fixture, not_found

__all__ = ["FIXTURES", "FixtureAnswer", "MissingAnswer", "fixture_answer", "fixture_items", "load"]


class MissingAnswer(AssertionError):
    """The fixture has no entry for a request (neither under its name nor under its text)."""


@dataclass(frozen=True)
class FixtureAnswer:
    name: str | None       # the request's name (None: a command no registered request sends)
    stdout: str
    exit_code: int
    sudo: bool             # ran "under sudo"


_CACHE: dict[tuple[str, float], Fixture] = {}


def load(fixture: str | Path) -> Fixture:
    """A fixture folder (built-in name or path), loaded like the simulator loads it (cached per folder state)."""
    folder = FIXTURES / fixture if isinstance(fixture, str) and "/" not in fixture else Path(fixture)
    stamp = max((p.stat().st_mtime for p in folder.glob("*.y*ml")), default=0.0)
    key = (str(folder.resolve()), stamp)
    if key not in _CACHE:
        _CACHE[key] = load_fixture(folder)
    return _CACHE[key]


def fixture_answer(fixture: str | Path | Fixture, req: EvidenceRequest, *, sudo: bool = True, port: int = 2222,
                   unknown: str = "raise") -> FixtureAnswer:
    """What the simulator serving ``fixture`` on ``port`` answers ``req`` (``sudo``: whether sudo -n works).

    A request the fixture has no entry for raises :class:`MissingAnswer`, or with ``unknown="shell"`` gets
    the simulator's answer to an unknown command (exit 127, not found).
    """
    loaded = fixture if isinstance(fixture, Fixture) else load(fixture)
    wants_sudo = bool(req.option("sudo"))
    name = RequestNames().name_of(req.target, wants_sudo)
    command = loaded.command(req.target, name)
    as_root = wants_sudo and sudo
    if command is None:
        if unknown != "shell":
            raise MissingAnswer(f"fixture {loaded.name} has no entry for {name or req.target[:60]!r}")
        answer = not_found(req.target)
    else:
        answer = command.answer(as_root)
    stdout = (answer.stdout * answer.repeat).replace(b"{port}", str(port).encode())
    return FixtureAnswer(name, stdout.decode("utf-8", "replace"), answer.exit, as_root)


def fixture_items(fixture: str | Path | Fixture, requests: Iterable[EvidenceRequest], *, sudo: bool = True,
                  port: int = 2222, asset: str = "t", unknown: str = "raise") -> list[EvidenceItem]:
    """One evidence item per request, as the connector would record the simulator's answers."""
    items = []
    for req in requests:
        answer = fixture_answer(fixture, req, sudo=sudo, port=port, unknown=unknown)
        items.append(EvidenceItem(id=f"{asset}#{len(items) + 1}", asset=asset, endpoint="ssh", request=req,
                                  exit_code=answer.exit_code, response=answer.stdout, meta={"sudo": answer.sudo}))
    return items
