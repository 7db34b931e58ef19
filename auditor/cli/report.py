"""The ``report`` command: render a saved result.json in any report format, offline."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click

from auditor.cli import cli
from auditor.cli.common import err_console, guard
from auditor.errors import ConfigError
from reports import FORMATS, default_name, write_report

BINARY_FORMATS = frozenset({"pdf"})  # --out - refuses these (exit 2)


@cli.command()
@click.argument("result_file", metavar="RESULT.json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-f", "--format", "fmt", type=click.Choice(list(FORMATS)), default="html", show_default=True,
              help="Report format.")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path),
              help="Output file (default: the format's usual file name beside RESULT.json); '-' writes to "
                   "standard output (every format but pdf).")
@click.option("-e", "--evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="The evidence.json of the scan: shows raw requests and responses (its hashes are verified).")
@click.option("--asset", "asset_id", metavar="ID",
              help="matrix, matrix-csv: the component to describe (default: every asset).")
@click.option("--sl", type=click.IntRange(1, 4),
              help="matrix, matrix-csv: requirements up to this SL (default: the asset's highest SL-T).")
@click.option("--operator", help="pdf: the operator named on the cover page (default: $IACS_OPERATOR).")
@click.option("-a", "--attestations", type=click.Path(dir_okay=False, path_type=Path),
              help="Answers file (YAML or CSV): judge the result's rows with these answers instead of the ones it "
                   "was scored with (device evidence is unchanged).")
@guard
def report(result_file: Path, fmt: str, out: Path | None, evidence: Path | None, asset_id: str | None,
           sl: int | None, operator: str | None, attestations: Path | None = None) -> None:
    """Render RESULT.json (from scan or rescore) as html, pdf, csv, md, junit, oscal, json or a vendor matrix.

    No network: everything comes from RESULT.json (and EVIDENCE.json when given)."""
    from reports.json_report import load_evidence, load_result

    if fmt not in ("matrix", "matrix-csv") and (asset_id or sl):
        raise click.UsageError("--asset and --sl apply to --format matrix and matrix-csv only")
    if fmt != "pdf" and operator is not None:
        raise click.UsageError("--operator applies to --format pdf only")
    to_stdout = out is not None and str(out) == "-"
    if to_stdout and fmt in BINARY_FORMATS:
        raise click.UsageError(f"--format {fmt} is a binary file and cannot go to standard output; give --out FILE")
    try:
        result = load_result(result_file)
    except (ValueError, OSError) as exc:
        raise ConfigError.single(result_file, "", f"not a valid result.json: {_brief(exc)}") from None
    if attestations is not None:
        from datetime import date

        from auditor.app.scan import load_answers_file
        from auditor.assessment.attestations import rejudge_result

        book = load_answers_file(attestations, lambda message: err_console.print(
            f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True))
        result = rejudge_result(result, book, date.today())
    bundle = None
    if evidence is not None:
        try:
            bundle = load_evidence(evidence)
        except (ValueError, OSError) as exc:
            raise ConfigError.single(evidence, "", f"not a valid evidence bundle: {exc}") from None
        if result.evidence_manifest_sha256 and bundle.manifest_sha256 != result.evidence_manifest_sha256:
            err_console.print(f"[yellow]warning:[/] {evidence} is not the evidence this result was scored from "
                              "(manifest hash differs); the report says so", highlight=False)
    if to_stdout:
        # render into a private temporary folder with the format's own writer, then copy the bytes out
        with tempfile.TemporaryDirectory(prefix="iacs-report-") as folder:
            written = _render(result, fmt, Path(folder) / default_name(fmt), bundle, asset_id, sl, operator)
            data = written.read_bytes()
        click.echo(data, nl=False)  # bytes go to the binary stream as they are (no re-encoding)
        return
    target = out if out is not None else result_file.parent / default_name(fmt)
    click.echo(f"wrote {_render(result, fmt, target, bundle, asset_id, sl, operator)}")


def _render(result, fmt: str, target: Path, bundle, asset_id: str | None, sl: int | None,
            operator: str | None) -> Path:
    """Write ``result`` as ``fmt`` into ``target``; returns the path written."""
    if fmt in ("matrix", "matrix-csv"):
        from reports.matrix import MatrixError, write_matrix, write_matrix_csv

        try:
            write = write_matrix if fmt == "matrix" else write_matrix_csv
            written = write(result, target, asset_id=asset_id, sl=sl, evidence=bundle)
        except MatrixError as exc:
            raise click.UsageError(str(exc)) from None
    elif fmt == "pdf":
        from reports.chromium import ChromiumError
        from reports.pdf import write_pdf

        try:
            written = write_pdf(result, target, evidence=bundle, operator=operator)
        except ChromiumError as exc:
            raise ConfigError.single("--format pdf", "chromium", str(exc)) from None
    else:
        written = write_report(result, fmt, target, bundle)
    return written


def _brief(exc: Exception) -> str:
    """One line for a validation error: how many problems, and the first one."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError) and exc.error_count():
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        return f"{where}: {first['msg']}{more}"
    return str(exc)
