"""The ``iacs-audit`` command line (contract: see README, "Command line").

Exit codes: 0 every assessed asset meets its SL-T; 1 some asset falls short; 2 usage or configuration
error; 3 some asset could not be assessed. 2 and 3 win over 1.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable
from urllib.parse import unquote, urlsplit

import click
from rich.console import Console
from rich.table import Table

from auditor import __version__
from auditor.errors import ConfigError

EXIT_OK, EXIT_SHORT, EXIT_CONFIG, EXIT_UNASSESSED = 0, 1, 2, 3
AD_HOC_SCHEMES = {"ssh": "ssh", "snmp": "snmp", "modbus": "modbus", "opc.tcp": "opcua"}

err_console = Console(stderr=True)


def _console() -> Console:
    """Standard output; wide when piped so ids are never folded mid-word in logs and tests."""
    console = Console()
    return console if console.is_terminal else Console(width=200)


def _fail_config(exc: ConfigError) -> None:
    err_console.print(f"[bold red]configuration error[/]\n{exc}", markup=True, highlight=False)
    sys.exit(EXIT_CONFIG)


def _guard(function: Callable[..., Any]) -> Callable[..., Any]:
    """Turn configuration errors into exit code 2 with the file, field and reason."""

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ConfigError as exc:
            _fail_config(exc)

    wrapper.__name__ = function.__name__
    wrapper.__doc__ = function.__doc__
    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, package_name="iacs-auditor", prog_name="iacs-audit")
@click.option("-v", "--verbose", count=True, help="More log output on stderr (-vv for debug).")
def cli(verbose: int) -> None:
    """Read-only hardening auditor for IACS components, scored against IEC 62443-3-3 and 62443-4-2."""
    level = logging.WARNING - 10 * verbose
    logging.basicConfig(level=max(level, logging.DEBUG), format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("paramiko", "asyncua", "pymodbus", "pysnmp"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING) if verbose < 2 else logging.DEBUG)


# --------------------------------------------------------------------------- scan / rescore


def _ad_hoc_inventory(target: str, component_type: str | None, key: str | None, password_env: str | None,
                      known_hosts: str | None):
    from auditor.inventory import Inventory

    parts = urlsplit(target)
    protocol = AD_HOC_SCHEMES.get(parts.scheme)
    if protocol is None or not parts.hostname:
        raise ConfigError.single(target, "", f"expected a target like ssh://user@host:22 (schemes: {', '.join(AD_HOC_SCHEMES)})")
    if component_type is None:
        raise ConfigError.single(target, "--type", "required with an ad-hoc target (host, network, embedded, application)")
    endpoint: dict[str, Any] = {"protocol": protocol}
    if parts.port:
        endpoint["port"] = parts.port
    if parts.username:
        endpoint["username"] = unquote(parts.username)
    if parts.password:
        raise ConfigError.single(target, "password", "never put a password in a URL; use --password-env VARIABLE")
    if protocol == "ssh":
        if key:
            endpoint["key_file"] = key
        if password_env:
            endpoint["password_env"] = password_env
        if known_hosts:
            endpoint["known_hosts"] = known_hosts
    elif protocol == "opcua" and parts.path not in ("", "/"):
        endpoint["path"] = parts.path
    data = {"site": "ad-hoc scan", "assets": [{"id": parts.hostname, "type": component_type,
                                                "address": parts.hostname, "endpoints": [endpoint]}]}
    try:
        return Inventory.model_validate(data)
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise ConfigError.from_validation(target, exc, data) from None
        raise


class _Progress:
    """A rich progress bar on a terminal, plain lines otherwise (logs, CI, cron)."""

    def __init__(self, total: int, quiet: bool):
        self.quiet = quiet
        self.bar = None
        if not quiet and err_console.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

            self.bar = Progress(TextColumn("[bold]scanning[/]"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TextColumn("{task.description}"), console=err_console)
            self.task = self.bar.add_task("", total=total)

    def __enter__(self) -> "_Progress":
        if self.bar:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar:
            self.bar.stop()

    def __call__(self, event: str, asset: str, detail: str) -> None:
        if self.quiet:
            return
        if self.bar:
            if event != "start":
                self.bar.advance(self.task)
            self.bar.update(self.task, description=f"{asset}: {event}")
            if event in ("error", "skipped"):
                self.bar.console.print(f"[red]{asset}[/]: {event}: {detail}", highlight=False)
        else:
            click.echo(f"{event:7} {asset}: {detail}", err=True)


def _write_outputs(out: Path, result, bundle) -> None:
    """result.json, evidence.json and report.html: the three files every scan and rescore leaves."""
    from reports.html import write_html
    from reports.json_report import write_evidence, write_result

    out.mkdir(parents=True, exist_ok=True)
    write_result(result, out / "result.json")
    write_evidence(bundle, out / "evidence.json")
    write_html(result, out / "report.html", evidence=bundle)


def _print_summary(result, out: Path | None, quiet: bool) -> None:
    if quiet:
        return
    console = _console()
    table = Table(title=f"{result.site}: SL-A against SL-T (FR1..FR7)", title_justify="left")
    for column in ("asset", "type", "status", "SL-T", "SL-A", "SL-A strict", "coverage", "fail", "error", "manual"):
        table.add_column(column)
    for asset in result.assets:
        counts = {s: sum(r.status == s for r in asset.results) for s in ("fail", "error", "manual")}
        status = asset.status if asset.status != "assessed" else ("meets" if asset.meets_target else "short")
        colour = {"meets": "green", "short": "yellow"}.get(status, "red")
        table.add_row(asset.id, asset.type, f"[{colour}]{status}[/]", asset.sl_target.compact(),
                      asset.sl_achieved.compact(), asset.sl_achieved_strict.compact(),
                      f"{asset.coverage.ratio:.0%}", str(counts["fail"]), str(counts["error"]), str(counts["manual"]))
    console.print(table)
    for asset in result.assets:
        if asset.error:
            console.print(f"[red]{asset.id}[/]: {asset.error}", highlight=False)
    if out is not None:
        console.print(f"wrote {out / 'result.json'}, {out / 'evidence.json'}, {out / 'report.html'}")


def _run_scan(inventory, source: str, *, profile: str | None, sl: int | None, out: Path, options,
              concurrency: int, asset_timeout: float, quiet: bool) -> int:
    from auditor.engine import EngineSettings, scan
    from auditor.planning import plan_assets, selection_label
    from auditor.secrets import check_references

    check_references(source, inventory.assets)
    plans = plan_assets(inventory, profile=profile, sl=sl)
    settings = EngineSettings(concurrency=concurrency, asset_timeout=asset_timeout)
    with _Progress(len(plans), quiet) as progress:
        outcome = _run_until_interrupted(scan(inventory, plans, selection_label(profile, sl), options, settings, progress))
    if outcome is None:  # a second Ctrl-C while finishing: nothing more can be saved
        err_console.print("interrupted")
        _exit_now(EXIT_UNASSESSED)
    bundle, result = outcome
    _write_outputs(out, result, bundle)
    _print_summary(result, out, quiet)
    if result.interrupted:
        err_console.print("[yellow]scan interrupted: finished assets were written, the rest are marked skipped[/]")
        _exit_now(result.exit_code())
    return result.exit_code()


def _run_until_interrupted(coroutine):
    """Run the scan; the first Ctrl-C cancels it, and the engine then returns what was finished.

    The loop is closed without waiting for its I/O threads: a thread blocked on a hung device must not
    hold the technician's terminal after Ctrl-C.
    """
    import signal

    loop = asyncio.new_event_loop()
    task = loop.create_task(coroutine)
    try:
        loop.add_signal_handler(signal.SIGINT, task.cancel)
    except (NotImplementedError, RuntimeError):  # not the main thread (tests) or no signal support
        pass
    try:
        return loop.run_until_complete(task)
    except (asyncio.CancelledError, KeyboardInterrupt):
        return None
    finally:
        loop.close()


def _exit_now(code: int) -> None:
    """Leave at once after an interruption, without joining I/O threads still waiting on a device."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


