"""Scanning commands: scan, rescore, simulate and demo."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from rich.markup import escape

from auditor.cli import cli
from auditor.cli.common import (AD_HOC_SCHEMES, EXIT_OK, EXIT_SHORT, EXIT_UNASSESSED, console, err_console,
                                guard)
from auditor.cli.logs import FILE_ONLY
from auditor.errors import ConfigError
from auditor.safetext import printable
from reports import DEFAULT_SCAN_FORMATS, FORMATS


def _ad_hoc_inventory(target: str, component_type: str | None, key: str | None, password_env: str | None,
                      known_hosts: str | None, settings: tuple[str, ...] = (), *, ssh_config: str | None = None,
                      key_passphrase_env: str | None = None, jump: str | None = None, no_agent: bool = False):
    """One asset from a URL; ``settings`` are ``FIELD=VALUE`` endpoint fields (validated like an inventory)."""
    from auditor.plant.inventory import Inventory
    from auditor.safeload import yaml_loads

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
    if protocol in ("ssh", "cli"):  # cli: a network device's command line over SSH
        if key:
            endpoint["key_file"] = key
        if password_env:
            endpoint["password_env"] = password_env
        if known_hosts:
            endpoint["known_hosts"] = known_hosts
        if key_passphrase_env:
            endpoint["key_passphrase_env"] = key_passphrase_env
        if ssh_config:
            endpoint["ssh_config"] = ssh_config
        if jump:  # like ssh -J: user@host[:port] or an ssh_config alias per hop
            endpoint["jump"] = [{"spec": part.strip()} for part in jump.split(",")]
        if no_agent:
            endpoint["use_agent"] = False
    elif protocol == "opcua":
        if parts.path not in ("", "/"):
            endpoint["path"] = parts.path
        if password_env:
            endpoint["password_env"] = password_env
    elif protocol == "winrm" and password_env:
        endpoint["password_env"] = password_env
    product: dict[str, str] = {}
    for setting in settings:
        name, sep, value = setting.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError.single(target, "--set", f"expected FIELD=VALUE, got {setting!r}")
        if name.startswith("product."):
            product[name.removeprefix("product.")] = value.strip()
        else:
            endpoint[name] = yaml_loads(value, f"--set {name}") if value.strip() else ""
    asset: dict[str, Any] = {"id": parts.hostname, "type": component_type, "address": parts.hostname,
                             "endpoints": [endpoint]}
    if product:
        asset["product"] = product
    data = {"site": "ad-hoc scan", "assets": [asset]}
    try:
        return Inventory.model_validate(data)
    except Exception as exc:
        from pydantic import ValidationError

        if isinstance(exc, ValidationError):
            raise ConfigError.from_validation(target, exc, data) from None
        raise


_log = logging.getLogger("auditor.cli.scan")


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
        asset, detail = printable(asset), printable(detail)  # a device's error text never drives the terminal
        # --log-file keeps every event with its time, even with -q (stderr shows them as below)
        _log.log(logging.WARNING if event in ("error", "skipped") else logging.INFO, "%s %s: %s", event, asset,
                 detail, extra={FILE_ONLY: True})
        if self.quiet:
            return
        if self.bar:
            if event != "start":
                self.bar.advance(self.task)
            self.bar.update(self.task, description=f"{escape(asset)}: {event}")
            if event in ("error", "skipped"):
                self.bar.console.print(f"[red]{escape(asset)}[/]: {event}: {escape(detail)}", highlight=False)
        else:
            click.echo(f"{event:7} {asset}: {detail}", err=True)


def _formats(values: tuple[str, ...]) -> tuple[str, ...]:
    """``--format json,html --format csv`` -> ("json", "html", "csv"), validated."""
    chosen = tuple(dict.fromkeys(f.strip().lower() for v in values for f in v.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        raise click.BadParameter(f"unknown format {', '.join(unknown)}; known: {', '.join(FORMATS)}",
                                 param_hint="--format")
    return chosen or DEFAULT_SCAN_FORMATS


def _print_summary(result, written: list[Path], quiet: bool) -> None:
    """The verdict per asset (SL-A/SL-T), why an asset falls short and what to fix first (see cli/summary.py)."""
    from auditor.cli.summary import print_summary

    if not quiet:
        print_summary(result, written, console())


@dataclass
class HistoryOptions:
    """What a scan does beyond collecting: history store, waivers, answers, windows, resume, SIEM, gate."""

    store: str | None = None        # --db: a store URL or path (None: not recorded)
    waivers: Path | None = None     # --waivers FILE
    window_end: datetime | None = None
    ignore_windows: bool = False
    resume: bool = False
    siem: str | None = None
    attestations: Path | None = None  # --attestations FILE
    gate: str = "complete"            # --gate complete|technical


def _run_scan(inventory, source: str, *, profile: str | None, sl: int | None, out: Path, options,
              concurrency: int, asset_timeout: float, quiet: bool,
              formats: tuple[str, ...] = DEFAULT_SCAN_FORMATS, history: HistoryOptions | None = None,
              distribution: Any = None) -> int:
    """Run the scan service and show it: progress, warnings, the summary; returns the exit code."""
    from auditor.app.scan import ScanAbandoned, ScanEvents, ScanRequest, run_scan

    history = history or HistoryOptions()
    request = ScanRequest(inventory=inventory, source=source, out=out, profile=profile, sl=sl,
                          concurrency=concurrency, asset_timeout=asset_timeout, formats=formats,
                          store=history.store, waivers=history.waivers, attestations=history.attestations,
                          window_end=history.window_end, ignore_windows=history.ignore_windows,
                          resume=history.resume, siem=history.siem, distribution=distribution)

    def say(message: str) -> None:
        if not quiet:
            err_console.print(message, highlight=False, soft_wrap=True)

    events = ScanEvents(progress_factory=lambda total: _Progress(total, quiet), info=say,
                        warning=lambda message: say(f"[yellow]warning:[/] {message}"))
    try:
        outcome = run_scan(request, options, events)
    except ScanAbandoned:
        err_console.print("interrupted")
        _exit_now(EXIT_UNASSESSED)
        raise  # not reached
    result = outcome.result
    if outcome.siem_error:
        err_console.print(f"[red]{outcome.siem_error}[/]", highlight=False)
    _print_summary(result, outcome.written, quiet or history.siem == "jsonl")
    code = result.exit_code(history.gate)  # type: ignore[arg-type]
    if outcome.scan_id is not None and not quiet and not outcome.store_errors:
        err_console.print(f"recorded as scan {outcome.scan_id} in {outcome.store_url}", highlight=False)
    if outcome.store_errors:
        err_console.print("[red]the history store missed part of this scan:[/] " + "; ".join(outcome.store_errors),
                          highlight=False)
        code = EXIT_UNASSESSED
    if result.interrupted:
        err_console.print("[yellow]scan interrupted: finished assets were written, the rest are marked skipped"
                          + ("; continue with --resume" if outcome.scan_id is not None else "") + "[/]")
        _exit_now(code)
    return code


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
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), help="Output folder (required "
                                                                                       "unless --plan).")
@click.option("--plan", "show_plan", is_flag=True,
              help="Send nothing: print every request the scan would send to each asset, its pace and a total.")
@click.option("--json", "as_json", is_flag=True, help="With --plan: the plan as JSON on standard output.")
@click.option("-t", "--type", "component_type", type=click.Choice(["host", "network", "embedded", "application"]),
              help="Component type of an ad-hoc TARGET.")
@click.option("--key", type=click.Path(dir_okay=False), help="SSH private key file.")
@click.option("--password-env", metavar="VARIABLE", help="Environment variable holding the SSH or OPC UA password.")
@click.option("--known-hosts", type=click.Path(dir_okay=False), help="known_hosts file (default ~/.ssh/known_hosts).")
@click.option("--key-passphrase-env", metavar="VARIABLE",
              help="Environment variable holding the passphrase of --key (or ssh_config's IdentityFile); "
                   "without it you are asked on a terminal, never in a cron job.")
@click.option("--no-agent", is_flag=True, help="Do not offer the ssh-agent's keys (tried by default when SSH_AUTH_SOCK "
                                               "is set).")
@click.option("--ssh-config", "ssh_config", type=click.Path(dir_okay=False),
              help="OpenSSH client config for Host aliases, User, Port, IdentityFile, ProxyJump "
                   "(default ~/.ssh/config when it exists).")
@click.option("--jump", metavar="USER@HOST[:PORT][,...]",
              help="Ad-hoc TARGET: reach it through these jump hosts (like ssh -J).")
@click.option("--set", "settings", multiple=True, metavar="FIELD=VALUE",
              help="Ad-hoc TARGET: an endpoint field as in an inventory, e.g. --set version=2c "
                   "--set community_env=SW_COMMUNITY (secrets only by reference).")
@click.option("--trust-on-first-use", is_flag=True, help="Accept and record unknown SSH host keys (changed keys are always refused).")
@click.option("--no-sudo", is_flag=True, help="Never use sudo on hosts.")
@click.option("--sudo-password-env", metavar="VARIABLE",
              help="Environment variable holding the sudo password of the audit account, for hosts whose sudoers "
                   "require one (sent only to 'sudo -S' over the session; see 'iacs-audit sudoers').")
@click.option("--probe-default-communities", is_flag=True,
              help="SNMP: slowly try the documented well-known communities (read-only GET of sysDescr.0).")
@click.option("--concurrency", type=click.IntRange(1, 256), default=8, show_default=True, help="Assets scanned at once.")
@click.option("--asset-timeout", type=click.FloatRange(1, 86400), default=300, show_default=True, help="Seconds per asset.")
@click.option("-f", "--format", "formats", multiple=True, metavar="FORMATS",
              help="Report formats to write, comma-separated or repeated (default json,html); evidence.json is always written.")
@click.option("-q", "--quiet", is_flag=True, help="No progress or summary output.")
@click.option("--db", "db", envvar="IACS_AUDIT_DB", metavar="URL|PATH",
              help="Record the scan in this history store: 'default' (a per-user SQLite file), a SQLite path or "
                   "a URL such as postgresql://auditor@db.example/iacs [env IACS_AUDIT_DB].")
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path), help="Waivers YAML file.")
@click.option("--window-end", metavar="TIME", help="Start no asset that would still run at TIME (HH:MM or ISO date-time).")
@click.option("--ignore-windows", is_flag=True, help="Scan even assets outside their maintenance windows.")
@click.option("--resume", is_flag=True, help="Continue the newest unfinished scan of this site and profile (needs --db).")
@click.option("--siem", metavar="TARGET", help="Forward the outcome: 'jsonl' (JSON lines on stdout), "
                                              "syslog://HOST:PORT (UDP) or syslog+tcp://HOST:PORT.")
@click.option("-a", "--attestations", type=click.Path(dir_okay=False, path_type=Path),
              help="Answers file (YAML or CSV, from 'iacs-audit questionnaire'): what a person attested for the "
                   "requirements no check can judge, and vendor capability claims.")
@click.option("--gate", type=click.Choice(["complete", "technical"]), default="complete", show_default=True,
              help="What exit code 1 means: 'complete' some asset is below SL-T (unmet or unanswered rows); "
                   "'technical' some requirement is unmet by device evidence (for CI and scheduled jobs).")
@click.option("--distributed", is_flag=True,
              help="Let the site scanners collect ('iacs-audit worker' on each queue the inventory's 'scanner:' "
                   "names); this host dispatches, follows the store, scores and writes the reports. Needs --db.")
@click.option("--broker", envvar="IACS_AUDIT_BROKER", metavar="URL",
              help="With --distributed: the broker, e.g. rediss://dispatcher@broker.example:6379/0 [env IACS_AUDIT_BROKER].")
@click.option("--pki", envvar="IACS_AUDIT_PKI", type=click.Path(file_okay=False, path_type=Path),
              help="With --distributed: the dispatcher's key.pem/cert.pem/trusted/ ('iacs-audit pki init') "
                   "[env IACS_AUDIT_PKI].")
@click.option("--broker-ca", envvar="IACS_AUDIT_BROKER_CA", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --distributed: CA certificate that verifies a TLS broker [env IACS_AUDIT_BROKER_CA].")
@guard
def scan(target: str | None, inventory: Path | None, profile: str | None, sl: int | None, out: Path,
         component_type: str | None, key: str | None, password_env: str | None, known_hosts: str | None,
         settings: tuple[str, ...], trust_on_first_use: bool, no_sudo: bool, probe_default_communities: bool, concurrency: int, asset_timeout: float, formats: tuple[str, ...],
         quiet: bool, db: str | None = None, waivers: Path | None = None, window_end: str | None = None,
         ignore_windows: bool = False, resume: bool = False, siem: str | None = None,
         attestations: Path | None = None, gate: str = "complete", key_passphrase_env: str | None = None,
         no_agent: bool = False, ssh_config: str | None = None, jump: str | None = None,
         sudo_password_env: str | None = None, show_plan: bool = False, as_json: bool = False,
         distributed: bool = False, broker: str | None = None, pki: Path | None = None,
         broker_ca: Path | None = None) -> None:
    """Scan an inventory, or one TARGET such as ssh://auditor@10.0.0.5:22, and write result.json,
    evidence.json and report.html into OUT (with --plan: only show what it would send)."""
    from auditor.plant.inventory import load_inventory
    from connectors import ScanOptions

    if (target is None) == (inventory is None):
        raise click.UsageError("give either an --inventory file or one TARGET URL")
    if profile and sl:
        raise click.UsageError("--profile and --sl are alternatives; give one")
    if out is None and not show_plan:
        raise click.UsageError("Missing option '-o' / '--out'.")
    if as_json and not show_plan:
        raise click.UsageError("--json goes with --plan")
    if inventory is not None:
        inv, source = load_inventory(inventory), str(inventory)
    else:
        inv, source = _ad_hoc_inventory(target or "", component_type, key, password_env, known_hosts,
                                        settings, ssh_config=ssh_config, key_passphrase_env=key_passphrase_env,
                                        jump=jump, no_agent=no_agent), target or ""
    if jump and inventory is not None:
        raise click.UsageError("--jump is for an ad-hoc TARGET; in an inventory use jump_hosts and jump")
    options = ScanOptions(trust_on_first_use=trust_on_first_use, use_sudo=not no_sudo,
                          probe_default_communities=probe_default_communities,
                          known_hosts=Path(known_hosts).expanduser() if known_hosts else None, ssh_key_file=key,
                          ssh_config=ssh_config, use_agent=False if no_agent else None,
                          key_passphrase_env=key_passphrase_env, ask_passphrase=_terminal_prompt(),
                          sudo_password_env=sudo_password_env)
    history = _history_options(db, waivers, window_end, ignore_windows, resume, siem, attestations, gate)
    distribution = None
    if distributed:
        from auditor.distributed.dispatch import Distribution

        if inventory is None:
            raise click.UsageError("--distributed scans an --inventory (its zones name their scanner queues)")
        if not broker or pki is None:
            raise click.UsageError("--distributed needs --broker URL and --pki DIR (or IACS_AUDIT_BROKER, IACS_AUDIT_PKI)")
        distribution = Distribution(broker=broker, pki=pki, broker_ca=broker_ca)
    if show_plan:
        sys.exit(_show_plan(inv, options, profile=profile, sl=sl, history=history, as_json=as_json))
    sys.exit(_run_scan(inv, source, profile=profile, sl=sl, out=out, options=options, concurrency=concurrency,
                       asset_timeout=asset_timeout, quiet=quiet, formats=_formats(formats), history=history,
                       distribution=distribution))


def _show_plan(inventory, options, *, profile: str | None, sl: int | None, history: HistoryOptions,
               as_json: bool) -> int:
    """Print the scan plan (no packet sent; durations of earlier scans from the history store, if given)."""
    from auditor.app.plan import build_plan
    from auditor.cli.plan import print_plan

    estimates = None
    if history.store is not None:
        from auditor.store import StoreError, display, open_store

        try:
            store = open_store(history.store)
        except StoreError as exc:
            raise ConfigError.single(display(history.store), "--db", str(exc)) from None
        try:
            estimates = store.estimates([a.id for a in inventory.assets], inventory.site)
        finally:
            store.close()
    plan = build_plan(inventory, options, profile=profile, sl=sl, window_end=history.window_end,
                      ignore_windows=history.ignore_windows, estimates=estimates)
    print_plan(plan, console(), as_json)
    return EXIT_OK


def _terminal_prompt():
    """getpass (never echoed) when a person sits at the terminal; None in cron, CI and tests."""
    try:
        interactive = sys.stdin.isatty()
    except (AttributeError, ValueError):
        interactive = False
    if not interactive:
        return None
    import getpass

    return getpass.getpass


def _history_options(db: str | None, waivers: Path | None, window_end: str | None, ignore_windows: bool,
                     resume: bool, siem: str | None, attestations: Path | None = None,
                     gate: str = "complete") -> HistoryOptions:
    from auditor.operations.siem import validate_target
    from auditor.plant.windows import parse_window_end

    if resume and not db:
        raise click.UsageError("--resume needs a history store: give --db (or set IACS_AUDIT_DB)")
    end = None
    if window_end:
        try:
            end = parse_window_end(window_end)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--window-end") from None
    if siem:
        try:
            siem = validate_target(siem)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--siem") from None
    return HistoryOptions(store=db or None, waivers=waivers, window_end=end, ignore_windows=ignore_windows,
                          resume=resume, siem=siem, attestations=attestations, gate=gate)


@cli.command()
@click.argument("evidence", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("-p", "--profile", help="Profile name or YAML file.")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL; built-in profile per asset type.")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("-f", "--format", "formats", multiple=True, metavar="FORMATS", help="As for scan (default json,html).")
@click.option("-q", "--quiet", is_flag=True)
@click.option("--waivers", type=click.Path(dir_okay=False, path_type=Path), help="Waivers YAML file (judged as of today).")
@click.option("-a", "--attestations", type=click.Path(dir_okay=False, path_type=Path),
              help="Answers file (YAML or CSV), as for scan.")
@click.option("--gate", type=click.Choice(["complete", "technical"]), default="complete", show_default=True,
              help="What exit code 1 means, as for scan.")
@guard
def rescore(evidence: Path, profile: str | None, sl: int | None, out: Path, formats: tuple[str, ...],
            quiet: bool, waivers: Path | None = None, attestations: Path | None = None,
            gate: str = "complete") -> None:
    """Re-score an evidence bundle against another profile or SL, offline (no network)."""
    from auditor.app.scan import load_answers_file, write_outputs
    from auditor.engine import score
    from auditor.plant.planning import plan_assets, selection_label
    from reports.json_report import load_evidence

    if profile and sl:
        raise click.UsageError("--profile and --sl are alternatives; give one")
    try:
        bundle = load_evidence(evidence)
    except (ValueError, OSError) as exc:
        raise ConfigError.single(evidence, "", f"not a valid evidence bundle: {exc}") from None
    plans = plan_assets(bundle.inventory, profile=profile, sl=sl)
    interrupted = any(a.status == "skipped" and a.skipped_because in (None, "interrupted") for a in bundle.assets)
    waiver_set = None
    if waivers is not None:
        from auditor.assessment.waivers import load_waivers

        waiver_set = load_waivers(waivers)
    answers = load_answers_file(attestations, lambda message: quiet or err_console.print(
        f"[yellow]warning:[/] {message}", highlight=False, soft_wrap=True))
    result = score(bundle, plans, selection_label(profile, sl), interrupted=interrupted, waivers=waiver_set,
                   answers=answers)
    # the bundle travels along, so OUT can be rescored again
    _print_summary(result, write_outputs(out, result, bundle, _formats(formats), bundle_file=evidence), quiet)
    sys.exit(result.exit_code(gate))


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
@click.option("--no-attestations", is_flag=True, help="Skip scoring the evidence again with the demo's answers file.")
def demo(out: Path, sl: int | None, no_attestations: bool) -> None:
    """Start the demo plant, scan it, write the reports into OUT, stop the plant.

    OUT holds what the scan itself establishes: no answers, so no asset meets its target and each says
    what is open. The same evidence scored with the demo's illustrative answers file
    (simulators/demo_answers.yaml: invented documents standing for what a plant's OT security lead would
    attest, and the PLC vendor's capability claims) goes to OUT/with-answers, to show what answering does."""
    from auditor.plant.inventory import load_inventory
    from connectors import ScanOptions
    from simulators.plant import Plant

    with tempfile.TemporaryDirectory(prefix="iacs-demo-") as workdir, Plant(Path(workdir)) as plant:
        inventory = load_inventory(plant.inventory_path)
        code = _run_scan(inventory, str(plant.inventory_path), profile=None, sl=sl, out=out,
                         options=ScanOptions(known_hosts=plant.known_hosts), concurrency=8, asset_timeout=120,
                         quiet=False)
    if not no_attestations:
        _demo_with_answers(out, sl)
    meaning = {0: "every asset meets its target", 1: "some assets fall short of their target (expected: nothing "
               "is answered yet, and the demo plant has weak devices)", 3: "some assets could not be assessed"}
    click.echo(f"demo finished: scan exit code {code} ({meaning.get(code, 'see above')}); open {out / 'report.html'}")
    sys.exit(EXIT_OK if code in (EXIT_OK, EXIT_SHORT) else code)


def _demo_with_answers(out: Path, sl: int | None) -> None:
    """Score the demo's evidence again with its illustrative answers file (offline) and say, per asset,
    where it stands then: what answers can decide, and that they never outweigh a failing check."""
    from importlib.resources import as_file, files

    from auditor.app.scan import load_answers_file, write_outputs
    from auditor.engine import score
    from auditor.plant.planning import plan_assets, selection_label
    from reports.common import shortfall
    from reports.json_report import load_evidence

    with as_file(files("simulators") / "demo_answers.yaml") as answers_path:
        answers = load_answers_file(Path(answers_path))
    bundle = load_evidence(out / "evidence.json")
    result = score(bundle, plan_assets(bundle.inventory, sl=sl), selection_label(None, sl), answers=answers)
    write_outputs(out / "with-answers", result, bundle)
    out_console = console()
    out_console.print(f"\nthe same evidence with the demo's illustrative answers file (invented documents; "
                      f"{out / 'with-answers'}): {result.summary.meeting_target} of {len(result.assets)} assets "
                      "meet their target", highlight=False, soft_wrap=True)
    for asset in result.assets:
        out_console.print(f"  {asset.id}: {shortfall(asset)}", highlight=False, soft_wrap=True)
