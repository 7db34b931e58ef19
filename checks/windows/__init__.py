"""Windows host pack (component type ``host``, platform ``windows``): evidence read by one PowerShell script.

``facts/`` holds the evidence: the PowerShell sections (each prints one JSON document; the SSH connector
runs them all in one script, see :mod:`connectors.windows.script`), their parsers and the ``@fact``
functions. Every other module holds the checks of one subject, named by the middle of their ids
(``windows.password.*`` in ``password.py``, ``windows.smb.*`` in ``smb.py``...). The checks judge only
hosts whose platform is ``windows`` (derived from their ``ssh_powershell`` requests); a Linux host gets
them as not applicable, and a Windows host gets the Linux pack's checks as not applicable.

Every module of this package (and of ``facts/``) is imported, so adding a module is all it takes.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