@cli.command()
@click.argument("target", required=False)
@click.option("-i", "--inventory", type=click.Path(dir_okay=False, path_type=Path), help="Inventory YAML file.")
@click.option("-p", "--profile", help="Profile name (see 'profiles list') or profile YAML file.")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL for every FR; picks the built-in profile per asset type.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Output folder.")
@click.option("-t", "--type", "component_type", type=click.Choice(["host", "network", "embedded", "application"]),
              help="Component type of an ad-hoc TARGET.")
@click.option("--key", type=click.Path(dir_okay=False), help="SSH private key file.")
@click.option("--password-env", metavar="VARIABLE", help="Environment variable holding the SSH password.")
@click.option("--known-hosts", type=click.Path(dir_okay=False), help="known_hosts file (default ~/.ssh/known_hosts).")
@click.option("--trust-on-first-use", is_flag=True, help="Accept and record unknown SSH host keys (changed keys are always refused).")
@click.option("--no-sudo", is_flag=True, help="Never try 'sudo -n' on hosts.")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True, help="Assets scanned at once.")
@click.option("--asset-timeout", type=click.FloatRange(1, 86400), default=300, show_default=True, help="Seconds per asset.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary output.")
@_guard
def scan(target: str | None, inventory: Path | None, profile: str | None, sl: int | None, out: Path,
         component_type: str | None, key: str | None, password_env: str | None, known_hosts: str | None,
         trust_on_first_use: bool, no_sudo: bool, concurrency: int, asset_timeout: float, quiet: bool) -> None:
    """Scan an inventory, or one TARGET such as ssh://auditor@10.0.0.5:22, and write result.json,
    evidence.json and report.html into OUT."""
    from auditor.inventory import load_inventory
    from connectors import ScanOptions

    if (target is None) == (inventory is None):
        raise click.UsageError("give either an --inventory file or one TARGET URL")
    if profile and sl:
        raise click.UsageError("--profile and --sl are alternatives; give one")
    if inventory is not None:
        inv, source = load_inventory(inventory), str(inventory)
    else:
        inv, source = _ad_hoc_inventory(target or "", component_type, key, password_env, known_hosts), target or ""
    options = ScanOptions(trust_on_first_use=trust_on_first_use, use_sudo=not no_sudo,
                          known_hosts=Path(known_hosts).expanduser() if known_hosts else None, ssh_key_file=key)
    sys.exit(_run_scan(inv, source, profile=profile, sl=sl, out=out, options=options, concurrency=concurrency,
                       asset_timeout=asset_timeout, quiet=quiet))


