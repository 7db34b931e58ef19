"""Shared pieces of the command line: exit codes, consoles, configuration-error handling."""

from __future__ import annotations

import sys
from typing import Any, Callable

from rich.console import Console

from auditor.errors import ConfigError
from auditor.safetext import printable_lines

EXIT_OK, EXIT_SHORT, EXIT_CONFIG, EXIT_UNASSESSED = 0, 1, 2, 3
AD_HOC_SCHEMES = {"ssh": "ssh", "cli": "cli", "snmp": "snmp", "modbus": "modbus", "opc.tcp": "opcua", "s7": "s7",
                  "https": "https", "winrm": "winrm"}

err_console = Console(stderr=True)


def console() -> Console:
    """Standard output; wide when piped so ids are never folded mid-word in logs and tests."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def fail_config(exc: ConfigError) -> None:
    # soft_wrap: one line per problem, never folded, so the file, field and reason stay greppable
    err_console.print("[bold red]configuration error[/]", markup=True, highlight=False)
    err_console.print(printable_lines(str(exc)), markup=False, highlight=False, soft_wrap=True)
    sys.exit(EXIT_CONFIG)


def guard(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn configuration errors into exit code 2 with the file, field and reason."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ConfigError as exc:
            fail_config(exc)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper
