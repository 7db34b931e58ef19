"""Renderers of one :class:`auditor.results.ScanResult`. Each format is a function in :data:`FORMATS`.

A renderer takes the result (and, optionally, the evidence bundle it was scored from) and writes one
file; nothing else goes in, so a rescore renders exactly like the scan it came from.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:  # for annotations only: the command line lists the formats before it needs a model
    from auditor.evidence import EvidenceBundle
    from auditor.results import ScanResult

Writer = Callable[["ScanResult", Path, "EvidenceBundle | None"], Path]

# format -> ("module:function", default file name); the function is write(result, path, evidence) -> path
FORMATS: dict[str, tuple[str, str]] = {
    "json": ("reports.json_report:write_result_format", "result.json"),        # the result itself (schema)
    "html": ("reports.html:write_html_format", "report.html"),                 # plant manager / technician
    "pdf": ("reports.pdf:write_pdf_format", "report.pdf"),                     # sign-off (needs Chromium)
    "csv": ("reports.csv_report:write_csv_format", "results.csv"),             # spreadsheets
    "md": ("reports.markdown:write_markdown_format", "report.md"),             # tickets
    "junit": ("reports.junit:write_junit_format", "junit.xml"),                # CI pipelines
    "oscal": ("reports.oscal:write_oscal_format", "assessment-results.json"),  # NIST OSCAL tools
    "matrix": ("reports.matrix:write_matrix_format", "component-matrix.html"),  # vendors / assessors
    "matrix-csv": ("reports.matrix:write_matrix_csv_format", "component-matrix.csv"),  # the same, as rows
}
DEFAULT_SCAN_FORMATS: tuple[str, ...] = ("json", "html")


def writer(fmt: str) -> Writer:
    try:
        target, _ = FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown report format {fmt!r}; known: {', '.join(FORMATS)}") from None
    module_name, _, function = target.partition(":")
    return getattr(importlib.import_module(module_name), function)


def default_name(fmt: str) -> str:
    return FORMATS[fmt][1]


def write_report(result: ScanResult, fmt: str, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """Render ``result`` as ``fmt`` into ``path``."""
    return writer(fmt)(result, Path(path), evidence)
