"""Secrets by reference: an environment variable or a file, resolved only when a connector needs them.

Resolved values live in memory for the connection and nowhere else: never in evidence, results,
logs or reports. :func:`check_references` lets the CLI fail fast (exit 2) before any asset is touched.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from pydantic import BaseModel

from auditor.errors import ConfigError, ConfigProblem
from auditor.plant.inventory import Asset


class SecretError(Exception):
    """A referenced secret cannot be read (unset variable, missing or unreadable file)."""


def resolve(env: str | None = None, file: str | None = None) -> str | None:
    """Return the secret named by ``env`` or ``file`` (first non-empty reference), or None if none given."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"environment variable {env} is not set")
        return value
    if file:
        path = Path(file).expanduser()
        try:
            return path.read_text(encoding="utf-8").rstrip("\r\n")
        except OSError as exc:
            raise SecretError(f"secret file {path} cannot be read: {exc.strerror}") from None
    return None


def _references(endpoint: BaseModel) -> Iterable[tuple[str, str | None, str | None]]:
    names = {name[: -len("_env")] for name in type(endpoint).model_fields if name.endswith("_env")}
    for name in sorted(names):
        yield name, getattr(endpoint, f"{name}_env", None), getattr(endpoint, f"{name}_file", None)


def check_references(source: str, assets: Iterable[Asset]) -> None:
    """Resolve every secret reference once, so a typo fails the run before the first connection."""
    problems = []
    for asset in assets:
        for index, endpoint in enumerate(asset.endpoints):
            for name, env, file in _references(endpoint):
                try:
                    resolve(env, file)
                except SecretError as exc:
                    problems.append(ConfigProblem(f"assets ({asset.id}).endpoints[{index}].{name}",
                                                  str(exc)))
    if problems:
        raise ConfigError(source, problems)
