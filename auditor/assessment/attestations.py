"""Answers (attestations): what a person records for requirements that no network read can judge.

An answers file (YAML, or the CSV form of the questionnaire)::

    answers:
      - requirement: CR 1.3             # a requirement id or a glob ("CR 2.*"); or check: linux.accounts.inactive
        assets: [ews-*]                 # optional narrowing: assets, zones and/or types (ids or globs); all given
        zones: [control]                #   must match; none given means every asset the row applies to
        answer: met                     # met | not_met | not_applicable (left empty: not answered yet)
        evidence:
          - {ref: "IAM procedure IAM-04 rev 2"}
          - {url: "https://intranet.invalid/iam-04"}
          - {file: docs/account-review-2026Q3.pdf}     # relative to the answers file; its sha256 is recorded
        justification: Quarterly account review removes leavers within 5 days.
        attested_by: J. Doe, OT security lead
        date: 2026-11-30
        expires: 2027-11-30             # optional; inclusive
      - requirement: CR 1.5 RE1
        capability: true                # a vendor's claim that the product can do this when configured (SL-C)
        answer: met
        evidence: [{ref: "Product security manual v4.2, section 5.3"}]
        attested_by: Vendor PSIRT
        date: 2026-11-01

Rules: ``met`` needs evidence; ``not_met`` and ``not_applicable`` need a justification; every answer needs
``attested_by`` and a ``date`` that is not in the future; ``expires`` is not before ``date``. A file
evidence must exist and, when the entry gives a ``sha256``, match it. Informational fields written by
the questionnaire (``title``, ``fr``, ``sl``, ``question``, ``evidence_wanted``) are accepted and ignored.

Where several entries match one asset's row, the most specific wins: an exact requirement id beats a
check id, which beats a glob; then an entry narrowed to assets beats one narrowed to zones, which beats
one narrowed to types, which beats an entry for every asset; at a tie the later entry in the file wins.

An answer never overrides device evidence that failed; the scoring (:mod:`auditor.assessment.scoring`) decides.
"""

from __future__ import annotations

import datetime as _dt

import csv
import fnmatch
import hashlib
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from auditor.assessment.catalog import COMPONENT_TYPES, Requirement, load_catalog, normalize_id
from auditor.errors import ConfigError, ConfigProblem
from auditor.safeload import MAX_CSV_BYTES, load_list_file, read_text_bounded
from auditor.registry import REGISTRY, Registry
from auditor.results import AnswerRef, AssetResult, AttestationOutcome, EvidenceRef, ScanResult

AnswerValue = Literal["met", "not_met", "not_applicable"]
# Columns of the questionnaire's CSV form; the answer columns are read back, the others are information.
CSV_COLUMNS = ("requirement", "check", "title", "fr", "sl", "question", "evidence_wanted", "assets", "zones",
               "types", "capability", "answer", "evidence", "justification", "attested_by", "date", "expires")
_INFORMATIONAL = ("title", "fr", "sl", "question", "evidence_wanted")


