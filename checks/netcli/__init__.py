"""Network configuration pack (component type ``network``): a switch's or router's configuration read over its
CLI (protocol ``cli``), checks mapped to CR/NDR rows.

Every module of this package is imported, so adding a module is all it takes to add checks.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
