"""Linux host pack (component type ``host``): evidence read over SSH, checks mapped to SR/CR/HDR ids.

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

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
