"""Simulated PLCs speaking Modbus/TCP and Modbus/TCP Security (weak and hardened fixtures)."""

from simulators.modbus.server import PlcSimulator, load_fixture

__all__ = ["PlcSimulator", "load_fixture"]