class EvidenceEntry(BaseModel):
    """One evidence reference: exactly one of ``ref`` (document or record id), ``url`` or ``file``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    ref: str | None = None
    url: str | None = None
    file: str | None = None
    sha256: str | None = Field(default=None, pattern=r"^[0-9a-f]{64}$")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: Any) -> Any:
        if isinstance(data, str):
            text = data.strip()
            if text.startswith(("http://", "https://")):
                return {"url": text}
            if text.startswith("file:"):
                return {"file": text[5:].strip()}
            return {"ref": text}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> "EvidenceEntry":
        given = [name for name in ("ref", "url", "file") if (getattr(self, name) or "").strip()]
        if len(given) != 1:
            raise ValueError("give exactly one of ref (a document or record id), url or file")
        if self.sha256 and not self.file:
            raise ValueError("sha256 belongs to a file evidence")
        return self


class Answer(BaseModel):
    """One entry of an answers file, as written."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str | None = Field(default=None, max_length=100)
    requirement: str | None = Field(default=None, description="requirement id or glob, e.g. 'CR 1.3' or 'CR 2.*'")
    check: str | None = Field(default=None, description="check id or glob: answers the rows that check maps to")
    assets: list[str] = Field(default_factory=list)
    zones: list[str] = Field(default_factory=list)
    types: list[str] = Field(default_factory=list)
    answer: AnswerValue | None = None
    capability: bool = False
    evidence: list[EvidenceEntry] = Field(default_factory=list)
    justification: str | None = None
    attested_by: str | None = None
    date: _dt.date | None = None
    expires: _dt.date | None = None
    title: str | None = None
    fr: str | int | None = None
    sl: int | None = None
    question: str | None = None
    evidence_wanted: str | None = None

    @field_validator("assets", "zones", "types", "evidence", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, (str, dict)) else value

    @field_validator("answer", "justification", "attested_by", "requirement", "check", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = value.strip()
            return value or None
        return value

    @field_validator("requirement")
    @classmethod
    def _canonical(cls, value: str | None) -> str | None:
        if value is None or any(ch in value for ch in "*?["):
            return value
        return normalize_id(value)

    @field_validator("types")
    @classmethod
    def _known_types(cls, value: list[str]) -> list[str]:
        for item in value:
            if not any(fnmatch.fnmatchcase(t, item) for t in COMPONENT_TYPES):
                raise ValueError(f"{item!r} is not a component type ({', '.join(COMPONENT_TYPES)})")
        return value

    @model_validator(mode="after")
    def _shape(self) -> "Answer":
        if bool(self.requirement) == bool(self.check):
            raise ValueError("give either 'requirement' (an id or glob) or 'check' (a check id), not both")
        return self

    @property
    def answered(self) -> bool:
        return self.answer is not None

    def current(self, as_of: date) -> bool:
        return self.expires is None or as_of <= self.expires

    def selects(self, asset_id: str, zone: str | None, component_type: str) -> bool:
        """Every narrowing given must match (assets AND zones AND types); none given selects every asset."""
        if self.assets and not any(fnmatch.fnmatchcase(asset_id, p) for p in self.assets):
            return False
        if self.zones and (zone is None or not any(fnmatch.fnmatchcase(zone, p) for p in self.zones)):
            return False
        if self.types and not any(fnmatch.fnmatchcase(component_type, p) for p in self.types):
            return False
        return True

    def specificity(self) -> tuple[int, int]:
        exact = 2 if self.requirement and not any(ch in self.requirement for ch in "*?[") else (
            1 if self.check and not any(ch in self.check for ch in "*?[") else 0)
        narrowing = 3 if self.assets else 2 if self.zones else 1 if self.types else 0
        return exact, narrowing


class AnswersFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    answers: list[Answer] = Field(default_factory=list)


@dataclass
class AnswerBook:
    """The answers of one file, validated, with their file evidence hashed; matched to assets' rows."""

    entries: list[tuple[str, Answer]] = field(default_factory=list)  # (label, answer) in file order
    source: str = ""
    hashes: dict[str, str] = field(default_factory=dict)             # file evidence path -> sha256
    unanswered: int = 0
    expired: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.entries)

    def match(self, asset_id: str, zone: str | None, component_type: str, rows: list[Requirement],
              as_of: date, registry: Registry = REGISTRY, *, capability: bool = False) -> dict[str, AnswerRef]:
        """For one asset: row id -> the winning answer (current if any, else the newest expired one)."""
        row_ids = [row.id for row in rows]
        candidates: dict[str, list[tuple[tuple[int, int, int], AnswerRef]]] = {}
        for position, (label, entry) in enumerate(self.entries):
            if entry.capability != capability or not entry.selects(asset_id, zone, component_type):
                continue
            current = entry.current(as_of)
            ref = AnswerRef(entry=label, answer=entry.answer, state="counted" if current else "expired",  # type: ignore[arg-type]
                            attested_by=entry.attested_by or "", date=entry.date, expires=entry.expires,  # type: ignore[arg-type]
                            evidence=[self._evidence_ref(e) for e in entry.evidence],
                            justification=entry.justification)
            rank = (int(current), *entry.specificity())
            for row_id in self._rows_of(entry, row_ids, registry):
                candidates.setdefault(row_id, []).append(((rank[0], rank[1] * 10 + rank[2], position), ref))
        return {row_id: max(found, key=lambda item: item[0])[1] for row_id, found in candidates.items()}

    def _rows_of(self, entry: Answer, row_ids: list[str], registry: Registry) -> list[str]:
        if entry.requirement:
            return [r for r in row_ids if fnmatch.fnmatchcase(r, entry.requirement)]
        mapped: set[str] = set()
        for check_id, spec in registry.load().checks.items():
            if fnmatch.fnmatchcase(check_id, entry.check or ""):
                mapped.update(spec.requirements)
        return [r for r in row_ids if r in mapped]

    def _evidence_ref(self, evidence: EvidenceEntry) -> EvidenceRef:
        if evidence.file:
            return EvidenceRef(file=evidence.file, sha256=self.hashes.get(evidence.file))
        return EvidenceRef(ref=evidence.ref, url=evidence.url)


