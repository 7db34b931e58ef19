"""The history store: every scan's result, evidence and evidence manifest, in SQLite or PostgreSQL.

``open_store(target)`` takes ``None`` (``$IACS_AUDIT_DB``, else the per-user SQLite file), the word
``default``, a file path (SQLite) or a SQLAlchemy URL (``postgresql://user@host/db``,
``sqlite:///path``). Opening migrates the schema to the newest revision (Alembic, shipped in
``migrations/``); tables are never dropped to change them.
"""

from __future__ import annotations

import os
from pathlib import Path

from auditor.store.repository import Store, StoreError, alembic_config, migrate

ENV_VAR = "IACS_AUDIT_DB"


def default_path() -> Path:
    """``$XDG_DATA_HOME/iacs-auditor/history.sqlite`` (default ``~/.local/share/...``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "iacs-auditor" / "history.sqlite"


def resolve_url(target: str | os.PathLike[str] | None) -> str:
    """A SQLAlchemy URL for ``target`` (see the module docstring)."""
    text = str(target) if target is not None else (os.environ.get(ENV_VAR) or "default")
    if text == "default":
        path = default_path()
        path.parent.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{path}"
    if "://" in text:
        scheme, _, rest = text.partition("://")
        if scheme in ("postgresql", "postgres"):
            return f"postgresql+psycopg://{rest}"
        return text
    path = Path(text).expanduser().resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def display(target: str | os.PathLike[str] | None) -> str:
    """``target`` as a URL that is safe to print (password masked)."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(resolve_url(target)).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable history store URL>"


def open_store(target: str | os.PathLike[str] | None = None, *, upgrade: bool = True) -> Store:
    return Store(resolve_url(target), upgrade=upgrade)


__all__ = ["ENV_VAR", "Store", "StoreError", "alembic_config", "default_path", "display", "migrate", "open_store", "resolve_url"]
