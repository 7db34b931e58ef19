"""Modbus/TCP transport: a strictly read-only connector (allow-listed function codes only)."""
