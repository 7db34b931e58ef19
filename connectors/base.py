"""The narrow seam between the engine and a protocol: ``Connector.collect(requests) -> items``."""

from __future__ import annotations

import asyncio
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence, TypeVar

from auditor.evidence import EvidenceItem, EvidenceRequest
from auditor.plant.inventory import Asset


class ConnectorError(Exception):
    """The endpoint cannot be used at all (unreachable, refused, authentication or host key failure).

    One rule for every protocol: a peer that takes the connection but never gives one answer in the
    protocol (it resets, closes, stays silent, drips, or sends garbage or a cut frame) is unusable too, so
    the asset is an ``error`` with that reason; SSH (no identification or key exchange), SNMP (no answer to
    the liveness GET), Modbus (no answer to the first request) and OPC UA (no Acknowledge, secure channel
    or GetEndpoints answer) apply it alike. A peer that answers and then fails later keeps its answers and
    the failed reads are ``error`` items.

    ``partial_items`` carries what was read before the failure (e.g. the SSH wire facts of a host whose key
    was refused); the engine keeps them in the evidence.
    """

    def __init__(self, reason: str, partial_items: "list[EvidenceItem] | None" = None):
        super().__init__(reason)
        self.partial_items: list[EvidenceItem] = list(partial_items or [])


@dataclass(frozen=True)
class ScanOptions:
    """Scan-wide settings every connector may read."""

    trust_on_first_use: bool = False
    known_hosts: Path | None = None
    use_sudo: bool = True
    command_timeout: float = 60.0
    ssh_key_file: str | None = None
    ssh_config: str | None = None  # --ssh-config FILE (an endpoint's ssh_config wins)
    use_agent: bool | None = None  # False: --no-agent; None: each endpoint decides (default: the agent is tried)
    key_passphrase_env: str | None = None  # --key-passphrase-env: passphrase of --key
    sudo_password_env: str | None = None  # --sudo-password-env: sudo password where an endpoint names none
    # asks for a key's passphrase on a terminal (the CLI sets it when stdin is a tty); never in tests or CI
    ask_passphrase: Callable[[str], str] | None = field(default=None, compare=False, repr=False)
    probe_default_communities: bool = False  # scan-wide opt-in; an endpoint may also opt in on its own


@dataclass(frozen=True)
class PlannedRequest:
    """One thing a connector will send, as a technician reviews it before the first packet.

    ``count`` is how many times it is sent (``None``: bounded, but how many depends on the answers, as
    for a walk); ``0`` marks an item that is recorded without sending anything. ``when`` is the condition,
    decided on the device's earlier answers, under which it is sent at all (empty: always). ``request`` is
    the key of the evidence request it serves, so the plan can be matched against the evidence afterwards.
    """

    operation: str
    target: str
    count: int | None = 1
    detail: str = ""
    request: str | None = None
    when: str = ""


@dataclass(frozen=True)
class ConnectorPlan:
    """What :meth:`Connector.collect` would send for some requests, and at which pace, with no network."""

    pacing: str
    steps: list[PlannedRequest]
    min_seconds: float = 0.0  # the least time the pacing alone takes


class Connector(ABC):
    """One endpoint of one asset for the duration of one collection.

    ``collect`` must never raise for a single failed read (that read becomes an item with
    ``status="error"``); it raises :class:`ConnectorError` only when the endpoint is unusable.

    Items go into :attr:`collected` as soon as they are read (``collect`` returns that list), so a
    collection cut short by the asset timeout still keeps what was read before it.
    """

    protocol: ClassVar[str]

    def __init__(self, asset: Asset, endpoint: Any, options: ScanOptions):
        self.asset = asset
        self.endpoint = endpoint
        self.options = options
        self.collected: list[EvidenceItem] = []

    @property
    def label(self) -> str:
        return f"{self.protocol}://{self.asset.address}:{self.endpoint.port}"

    @abstractmethod
    async def collect(self, requests: Sequence[EvidenceRequest]) -> list[EvidenceItem]:
        """Perform the reads and return one item per request (plus connection-level items)."""

    @classmethod
    def release_idle(cls) -> None:
        """The scan's collection is over: close what this kind of connector kept for the next endpoint (the SNMP
        connector's engines). Called once per protocol of the scan, on its event loop."""

    def plan(self, requests: Sequence[EvidenceRequest]) -> ConnectorPlan:
        """What :meth:`collect` would send for ``requests``, without opening a connection.

        Built-in connectors describe their own connection steps and pacing; this default (for a
        third-party connector that does not) lists one request per read.
        """
        return ConnectorPlan(pacing="not described by this connector",
                             steps=[PlannedRequest(r.op, r.target, 1, request=r.key) for r in requests])

    def item(self, request: EvidenceRequest, *, started: float, **fields: Any) -> EvidenceItem:
        """Build an evidence item for ``request``, timed from ``started`` (a ``time.monotonic()`` value)."""
        return EvidenceItem(asset=self.asset.id, endpoint=self.label, request=request,
                            duration_ms=round((time.monotonic() - started) * 1000, 2), **fields)


def clip(text: str | None, limit: int) -> tuple[str | None, int | None]:
    """``text`` cut to ``limit`` characters, and its original length when it was cut (else None).

    Every string a device controls goes through a limit before it is kept: a device must not be able to
    grow the scanner's memory or the evidence file at will. The caller records the original length as
    evidence of the truncation.
    """
    if text is None or len(text) <= limit:
        return text, None
    return text[:limit], len(text)


def stop_if_cancelled() -> None:
    """Raise :class:`asyncio.CancelledError` if the current task was cancelled, even when an await swallowed it.

    Python 3.11's :func:`asyncio.wait_for` returns an answer that completed in the same loop iteration as a
    cancel and drops the cancel (the task's ``cancelling()`` count stays raised). A connector sending one
    request after another would then go on past the asset timeout, and the engine, waiting for the cancelled
    collection to end, with it. Each connector calls this before it sends a request.
    """
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError()


_T = TypeVar("_T")


async def run_in_thread(work: Callable[[], _T], cancel: threading.Event) -> _T:
    """``work`` (a connector's blocking reads) in a worker thread. On the asset timeout this await ends at once
    and ``cancel`` is set: the thread, which checks it before each request, sends nothing more (its current
    read is bounded by the endpoint timeout)."""
    try:
        return await asyncio.to_thread(work)
    except asyncio.CancelledError:
        cancel.set()
        raise
