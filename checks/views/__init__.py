"""Checks across two views of one device: what its configuration says (CLI) against what its agent answers (SNMP).

Such a check runs only on an asset audited over both protocols (an asset's checks need every protocol their
facts are read over). Every module of this package is imported, so adding a module is all it takes.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
