"""SSH credentials as OpenSSH's client offers them: agent keys first, then key files, then a password reference.

:func:`credentials_for` builds the ordered list for one hop (target or jump host) without touching the
network; :func:`check_ssh_credentials` runs it for every SSH endpoint of an inventory BEFORE the first
connection, so a missing agent, a missing key file or an encrypted key without passphrase fails the run
with exit 2 (:class:`~auditor.errors.ConfigError`) naming the asset, the endpoint and the fix.

Passphrases come from ``key_passphrase_env`` (or ``--key-passphrase-env``); on a terminal, the CLI passes
an ``ask`` callable (getpass: never echoed) and each encrypted key file is asked for once per process.
Answers live only in this module's memory for the run; they are never logged or recorded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable

import paramiko

from auditor.errors import ConfigError, ConfigProblem
from auditor.plant.secrets import SecretError, remember, resolve
from connectors.base import ConnectorError
from connectors.ssh.sshconfig import Hop, SshConfigError, Target, resolve_target

__all__ = ["Credential", "CredentialError", "check_ssh_credentials", "credentials_for", "load_private_key"]

MAX_AGENT_KEYS = 3  # agent keys offered at most (each once); sshd's MaxAuthTries is often 3-6
Credential = tuple[str, str, Any]  # (method, description, key or password)
Ask = Callable[[str], str]

_ASKED: dict[str, str] = {}  # key file -> passphrase typed on the terminal in this process


class CredentialError(ConnectorError):
    """A configured credential cannot be used (missing file, encrypted key without passphrase, agent error)."""


def load_private_key(path: Path, passphrase: str | None) -> paramiko.PKey:
    """A private key in any format OpenSSH's ssh-keygen writes: OpenSSH, PEM (PKCS#1/SEC1) and PKCS#8.

    The loaders take the passphrase as bytes (a str raised TypeError). PKCS#8, which paramiko's own PEM
    readers do not parse, is read with cryptography and wrapped. Raises PasswordRequiredException or
    TypeError for an encrypted key without passphrase, ValueError/SSHException for a bad one.
    """
    secret = passphrase.encode() if passphrase is not None else None
    try:
        return paramiko.PKey.from_path(path, secret)
    except (paramiko.SSHException, ValueError) as first:
        data = path.read_bytes()
        if b"-----BEGIN ENCRYPTED PRIVATE KEY-----" not in data and b"-----BEGIN PRIVATE KEY-----" not in data:
            raise
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, rsa

        try:
            key = serialization.load_pem_private_key(data, password=secret)
        except TypeError:
            raise paramiko.PasswordRequiredException("private key file is encrypted") from None
        except ValueError:
            raise first from None
        if isinstance(key, rsa.RSAPrivateKey):
            return paramiko.RSAKey(key=key)
        if isinstance(key, ec.EllipticCurvePrivateKey):
            return paramiko.ECDSAKey(vals=(key, key.public_key()))
        raise


def _public_blob(path: Path) -> bytes | None:
    """The public key next to a private key file (``KEY.pub``), as an SSH blob, if it exists."""
    import base64

    try:
        fields = path.with_name(path.name + ".pub").read_text().split()
        return base64.b64decode(fields[1]) if len(fields) >= 2 else None
    except (OSError, ValueError):
        return None


def _load_key(path: Path, passphrase_env: str | None, ask: Ask | None, agent_blobs: set[bytes]) -> paramiko.PKey | None:
    """The key, or None when it is encrypted and the agent already holds it (OpenSSH then uses the agent)."""
    if not path.is_file():
        raise CredentialError(f"key file {path} does not exist")
    try:
        passphrase = resolve(env=passphrase_env) if passphrase_env else _ASKED.get(str(path))
    except SecretError as exc:
        raise CredentialError(f"key passphrase (key_passphrase_env): {exc}") from None
    try:
        return load_private_key(path, passphrase)
    except (paramiko.PasswordRequiredException, TypeError):
        if passphrase is not None:
            raise CredentialError(f"cannot load key file {path}: wrong passphrase") from None
        blob = _public_blob(path)
        if blob is not None and blob in agent_blobs:
            return None
        if ask is None:
            raise CredentialError(f"key file {path} is encrypted: give its passphrase with key_passphrase_env "
                                  "(--key-passphrase-env VARIABLE), load it into ssh-agent (ssh-add), or run on "
                                  "a terminal to be asked") from None
    except (paramiko.SSHException, OSError, ValueError) as exc:
        raise CredentialError(f"cannot load key file {path}: {exc}") from None
    typed = ask(f"Enter passphrase for key '{path}': ")
    try:
        key = load_private_key(path, typed)
    except (paramiko.SSHException, OSError, ValueError, TypeError):
        raise CredentialError(f"cannot load key file {path}: wrong passphrase") from None
    _ASKED[str(path)] = remember(typed)
    return key


def credentials_for(hop: Hop, *, use_agent: bool, ask: Ask | None = None,
                    password: tuple[str | None, str | None] = (None, None)) -> tuple[list[Credential], Any]:
    """(method, description, secret) in the order they are tried, and the agent to close afterwards."""
    found: list[Credential] = []
    agent = None
    agent_keys: list[paramiko.PKey] = []
    if use_agent and os.environ.get("SSH_AUTH_SOCK"):
        try:
            agent = paramiko.Agent()
            agent_keys = list(agent.get_keys())
        except (paramiko.SSHException, OSError) as exc:
            if agent is not None:
                agent.close()
            raise CredentialError(f"ssh-agent at SSH_AUTH_SOCK is unusable: {exc}; start it again or "
                                  "turn it off (use_agent: false / --no-agent)") from None
    agent_blobs = {k.asbytes() for k in agent_keys}
    keys: list[tuple[Path, paramiko.PKey | None]] = []
    try:
        for name in hop.key_files:
            path = Path(name).expanduser()
            try:
                keys.append((path, _load_key(path, hop.key_passphrase_env, ask, agent_blobs)))
            except CredentialError:
                if not hop.default_keys:
                    raise
                # OpenSSH's default ~/.ssh/id_* nobody asked for: one that cannot be used is skipped
    except CredentialError:
        if agent is not None:
            agent.close()
        raise
    wanted = {k.asbytes() for _, k in keys if k is not None} | {b for p, k in keys if k is None
                                                               for b in [_public_blob(p)] if b}
    # OpenSSH's order: agent keys found in the configured key files, other agent keys (not with
    # IdentitiesOnly), then keys only in files; other agent keys are capped so that, with sshd's MaxAuthTries
    # often 3, they never crowd out the configured keys
    matching = [k for k in agent_keys if k.asbytes() in wanted]
    file_only = [(path, key) for path, key in keys if key is not None and key.asbytes() not in agent_blobs]
    others = [] if hop.identities_only else [k for k in agent_keys if k.asbytes() not in wanted]
    room = max(0, MAX_AGENT_KEYS - len(matching) - len(file_only))
    for key in [*matching, *others[:room]]:
        found.append(("publickey", f"agent key {key.get_name()} {key.fingerprint}", key))
    for path, key in file_only:
        found.append(("publickey", f"key {path}", key))
    password_env, password_file = password
    if password_env or password_file:
        try:
            secret = resolve(env=password_env, file=password_file)
        except SecretError as exc:
            if agent is not None:
                agent.close()
            raise CredentialError(f"password: {exc}") from None
        found.append(("password", "password", secret))
    return found, agent


def no_credential_message(hop: Hop, use_agent: bool) -> str:
    agent = ("no ssh-agent (SSH_AUTH_SOCK is not set)" if not os.environ.get("SSH_AUTH_SOCK")
             else "the ssh-agent holds no usable key") if use_agent else "the agent is turned off"
    return (f"no credential for {hop.where}: {agent}, no key file (none named, no usable ~/.ssh/id_*), no "
            "password reference; fix: load a key with "
            "ssh-add, or set key_file (--key, or IdentityFile in ssh_config), or password_env/password_file")


def _hops(target: Target) -> Iterable[tuple[str, Hop, tuple[str | None, str | None]]]:
    for hop in target.jumps:
        yield f"jump host {hop.label or hop.host}", hop, (None, None)
    yield "", target, (target.password_env, target.password_file)


def sudo_password(endpoint: Any, options: Any) -> str | None:
    """The sudo password for an endpoint (its own reference, else ``--sudo-password-env``), or None.

    None also when sudo is off for the endpoint or the scan: then no password is ever sent.
    """
    if not (getattr(endpoint, "sudo", False) and getattr(options, "use_sudo", True)):
        return None
    env, file = getattr(endpoint, "sudo_password_env", None), getattr(endpoint, "sudo_password_file", None)
    if not (env or file):
        env = getattr(options, "sudo_password_env", None)
    try:
        return resolve(env=env, file=file)
    except SecretError as exc:
        raise CredentialError(f"sudo password: {exc}") from None


def check_ssh_credentials(source: str, assets: Iterable[Any], options: Any, ask: Ask | None = None) -> None:
    """Resolve every SSH endpoint (ssh_config, jump hosts) and its credentials without connecting.

    Raises :class:`ConfigError` (exit 2) listing, per asset and endpoint, what is missing and how to fix it.
    """
    problems: list[ConfigProblem] = []
    for asset in assets:
        for index, endpoint in enumerate(asset.endpoints):
            if endpoint.protocol != "ssh":
                continue
            where = f"assets ({asset.id}).endpoints[{index}]"
            try:
                sudo_password(endpoint, options)
            except CredentialError as exc:
                problems.append(ConfigProblem(f"{where}.sudo_password", str(exc)))
            try:
                target = resolve_target(asset, endpoint, options)
            except SshConfigError as exc:
                problems.append(ConfigProblem(f"{where}.ssh_config", str(exc)))
                continue
            for what, hop, password in _hops(target):
                field = f"{where}.jump ({what})" if what else where
                try:
                    found, agent = credentials_for(hop, use_agent=target.use_agent, ask=ask, password=password)
                except CredentialError as exc:
                    problems.append(ConfigProblem(field, f"ssh {hop.where}: {exc}"))
                    continue
                if agent is not None:
                    agent.close()
                if not found:
                    problems.append(ConfigProblem(field, no_credential_message(hop, target.use_agent)))
    if problems:
        raise ConfigError(source, problems)
