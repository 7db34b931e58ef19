"""A demo plant: several simulated SSH hosts on distinct loopback addresses, and the inventory reaching them.

``Plant(workdir)`` starts the default demo plant::

    ews-01   hardened   127.0.10.1   zone control (SL-T 2)   engineering workstation
    hmi-01   weak       127.0.10.2   zone control (SL-T 2)   operator HMI
    hist-01  hardened   127.0.10.3   zone dmz     (SL-T 1)   process historian
    hmi-02   windows-weak      127.0.10.11  zone control   operator HMI, Windows 10 IoT Enterprise LTSC
    hist-02  windows-hardened  127.0.10.12  zone dmz       process historian, Windows Server 2022
    hist-03  windows-hardened  127.0.10.13  zone dmz       historian replica, Windows Server 2022 over WinRM (HTTPS)
    (and SNMP switches, OPC UA servers and Modbus PLCs on 127.0.10.21/.22, .41/.42, .31/.32; a Linux-based
    PLC over SSH on 127.0.10.224)

and writes into ``workdir``:

* ``auditor_key`` (+ ``.pub``): a fresh ECDSA P-256 client key (OpenSSH format, mode 0600), the only
  key the simulators accept for user ``auditor``;
* ``known_hosts``: every simulator's host key as ``[address]:port keytype base64``;
* ``plant.yaml``: a valid inventory (ARCHITECTURE.md "Inventory") whose SSH endpoints name that key
  and that known_hosts file by absolute path, so ``iacs-audit scan --inventory workdir/plant.yaml``
  works without trust on first use and without any secret in the file.

Linux routes all of 127.0.0.0/8 to the loopback interface, so each host gets its own address and an
ephemeral port. ``Plant.scaled(workdir, n)`` builds a benchmark plant of ``n`` hosts (alternating
weak/hardened, 127.0.20.1 upwards).
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import paramiko
import yaml

from auditor.plant.inventory import Inventory
from simulators.ssh.server import SshSimulator

__all__ = ["DEFAULT_HOSTS", "DEFAULT_ZONES", "Plant", "PlantHost"]

USERNAME = "auditor"


@dataclass(frozen=True)
class PlantHost:
    id: str
    fixture: str  # built-in fixture name ("weak", "hardened") or a fixture folder
    address: str
    zone: str
    type: str = "host"
    description: str = ""
    protocol: str = "ssh"  # which simulator serves it: a key of LAUNCHERS


# protocol -> "module:function"; a launcher starts one device and returns (simulator, inventory endpoint).
# Each simulator kind owns its launcher, so adding a kind of device is one line here.
LAUNCHERS: dict[str, str] = {
    "ssh": "simulators.plant:launch_ssh",
    "snmp": "simulators.snmp.plant:launch",
    "opcua": "simulators.opcua.plant:launch",
    "modbus": "simulators.modbus.plant:launch",
    "cli": "simulators.netcli.plant:launch",
    "s7": "simulators.s7.plant:launch",
    "https": "simulators.web.plant:launch",
    "winrm": "simulators.winrm.plant:launch",
}


def launcher(protocol: str) -> Callable[["PlantHost", "Plant"], tuple[Any, dict[str, Any]]]:
    module_name, _, function = LAUNCHERS[protocol].partition(":")
    return getattr(importlib.import_module(module_name), function)


def launch_ssh(host: "PlantHost", plant: "Plant") -> tuple[SshSimulator, dict[str, Any]]:
    """An SSH host simulator that accepts only the plant's auditor key."""
    sim = SshSimulator(host.fixture, host=host.address, port=0, username=USERNAME, authorized_key=plant.client_key)
    sim.start()
    return sim, {"protocol": "ssh", "port": sim.port, "username": USERNAME, "key_file": str(plant.key_path),
                 "known_hosts": str(plant.known_hosts), "timeout": plant.timeout}


DEFAULT_ZONES: list[dict[str, Any]] = [
    {"id": "control", "sl_target": 2, "description": "Control zone: engineering and operator stations"},
    {"id": "dmz", "sl_target": 1, "description": "Plant DMZ: data exchange with the business network"},
]

