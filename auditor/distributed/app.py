"""The Celery application both sides build: signed messages, late acks, one message at a time per process.

Message authentication is Celery's ``auth`` serializer: the dispatcher signs every task body with its private
key; a worker accepts only ``auth`` content whose signer's certificate is in its trusted store, so an unsigned
message, or one signed by an unknown key, is dropped before any code runs. The signature covers the body
only (not the task name or routing headers), so the body repeats the task name and the queue it is meant for
and the worker refuses a body that does not match where it was delivered (:mod:`auditor.distributed.work`).
Broker ACLs and ``rediss://`` add to this; they do not replace it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.errors import ConfigError

TASK_NAME = "iacs.collect_zone"
# how long a taken message may stay unacknowledged before the broker gives it to another worker: longer than
# the longest zone (a lease in the store of the broker guards against a second copy running meanwhile)
DEFAULT_VISIBILITY_TIMEOUT = 6 * 3600


@dataclass(frozen=True)
class Pki:
    """Where one side's signing material lives: ``DIR/key.pem``, ``DIR/cert.pem`` and ``DIR/trusted/*.pem``
    (the certificates whose signatures this side accepts: on a worker, the dispatcher's)."""

    folder: Path

    @property
    def key(self) -> Path:
        return self.folder / "key.pem"

    @property
    def cert(self) -> Path:
        return self.folder / "cert.pem"

    @property
    def trusted(self) -> Path:
        return self.folder / "trusted"

    def check(self, option: str = "--pki") -> None:
        """ConfigError (exit 2) naming what is missing."""
        for path in (self.key, self.cert):
            if not path.is_file():
                raise ConfigError.single(self.folder, option, f"{path.name} is missing (create the folder with "
                                                              "'iacs-audit pki init DIR')")
        if not self.trusted.is_dir() or not any(self.trusted.glob("*.pem")):
            raise ConfigError.single(self.folder, option, "trusted/ holds no certificate (*.pem) whose signatures "
                                                          "are accepted")


def broker_tls(broker_ca: Path | str | None) -> dict | None:
    """TLS settings for a ``rediss://`` or ``amqps://`` broker whose certificate ``broker_ca`` must sign
    (None: the URL decides, without a pinned CA)."""
    if broker_ca is None:
        return None
    import ssl

    return {"ssl_cert_reqs": ssl.CERT_REQUIRED, "ssl_ca_certs": str(broker_ca)}


def make_app(broker: str, pki: Pki, *, queues: list[str] = (), visibility_timeout: float = DEFAULT_VISIBILITY_TIMEOUT,
             restore_interval: float | None = None, broker_ca: Path | str | None = None):
    """A Celery app on ``broker`` that signs and verifies with ``pki``. ``restore_interval`` (seconds) sets how
    often a worker looks for messages whose visibility timeout ran out (Redis; default about 100 s);
    ``broker_ca``: the CA file that verifies a TLS broker."""
    from celery import Celery
    from kombu import Queue

    pki.check()
    transport: dict[str, float] = {"visibility_timeout": visibility_timeout}
    if restore_interval is not None:
        transport.update(unacked_restore_interval=restore_interval, unacked_restore_throttle=1)
    app = Celery("iacs", broker=broker, set_as_current=False)
    app.conf.update(
        task_queues=[Queue(name) for name in queues] or None,
        task_acks_late=True, task_reject_on_worker_lost=True, worker_prefetch_multiplier=1,
        broker_transport_options=transport, broker_connection_retry_on_startup=True,
        security_key=str(pki.key), security_certificate=str(pki.cert), security_cert_store=str(pki.trusted / "*.pem"),
        task_serializer="auth", accept_content=["auth"], result_serializer="json", result_accept_content=["json"],
        task_ignore_result=True, worker_hijack_root_logger=False, worker_send_task_events=False,
        task_send_sent_event=False, worker_enable_remote_control=False, worker_redirect_stdouts=False,
    )
    tls = broker_tls(broker_ca)
    if tls is not None:
        if not broker.startswith(("rediss://", "amqps://")):
            raise ConfigError.single(broker_ca, "--broker-ca", "a CA is for a TLS broker: use a rediss:// or amqps:// "
                                                               "URL")
        app.conf.broker_use_ssl = tls
    app.setup_security()
    return app
