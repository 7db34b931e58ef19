"""``discover``: a safe scoping discovery of an address range, written as a draft inventory."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click

from auditor.cli import cli
from auditor.cli.common import EXIT_OK, err_console, guard


@cli.command()
@click.argument("cidr", nargs=-1, required=True)
@click.option("--ports", metavar="LIST",
              help="Ports to try, e.g. 22,502,161/udp,40022:ssh (PORT[/tcp|/udp][:PROTOCOL]); default the "
                   "well-known IACS and management ports.")
@click.option("--rate", type=click.FloatRange(0.1, 1000), default=10, show_default=True,
              help="New connections or probes per second, for the whole run.")
@click.option("--timeout", type=click.FloatRange(0.2, 30), default=1.5, show_default=True,
              help="Seconds for one connect or one identification read.")
@click.option("--snmp-community-env", metavar="VARIABLE",
              help="Environment variable holding an SNMP v1/v2c community to read sysDescr.0 with.")
@click.option("--s7-slot", type=click.IntRange(0, 31), default=1, show_default=True,
              help="CPU slot the S7 identification connects to on port 102 (rack 0): 1 for S7-1200/1500, "
                   "2 for an S7-300.")
@click.option("--force", is_flag=True, help="Allow more than 1024 addresses in all (at most 65536).")
@click.option("-o", "--out", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="The draft inventory YAML to write ('-': standard output).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines.")
@guard
def discover(cidr: tuple[str, ...], ports: str | None, rate: float, timeout: float, snmp_community_env: str | None,
             s7_slot: int, force: bool, out: Path, quiet: bool) -> None:
    """Find the devices of the CIDR ranges that answer on IACS and management ports, identify them with
    read-only reads, and write a draft inventory with a guessed type and the evidence per asset."""
    import asyncio

    from auditor.app.discovery import DEFAULT_PORTS, addresses_of, discover as run, draft, parse_ports
    from auditor.plant.inventory import Inventory

    ranges = ", ".join(cidr)
    try:
        targets = addresses_of(list(cidr), force=force)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="CIDR") from None
    try:
        specs = parse_ports(ports) if ports else list(DEFAULT_PORTS)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--ports") from None
    say = (lambda message: None) if quiet else (
        lambda message: err_console.print(message, highlight=False, markup=False, soft_wrap=True))
    started = time.monotonic()
    found = asyncio.run(run(targets, specs, rate=rate, timeout=timeout, community_env=snmp_community_env,
                            s7_slot=s7_slot, progress=say))
    data, text = draft(found, ranges)
    if not data["assets"]:
        say(f"nothing answered on a port the auditor speaks in {ranges} ({time.monotonic() - started:.1f} s); "
            "no draft written")
        sys.exit(EXIT_OK)
    Inventory.model_validate(data)  # never hand out a draft scan would refuse
    if str(out) == "-":
        click.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
    say(f"wrote {out}: {len(data['assets'])} assets in {time.monotonic() - started:.1f} s")
    sys.exit(EXIT_OK)
