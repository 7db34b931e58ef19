"""Strict known_hosts checking for the SSH connector, with explicit trust on first use.

An auditor that silently trusts any host key would hand its credentials to whoever answers on the
port. The rules:

* the known_hosts file is ``endpoint.known_hosts``, else ``ScanOptions.known_hosts``, else
  ``~/.ssh/known_hosts`` (for the default file, ``/etc/ssh/ssh_known_hosts`` is also consulted, read
  only, as OpenSSH does);
* entries are looked up the way OpenSSH writes them: ``host`` for port 22, ``[host]:port`` otherwise;
  hashed entries (``|1|salt|hash``, HashKnownHosts) and simple ``*``/``?`` patterns match too;
* a key that matches an entry is accepted; a key listed under ``@revoked`` is refused;
* a host with NO entry is refused, unless trust on first use was asked for: then the key is appended
  to the known_hosts file and the caller records that it was trusted on first use;
* a host whose entries hold a different key (same type, or only other types) is ALWAYS refused, TOFU
  or not: that is what a man-in-the-middle looks like.

Built on ``paramiko.HostKeys.hash_host`` for hashed names; the file is parsed here so that several
keys of one type (key rotation), unknown key types and ``@revoked`` lines are handled.
"""

from __future__ import annotations

import fcntl
import fnmatch
import hmac
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import paramiko

from connectors.base import ConnectorError

__all__ = [
    "GLOBAL_KNOWN_HOSTS",
    "HostKeyCheck",
    "KnownHostsFile",
    "entry_name",
    "fingerprint",
    "key_label",
    "known_hosts_path",
    "preferred_key_types",
    "verify_host_key",
]

GLOBAL_KNOWN_HOSTS = Path("/etc/ssh/ssh_known_hosts")
_APPEND_LOCK = threading.Lock()

# Host-key algorithms a known key of a given type can be verified with, for the KEXINIT preference
# order (a known RSA key is "ssh-rsa" in known_hosts but negotiated as rsa-sha2-*).
_ALGORITHMS_FOR_TYPE = {
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}


def entry_name(host: str, port: int) -> str:
    """The host name as OpenSSH stores it: ``host`` on port 22, ``[host]:port`` elsewhere."""
    return host if port == 22 else f"[{host}]:{port}"


def fingerprint(key: paramiko.PKey) -> str:
    """OpenSSH-style ``SHA256:...`` fingerprint."""
    return key.fingerprint


def key_label(key: paramiko.PKey) -> str:
    """``ECDSA SHA256:...`` as OpenSSH prints it in its warnings."""
    name = key.get_name()
    kind = ("ED25519" if "ed25519" in name else "ECDSA" if name.startswith("ecdsa") else
            "RSA" if "rsa" in name else name)
    return f"{kind} {fingerprint(key)}"


def known_hosts_path(endpoint_known_hosts: str | os.PathLike | None,
                     option_known_hosts: str | os.PathLike | None) -> tuple[Path, bool]:
    """The known_hosts file to use and whether it is the default one (endpoint > scan option > default)."""
    chosen = endpoint_known_hosts or option_known_hosts
    if chosen:
        return Path(chosen).expanduser(), False
    return Path("~/.ssh/known_hosts").expanduser(), True


@dataclass(frozen=True)
class _Entry:
    marker: str | None  # None, "@revoked" or "@cert-authority"
    patterns: tuple[str, ...]
    keytype: str
    blob: str
    line: int

    def matches(self, name: str) -> bool:
        matched = False
        for pattern in self.patterns:
            negated = pattern.startswith("!")
            pattern = pattern[1:] if negated else pattern
            if pattern.startswith("|1|"):
                parts = pattern.split("|")
                if len(parts) != 4:
                    continue
                hit = hmac.compare_digest(paramiko.HostKeys.hash_host(name, parts[2]), pattern)
            elif any(c in pattern for c in "*?"):
                hit = fnmatch.fnmatchcase(name.lower(), pattern.lower())
            else:
                hit = name.lower() == pattern.lower()
            if hit and negated:
                return False
            matched = matched or hit
        return matched


