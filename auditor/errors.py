"""Errors the command line turns into exit codes.

A configuration problem (inventory, profile, waivers) must tell the user *which file*, *which field*
and *why*, and end with exit code 2; it must never surface as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError


@dataclass
class ConfigProblem:
    """One thing wrong in a configuration file; ``path`` (keys and list indexes) finds its line and column."""

    field: str
    reason: str
    path: tuple[str | int, ...] = ()
    line: int | None = None
    column: int | None = None


@dataclass
class ConfigError(Exception):
    """Invalid user configuration: reported as ``FILE: FIELD: REASON`` lines, exit code 2."""

    source: str
    problems: list[ConfigProblem] = field(default_factory=list)

    def __str__(self) -> str:
        lines = []
        for p in self.problems:
            where = f"{self.source}:{p.line}:{p.column}" if p.line is not None else self.source
            lines.append(f"{where}: {p.field}: {p.reason}" if p.field else f"{where}: {p.reason}")
        return "\n".join(lines) or self.source

    def locate(self, text: str) -> "ConfigError":
        """Give each problem with a ``path`` the line and column of that path in ``text`` (the YAML file)."""
        from auditor.plant.locate import YamlLocator

        locator = YamlLocator(text)
        for problem in self.problems:
            if problem.line is None and problem.path:
                found = locator.locate(problem.path)
                if found is not None:
                    problem.line, problem.column = found
        return self

    @classmethod
    def single(cls, source: str | Path, field_name: str, reason: str) -> "ConfigError":
        return cls(str(source), [ConfigProblem(field_name, reason)])

    @classmethod
    def from_validation(cls, source: str | Path, exc: ValidationError, data: object = None) -> "ConfigError":
        """Translate pydantic's errors into dotted field paths that name list items by their ``id``."""
        problems = []
        for err in exc.errors():
            loc, path = _readable_location(err["loc"], data)
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = "unknown field"
            elif err["type"] == "union_tag_invalid":
                ctx = err.get("ctx", {})
                msg = f"unknown value {ctx.get('tag')!r}; expected one of {ctx.get('expected_tags')}"
            problems.append(ConfigProblem(loc, msg, path))
        return cls(str(source), problems)


def _readable_location(loc: tuple, data: object) -> tuple[str, tuple[str | int, ...]]:
    """``('assets', 2, 'type')`` -> ``assets[2] (id=plc-01).type`` so users find the line quickly, and the
    path of keys and indexes in the file (without the tags and validator names pydantic adds)."""
    parts: list[str] = []
    path: list[str | int] = []
    node = data
    for position, item in enumerate(loc):
        last = position == len(loc) - 1
        if isinstance(item, int):
            label = f"[{item}]"
            node = node[item] if isinstance(node, list) and item < len(node) else None
            if isinstance(node, dict) and "id" in node:
                label += f" (id={node['id']})"
            parts.append(label)
            path.append(item)
            continue
        if isinstance(node, dict) and item not in node and (not last or node.get("protocol") == item):
            # a discriminator tag or validator name that pydantic adds to the path: not a user field
            continue
        node = node.get(item) if isinstance(node, dict) else None
        parts.append(("." if parts else "") + str(item))
        path.append(str(item))
    return "".join(parts), tuple(path)