def _label(index: int, entry: dict[str, Any] | Any, csv_form: bool) -> str:
    name = f"row {index + 2}" if csv_form else f"answers[{index}]"
    if isinstance(entry, dict):
        what = entry.get("id") or entry.get("requirement") or entry.get("check")
        if what:
            return f"{name} ({what})"
    return name


def _read_csv(path: Path) -> list[dict[str, Any]]:
    text = read_text_bounded(path, MAX_CSV_BYTES, "an answers file", encoding="utf-8-sig")
    reader = csv.DictReader(io.StringIO(text))
    try:
        return _csv_entries(path, reader)
    except csv.Error as exc:  # a field over the csv module's limit, a NUL byte, ...
        raise ConfigError.single(path, f"line {reader.line_num}", f"not a readable CSV file: {exc}") from None


def _csv_entries(path: Path, reader: csv.DictReader) -> list[dict[str, Any]]:
    missing = [c for c in ("answer", "attested_by", "date") if c not in (reader.fieldnames or [])]
    if "requirement" not in (reader.fieldnames or []) and "check" not in (reader.fieldnames or []):
        missing.insert(0, "requirement")
    if missing:
        raise ConfigError.single(path, "header", f"missing column(s) {', '.join(missing)}; the questionnaire's CSV "
                                                 f"columns are: {', '.join(CSV_COLUMNS)}")
    entries = []
    for row in reader:
        entry: dict[str, Any] = {}
        for key, value in row.items():
            if key is None or key in _INFORMATIONAL or value is None or not value.strip():
                continue
            value = value.strip()
            if key in ("assets", "zones", "types"):
                entry[key] = [v.strip() for v in value.replace(",", ";").split(";") if v.strip()]
            elif key == "evidence":
                entry[key] = [v.strip() for v in value.split(";") if v.strip()]
            elif key == "capability":
                entry[key] = value.lower() in ("true", "yes", "1", "y", "x")
            else:
                entry[key] = value
        entries.append(entry)
    return entries


def load_answers(path: str | Path, *, as_of: date | None = None, registry: Registry = REGISTRY,
                 expired_is_error: bool = False) -> AnswerBook:
    """Load and validate an answers file (YAML, or CSV by its ``.csv`` suffix).

    Problems raise :class:`ConfigError` naming the file, the entry and the reason (exit 2). An expired
    entry is an error only with ``expired_is_error`` (``attestations check``); a scan loads it, reports
    it as expired and does not count it.
    """
    path = Path(path)
    as_of = as_of or date.today()
    csv_form = path.suffix.lower() == ".csv"
    if csv_form:
        data: Any = {"answers": _read_csv(path)}
    else:
        data = load_list_file(path, "answers", "an answers file")
    raw_entries = data.get("answers") if isinstance(data.get("answers"), list) else []
    problems: list[ConfigProblem] = []
    parsed: list[tuple[str, Answer]] = []
    for index, raw in enumerate(raw_entries):
        label = _label(index, raw, csv_form)
        try:
            parsed.append((label, Answer.model_validate(raw)))
        except ValidationError as exc:
            for err in exc.errors():
                where = ".".join(str(part) for part in err["loc"])
                message = "unknown field" if err["type"] == "extra_forbidden" else err["msg"].removeprefix(
                    "Value error, ")
                problems.append(ConfigProblem(f"{label}.{where}" if where else label, message))
    try:
        AnswersFile.model_validate({k: v for k, v in data.items() if k != "answers"})
    except ValidationError as exc:
        raise ConfigError.from_validation(path, exc, data) from None
    book = AnswerBook(source=str(path))
    catalog = load_catalog()
    known_checks = list(registry.load().checks)
    for label, entry in parsed:
        problems.extend(_entry_problems(label, entry, catalog, known_checks, as_of, expired_is_error))
        if not entry.answered:
            book.unanswered += 1
            continue
        for evidence in entry.evidence:
            if evidence.file:
                problem = _hash_file(path.parent, evidence, book.hashes)
                if problem:
                    problems.append(ConfigProblem(f"{label}.evidence", problem))
        if not entry.current(as_of):
            book.expired.append(label)
        book.entries.append((label, entry))
    if problems:
        raise ConfigError(str(path), problems)
    return book


