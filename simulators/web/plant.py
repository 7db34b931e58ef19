"""Demo-plant launcher for controller web interfaces (``LAUNCHERS["https"]`` in :mod:`simulators.plant`).

Takes 443 and 80 on its own loopback address when it may (root, free), else ephemeral ports that the
inventory endpoint names. Every web interface of a plant knows the same site CA, which issues the hardened
fixtures' certificates; its certificate is written to the plant's folder and named as the endpoint's
``ca_file``, as a site names its own CA.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from simulators.opcua.certs import CertKey
from simulators.web.server import WebSimulator, bind_or_ephemeral, make_site_ca

if TYPE_CHECKING:  # pragma: no cover
    from simulators.plant import Plant, PlantHost

__all__ = ["CA_NAME", "launch"]

CA_NAME = "web-site-ca.pem"
_SITE_CAS: dict[str, CertKey] = {}  # plant folder -> its site CA (one per plant, made when first needed)


def launch(host: "PlantHost", plant: "Plant") -> tuple[WebSimulator, dict[str, Any]]:
    """Start one web interface on ``host.address`` and return it with its inventory endpoint."""
    site_ca = _SITE_CAS.get(str(plant.workdir)) or _SITE_CAS.setdefault(str(plant.workdir), make_site_ca())
    sim = WebSimulator(host.fixture, host.address, https_port=bind_or_ephemeral(host.address, 443),
                       http_port=bind_or_ephemeral(host.address, 80), site_ca=site_ca).start()
    ca_file = plant.workdir / CA_NAME
    ca_file.write_bytes(sim.site_ca_pem)
    return sim, {"protocol": "https", "port": sim.https_port, "http_port": sim.http_port, "timeout": plant.timeout,
                 "requests_per_second": 20.0, "ca_file": str(ca_file)}
