"""Network device pack (component type ``network``): evidence read over SNMP, checks mapped to SR/CR/NDR ids.

Every module of this package is imported, so adding a module is all it takes to add checks.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