@cli.command()
@click.argument("evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-p", "--profile", help="Profile name or YAML file.")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL; built-in profile per asset type.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("-q", "--quiet", is_flag=True)
@_guard
def rescore(evidence: Path, profile: str | None, sl: int | None, out: Path, quiet: bool) -> None:
    """Re-score an evidence bundle against another profile or SL, offline (no network)."""
    from auditor.engine import score
    from auditor.planning import plan_assets, selection_label
    from reports.json_report import load_evidence

    if profile and sl:
        raise click.UsageError("--profile and --sl are alternatives; give one")
    try:
        bundle = load_evidence(evidence)
    except (ValueError, OSError) as exc:
        raise ConfigError.single(evidence, "", f"not a valid evidence bundle: {exc}") from None
    plans = plan_assets(bundle.inventory, profile=profile, sl=sl)
    interrupted = any(a.status == "skipped" for a in bundle.assets)
    result = score(bundle, plans, selection_label(profile, sl), interrupted=interrupted)
    _write_outputs(out, result, bundle)  # the bundle travels along, so OUT can be rescored again
    _print_summary(result, out, quiet)
    sys.exit(result.exit_code())


# --------------------------------------------------------------------------- explain


@cli.group()
def checks() -> None:
    """List and explain the checks that can run."""