DEFAULT_HOSTS: list[PlantHost] = [
    PlantHost("ews-01", "hardened", "127.0.10.1", "control", description="Engineering workstation"),
    PlantHost("hmi-01", "weak", "127.0.10.2", "control", description="Operator HMI (legacy image)"),
    PlantHost("hist-01", "hardened", "127.0.10.3", "dmz", description="Process historian"),
    PlantHost("hmi-02", "windows-weak", "127.0.10.11", "control",
              description="Operator HMI, Windows 10 IoT Enterprise LTSC (OpenSSH for Windows)"),
    PlantHost("hist-02", "windows-hardened", "127.0.10.12", "dmz",
              description="Process historian, Windows Server 2022 (OpenSSH for Windows)"),
    PlantHost("hist-03", "windows-hardened", "127.0.10.13", "dmz",
              description="Historian replica, Windows Server 2022 (WinRM over HTTPS)", protocol="winrm"),
    PlantHost("sw-01", "weak", "127.0.10.21", "control", type="network",
              description="Legacy managed switch (SNMPv2c)", protocol="snmp"),
    PlantHost("sw-02", "hardened", "127.0.10.22", "control", type="network",
              description="Hardened managed switch (SNMPv3 only)", protocol="snmp"),
    PlantHost("scada-01", "weak", "127.0.10.41", "control", type="application",
              description="Legacy OPC UA gateway (SCADA)", protocol="opcua"),
    PlantHost("scada-02", "hardened", "127.0.10.42", "control", type="application",
              description="SCADA OPC UA server", protocol="opcua"),
    PlantHost("plc-01", "weak", "127.0.10.31", "control", type="embedded",
              description="Legacy PLC, plain Modbus/TCP (filter line)", protocol="modbus"),
    PlantHost("plc-02", "hardened", "127.0.10.32", "control", type="embedded",
              description="PLC with Modbus/TCP Security (dosing line)", protocol="modbus"),
    PlantHost("sw-cell-01", "weak", "127.0.10.201", "control", type="network",
              description="Cell switch as commissioned (Cisco IE 4000, audited over its CLI)", protocol="cli"),
    PlantHost("sw-cell-02", "hardened", "127.0.10.202", "control", type="network",
              description="Hardened cell switch (Cisco IE 4000, audited over its CLI)", protocol="cli"),
    PlantHost("sw-cell-03", "hios-weak", "127.0.10.203", "control", type="network",
              description="Industrial rail switch as commissioned (Hirschmann RSP20, HiOS, audited over its CLI)",
              protocol="cli"),
    PlantHost("sw-cell-04", "hios-hardened", "127.0.10.204", "control", type="network",
              description="Hardened industrial rail switch (Hirschmann RSP20, HiOS, audited over its CLI)",
              protocol="cli"),
    PlantHost("plc-03", "weak", "127.0.10.220", "control", type="embedded",
              description="S7-300 CPU without protection (filling line)", protocol="s7"),
    PlantHost("plc-04", "hardened", "127.0.10.221", "control", type="embedded",
              description="S7-300 CPU with read/write protection (filling line 2)", protocol="s7"),
    PlantHost("panel-01", "weak", "127.0.10.222", "control", type="embedded",
              description="Operator panel web interface (legacy firmware)", protocol="https"),
    PlantHost("panel-02", "hardened", "127.0.10.223", "control", type="embedded",
              description="Operator panel web interface (hardened)", protocol="https"),
    PlantHost("plc-05", "controller", "127.0.10.224", "control", type="embedded",
              description="Linux-based PLC (PLCnext-like firmware, audited over SSH)"),
]


