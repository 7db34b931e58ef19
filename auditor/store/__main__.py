"""Maintenance of a history store: ``python -m auditor.store [--db URL] upgrade|current|check|revision -m MSG``.

``check`` exits 1 when the models have changes no migration covers (like ``alembic check``);
``revision -m MSG`` autogenerates a new migration into ``auditor/store/migrations/versions`` (developers).
"""

from __future__ import annotations

import argparse
import sys

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from auditor.store import display, open_store, resolve_url
from auditor.store.models import Base
from auditor.store.repository import alembic_config


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m auditor.store")
    parser.add_argument("--db", help="store URL or SQLite path (default: $IACS_AUDIT_DB or the per-user file)")
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("upgrade", help="migrate to the newest schema")
    sub.add_parser("current", help="print the schema revision and the newest one")
    sub.add_parser("check", help="exit 1 if the models differ from the migrated schema")
    revision = sub.add_parser("revision", help="autogenerate a migration (developers)")
    revision.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    if args.action == "revision":
        command.revision(alembic_config(resolve_url(args.db)), message=args.message, autogenerate=True)
        return 0
    store = open_store(args.db, upgrade=args.action == "upgrade")
    try:
        head = ScriptDirectory.from_config(alembic_config()).get_current_head()
        with store.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            current = context.get_current_revision()
            if args.action in ("upgrade", "current"):
                print(f"{display(args.db)}: revision {current} (newest {head})")
                return 0
            diffs = compare_metadata(context, Base.metadata)
        if current != head or diffs:
            print(f"pending: revision {current} (newest {head}); {len(diffs)} model differences: {diffs}")
            return 1
        print("no pending changes")
        return 0
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