@checks.command("list")
@click.option("-t", "--type", "component_type", type=click.Choice(["host", "network", "embedded", "application"]))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def checks_list(component_type: str | None, as_json: bool) -> None:
    """All registered checks (built-in and third-party packs)."""
    from auditor.registry import REGISTRY

    registry = REGISTRY.load()
    specs = sorted(registry.checks.values(), key=lambda s: s.id)
    if component_type:
        specs = [s for s in specs if component_type in s.applies_to]
    if as_json:
        click.echo(json.dumps([{"id": s.id, "title": s.title, "severity": s.severity, "applies_to": list(s.applies_to),
                                "requirements": list(s.requirements), "pack": s.pack} for s in specs], indent=2))
        return
    table = Table(title=f"{len(specs)} checks")
    for column in ("id", "severity", "types", "requirements", "title"):
        table.add_column(column, overflow="fold")
    for s in specs:
        table.add_row(s.id, s.severity, ",".join(s.applies_to), ", ".join(s.requirements), s.title)
    _console().print(table)
    for problem in registry.load_errors:
        err_console.print(f"[yellow]warning:[/] {problem}", highlight=False)


@checks.command("show")
@click.argument("check_id")
def checks_show(check_id: str) -> None:
    """Everything about one check: why, what it reads, how to fix, which requirements."""
    from auditor.catalog import load_catalog
    from auditor.registry import REGISTRY

    registry = REGISTRY.load()
    if check_id not in registry.checks:
        raise click.UsageError(f"unknown check {check_id!r}; see 'iacs-audit checks list'")
    spec = registry.checks[check_id]
    catalog = load_catalog()
    click.echo(f"{spec.id}\n  {spec.title}\n")
    click.echo(f"severity:    {spec.severity}\napplies to:  {', '.join(spec.applies_to)}\npack:        {spec.pack}")
    click.echo("requirements:")
    for req_id in spec.requirements:
        row = catalog.get(req_id)
        click.echo(f"  {row.id:<14} FR{row.fr} SL{row.sl}  {row.title}")
    click.echo(f"\nwhy:\n  {spec.rationale}\n\nremediation:\n  {spec.remediation}")
    if spec.params:
        click.echo("\nparameters (defaults; profiles may override):")
        for name, value in spec.params.items():
            click.echo(f"  {name}: {json.dumps(value)}")
    click.echo("\nevidence read:")
    for fact_name in spec.facts:
        fact_spec = registry.facts[fact_name]
        click.echo(f"  fact {fact_name} ({fact_spec.protocol})")
        for req in fact_spec.requests:
            sudo = " [sudo -n if allowed]" if req.option("sudo") else ""
            click.echo(f"    {req.op}: {req.target}{sudo}")


@cli.group()
def profiles() -> None:
    """List and show profiles (built-in or files)."""


@profiles.command("list")
def profiles_list() -> None:
    """The built-in profiles."""
    from auditor.profiles import builtin_names, load_profile

    table = Table(title="built-in profiles")
    for column in ("name", "type", "SL-T", "extends", "checks", "title"):
        table.add_column(column)
    for name in builtin_names():
        profile = load_profile(name)
        table.add_row(name, profile.type, profile.sl_target.compact(), " <- ".join(profile.chain[1:]) or "-",
                      str(len(profile.selected_checks())), profile.title)
    _console().print(table)


@profiles.command("show")
@click.argument("name")
@_guard
def profiles_show(name: str) -> None:
    """The effective profile after 'extends', with every check's effective parameters."""
    from auditor.profiles import load_profile

    profile = load_profile(name)
    click.echo(f"{profile.id}: {profile.title}\nsource: {profile.source}\nchain: {' <- '.join(profile.chain)}")
    click.echo(f"type: {profile.type}\nSL-T: {profile.sl_target.compact()}\nbasis: {profile.basis}")
    if profile.description:
        click.echo(f"\n{profile.description.strip()}")
    selected = profile.selected_checks()
    click.echo(f"\n{len(selected)} checks selected:")
    for spec in selected:
        params = profile.params_for(spec)
        suffix = "  " + json.dumps(params, sort_keys=True) if params else ""
        click.echo(f"  {spec.id}{suffix}")


