"""Linux host pack (component type ``host``): evidence read over SSH, checks mapped to SR/CR/HDR ids.

Linux-based controllers and edge gateways (PLCnext, WAGO PFC, Revolution Pi...) reached over SSH are
``embedded`` assets: the checks whose evidence means the same on them (accounts, PAM, sshd, sudo, kernel
and network parameters, firewall, listening services, logging, time) apply to both types
(:data:`EMBEDDED_LINUX`), from the same one-exec collection; those that judge a general-purpose host's
facilities (auditd, package updates, AIDE, anti-malware, UEFI Secure Boot, disk encryption, backups, MAC)
stay ``host`` only. A check's HDR rows have their EDR twin beside them (``HDR 3.10`` and ``EDR 3.10``).

``facts/`` holds the evidence (the shell commands, their parsers and the ``@fact`` functions, one module
per source); ``drift.py`` declares the host's drift snapshot values (OS, kernel, packages, listeners, SSH
host key and server), as every pack does in its own; every other module holds the checks of one subject,
named by the middle of their ids: ``linux.sshd.*`` in ``sshd.py`` (and ``sshd_crypto.py``,
``sshd_session.py``), ``linux.pam.*`` in ``pam.py``, ``linux.updates.*`` in ``updates.py``...

Every module of this package (and of ``facts/``) is imported, so adding a module is all it takes to add
checks.
"""

import importlib
import pkgutil

#: ``applies_to`` of the Linux checks whose evidence judges a Linux-based controller as it does a host.
EMBEDDED_LINUX = ["host", "embedded"]

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
