"""Web interface pack (component types ``embedded`` and ``application``): evidence from TLS handshakes and
``GET /`` over HTTPS and HTTP only (no login, no form, no other path), checks mapped to SR/CR ids.

Every module of this package is imported, so adding a module is all it takes to add checks.
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__, prefix=f"{__name__}."):
    importlib.import_module(_module.name)