@cli.command()
@click.option("--fr", type=click.Choice([f"FR{n}" for n in range(1, 8)], case_sensitive=False))
@click.option("--sl", type=click.IntRange(1, 4), help="Rows required at this SL (lowest SL <= N).")
@click.option("-t", "--type", "component_type", type=click.Choice(["host", "network", "embedded", "application"]))
@click.option("--basis", type=click.Choice(["component", "system"]), default=None,
              help="4-2 component rows (default with --type) or 3-3 system rows.")
def catalog(fr: str | None, sl: int | None, component_type: str | None, basis: str | None) -> None:
    """IEC 62443 requirements with their SL, and the checks that give evidence for each."""
    from auditor.catalog import load_catalog
    from auditor.registry import REGISTRY

    cat = load_catalog()
    basis = basis or ("component" if component_type else "system")
    rows = cat.rows(basis, component_type or "host") if basis == "component" else cat.for_system()
    if fr:
        rows = [r for r in rows if r.fr == int(fr[2:])]
    if sl:
        rows = [r for r in rows if r.sl <= sl]
    registry = REGISTRY.load()
    covering: dict[str, list[str]] = {}
    for spec in registry.checks.values():
        if component_type and component_type not in spec.applies_to:
            continue
        for req in spec.requirements:
            covering.setdefault(req, []).append(spec.id)
    table = Table(title=f"{len(rows)} requirements ({'IEC 62443-4-2' if basis == 'component' else 'IEC 62443-3-3'})")
    for column in ("id", "FR", "SL", "title", "checks"):
        table.add_column(column, overflow="fold")
    for row in rows:
        checks_ = covering.get(row.id, [])
        table.add_row(row.id, f"FR{row.fr}", str(row.sl), row.title, ", ".join(sorted(checks_)) or "[dim]not assessed[/]")
    _console().print(table)


# --------------------------------------------------------------------------- simulators


@cli.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("plant"), show_default=True)
def simulate(workdir: Path) -> None:
    """Start the bundled demo plant on loopback until interrupted, printing its inventory."""
    import time

    from simulators.plant import Plant

    with Plant(workdir.resolve()) as plant:
        click.echo(f"demo plant running; inventory: {plant.inventory_path}\n")
        click.echo(plant.inventory_path.read_text())
        click.echo("scan it with:\n  iacs-audit scan --inventory " f"{plant.inventory_path} --sl 2 --out out/\n"
                   "Ctrl-C stops the plant.")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            click.echo("stopping")


@cli.command()
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-out"), show_default=True)
@click.option("--sl", type=click.IntRange(1, 4), help="Override the zones' targets (control SL 2, DMZ SL 1).")
def demo(out: Path, sl: int | None) -> None:
    """Start the demo plant, scan it, write the reports into OUT, stop the plant."""
    from auditor.inventory import load_inventory
    from connectors import ScanOptions
    from simulators.plant import Plant

    with tempfile.TemporaryDirectory(prefix="iacs-demo-") as workdir, Plant(Path(workdir)) as plant:
        inventory = load_inventory(plant.inventory_path)
        code = _run_scan(inventory, str(plant.inventory_path), profile=None, sl=sl, out=out,
                         options=ScanOptions(known_hosts=plant.known_hosts), concurrency=8, asset_timeout=120,
                         quiet=False)
    meaning = {0: "every asset meets its target", 1: "some assets fall short of their target (expected: the demo "
               "plant has weak hosts)", 3: "some assets could not be assessed"}
    click.echo(f"demo finished: scan exit code {code} ({meaning.get(code, 'see above')}); open {out / 'report.html'}")
    sys.exit(EXIT_OK if code in (EXIT_OK, EXIT_SHORT) else code)


def main() -> None:
    cli(prog_name="iacs-audit")


if __name__ == "__main__":
    main()
