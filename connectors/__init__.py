"""Transport layer: each connector talks one protocol and turns requests into raw evidence items.

Connectors never interpret what they read. Built-in connectors are listed in :data:`BUILTIN`;
third-party connectors register a class in the entry-point group ``iacs_auditor.connectors``.
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from connectors.base import Connector, ConnectorError, ConnectorPlan, PlannedRequest, ScanOptions

BUILTIN: dict[str, str] = {
    "ssh": "connectors.ssh.connector:SshConnector",
    "cli": "connectors.netcli.connector:NetcliConnector",
    "snmp": "connectors.snmp.connector:SnmpConnector",
    "modbus": "connectors.modbus.connector:ModbusConnector",
    "opcua": "connectors.opcua.connector:OpcuaConnector",
    "s7": "connectors.s7.connector:S7Connector",
    "https": "connectors.https.connector:HttpsConnector",
    "winrm": "connectors.winrm.connector:WinrmConnector",
}


def connector_class(protocol: str) -> type[Connector]:
    """The connector for ``protocol``; raises ConnectorError if none is installed."""
    target = BUILTIN.get(protocol)
    if target is None:
        for ep in entry_points(group="iacs_auditor.connectors"):
            if ep.name == protocol:
                return ep.load()
        raise ConnectorError(f"no connector is installed for protocol {protocol!r}")
    module_name, _, class_name = target.partition(":")
    return getattr(importlib.import_module(module_name), class_name)


__all__ = ["Connector", "ConnectorError", "ConnectorPlan", "PlannedRequest", "ScanOptions", "connector_class"]