class KnownHostsFile:
    """The parsed entries of one known_hosts file (missing file: no entries)."""

    def __init__(self, path: Path, *, read_only_extra: list[Path] | None = None):
        self.path = path
        self.entries: list[_Entry] = []
        for source in [path, *(read_only_extra or [])]:
            self.entries.extend(self._load(source))

    @staticmethod
    def _load(path: Path) -> list[_Entry]:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConnectorError(f"known_hosts file {path} cannot be read: {exc.strerror or exc}") from None
        return KnownHostsFile.parse(text)

    @staticmethod
    def parse(text: str) -> list[_Entry]:
        entries = []
        for number, raw in enumerate(text.splitlines(), start=1):
            fields = raw.split()
            if not fields or fields[0].startswith("#"):
                continue
            marker = None
            if fields[0].startswith("@"):
                marker, fields = fields[0], fields[1:]
            if len(fields) < 3:
                continue  # malformed line: ignored, as OpenSSH does
            entries.append(_Entry(marker, tuple(fields[0].split(",")), fields[1], fields[2], number))
        return entries

    def for_host(self, name: str) -> list[_Entry]:
        return [e for e in self.entries if e.marker != "@cert-authority" and e.matches(name)]


def preferred_key_types(known: KnownHostsFile, name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    """Host-key algorithms with those we already know for ``name`` first (as OpenSSH orders them)."""
    first: list[str] = []
    for entry in known.for_host(name):
        if entry.marker is None:
            for algorithm in _ALGORITHMS_FOR_TYPE.get(entry.keytype, (entry.keytype,)):
                if algorithm in default and algorithm not in first:
                    first.append(algorithm)
    return tuple(first) + tuple(a for a in default if a not in first)


@dataclass(frozen=True)
class HostKeyCheck:
    """Outcome of an accepted host key."""

    known_hosts: Path
    name: str
    trusted_on_first_use: bool


def verify_host_key(host: str, port: int, key: paramiko.PKey, known_hosts: Path, *,
                    trust_on_first_use: bool, include_global: bool = False) -> HostKeyCheck:
    """Accept ``key`` for ``host:port`` or raise :class:`ConnectorError` saying exactly why not."""
    name = entry_name(host, port)
    extra = [GLOBAL_KNOWN_HOSTS] if include_global else []
    known = KnownHostsFile(known_hosts, read_only_extra=extra)
    entries = known.for_host(name)
    keytype, blob = key.get_name(), key.get_base64()
    if any(e.marker == "@revoked" and e.keytype == keytype and e.blob == blob for e in entries):
        raise ConnectorError(f"host key for {name} ({key_label(key)}) is marked @revoked in {known_hosts}; "
                             f"refusing to connect")
    plain = [e for e in entries if e.marker is None]
    if any(e.keytype == keytype and e.blob == blob for e in plain):
        return HostKeyCheck(known_hosts, name, trusted_on_first_use=False)
    if plain:
        same_type = [e for e in plain if e.keytype == keytype]
        listed = ", ".join(sorted({f"{e.keytype} (line {e.line})" for e in (same_type or plain)}))
        raise ConnectorError(
            f"HOST KEY MISMATCH for {name}: it presented {key_label(key)} but {known_hosts} lists "
            f"{listed} - possible man-in-the-middle attack; refusing to connect (trust on first use "
            f"never replaces a known key). If the key was legitimately changed, verify the new "
            f"fingerprint out of band and fix known_hosts.")
    if not trust_on_first_use:
        raise ConnectorError(
            f"host key for {name} is not in known_hosts {known_hosts} ({key_label(key)}); "
            f"verify it and add it, or rerun with --trust-on-first-use")
    _append(known_hosts, name, key)
    return HostKeyCheck(known_hosts, name, trusted_on_first_use=True)


def _append(path: Path, name: str, key: paramiko.PKey) -> None:
    """Append ``name keytype base64`` to ``path`` (created 0600, its directory 0700 if missing)."""
    line = f"{name} {key.get_name()} {key.get_base64()}\n"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        with _APPEND_LOCK:
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            with os.fdopen(fd, "r+b") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                try:
                    handle.seek(0)
                    content = handle.read()
                    # Re-check under the lock: a concurrent connection may have recorded this host.
                    for entry in KnownHostsFile.parse(content.decode("utf-8", "replace")):
                        if entry.marker is None and entry.matches(name):
                            if (entry.keytype, entry.blob) == (key.get_name(), key.get_base64()):
                                return
                            raise ConnectorError(
                                f"HOST KEY MISMATCH for {name}: a different key was recorded in {path} "
                                f"while connecting - possible man-in-the-middle attack; refusing to connect")
                    prefix = b"\n" if content and not content.endswith(b"\n") else b""
                    handle.write(prefix + line.encode())
                    handle.flush()
                    os.fsync(handle.fileno())
                finally:
                    fcntl.flock(handle, fcntl.LOCK_UN)
    except OSError as exc:
        raise ConnectorError(f"cannot record the host key of {name} in {path}: {exc.strerror or exc}") from None
