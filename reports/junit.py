"""``junit.xml``: the audit as JUnit XML, so a vendor's CI can gate a build on it.

Layout (the common JUnit dialect read by Jenkins, GitLab, GitHub Actions reporters and pytest tools):

* ``<testsuites name=SITE tests failures errors skipped time timestamp>``
* one ``<testsuite name=ASSET hostname=ADDRESS ...>`` per asset, with ``<properties>``: asset type, zone,
  profile, status, SL-T / SL-A / SL-A on device evidence only (``sl_achieved_strict``) / SL-C vectors,
  coverage, the scan's evidence manifest, the verdict line (``shortfall``) and the requirement rows up to
  SL-T unmet by device evidence (``technical_findings``), decided by answers (``answered``) and awaiting
  an answer (``open``);
* one ``<testcase classname="iacs.<asset>" name=CHECK_ID>`` per asset x check:
  ``fail`` -> ``<failure message=REASON type=SEVERITY>`` whose text carries observed, expected, reason,
  remediation, requirements and evidence ids; ``error`` -> ``<error>`` (evidence missing or unreadable);
  ``manual``, ``not_applicable`` and ``waived`` -> ``<skipped message=...>`` (a waiver is an accepted risk:
  it must not break a build, but the report still shows it); ``pass`` -> an empty test case;
* per asset one more test case, ``name="sl-target"``: ``<failure>`` when the asset misses its SL-T (with
  the blocking requirements), ``<error>`` when it could not be assessed, so a pipeline can gate on the
  target alone. The failure's ``type`` says why, so a pipeline can tell a technical failure from missing
  answers: ``sl-target`` (some row up to SL-T is unmet by device evidence: a technical finding),
  ``sl-target-answered`` (no technical finding, but a person answered a row "not met") or
  ``sl-target-open`` (no technical finding: rows only await an answer); the message says the same in
  words (:func:`reports.common.shortfall`).

Text goes through ElementTree (which escapes ``<``, ``&`` and quotes) after characters XML 1.0 cannot
carry at all (NUL, ANSI escapes, other control bytes) are replaced by visible ``\\xNN`` escapes.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from auditor.evidence import EvidenceBundle
from auditor.results import AssetResult, CheckResult, ScanResult
from reports.common import (answered_count, iso, observed_text, rows_in_target, shortfall, sorted_results, tool_label,
                            write_text_atomic, xml_safe)

SKIPPED = {"manual": "manual verification needed", "not_applicable": "not applicable",
           "waived": "failure waived (accepted risk)"}


def _el(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k.rstrip("_"): xml_safe(str(v)) for k, v in attributes.items()})
    if text is not None:
        element.text = xml_safe(text)
    return element


def _details(check: CheckResult) -> str:
    lines = [f"check:        {check.check_id} ({check.severity})",
             f"requirements: {', '.join(check.requirements) or '-'}",
             f"expected:     {check.expected or '-'}",
             "observed:     " + (observed_text(check.observed, pretty=True) or "-").replace("\n", "\n              ")]
    if check.reason:
        lines.append(f"reason:       {check.reason}")
    if check.remediation:
        lines.append(f"remediation:  {check.remediation}")
    waiver = check.waiver
    if waiver is not None:
        lines.append(f"waiver:       {waiver.id} ({waiver.state}): {waiver.justification}")
    if check.evidence:
        lines.append(f"evidence:     {', '.join(check.evidence)} (evidence.json)")
    return "\n".join(lines)


def _message(check: CheckResult) -> str:
    message = check.reason or (f"observed {observed_text(check.observed)}, expected {check.expected}"
                               if check.expected else check.title)
    return message.splitlines()[0][:300] if message else check.check_id


def _testcase(suite: ET.Element, asset: AssetResult, check: CheckResult) -> str:
    case = _el(suite, "testcase", classname=f"iacs.{asset.id}", name=check.check_id, time="0")
    if check.status == "fail":
        _el(case, "failure", _details(check), message=_message(check), type=check.severity)
    elif check.status == "error":
        _el(case, "error", _details(check), message=_message(check), type="evidence")
    elif check.status in SKIPPED:
        reason = f"{SKIPPED[check.status]}: {check.reason}" if check.reason else SKIPPED[check.status]
        _el(case, "skipped", message=reason.splitlines()[0][:300] if reason else SKIPPED[check.status])
    elif check.status != "pass":
        _el(case, "skipped", message=f"verdict {check.status}")
    _el(case, "system-out", f"{check.title}\n{_details(check)}")
    return check.status


def target_failure_type(asset: AssetResult) -> str:
    """Why an assessed asset misses SL-T: ``sl-target`` (technical finding), ``sl-target-answered`` (a row
    answered not met, no technical finding) or ``sl-target-open`` (rows only await an answer)."""
    if asset.technical is not None and asset.technical.unmet:
        return "sl-target"
    if any(r.verdict == "unmet" for r in rows_in_target(asset)):
        return "sl-target-answered"
    if asset.technical is not None and asset.technical.open:
        return "sl-target-open"
    return "sl-target"


def _target_case(suite: ET.Element, asset: AssetResult) -> str:
    case = _el(suite, "testcase", classname=f"iacs.{asset.id}", name="sl-target", time="0")
    if asset.status != "assessed":
        _el(case, "error", asset.error or "", message=f"asset {asset.status}: {(asset.error or '').splitlines()[0][:300] if asset.error else 'not assessed'}",
            type="unassessed")
        return "error"
    if not asset.meets_target:
        gaps = "\n".join(f"{g.fr}: SL-A {g.sl_achieved} of {g.sl_target}; blocking {', '.join(g.blocking)} ({g.reason})"
                         for g in asset.gaps)
        view = asset.technical
        details = (f"SL-T {asset.sl_target.compact()}\nSL-A {asset.sl_achieved.compact()}\n"
                   f"SL-A on device evidence only {asset.sl_achieved_strict.compact()}\n{shortfall(asset)}\n")
        if view is not None and view.unmet:
            details += f"unmet by device evidence: {', '.join(view.unmet)}\n"
        if view is not None and view.open:
            details += f"open (needs an answer): {', '.join(view.open)}\n"
        _el(case, "failure", details + gaps,
            message=f"SL-A {asset.sl_achieved.compact()} is below SL-T {asset.sl_target.compact()}: {shortfall(asset)}",
            type=target_failure_type(asset))
        return "fail"
    _el(case, "system-out", shortfall(asset))
    return "pass"


def _verdict_properties(asset: AssetResult) -> list[tuple[str, str]]:
    if asset.status != "assessed" or asset.technical is None:
        return []
    out = [("sl_capability", asset.sl_capability.compact())] if asset.sl_capability is not None else []
    return out + [("shortfall", shortfall(asset)), ("technical_findings", str(len(asset.technical.unmet))),
                  ("answered", str(answered_count(asset))), ("open", str(len(asset.technical.open)))]


def build_junit(result: ScanResult) -> ET.Element:
    duration = max(0.0, (result.finished_at - result.started_at).total_seconds())
    root = ET.Element("testsuites", {"name": xml_safe(f"IEC 62443 hardening audit: {result.site}")})
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for asset in result.assets:
        suite = _el(root, "testsuite", name=asset.id, hostname=asset.address, timestamp=iso(result.started_at),
                    time="0", package=f"iacs.{asset.type}")
        properties = _el(suite, "properties")
        for name, value in (("site", result.site), ("asset.type", asset.type), ("zone", asset.zone or ""),
                            ("profile", asset.profile or result.profile), ("status", asset.status),
                            ("sl_target", asset.sl_target.compact()),
                            ("sl_achieved", asset.sl_achieved.compact() if asset.status == "assessed" else ""),
                            ("sl_achieved_strict", asset.sl_achieved_strict.compact() if asset.status == "assessed" else ""),
                            ("coverage", f"{asset.coverage.ratio:.3f}"), ("tool", tool_label(result)),
                            ("evidence_manifest_sha256", result.evidence_manifest_sha256 or ""),
                            *_verdict_properties(asset)):
            _el(properties, "property", name=name, value=value)
        counts = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
        outcomes = [_testcase(suite, asset, check) for check in sorted_results(asset)] + [_target_case(suite, asset)]
        for outcome in outcomes:
            counts["tests"] += 1
            if outcome == "fail":
                counts["failures"] += 1
            elif outcome == "error":
                counts["errors"] += 1
            elif outcome != "pass":
                counts["skipped"] += 1
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    root.set("time", f"{duration:.3f}")
    root.set("timestamp", iso(result.started_at))
    return root


def render_junit(result: ScanResult) -> str:
    root = build_junit(result)
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def write_junit(result: ScanResult, path: str | Path) -> Path:
    return write_text_atomic(path, render_junit(result))


def write_junit_format(result: ScanResult, path: Path, evidence: EvidenceBundle | None = None) -> Path:
    """The ``junit`` entry of :data:`reports.FORMATS`."""
    return write_junit(result, path)
