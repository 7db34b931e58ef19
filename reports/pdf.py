"""``report.pdf``: the HTML report on paper, for sign-off.

The same content as ``report.html`` rendered for print (no filters or script; passed checks and the
evidence of every finding expanded), after a cover page with the site, the assessment date, the
profile, the operator, the tool version, the overall verdict and a sign-off table. Chromium prints it
(``chromium --headless --print-to-pdf``); page size, margins and the "Page n of N" footers come from the
report's ``@page`` CSS, so the page numbers are the browser's own.

The operator is not part of a scan result: pass ``operator=`` (CLI ``--operator``) or set
``IACS_OPERATOR``; without either the cover says "not recorded".
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from auditor.evidence import EvidenceBundle
from auditor.results import ScanResult
from reports.chromium import ChromiumError, print_to_pdf
from reports.common import tool_label, write_bytes_atomic
from reports.html import render_html

OPERATOR_ENV = "IACS_OPERATOR"


def cover_fields(result: ScanResult, operator: str | None = None) -> dict[str, Any]:
    """What the cover page shows."""
    started, finished = result.started_at, result.finished_at
    date = started.strftime("%Y-%m-%d")
    span = f"{started.strftime('%H:%M')}–{finished.strftime('%H:%M')}"
    if finished.date() != started.date():
        span = f"until {finished.strftime('%Y-%m-%d %H:%M')}"
    zone = started.strftime("%Z") or ""
    operator = operator if operator is not None else os.environ.get(OPERATOR_ENV)
    return {"site": result.site, "date": f"{date} ({span}{' ' + zone if zone else ''})", "profile": result.profile,
            "operator": (operator or "").strip() or None, "tool": tool_label(result)}


def render_print_html(result: ScanResult, *, evidence: EvidenceBundle | None = None, operator: str | None = None
                      ) -> str:
    """The HTML that is printed: the report in print mode with its cover page."""
    return render_html(result, evidence=evidence, print_mode=True, cover=cover_fields(result, operator))


def write_pdf(result: ScanResult, path: str | Path, *, evidence: EvidenceBundle | None = None,
              operator: str | None = None, timeout: float = 120.0) -> Path:
    """Write ``report.pdf``; raises :class:`~reports.chromium.ChromiumError` if Chromium is missing or fails."""
    document = render_print_html(result, evidence=evidence, operator=operator)
    with tempfile.TemporaryDirectory(prefix="iacs-pdf-") as workdir:
        source = Path(workdir) / "report.html"
        source.write_text(document, encoding="utf-8")
        printed = print_to_pdf(source, Path(workdir) / "report.pdf", timeout=timeout)
        data = printed.read_bytes()
    if not data.startswith(b"%PDF-"):
        raise ChromiumError("Chromium wrote something that is not a PDF")
    return write_bytes_atomic(path, data)


def write_pdf_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``pdf`` entry of :data:`reports.FORMATS` (operator from ``IACS_OPERATOR``).

    A missing or failing Chromium is a configuration problem of this machine (exit code 2 on the command
    line), reported after the formats before it were written."""
    from auditor.errors import ConfigError

    try:
        return write_pdf(result, path, evidence=evidence)
    except ChromiumError as exc:
        raise ConfigError.single("--format pdf", "chromium", str(exc)) from None
