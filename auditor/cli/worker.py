"""Distributed scans: ``worker`` (a site scanner taking its queue's zones) and ``pki`` (signing material)."""

from __future__ import annotations

import logging
import socket
from pathlib import Path

import click

from auditor.cli import cli
from auditor.cli.common import guard
from auditor.errors import ConfigError

log = logging.getLogger("auditor.distributed")


@cli.command()
@click.option("-Q", "--queue", "queues", required=True, metavar="SITE[,ZONE...]",
              help="The scanner queues this host serves (the inventory's 'scanner:' names them).")
@click.option("--broker", envvar="IACS_AUDIT_BROKER", required=True, metavar="URL",
              help="Broker URL, e.g. rediss://scanner-a@broker.example:6379/0 (or amqps://...) [env IACS_AUDIT_BROKER].")
@click.option("--db", envvar="IACS_AUDIT_DB", required=True, metavar="URL",
              help="The central history store the dispatcher reads, e.g. postgresql://... [env IACS_AUDIT_DB].")
@click.option("--pki", envvar="IACS_AUDIT_PKI", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="This scanner's key.pem and cert.pem, and trusted/ with the dispatcher's certificate "
                   "('iacs-audit pki init') [env IACS_AUDIT_PKI].")
@click.option("--broker-ca", envvar="IACS_AUDIT_BROKER_CA", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="CA certificate that verifies a TLS broker (rediss:// or amqps://) [env IACS_AUDIT_BROKER_CA].")
@click.option("-c", "--concurrency", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Zones collected at once (each zone runs its assets with the scan's --concurrency).")
@click.option("-n", "--name", help="Worker name in logs and leases (default scanner-QUEUE@HOST).")
@click.option("--visibility-timeout", type=click.FloatRange(1), default=None, metavar="SECONDS",
              help="Seconds a taken message may stay unacknowledged before the broker hands it to another worker; "
                   "longer than the longest zone (default 6 h).")
@click.option("--restore-interval", type=click.FloatRange(0.1), default=None, metavar="SECONDS", hidden=True,
              help="How often to look for messages whose visibility timeout ran out (Redis; tests).")
@click.option("--lease", "lease_seconds", type=click.FloatRange(1), default=None, hidden=True,
              help="Seconds a lost worker's zone lease outlives it (default 30; tests).")
@guard
def worker(queues: str, broker: str, db: str, pki: Path, broker_ca: Path | None, concurrency: int, name: str | None,
           visibility_timeout: float | None, restore_interval: float | None, lease_seconds: float | None) -> None:
    """Run a site scanner: take the zones routed to QUEUE, collect them here (secrets and maintenance windows
    of this host), and commit each asset to the central store. Connects outbound only."""
    from auditor.distributed import work
    from auditor.distributed.app import DEFAULT_VISIBILITY_TIMEOUT, TASK_NAME, Pki, make_app
    from auditor.store import StoreError, display, open_store

    names = [q.strip() for q in queues.split(",") if q.strip()]
    if not names:
        raise click.BadParameter("name at least one queue", param_hint="--queue")
    try:
        open_store(db).close()  # migrated and reachable before the first message is taken
    except StoreError as exc:
        raise ConfigError.single(display(db), "--db", str(exc)) from None
    app = make_app(broker, Pki(pki), queues=names, visibility_timeout=visibility_timeout or DEFAULT_VISIBILITY_TIMEOUT,
                   restore_interval=restore_interval, broker_ca=broker_ca)
    context = work.WorkerContext(queues=names, store=db, broker=broker,
                                 lease_seconds=lease_seconds or work.LEASE_SECONDS,
                                 broker_ca=str(broker_ca) if broker_ca else None,
                                 name=name or f"scanner-{names[0]}@{socket.gethostname()}")
    work.CONTEXT = context

    @app.task(name=TASK_NAME, bind=True, acks_late=True, reject_on_worker_lost=True)
    def collect_zone(self, body: dict) -> dict:
        delivered_to = (self.request.delivery_info or {}).get("routing_key")
        try:
            outcome = work.collect_zone(body, delivered_to, context)
        except work.Refused as exc:
            log.error("refused a message from queue %s: %s", delivered_to, exc)
            return {"refused": str(exc)}
        log.info("zone %s of scan %s: %s", body.get("zone"), body.get("scan_id"), outcome)
        return outcome

    work.preload()  # the pool processes fork from here with checks, profiles and connectors already imported
    logging.getLogger("auditor.distributed").setLevel(logging.INFO)
    click.echo(f"worker {context.name}: queues {', '.join(names)}; store {display(db)}", err=True)
    celery_worker = app.Worker(hostname=f"{context.name}", queues=names, concurrency=concurrency, pool="prefork",
                               without_gossip=True, without_mingle=True, without_heartbeat=True, quiet=True,
                               loglevel="INFO")
    celery_worker.start()
    raise SystemExit(celery_worker.exitcode or 0)


@cli.group()
def pki() -> None:
    """Signing material for distributed scans (messages are signed; workers accept only trusted signers)."""


@pki.command("init")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--name", required=True, help="Who signs with it, e.g. dispatcher or scanner-site-a.")
def pki_init(folder: Path, name: str) -> None:
    """Create FOLDER/key.pem, FOLDER/cert.pem and FOLDER/trusted/."""
    from auditor.distributed.pki import init

    try:
        made = init(folder, name)
    except FileExistsError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(f"{made.key} (keep it on this host only)\n{made.cert} (give it to the other side's 'pki trust')")


@pki.command("trust")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.argument("certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--name", help="File name in trusted/ (default: the certificate's).")
def pki_trust(folder: Path, certificate: Path, name: str | None) -> None:
    """Accept messages signed by CERTIFICATE's key (on a worker: the dispatcher's cert.pem)."""
    from auditor.distributed.pki import trust

    click.echo(trust(folder, certificate, name))