class Plant:
    """Start the simulators of a plant and write its key, known_hosts and inventory (context manager)."""

    def __init__(self, workdir: Path | str, hosts: list[PlantHost] | None = None, *,
                 zones: list[dict[str, Any]] | None = None, site: str = "Demo water treatment plant",
                 timeout: float = 5.0):
        self.workdir = Path(workdir).expanduser().resolve()
        self.hosts: list[PlantHost] = list(hosts if hosts is not None else DEFAULT_HOSTS)
        if not self.hosts:
            raise ValueError("a plant needs at least one host")
        ids = [h.id for h in self.hosts]
        if len(set(ids)) != len(ids):
            raise ValueError("plant host ids must be unique")
        self.zones = zones if zones is not None else self._zones_for(self.hosts)
        self.site = site
        self.timeout = timeout
        self.key_path = self.workdir / "auditor_key"
        self.known_hosts = self.workdir / "known_hosts"
        self.inventory_path = self.workdir / "plant.yaml"
        self.simulators: dict[str, Any] = {}  # host id -> simulator (each has .port, .requests, .stop())
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.client_key: paramiko.PKey | None = None

    @staticmethod
    def _zones_for(hosts: list[PlantHost]) -> list[dict[str, Any]]:
        known = {z["id"]: z for z in DEFAULT_ZONES}
        used = list(dict.fromkeys(h.zone for h in hosts))
        return [known.get(z, {"id": z, "sl_target": 2}) for z in used]

    @classmethod
    def scaled(cls, workdir: Path | str, n: int, **kwargs: Any) -> "Plant":
        """A benchmark plant of ``n`` hosts, alternating weak/hardened, on 127.0.20.1, .2, ... (then 127.0.21.x)."""
        if not 1 <= n <= 254 * 200:
            raise ValueError("n must be between 1 and 50800")
        hosts = []
        for i in range(n):
            third, fourth = 20 + i // 254, 1 + i % 254
            fixture = "weak" if i % 2 == 0 else "hardened"
            hosts.append(PlantHost(f"sim-{i + 1:03d}", fixture, f"127.0.{third}.{fourth}", "bench",
                                   description=f"benchmark host ({fixture})"))
        zones = [{"id": "bench", "sl_target": 2, "description": "Benchmark zone"}]
        return cls(workdir, hosts, zones=zones, site=f"Benchmark plant ({n} hosts)", **kwargs)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Plant":
        self.workdir.mkdir(parents=True, exist_ok=True)
        try:
            self.client_key = self._write_client_key()
            for host in self.hosts:
                self.simulators[host.id], self.endpoints[host.id] = launcher(host.protocol)(host, self)
            self._write_known_hosts()
            self._write_inventory()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for sim in self.simulators.values():
            sim.stop()

    def __enter__(self) -> "Plant":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ files
    def _write_client_key(self) -> paramiko.PKey:
        key = paramiko.ECDSAKey.generate(bits=256)
        self.key_path.unlink(missing_ok=True)
        fd = os.open(self.key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            key.write_private_key(handle, file_format=paramiko.pkey.OPENSSH)
        os.chmod(self.key_path, 0o600)
        pub = self.key_path.with_name(self.key_path.name + ".pub")
        pub.write_text(f"{key.get_name()} {key.get_base64()} iacs-auditor-demo\n")
        return key

    def _write_known_hosts(self) -> None:
        text = "".join(sim.known_hosts_line for sim in self.simulators.values() if isinstance(sim, SshSimulator))
        tmp = self.known_hosts.with_name(self.known_hosts.name + ".tmp")
        tmp.write_text(text)
        os.replace(tmp, self.known_hosts)

    def inventory(self) -> dict[str, Any]:
        """The inventory as data (valid against :class:`auditor.plant.inventory.Inventory`)."""
        assets = []
        for host in self.hosts:
            asset: dict[str, Any] = {"id": host.id, "type": host.type, "zone": host.zone, "address": host.address,
                                     "endpoints": [self.endpoints[host.id]]}
            if host.description:
                asset["description"] = host.description
            assets.append(asset)
        return {"site": self.site, "zones": self.zones, "assets": assets}

    def _write_inventory(self) -> None:
        data = self.inventory()
        Inventory.model_validate(data)  # never hand out an inventory the core would reject
        header = ("# Generated by simulators/plant.py for the simulators running right now; ports are\n"
                  "# ephemeral, so this file is only valid while the plant runs.\n")
        self.inventory_path.write_text(header + yaml.safe_dump(data, sort_keys=False))

    def __repr__(self) -> str:
        return f"Plant({str(self.workdir)!r}, {len(self.hosts)} hosts)"