def _entry_problems(label: str, entry: Answer, catalog: Any, known_checks: list[str], as_of: date,
                    expired_is_error: bool) -> list[ConfigProblem]:
    out: list[ConfigProblem] = []
    if entry.requirement:
        if any(ch in entry.requirement for ch in "*?["):
            if not any(fnmatch.fnmatchcase(r.id, entry.requirement) for r in catalog.requirements):
                out.append(ConfigProblem(f"{label}.requirement", f"{entry.requirement!r} matches no requirement"))
        elif entry.requirement not in catalog:
            try:
                catalog.get(entry.requirement)
            except KeyError as exc:
                out.append(ConfigProblem(f"{label}.requirement", str(exc)))
    if entry.check and not any(fnmatch.fnmatchcase(c, entry.check) for c in known_checks):
        out.append(ConfigProblem(f"{label}.check", f"matches no known check ({entry.check!r}); "
                                                   "see 'iacs-audit checks list'"))
    if not entry.answered:
        return out
    if not entry.attested_by:
        out.append(ConfigProblem(f"{label}.attested_by", "required: who gives this answer"))
    if entry.date is None:
        out.append(ConfigProblem(f"{label}.date", "required: when the answer was given (YYYY-MM-DD)"))
    elif entry.date > as_of:
        out.append(ConfigProblem(f"{label}.date", f"{entry.date} is in the future (today is {as_of})"))
    if entry.expires is not None and entry.date is not None and entry.expires < entry.date:
        out.append(ConfigProblem(f"{label}.expires", f"{entry.expires} is before the answer's date {entry.date}"))
    elif expired_is_error and not entry.current(as_of):
        out.append(ConfigProblem(f"{label}.expires", f"expired on {entry.expires}: renew the answer or remove it"))
    if entry.answer == "met" and not entry.evidence:
        out.append(ConfigProblem(f"{label}.evidence", "required for 'met': a document id, URL or file that shows it"))
    if entry.answer in ("not_met", "not_applicable") and not entry.justification:
        out.append(ConfigProblem(f"{label}.justification", f"required for '{entry.answer}': say why"))
    return out


def _hash_file(base: Path, evidence: EvidenceEntry, hashes: dict[str, str]) -> str | None:
    """Record the sha256 of a file evidence; a missing file, or one that changed since it was attested, is wrong."""
    name = evidence.file or ""
    target = Path(name).expanduser()
    target = target if target.is_absolute() else base / target
    try:
        digest = hashlib.sha256()
        with open(target, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as exc:
        return f"file {name!r} cannot be read: {exc.strerror or exc}"
    value = digest.hexdigest()
    if evidence.sha256 and evidence.sha256 != value:
        return f"file {name!r} has changed since it was attested (sha256 {value}, the answer records {evidence.sha256})"
    hashes[name] = value
    return None


def outcomes(book: AnswerBook, assets: list[AssetResult], as_of: date) -> list[AttestationOutcome]:
    """What each entry did: the 'asset/row' pairs it decided, confirmed, was overruled on, or lapsed on."""
    did: dict[str, dict[str, list[str]]] = {label: {"counted": [], "confirmed": [], "overruled": [], "lapsed": []}
                                            for label, _ in book.entries}
    state_list = {"counted": "counted", "confirmed": "confirmed", "overruled": "overruled", "expired": "lapsed"}
    for asset in assets:
        for row in asset.requirements:
            for ref in (row.answer, row.claim):
                if ref is not None and ref.entry in did:
                    did[ref.entry][state_list[ref.state]].append(f"{asset.id}/{row.id}")
    return [AttestationOutcome(entry=label, requirement=entry.requirement, check=entry.check,
                               answer=entry.answer, capability=entry.capability,  # type: ignore[arg-type]
                               state="current" if entry.current(as_of) else "expired",
                               attested_by=entry.attested_by or "", date=entry.date,  # type: ignore[arg-type]
                               expires=entry.expires, **did[label]) for label, entry in book.entries]


def rejudge_result(result: ScanResult, book: AnswerBook, as_of: date, registry: Registry = REGISTRY) -> ScanResult:
    """A saved result with this answers file instead of the one it was scored with (``report --attestations``)."""
    from auditor.assessment.scoring import rejudge
    from auditor.engine import summarize

    catalog = load_catalog()
    assets = []
    for asset in result.assets:
        rows = [catalog.get(row.id) for row in asset.requirements]
        site = book.match(asset.id, asset.zone, asset.type, rows, as_of, registry)
        claims = book.match(asset.id, asset.zone, asset.type, rows, as_of, registry, capability=True)
        assets.append(rejudge(asset, site, claims))
    return result.model_copy(update={"assets": assets, "summary": summarize(assets),
                                     "attestations": outcomes(book, assets, as_of),
                                     "attestations_source": book.source})
