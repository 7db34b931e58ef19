"""Siemens S7 pack (component type ``embedded``): evidence read over S7comm with Read SZL only (CPU identity,
firmware, protection level, operating mode, clock and its synchronization, Ethernet interfaces, diagnostic
buffer), checks mapped to SR/CR/EDR ids.

Every module of this package is imported, so adding a module is all it takes to add checks.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
