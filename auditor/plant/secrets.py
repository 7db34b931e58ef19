"""Secrets by reference: an environment variable or a file, resolved only when a connector needs them.

Resolved values live in memory for the connection and nowhere else: never in evidence, results,
logs or reports. :func:`check_references` lets the CLI fail fast (exit 2) before any asset is touched.

Our own code never logs a secret, but a library may (asyncua logs a whole ``UserNameIdentityToken``,
password included, at DEBUG). So every value :func:`resolve` returns (and every passphrase typed at a
prompt, through :func:`remember`) is also remembered here, in the forms a library might print it
(:func:`forms`), and the command line's log handlers redact them (:mod:`auditor.cli.logs`).
"""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterable

from auditor.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:  # for annotations only: the command line reads this module before it needs any model
    from pydantic import BaseModel

    from auditor.plant.inventory import Asset


class SecretError(Exception):
    """A referenced secret cannot be read (unset variable, missing or unreadable file)."""


MIN_REDACTED = 4  # a shorter form (a 3-byte secret's base64) would blank out ordinary words in the log
REDACTED = "[secret]"
_known: set[str] = set()
_pattern: re.Pattern[str] | None = None
_lock = threading.Lock()


def resolve(env: str | None = None, file: str | None = None) -> str | None:
    """Return the secret named by ``env`` or ``file`` (first non-empty reference), or None if none given."""
    if env:
        value = os.environ.get(env)
        if value is None:
            raise SecretError(f"environment variable {env} is not set")
        return remember(value)
    if file:
        path = Path(file).expanduser()
        try:
            return remember(path.read_text(encoding="utf-8").rstrip("\r\n"))
        except OSError as exc:
            raise SecretError(f"secret file {path} cannot be read: {exc.strerror}") from None
    return None


def remember(value: str) -> str:
    """Note a secret value so that logs redact it (see the module); returns ``value``."""
    global _pattern
    if value and value not in _known:
        with _lock:
            _known.add(value)
            every = sorted({form for known in _known for form in forms(known)}, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(form) for form in every)) if every else None
    return value


def forms(value: str) -> set[str]:
    """The ways a library may print ``value``: as is, as a ``str`` or ``bytes`` repr, backslash- or JSON-escaped, as hex
    and as base64 (with and without padding, standard and URL-safe); forms shorter than
    :data:`MIN_REDACTED` are left out."""
    raw = value.encode("utf-8", errors="surrogatepass")
    encoded = {base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode()}
    found = {value, repr(value)[1:-1], repr(raw)[2:-1], value.encode("unicode_escape").decode("ascii"),
             json.dumps(value)[1:-1], raw.hex(), raw.hex().upper(), *encoded, *(text.rstrip("=") for text in encoded)}
    return {form for form in found if len(form) >= MIN_REDACTED}


def redact(text: str) -> str:
    """``text`` with every known secret, in every form, replaced by :data:`REDACTED`."""
    pattern = _pattern
    return pattern.sub(REDACTED, text) if pattern is not None and text else text


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
