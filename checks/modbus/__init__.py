"""Modbus/TCP pack (component type ``embedded``): PLC evidence read by the read-only Modbus connector,
checks mapped to SR/CR ids.

Every module of this package is imported, so adding a module is all it takes to add checks.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
