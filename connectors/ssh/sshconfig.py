"""Where and as whom to connect, the way OpenSSH's client decides it: inventory, CLI and ``ssh_config``.

:func:`resolve_target` turns an asset's SSH endpoint into a :class:`Target` (host, port, user, key files,
known_hosts, agent use) and the chain of :class:`Hop` jump hosts in front of it. Sources, strongest first:

1. what the inventory endpoint (or the ad-hoc CLI) sets explicitly (``model_fields_set``: a default such as
   ``port: 22`` does not count as explicit);
2. the scan-wide CLI options (``--key``, ``--known-hosts``, ``--no-agent``);
3. OpenSSH's client config for the asset's address used as a ``Host`` alias: ``HostName``, ``User``,
   ``Port``, ``IdentityFile``, ``IdentitiesOnly``, ``UserKnownHostsFile``, ``ProxyJump``. The file is the
   endpoint's ``ssh_config``, else ``--ssh-config``, else ``~/.ssh/config`` when it exists;
4. OpenSSH's defaults (port 22, the local user name, the agent when ``SSH_AUTH_SOCK`` is set).

Jump hosts come from the endpoint's ``jump`` (resolved by the inventory: an id of ``jump_hosts`` or
``user@host:port`` specs) or else ``ProxyJump``; each hop of a ``ProxyJump`` is itself looked up in the
same ssh_config (as OpenSSH does), so ``ProxyJump bastion`` picks up the bastion's HostName, User, Port and
IdentityFile. Resolution reads files only; it never opens a connection.
"""

from __future__ import annotations

import getpass
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paramiko

__all__ = ["Hop", "SshConfigError", "Target", "default_ssh_config", "load_ssh_config", "parse_jump_spec",
           "resolve_target"]

DEFAULT_SSH_CONFIG = Path("~/.ssh/config")
_MAX_HOPS = 8


class SshConfigError(ValueError):
    """An ssh_config file cannot be read or a jump specification is malformed."""


@dataclass(frozen=True)
class Hop:
    """One SSH server on the way: a jump host or the target itself."""

    host: str
    port: int = 22
    username: str | None = None
    key_files: tuple[str, ...] = ()
    key_passphrase_env: str | None = None
    identities_only: bool = False
    known_hosts: str | None = None
    label: str = ""  # how the user named it (alias, jump host id, spec)
    default_keys: bool = False  # key_files are OpenSSH's default ~/.ssh/id_* (unusable ones are skipped)

    @property
    def where(self) -> str:
        return f"{self.username or '?'}@{self.host}:{self.port}"


@dataclass(frozen=True)
class Target(Hop):
    """The asset's SSH server, with the jump hosts to reach it (first hop first)."""

    jumps: tuple[Hop, ...] = ()
    use_agent: bool = True
    ssh_config: str | None = None  # the file that was read, if any
    password_env: str | None = None
    password_file: str | None = None


def default_ssh_config() -> Path | None:
    path = DEFAULT_SSH_CONFIG.expanduser()
    return path if path.is_file() else None


_CACHE: dict[tuple[str, float], paramiko.SSHConfig] = {}


def load_ssh_config(path: str | Path | None) -> tuple[paramiko.SSHConfig | None, str | None]:
    """The named ssh_config (must exist), else ``~/.ssh/config`` when present, else (None, None)."""
    chosen = Path(path).expanduser() if path else default_ssh_config()
    if chosen is None:
        return None, None
    try:
        stamp = chosen.stat().st_mtime
    except FileNotFoundError:
        raise SshConfigError(f"ssh_config file {chosen} does not exist") from None
    except OSError as exc:
        raise SshConfigError(f"ssh_config file {chosen} cannot be read: {exc.strerror}") from None
    key = (str(chosen), stamp)
    if key not in _CACHE:
        try:
            _CACHE[key] = paramiko.SSHConfig.from_path(str(chosen))
        except OSError as exc:
            raise SshConfigError(f"ssh_config file {chosen} cannot be read: {exc.strerror}") from None
        except Exception as exc:  # paramiko raises ConfigParseError and friends
            raise SshConfigError(f"ssh_config file {chosen} cannot be parsed: {exc}") from None
    return _CACHE[key], str(chosen)


_SPEC = re.compile(r"^(?:(?P<user>[^@\s,]+)@)?(?P<host>\[[^\]]+\]|[^:@\s,\[\]]+)(?::(?P<port>\d{1,5}))?$")


def parse_jump_spec(spec: str) -> list[tuple[str | None, str, int | None]]:
    """``"user@host:port,host2"`` -> [(user, host, port), (None, "host2", None)] (OpenSSH ProxyJump syntax;
    an ``ssh://user@host:port`` URL per hop is accepted too)."""
    hops: list[tuple[str | None, str, int | None]] = []
    for part in spec.split(","):
        part = part.strip()
        if part.startswith("ssh://"):
            part = part[len("ssh://"):].rstrip("/")
        match = _SPEC.match(part)
        if not part or match is None:
            raise SshConfigError(f"jump host {part!r} is not user@host[:port]")
        port = int(match["port"]) if match["port"] else None
        if port is not None and not 1 <= port <= 65535:
            raise SshConfigError(f"jump host {part!r}: port {port} is not in 1..65535")
        hops.append((match["user"], match["host"].strip("[]"), port))
    if len(hops) > _MAX_HOPS:
        raise SshConfigError(f"more than {_MAX_HOPS} jump hosts")
    return hops


def _yes(value: Any) -> bool:
    return str(value).strip().lower() in ("yes", "true", "1")


