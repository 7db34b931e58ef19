"""Distributed scans: one audit's collection spread over site scanners on Celery, recorded in the central store.

Where each part runs: the dispatcher (``iacs-audit scan --distributed``) and the broker/store in the central
site or plant DMZ; one ``iacs-audit worker --queue QUEUE`` per site scanner, which connects outbound only, to
the broker and to the store. The inventory's ``scanner:`` (on a zone, or inventory-wide as the default) names
the queue whose workers can reach a zone.

The unit of work is one zone's collection (:mod:`auditor.distributed.work`): the politeness limits of the
inventory (a zone's asset concurrency, its per-protocol concurrency and connection rate) are in-process
semaphores and rate limiters of the engine, so only one process running the whole zone keeps them true however
many workers serve the queue. Each finished asset is committed to the store at once, so a redelivered zone
task continues where the lost one stopped, and the dispatcher scores and renders from the store exactly as a
local scan does (:mod:`auditor.distributed.dispatch`).

Messages are signed (Celery's ``auth`` serializer, :mod:`auditor.distributed.app`); secrets never travel:
the message carries the inventory, whose secrets are references (``*_env``, ``*_file``) that the worker
resolves in its own environment.
"""
