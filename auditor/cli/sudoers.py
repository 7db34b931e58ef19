"""``iacs-audit sudoers``: the exact sudoers rule for an audit account, instead of ``NOPASSWD: ALL``."""

from __future__ import annotations

import click

from auditor.cli import cli
from auditor.cli.common import guard


@cli.command()
@click.option("-p", "--profile", help="Profile name or file (default: the highest built-in host profile, so the "
                                      "rule serves a scan at any SL).")
@click.option("--sl", type=click.IntRange(1, 4), help="The built-in host profile of this SL.")
@click.option("-u", "--user", default="iacsaudit", show_default=True, help="The audit account on the hosts.")
@click.option("--password", is_flag=True, help="The account must give its password (scan with "
                                               "--sudo-password-env); default NOPASSWD.")
@guard
def sudoers(profile: str | None, sl: int | None, user: str, password: bool) -> None:
    """Print the sudoers Cmnd_Alias of the read-only commands a host profile runs under sudo.

    Install it on each host with 'visudo -f /etc/sudoers.d/iacs-audit'. The rule names every command line
    exactly (no wildcards), so the account may run these reads as root and nothing else; print it again
    after upgrading iacs-audit, whose commands may change.
    """
    from auditor.assessment.profiles import builtin_for, load_profile
    from auditor.registry import REGISTRY
    from connectors import ScanOptions
    from connectors.ssh.connector import per_command_timeout
    from connectors.ssh.sudoers import SudoersError, sudoers_rule

    if profile and sl:
        raise click.UsageError("--profile and --sl are alternatives; give one")
    chosen = load_profile(profile or builtin_for("host", sl or 4))
    if chosen.type != "host":
        raise click.UsageError(f"profile {chosen.id} is for {chosen.type} components; sudo is used on hosts")
    registry = REGISTRY.load()
    requests = registry.requests_for(chosen.selected_checks(registry)).get("ssh", [])
    commands = sorted(r.target for r in requests if r.op == "exec" and r.option("sudo", False))
    if not commands:
        click.echo(f"# profile {chosen.id} runs nothing under sudo: the account needs no sudoers rule")
        return
    try:
        text = sudoers_rule(commands, user=user, timeout=per_command_timeout(ScanOptions().command_timeout),
                            password=password)
    except SudoersError as exc:
        raise click.ClickException(f"no exact sudoers rule is possible: {exc}") from None
    click.echo(f"# profile {chosen.id}: {len(commands)} command(s)\n" + text, nl=False)