def _lookup(config: paramiko.SSHConfig | None, alias: str) -> dict[str, Any]:
    if config is None:
        return {"hostname": alias}
    try:
        found = dict(config.lookup(alias))
    except Exception as exc:  # e.g. "Match exec" without the invoke package
        raise SshConfigError(f"ssh_config lookup of {alias!r} failed: {exc}") from None
    if found.get("proxycommand") and str(found["proxycommand"]).lower() != "none" and not found.get("proxyjump"):
        raise SshConfigError(f"ssh_config sets ProxyCommand for {alias!r}, which the auditor does not run: "
                             "use ProxyJump (or the inventory's jump) instead")
    return found


def _hop_from_config(config: paramiko.SSHConfig | None, user: str | None, alias: str, port: int | None,
                     label: str) -> tuple[Hop, str | None]:
    """A hop named by alias or address, completed from ssh_config; also returns that host's own ProxyJump."""
    found = _lookup(config, alias)
    hop = Hop(host=found.get("hostname", alias), port=port or int(found.get("port", 22)),
              username=user or found.get("user"), key_files=tuple(found.get("identityfile", ())),
              identities_only=_yes(found.get("identitiesonly", "no")),
              known_hosts=_first_known_hosts(found), label=label)
    proxy = found.get("proxyjump")
    return hop, (None if proxy is None or str(proxy).lower() == "none" else str(proxy))


def _first_known_hosts(found: dict[str, Any]) -> str | None:
    value = found.get("userknownhostsfile")
    if not value:
        return None
    first = str(value).split()[0]
    return None if first.lower() == "none" else first


def _chain_from_spec(config: paramiko.SSHConfig | None, spec: str, depth: int = 0) -> list[Hop]:
    hops: list[Hop] = []
    for user, host, port in parse_jump_spec(spec):
        hop, proxy = _hop_from_config(config, user, host, port, label=host)
        if proxy and depth < _MAX_HOPS and not hops:
            hops.extend(_chain_from_spec(config, proxy, depth + 1))  # the first hop's own jump, as OpenSSH
        hops.append(hop)
    return hops


def resolve_target(asset: Any, endpoint: Any, options: Any) -> Target:
    """The target and jump hosts of ``endpoint`` on ``asset`` (see the module docstring for precedence).

    Raises :class:`SshConfigError` for an unreadable ssh_config or a malformed jump specification.
    """
    explicit = endpoint.model_fields_set
    config_path = endpoint.ssh_config or getattr(options, "ssh_config", None)
    config, config_file = load_ssh_config(config_path)
    found = _lookup(config, asset.address)

    port = endpoint.port if "port" in explicit else int(found.get("port", endpoint.port))
    username = endpoint.username or found.get("user") or _local_user()
    if endpoint.key_file:
        key_files: tuple[str, ...] = (endpoint.key_file,)
    elif getattr(options, "ssh_key_file", None):
        key_files = (options.ssh_key_file,)
    else:
        key_files = tuple(found.get("identityfile", ()))
    default_keys = not key_files
    if default_keys:
        key_files = default_identities()
    known_hosts = endpoint.known_hosts or (
        None if getattr(options, "known_hosts", None) else _first_known_hosts(found))
    cli_agent = getattr(options, "use_agent", None)
    if cli_agent is False:
        use_agent = False
    elif endpoint.use_agent is not None:
        use_agent = endpoint.use_agent
    else:
        use_agent = True
    identities_only = (endpoint.identities_only if endpoint.identities_only is not None
                       else _yes(found.get("identitiesonly", "no")))

    passphrase_env = endpoint.key_passphrase_env or (
        getattr(options, "key_passphrase_env", None) if not endpoint.key_file else None)
    jumps: list[Hop] = []
    if endpoint.jump:
        for jump in endpoint.jump:
            if jump.address:
                jumps.append(Hop(host=jump.address, port=jump.port, username=jump.username,
                                 key_files=(jump.key_file,) if jump.key_file else (),
                                 key_passphrase_env=jump.key_passphrase_env, known_hosts=jump.known_hosts,
                                 label=jump.id or jump.address))
            else:
                jumps.extend(_chain_from_spec(config, jump.spec or ""))
    elif found.get("proxyjump") and str(found["proxyjump"]).lower() != "none":
        jumps = _chain_from_spec(config, str(found["proxyjump"]))
    # a hop without its own user or keys uses the target's, as an operator usually has one account
    jumps = [Hop(host=h.host, port=h.port, username=h.username or username,
                 key_files=h.key_files or key_files, default_keys=not h.key_files and default_keys,
                 key_passphrase_env=h.key_passphrase_env if h.key_files else passphrase_env,
                 identities_only=h.identities_only, known_hosts=h.known_hosts or known_hosts, label=h.label)
             for h in jumps]
    return Target(host=found.get("hostname", asset.address), port=port, username=username, key_files=key_files,
                  key_passphrase_env=passphrase_env, identities_only=identities_only,
                  known_hosts=known_hosts, label=asset.address, jumps=tuple(jumps), use_agent=use_agent,
                  ssh_config=config_file, password_env=endpoint.password_env, default_keys=default_keys,
                  password_file=endpoint.password_file)


_DEFAULT_IDENTITIES = ("id_rsa", "id_ecdsa", "id_ed25519")  # OpenSSH's order (no security-key types)


def default_identities() -> tuple[str, ...]:
    """OpenSSH's default key files that exist, used when nothing names a key file."""
    folder = Path("~/.ssh").expanduser()
    return tuple(str(folder / name) for name in _DEFAULT_IDENTITIES if (folder / name).is_file())


def _local_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # pragma: no cover - no USER/LOGNAME and no passwd entry
        return os.environ.get("USER", "root")
