"""Raw evidence: what was asked of a device and exactly what it answered.

Connectors produce :class:`EvidenceItem` objects and nothing else; parsers read them; rescoring
reads only them. An item never holds a secret: requests are commands, OIDs, function codes or
service calls, and responses are what the device said.
"""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, computed_field

from auditor.plant.inventory import Inventory

BUNDLE_SCHEMA_VERSION = 1


class EvidenceRequest(BaseModel):
    """One read a fact needs: ``(protocol, op, target)``, e.g. ``("ssh", "exec", "sysctl -a")``.

    ``options`` tune how the read is done (``{"sudo": True}``) and are part of its identity, so the
    same command with and without sudo are two different requests.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    protocol: str
    op: str
    target: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        opts = ",".join(f"{k}={v}" for k, v in self.options)
        return f"{self.protocol}:{self.op}:{self.target}" + (f"[{opts}]" if opts else "")

    def option(self, name: str, default: Any = None) -> Any:
        return dict(self.options).get(name, default)


class EvidenceItem(BaseModel):
    """The answer to one :class:`EvidenceRequest`, as collected from one endpoint."""

    model_config = ConfigDict(extra="forbid")

    id: str = ""
    asset: str
    endpoint: str
    request: EvidenceRequest
    status: Literal["ok", "error"] = "ok"
    exit_code: int | None = None
    encoding: Literal["text", "base64", "json"] = "text"
    response: str = ""
    error: str | None = None
    meta: dict[str, Any] = Field(default_factory=dict)
    collected_at: datetime = Field(default_factory=lambda: datetime.now(timezone.utc))
    duration_ms: float = 0.0

    @computed_field  # type: ignore[prop-decorator]
    @property
    def sha256(self) -> str:
        """Hash over request and response so a reviewer can prove an item was not edited."""
        digest = hashlib.sha256()
        for part in (self.asset, self.endpoint, self.request.key, self.status, str(self.exit_code),
                     self.encoding, self.response, self.error or ""):
            digest.update(part.encode("utf-8", "surrogateescape"))
            digest.update(b"\0")
        return digest.hexdigest()

    def text(self) -> str:
        if self.encoding == "base64":
            return base64.b64decode(self.response).decode("utf-8", "replace")
        return self.response

    def data(self) -> Any:
        """The response of a ``json`` item as Python data."""
        return json.loads(self.response) if self.encoding == "json" else self.text()


class AssetEvidence(BaseModel):
    """Everything collected from one asset, and why collection may have stopped short.

    ``partial``: some endpoint failed (``endpoint_errors``), or, with ``error`` set, the collection was cut
    short (the asset timeout) and ``items`` holds what was read before.
    """

    model_config = ConfigDict(extra="forbid")

    asset: str
    status: Literal["collected", "partial", "error", "skipped"] = "collected"
    error: str | None = None
    skipped_because: Literal["interrupted", "outside_window", "window_overrun", "no_evidence"] | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    endpoint_errors: list[str] = Field(default_factory=list)
    items: list[EvidenceItem] = Field(default_factory=list)


class EvidenceBundle(BaseModel):
    """``evidence.json``: the inventory (secret references only) and every raw item, with a manifest hash."""

    model_config = ConfigDict(extra="forbid")

    schema_version: Literal[1] = BUNDLE_SCHEMA_VERSION
    tool: dict[str, str]
    started_at: datetime
    finished_at: datetime
    inventory: Inventory
    assets: list[AssetEvidence]

    @computed_field  # type: ignore[prop-decorator]
    @property
    def manifest_sha256(self) -> str:
        digest = hashlib.sha256()
        for asset in self.assets:
            for item in asset.items:
                digest.update(f"{item.id} {item.sha256}\n".encode())
        return digest.hexdigest()


def number_items(asset_id: str, items: list[EvidenceItem]) -> None:
    """Give items stable, readable ids (``ews-01#3``) that verdicts and reports refer to."""
    for index, item in enumerate(items, start=1):
        item.id = f"{asset_id}#{index}"
