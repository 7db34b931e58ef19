"""The ``iacs-audit`` command line (contract: see README, "Command line").

Exit codes: 0 every assessed asset meets its SL-T; 1 some asset falls short (a requirement unmet or still
open; with ``--gate technical``: unmet by device evidence); 2 usage or configuration error; 3 some asset
could not be assessed. 2 and 3 win over 1. Each sub-module adds its commands to
:data:`cli`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import click

from auditor import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, package_name="iacs-auditor", prog_name="iacs-audit")
@click.option("-v", "--verbose", count=True,
              help="More log output on stderr (-v info, -vv debug with library logs and tracebacks).")
@click.option("--log-file", type=click.Path(dir_okay=False, writable=True, path_type=Path), metavar="FILE",
              help="Append the full log (debug, tracebacks, timestamps) to FILE, e.g. for scheduled jobs.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, log_file: Path | None) -> None:
    """Read-only hardening auditor for IACS components, scored against IEC 62443-3-3 and 62443-4-2."""
    from auditor.cli import logs

    try:
        handler = logs.configure(verbose, log_file)
    except OSError as exc:
        raise click.BadParameter(f"cannot write {log_file}: {exc.strerror or exc}", param_hint="--log-file") from None
    ctx.call_on_close(lambda: logs.remove(handler))
    if handler is not None:
        logging.getLogger("auditor.cli").info("iacs-audit %s: %s", __version__, ctx.invoked_subcommand)


def main() -> None:
    cli(prog_name="iacs-audit")


from auditor.cli import explain, scan  # noqa: E402,F401  (importing them registers their commands)
from auditor.cli import history, schedule, waivers  # noqa: E402,F401  (history store, scheduling)
from auditor.cli import report  # noqa: E402,F401  (the report command)
from auditor.cli import answers  # noqa: E402,F401  (questionnaire, attestations, coverage)
from auditor.cli import sudoers  # noqa: E402,F401  (the sudoers rule for an audit account)
from auditor.cli import inventory  # noqa: E402,F401  (inventory import, check, schema)
from auditor.cli import discover  # noqa: E402,F401  (scoping discovery of an address range)
from auditor.cli import worker  # noqa: E402,F401  (distributed scans: worker, pki)
