"""``schedule install|list|remove``: periodic scans into the history store (systemd timer or cron)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from rich.table import Table

from auditor.cli import cli
from auditor.cli.common import EXIT_CONFIG, console, err_console, guard


def _data_dir() -> Path:
    if os.geteuid() == 0:
        return Path("/var/lib/iacs-auditor")
    from auditor.store import default_path

    return default_path().parent


def _backend(kind: str, unit_dir: Path | None, cron_dir: Path | None, user: str | None = None):
    from auditor.operations.schedule import CronBackend, SystemdBackend, systemd_running

    if kind == "auto":
        if unit_dir is not None or systemd_running():
            kind = "systemd"
        elif cron_dir is not None or Path("/etc/cron.d").is_dir() or __import__("shutil").which("crontab"):
            kind = "cron"
        else:
            kind = "systemd"
    if kind == "systemd":
        user_mode = os.geteuid() != 0
        default_dir = Path("/etc/systemd/system") if not user_mode else Path.home() / ".config" / "systemd" / "user"
        return SystemdBackend(unit_dir or default_dir, user_mode=user_mode and unit_dir is None,
                              manage=None if unit_dir is None else False)
    if cron_dir is None and os.geteuid() == 0 and Path("/etc/cron.d").is_dir():
        cron_dir = Path("/etc/cron.d")
    return CronBackend(cron_dir, user=user)


BACKEND = click.option("--backend", type=click.Choice(["auto", "systemd", "cron"]), default="auto", show_default=True,
                       help="auto: systemd when it runs this machine, else cron.")
UNIT_DIR = click.option("--unit-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Write/read systemd units here (default /etc/systemd/system, or user units).")
CRON_DIR = click.option("--cron-dir", type=click.Path(file_okay=False, path_type=Path),
                        help="Write/read cron.d files here (default /etc/cron.d as root, else the user's crontab).")


@cli.group()
def schedule() -> None:
    """Run scans periodically into the history store (systemd timer, or cron where systemd is absent)."""


@schedule.command("install")
@click.argument("name")
@click.option("-i", "--inventory", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True)
@click.option("-p", "--profile", help="Profile name or YAML file.")
@click.option("--sl", type=click.IntRange(1, 4), help="Target SL (built-in profile per asset type).")
@click.option("--cron", "cron", required=True, metavar="EXPR", help='When: a cron expression such as "0 2 * * 6" or @daily.')
@click.option("--db", "db", metavar="URL|PATH", help="History store (default: a SQLite file in the data directory).")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), help="Where each run writes its reports.")
@click.option("--waivers", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--attestations", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Answers file passed to every run (validated now).")
@click.option("--gate", type=click.Choice(["complete", "technical"]), default="complete", show_default=True,
              help="Passed to every run: what exit code 1 (and so an alert on 'short') means.")
@click.option("--window-end", metavar="HH:MM", help="Passed to every run: start no asset that would run past HH:MM.")
@click.option("--siem", metavar="TARGET", help="Passed to every run: jsonl or syslog://HOST:PORT.")
@click.option("--known-hosts", type=click.Path(dir_okay=False, path_type=Path), help="known_hosts for the runs.")
@click.option("--ssh-config", "ssh_config", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="OpenSSH client config for the runs (Host aliases, ProxyJump, IdentityFile).")
@click.option("--no-agent", is_flag=True, help="The runs do not offer the ssh-agent's keys.")
@click.option("--key-passphrase-env", metavar="VARIABLE",
              help="Environment variable (of the service) holding the SSH key's passphrase.")
@click.option("--sudo-password-env", metavar="VARIABLE",
              help="Environment variable (of the service) holding the audit account's sudo password.")
@click.option("--log-file", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Passed to every run: append the full log (tracebacks, every asset's outcome) to FILE.")
@click.option("--alert-on", type=click.Choice(["short", "error"]), default="short", show_default=True,
              help="short: exit 1 (assets below SL-T) fails the unit too; error: only 2 and 3 do.")
@click.option("--user", "run_as", help="systemd User= of the service (system units).")
@click.option("--timeout", help="systemd TimeoutStartSec= of a run, e.g. 4h.")
@click.option("--no-enable", is_flag=True, help="Write the files only.")
@click.option("--distributed", is_flag=True,
              help="Each run is a distributed scan: this host dispatches to the site scanners' queues and scores.")
@click.option("--broker", metavar="URL", help="With --distributed: the broker URL (no password in it: give the "
                                              "service IACS_AUDIT_BROKER in an EnvironmentFile instead).")
@click.option("--pki", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="With --distributed: the dispatcher's signing folder ('iacs-audit pki init').")
@click.option("--broker-ca", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="With --distributed: CA certificate that verifies a TLS broker.")
@BACKEND
@UNIT_DIR
@CRON_DIR
@guard
def schedule_install(name: str, inventory: Path, profile: str | None, sl: int | None, cron: str, db: str | None,
                     out: Path | None, waivers: Path | None, attestations: Path | None, gate: str,
                     window_end: str | None, siem: str | None, known_hosts: Path | None, ssh_config: Path | None,
                     no_agent: bool, key_passphrase_env: str | None, sudo_password_env: str | None,
                     log_file: Path | None, alert_on: str, run_as: str | None, timeout: str | None, no_enable: bool,
                     backend: str, unit_dir: Path | None, cron_dir: Path | None, distributed: bool = False,
                     broker: str | None = None, pki: Path | None = None, broker_ca: Path | None = None) -> None:
    """Install the scheduled scan NAME."""
    from auditor.assessment.profiles import load_profile
    from auditor.operations.schedule import Job, ScheduleError
    from auditor.operations.siem import validate_target
    from auditor.plant.inventory import load_inventory
    from auditor.store import resolve_url
    from sqlalchemy.engine import make_url

    if profile and sl:
        raise click.UsageError("--profile and --sl are alternatives; give one")
    load_inventory(inventory)  # refuse to schedule an invalid inventory (exit 2 now, not at 2 a.m.)
    argv = [sys.executable, "-m", "auditor"]
    if log_file:  # a global option: before the command
        argv += ["--log-file", str(log_file.expanduser().resolve())]
    argv += ["scan", "--inventory", str(inventory.resolve())]
    if profile:
        load_profile(profile)
        argv += ["--profile", str(Path(profile).resolve()) if Path(profile).is_file() else profile]
    elif sl:
        argv += ["--sl", str(sl)]
    data = _data_dir()
    url = resolve_url(db if db else data / "history.sqlite")
    if make_url(url).password:
        raise click.BadParameter("never put a password into a scheduled command line; use ~/.pgpass (PGPASSFILE) "
                                 "or a service EnvironmentFile with PGPASSWORD", param_hint="--db")
    argv += ["--db", url, "--out", str((out or data / "runs" / name).resolve()), "--quiet"]
    if waivers:
        argv += ["--waivers", str(waivers.resolve())]
    if attestations:
        from auditor.assessment.attestations import load_answers

        load_answers(attestations)  # refuse an invalid answers file now, not at 2 a.m.
        argv += ["--attestations", str(attestations.resolve())]
    if gate != "complete":
        argv += ["--gate", gate]
    if window_end:
        argv += ["--window-end", window_end]
    if siem:
        try:
            argv += ["--siem", validate_target(siem)]
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--siem") from None
    if known_hosts:
        argv += ["--known-hosts", str(known_hosts.resolve())]
    if ssh_config:
        argv += ["--ssh-config", str(ssh_config.resolve())]
    if no_agent:
        argv += ["--no-agent"]
    if key_passphrase_env:
        argv += ["--key-passphrase-env", key_passphrase_env]
    if sudo_password_env:
        argv += ["--sudo-password-env", sudo_password_env]
    if distributed:
        argv += _distributed_args(db, broker, pki)
        if broker_ca:
            argv += ["--broker-ca", str(broker_ca.resolve())]
    elif broker or pki or broker_ca:
        raise click.UsageError("--broker, --pki and --broker-ca go with --distributed")
    try:
        job = Job(name, argv, cron, alert_on=alert_on, user=run_as, timeout=timeout)
        chosen = _backend(backend, unit_dir, cron_dir, run_as)
        files, notes = chosen.install(job, enable=not no_enable)
    except ScheduleError as exc:
        err_console.print(f"[red]{exc}[/]", highlight=False)
        sys.exit(EXIT_CONFIG)
    click.echo(f"installed schedule {name} ({chosen.name}): {cron}"
               + (f"  [OnCalendar={'; '.join(job.on_calendar)}]" if chosen.name == "systemd" else ""))
    for path in files:
        click.echo(f"  wrote {path}")
    for note in notes:
        click.echo(f"  {note}")


def _distributed_args(db: str | None, broker: str | None, pki: Path | None) -> list[str]:
    """A scheduled distributed scan: the dispatcher's arguments, checked now (the store must be the central one
    the workers write to, and no password may sit in the command line)."""
    from auditor.distributed.app import Pki
    from urllib.parse import urlsplit

    if not db:
        raise click.UsageError("--distributed needs --db: the central store its workers write to")
    if pki is None:
        raise click.UsageError("--distributed needs --pki DIR (the dispatcher's signing key and certificate)")
    Pki(pki).check()
    argv = ["--distributed", "--pki", str(pki.resolve())]
    if broker:
        if urlsplit(broker).password:
            raise click.BadParameter("never put a password into a scheduled command line; give the service "
                                     "IACS_AUDIT_BROKER in an EnvironmentFile", param_hint="--broker")
        argv += ["--broker", broker]
    return argv


@schedule.command("list")
@BACKEND
@UNIT_DIR
@CRON_DIR
def schedule_list(backend: str, unit_dir: Path | None, cron_dir: Path | None) -> None:
    """Installed scheduled scans."""
    chosen = _backend(backend, unit_dir, cron_dir)
    jobs = chosen.list()
    table = Table(title=f"{len(jobs)} scheduled scans ({chosen.name})", title_justify="left")
    for column in ("name", "cron", "OnCalendar", "enabled", "files", "command"):
        table.add_column(column, overflow="fold")
    for job in jobs:
        table.add_row(job.name, job.cron, "; ".join(job.on_calendar) or "-",
                      "-" if job.enabled is None else ("yes" if job.enabled else "no"),
                      "\n".join(str(p) for p in job.files) or "crontab", job.command)
    console().print(table)


@schedule.command("remove")
@click.argument("name")
@BACKEND
@UNIT_DIR
@CRON_DIR
def schedule_remove(name: str, backend: str, unit_dir: Path | None, cron_dir: Path | None) -> None:
    """Disable and delete the scheduled scan NAME (exit 2 if there is none)."""
    chosen = _backend(backend, unit_dir, cron_dir)
    removed, notes = chosen.remove(name)
    for note in notes:
        click.echo(note)
    if not removed and not any("removed" in n for n in notes):
        err_console.print(f"no scheduled scan {name!r} ({chosen.name})")
        sys.exit(EXIT_CONFIG)
    for path in removed:
        click.echo(f"removed {path}")
