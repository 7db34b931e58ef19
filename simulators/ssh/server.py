# One module on purpose: the SSH personality, the fixture lookup and the fault modes of one simulated host read together.
"""A real SSH server (paramiko) that answers exec requests from a host fixture, for tests and demos.

:class:`SshSimulator` listens on a loopback address, speaks real SSH-2 with the algorithms its
fixture's ``host.yaml`` names (so the wire probe and the negotiated algorithms differ between a
weak and a hardened host), authenticates one user by key and/or password, and answers:

* a script from :func:`connectors.ssh.script.build_script` section by section, like ``sh`` would
  (read by :mod:`simulators.ssh.script_reader`, the simulator's own reader of the documented script
  format, not by the connector's parser): each command is answered from the fixture, run "under
  sudo" only if the command asked for it and the fixture's ``host.sudo`` is true (otherwise the
  answer's ``unprivileged`` variant, if any, is used);
* a plain exec command the same way;
* on a Windows personality (``host.version`` names ``OpenSSH_for_Windows``): the PowerShell bootstrap of
  :mod:`connectors.windows.script` (``powershell.exe ... -EncodedCommand``), whose script it reads from
  the channel's stdin with its own reader (:mod:`simulators.ssh.powershell_reader`) and answers section
  by section like the script's runner would (exit 1 ``ERROR: ...`` for a section the fixture does not
  know, 124 when ``sleep`` reaches the per-section bound). Any other command gets cmd.exe's answer
  (``'X' is not recognized as an internal or external command``, exit 1), a Linux sh script too.

A command is answered by NAME when it is the text of a named request of a registered fact
(``ssh_exec(..., name="files.dump")``: the simulator maps the text it receives to that name through
the registry) and the fixture's ``requests:`` has that name; otherwise by its exact text from
``commands:`` (ad-hoc commands of tests); otherwise like ``sh``: exit 127 ``sh: 1: X: not found``.

Shells, ptys, subsystems (sftp), environment variables, agent/X11 forwarding and port forwarding
are refused and logged, except that a fixture with a ``cli:`` section is a network device: it accepts
a pty and a shell and answers them with :class:`simulators.netcli.device.CliShell` (prompt, paging,
enable, ``show`` commands from the fixture), recording every line as a ``cli`` request. Every request is recorded in :attr:`SshSimulator.requests` so a test can
prove that a scan sent nothing but reads.

Fixture format (all ``*.yaml`` of a fixture folder are merged; ``host:`` may appear once). A
``requests:`` entry must name a request some registered fact needs (a stale name is an error), and a
command that has a name must be answered under that name, not under ``commands:``::

    host:
      hostname: hmi-01
      version: SSH-2.0-OpenSSH_7.4          # identification string (optional)
      sudo: true
      banner: null                          # pre-authentication banner text, or null
      auth_methods: [publickey, password]
      ciphers: [aes128-cbc, 3des-cbc, aes128-ctr]
      macs: [hmac-md5, hmac-sha1]
      kex: [diffie-hellman-group1-sha1, diffie-hellman-group14-sha1, diffie-hellman-group14-sha256]
      host_key_type: rsa                    # ecdsa | rsa
    requests:                               # answers to the registered requests, by their names
      audit.status:
        stdout: "enabled 2\\n..."           # str, or !!binary for non-UTF-8 bytes; {port} substituted
        exit: 0
        json: {...}      # instead of stdout: data written as compact JSON (Windows sections)
        unprivileged: {stdout: "...", exit: 1}
        repeat: 1        # stdout sent this many times (hostile flood fixtures)
        sleep: 0         # seconds before answering; honours the script's per-command timeout (exit 124)
        stall: 0         # seconds of silence that ignore every timeout (a hung host)
    commands:                               # answers to any other command, by its exact text
      "id -un": {stdout: "root\\n", unprivileged: {stdout: "auditor\\n"}}
    cli: {platform: cisco_ios, ...}         # a switch's CLI instead (simulators/netcli/device.py)

paramiko 5.1 removed every SHA-1 key exchange; the simulator adds ``diffie-hellman-group1-sha1``
and ``diffie-hellman-group14-sha1`` back (RFC 4253 §8.1/§8.2: same DH as paramiko's group14 with
SHA-1 and, for group 1, the 1024-bit Oakley group 2 prime) on its own transports only, so a weak
fixture can offer and negotiate them like an old OpenSSH. ``curve25519-sha256`` is the RFC 8731
name of paramiko's ``curve25519-sha256@libssh.org``.
"""

from __future__ import annotations

import contextlib
import json
import hashlib
import logging
import socket
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import paramiko
from paramiko.kex_curve25519 import KexCurve25519
from paramiko.kex_group14 import KexGroup14SHA256

from auditor.registry import REGISTRY
from auditor.safeload import load_yaml_file
from simulators.netcli.device import CliDevice, CliShell, load_device
from simulators.ssh.powershell_reader import NotAPowerShellScript, PowerShellScript, is_bootstrap, read_powershell_script
from simulators.ssh.script_reader import BatchScript, NotABatchScript, read_script

log = logging.getLogger(__name__)
# paramiko logs every client that hangs up as an ERROR (the auditor's wire probe hangs up on purpose);
# route the simulator's transports to their own logger that does not propagate, so the demo's and the
# tests' output stays clean. Attach a handler to this logger to debug the simulator's SSH layer.
_TRANSPORT_LOG = f"{__name__}.transport"
logging.getLogger(_TRANSPORT_LOG).addHandler(logging.NullHandler())
logging.getLogger(_TRANSPORT_LOG).propagate = False

__all__ = ["FIXTURES", "Answer", "Command", "Fixture", "HostPersonality", "RequestNames", "SshSimulator", "SUPPORTED", "powershell_sections",
           "load_fixture", "not_found"]

FIXTURES = Path(__file__).resolve().parent / "fixtures"


class _KexGroup14SHA1(KexGroup14SHA256):
    name = "diffie-hellman-group14-sha1"
    hash_algo = hashlib.sha1


class _KexGroup1SHA1(KexGroup14SHA256):
    # RFC 2409 §6.2 Oakley group 2 (1024-bit MODP), as used by diffie-hellman-group1-sha1.
    P = int("FFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E34"
            "04DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A637ED6B0BFF5CB6"
            "F406B7EDEE386BFB5A899FA5AE9F24117C4B1FE649286651ECE65381FFFFFFFFFFFFFFFF", 16)
    G = 2
    name = "diffie-hellman-group1-sha1"
    hash_algo = hashlib.sha1


_EXTRA_KEX: dict[str, type] = {
    "diffie-hellman-group1-sha1": _KexGroup1SHA1,
    "diffie-hellman-group14-sha1": _KexGroup14SHA1,
}
if KexCurve25519.is_available():
    _EXTRA_KEX["curve25519-sha256"] = KexCurve25519
_KEX_INFO: dict[str, type] = {**paramiko.Transport._kex_info, **_EXTRA_KEX}

#: Algorithm names a fixture may list, per category.
SUPPORTED: dict[str, tuple[str, ...]] = {
    "ciphers": tuple(paramiko.Transport._cipher_info),
    "macs": tuple(paramiko.Transport._mac_info),
    "kex": tuple(name for name in _KEX_INFO if not name.startswith("diffie-hellman-group-exchange")),
}
_AUTH_METHODS = ("publickey", "password")
_COMMAND_KEYS = {"stdout", "json", "exit", "unprivileged", "repeat", "sleep", "stall"}
_MAX_STDIN = 8 * 1024 * 1024
_HOST_KEYS = {"hostname", "version", "sudo", "banner", "auth_methods", "ciphers", "macs", "kex", "host_key_type"}
_MAX_REPEAT = 1_000_000
_SEND_CHUNK = 32 * 1024


# ---------------------------------------------------------------------------------------- fixtures
@dataclass(frozen=True)
class Answer:
    stdout: bytes
    exit: int = 0
    repeat: int = 1
    sleep: float = 0.0
    stall: float = 0.0


@dataclass(frozen=True)
class Command:
    privileged: Answer
    unprivileged: Answer | None = None

    def answer(self, as_root: bool) -> Answer:
        return self.privileged if as_root or self.unprivileged is None else self.unprivileged


@dataclass(frozen=True)
class HostPersonality:
    hostname: str = "sim-host"
    version: str | None = None
    sudo: bool = False
    banner: str | None = None
    auth_methods: tuple[str, ...] = ("publickey",)
    ciphers: tuple[str, ...] | None = None
    macs: tuple[str, ...] | None = None
    kex: tuple[str, ...] | None = None
    host_key_type: str = "ecdsa"

    @property
    def windows(self) -> bool:
        """A Windows host: OpenSSH for Windows, cmd.exe as the default shell, PowerShell available."""
        return "OpenSSH_for_Windows" in (self.version or "")


class RequestNames:
    """Command text -> name of the registered request that sends it (the registry's named ``ssh:exec`` requests).

    The simulator receives exactly the registered requests' texts; this maps them back to their names. Two
    requests may send the same text with and without sudo: the one matching the section's sudo wins.
    """

    def __init__(self, named: dict[str, Any] | None = None):
        if named is None:
            named = REGISTRY.load().named_requests()
        self.by_text: dict[str, dict[bool, str]] = {}
        for name, req in named.items():
            if req.protocol == "ssh" and req.op in ("exec", "powershell"):
                self.by_text.setdefault(req.target, {})[bool(req.option("sudo"))] = name
        self.names = {name for by_sudo in self.by_text.values() for name in by_sudo.values()}

    def name_of(self, command: str, sudo: bool = False) -> str | None:
        by_sudo = self.by_text.get(command)
        if not by_sudo:
            return None
        return by_sudo.get(sudo) or by_sudo.get(not sudo)


@dataclass(frozen=True)
class Fixture:
    name: str
    host: HostPersonality
    commands: dict[str, Command] = field(default_factory=dict)   # by exact command text
    files: tuple[str, ...] = ()
    requests: dict[str, Command] = field(default_factory=dict)   # by request name
    cli: CliDevice | None = None   # a network device: pty + shell answered by simulators.netcli

    def command(self, text: str, name: str | None) -> Command | None:
        """The answer for a command: by its request's name first, else by its exact text (None: unknown)."""
        if name is not None and name in self.requests:
            return self.requests[name]
        return self.commands.get(text)


def not_found(command: str) -> Answer:
    """What ``sh`` says to a command the fixture does not know: exit 127, ``sh: 1: X: not found``."""
    name = command.split()[0] if command.split() else command
    return Answer(f"sh: 1: {name}: not found\n".encode(), 127)


def not_recognized(command: str) -> Answer:
    """What cmd.exe (OpenSSH for Windows' default shell) says to a command it cannot run."""
    name = command.split()[0] if command.split() else command
    return Answer(f"'{name}' is not recognized as an internal or external command,\r\n"
                  f"operable program or batch file.\r\n".encode(), 1)


def powershell_sections(fixture: Fixture, names: RequestNames, parsed: PowerShellScript,
                        output: Callable[[Answer, float | None], Iterator[bytes | int]]) -> Iterator[bytes | int]:
    """What a Windows host prints for the auditor's PowerShell script: each section's fixture answer between the
    runner's markers, then the exit code (0); ``output`` yields an answer's bytes and exit code as the transport
    paces them. Shared by every transport that carries the script (OpenSSH for Windows, WinRM)."""
    prefix = f"__IACS_{parsed.nonce}_"
    for index, section in enumerate(parsed.sections):
        yield f"{prefix}B_{index}__\n".encode()
        found = fixture.command(section, names.name_of(section))
        answer = found.answer(True) if found is not None else Answer(
            b"ERROR: The term is not recognized as the name of a cmdlet, function, script file, or operable "
            b"program.", 1)
        exit_code: int | None = None
        for chunk in output(answer, parsed.timeout):
            if isinstance(chunk, int):
                exit_code = chunk
            elif exit_code is None:
                yield chunk
        if exit_code is None:
            return
        yield f"\n{prefix}E_{index}__ {exit_code}\n".encode()
    yield 0


def _fixture_dir(fixture: str | Path) -> Path:
    if isinstance(fixture, str) and "/" not in fixture and (FIXTURES / fixture).is_dir():
        return FIXTURES / fixture
    path = Path(fixture).expanduser()
    if not path.is_dir():
        raise ValueError(f"SSH simulator fixture {fixture!r} is neither a built-in name "
                         f"({', '.join(sorted(p.name for p in FIXTURES.iterdir() if p.is_dir()))}) nor a folder")
    return path


def _stdout(value: Any, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, (str, int, float)):
        return str(value).encode("utf-8")
    raise ValueError(f"{where}: stdout must be text or !!binary")


def _answer(data: dict[str, Any], where: str, *, nested: bool = False) -> Answer:
    allowed = {"stdout", "json", "exit"} if nested else _COMMAND_KEYS - {"unprivileged"}
    unknown = set(data) - allowed - ({"unprivileged"} if not nested else set())
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    exit_code = data.get("exit", 0)
    repeat = data.get("repeat", 1)
    if not isinstance(exit_code, int) or not 0 <= exit_code <= 255:
        raise ValueError(f"{where}: exit must be an integer 0..255")
    if not isinstance(repeat, int) or not 0 <= repeat <= _MAX_REPEAT:
        raise ValueError(f"{where}: repeat must be an integer 0..{_MAX_REPEAT}")
    if "json" in data and "stdout" in data:
        raise ValueError(f"{where}: give stdout or json, not both")
    stdout = (json.dumps(data["json"], separators=(",", ":"), ensure_ascii=False).encode("utf-8") if "json" in data
              else _stdout(data.get("stdout"), where))
    return Answer(stdout, exit_code, repeat,
                  float(data.get("sleep", 0) or 0), float(data.get("stall", 0) or 0))


def _command(data: Any, where: str) -> Command:
    if data is None:
        data = {}
    if isinstance(data, (str, bytes)):
        data = {"stdout": data}
    if not isinstance(data, dict):
        raise ValueError(f"{where}: must be a mapping with stdout/exit")
    unprivileged = data.get("unprivileged")
    if unprivileged is not None and not isinstance(unprivileged, dict):
        raise ValueError(f"{where}.unprivileged: must be a mapping with stdout/exit")
    return Command(_answer(data, where),
                   _answer(unprivileged, f"{where}.unprivileged", nested=True) if unprivileged is not None else None)


def _names(value: Any, category: str, where: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{where}: host.{category} must be a non-empty list of names")
    unknown = [v for v in value if v not in SUPPORTED[category]]
    if unknown:
        raise ValueError(f"{where}: host.{category} names algorithms the simulator cannot speak: "
                         f"{', '.join(unknown)} (supported: {', '.join(SUPPORTED[category])})")
    return tuple(value)


def _host(data: Any, where: str) -> HostPersonality:
    if not isinstance(data, dict):
        raise ValueError(f"{where}: host must be a mapping")
    unknown = set(data) - _HOST_KEYS
    if unknown:
        raise ValueError(f"{where}: unknown host key(s) {', '.join(sorted(unknown))}")
    methods = data.get("auth_methods", ["publickey"])
    if not isinstance(methods, list) or not methods or any(m not in _AUTH_METHODS for m in methods):
        raise ValueError(f"{where}: host.auth_methods must list some of {', '.join(_AUTH_METHODS)}")
    key_type = data.get("host_key_type", "ecdsa")
    if key_type not in ("ecdsa", "rsa"):
        raise ValueError(f"{where}: host.host_key_type must be ecdsa or rsa")
    version = data.get("version")
    if version is not None and (not isinstance(version, str) or not version.startswith("SSH-2.0-")):
        raise ValueError(f"{where}: host.version must be an identification string 'SSH-2.0-...'")
    banner = data.get("banner")
    return HostPersonality(
        hostname=str(data.get("hostname", "sim-host")), version=version, sudo=bool(data.get("sudo", False)),
        banner=None if banner is None else str(banner), auth_methods=tuple(methods),
        ciphers=_names(data.get("ciphers"), "ciphers", where), macs=_names(data.get("macs"), "macs", where),
        kex=_names(data.get("kex"), "kex", where), host_key_type=key_type)


def load_fixture(fixture: str | Path, names: RequestNames | None = None) -> Fixture:
    """Load and merge every ``*.yaml``/``*.yml`` of a fixture folder (built-in name or path).

    ``requests:`` names are checked against ``names`` (default: the registry's named requests): an entry
    no registered request has is a stale fixture entry, and an error.
    """
    folder = _fixture_dir(fixture)
    names = names if names is not None else RequestNames()
    host: HostPersonality | None = None
    cli: CliDevice | None = None
    commands: dict[str, Command] = {}
    requests: dict[str, Command] = {}
    origin: dict[str, str] = {}
    files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
    for path in files:
        data = load_yaml_file(path) or {}
        where = str(path)
        if not isinstance(data, dict):
            raise ValueError(f"{where}: a fixture file must be a mapping")
        unknown = set(data) - {"host", "commands", "requests", "cli"}
        if unknown:
            raise ValueError(f"{where}: unknown top-level key(s) {', '.join(sorted(unknown))}")
        if "host" in data:
            if host is not None:
                raise ValueError(f"{where}: host: is already defined in another file of {folder}")
            host = _host(data["host"], where)
        if "cli" in data:
            if cli is not None:
                raise ValueError(f"{where}: cli: is already defined in another file of {folder}")
            cli = load_device(data["cli"], folder, where)
        for command, answer in (data.get("commands") or {}).items():
            if not isinstance(command, str) or not command:
                raise ValueError(f"{where}: command keys must be non-empty strings")
            parsed = _command(answer, f"{where}: commands[{command!r}]")
            if command in commands and commands[command] != parsed:
                raise ValueError(f"{where}: command {command!r} is also defined, differently, in {origin[command]}")
            named = names.name_of(command)
            if named is not None:
                raise ValueError(f"{where}: the command {command[:60]!r}... is the request {named!r}: answer it "
                                 f"under requests: by that name")
            commands[command] = parsed
            origin.setdefault(command, where)
        for name, answer in (data.get("requests") or {}).items():
            if not isinstance(name, str) or name not in names.names:
                raise ValueError(f"{where}: requests: no registered request is named {name!r} (a stale entry? "
                                 f"names: {', '.join(sorted(names.names))})")
            parsed = _command(answer, f"{where}: requests[{name!r}]")
            if name in requests and requests[name] != parsed:
                raise ValueError(f"{where}: request {name!r} is also answered, differently, in {origin['@' + name]}")
            requests[name] = parsed
            origin.setdefault("@" + name, where)
    return Fixture(folder.name, host or HostPersonality(), commands, tuple(str(p) for p in files), requests, cli)


# ---------------------------------------------------------------------------------------- server
class _Interface(paramiko.ServerInterface):
    """Per-connection policy: one user, fixture auth methods, exec only."""

    def __init__(self, sim: "SshSimulator", conn: "_Connection"):
        self.sim, self.conn = sim, conn

    # -- authentication
    def get_allowed_auths(self, username: str) -> str:
        return ",".join(self.sim.auth_methods)

    def check_auth_none(self, username: str) -> int:
        self.conn.record("auth", username=username, method="none", result="failed")
        return paramiko.AUTH_FAILED

    def _auth(self, username: str, method: str, ok: bool) -> int:
        self.conn.auth_attempts += 1
        result = "ok" if ok else "failed"
        self.conn.record("auth", username=username, method=method, result=result)
        if ok:
            self.conn.username = username
            return paramiko.AUTH_SUCCESSFUL
        if self.conn.auth_attempts >= self.sim.max_auth_tries:
            threading.Thread(target=self.conn.close, daemon=True).start()
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username: str, password: str) -> int:
        ok = ("password" in self.sim.auth_methods and self.sim.password is not None
              and username == self.sim.username and password == self.sim.password)
        return self._auth(username, "password", ok)  # the password itself is never recorded

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        ok = ("publickey" in self.sim.auth_methods and self.sim.authorized_key is not None
              and username == self.sim.username and key.asbytes() == self.sim.authorized_key.asbytes())
        return self._auth(username, f"publickey {key.get_name()} {key.fingerprint}", ok)

    def check_auth_interactive(self, username: str, submethods: str) -> int:
        self.conn.record("auth", username=username, method="keyboard-interactive", result="refused")
        return paramiko.AUTH_FAILED

    # -- channels
    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        self.conn.record("channel", command=f"open {kind}", refused=True)
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_exec_request(self, channel: paramiko.Channel, command: bytes) -> bool:
        text = command.decode("utf-8", "surrogateescape") if isinstance(command, bytes) else command
        return self.conn.queue_exec(channel, text)

    def _refuse(self, what: str) -> bool:
        self.conn.record("channel", command=what, refused=True)
        return False

    def check_channel_shell_request(self, channel: paramiko.Channel) -> bool:
        if self.sim.fixture.cli is None:
            return self._refuse("shell")
        self.conn.record("shell")
        return self.conn.queue_shell(channel)

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes) -> bool:
        if self.sim.fixture.cli is None:
            return self._refuse(f"pty-req {term}")
        self.conn.record("pty", command=f"pty-req {term}")
        return True

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        return self._refuse(f"subsystem {name}")

    def check_channel_env_request(self, channel: paramiko.Channel, name, value) -> bool:
        return self._refuse(f"env {name!r}")

    def check_channel_x11_request(self, channel, single_connection, auth_protocol, auth_cookie, screen_number) -> bool:
        return self._refuse("x11-req")

    def check_channel_forward_agent_request(self, channel: paramiko.Channel) -> bool:
        return self._refuse("auth-agent-req")

    def check_channel_direct_tcpip_request(self, chanid: int, origin, destination) -> int:
        self.conn.record("channel", command=f"open direct-tcpip {destination}", refused=True)
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_port_forward_request(self, address: str, port: int) -> bool:
        return self._refuse(f"tcpip-forward {address}:{port}")

    def check_global_request(self, kind: str, msg) -> bool:
        if kind != "keepalive@openssh.com":
            self.conn.record("channel", command=f"global {kind}", refused=True)
        return False

    def get_banner(self) -> tuple[str | None, str | None]:
        return (self.sim.banner, "en-US") if self.sim.banner else (None, None)


class _Connection:
    """One accepted TCP connection: its transport and the worker that answers its exec requests."""

    def __init__(self, sim: "SshSimulator", sock: socket.socket, peer: str):
        self.sim, self.sock, self.peer = sim, sock, peer
        self.transport: paramiko.Transport | None = None
        self.username: str | None = None
        self.auth_attempts = 0
        self._pending: list[tuple[paramiko.Channel, str]] = []
        self._wakeup = threading.Event()
        self._closed = threading.Event()

    def record(self, kind: str, **fields: Any) -> None:
        entry = {"time": time.time(), "peer": self.peer, "kind": kind, "username": fields.pop("username", self.username),
                 "command": fields.pop("command", None), "commands": fields.pop("commands", []),
                 "sudo": fields.pop("sudo", None), **fields}
        self.sim._record(entry)

    def queue_shell(self, channel: paramiko.Channel) -> bool:
        """A device CLI session (fixtures with ``cli:``), answered in its own thread until the client leaves."""
        def serve() -> None:
            def recv() -> bytes | None:
                while not self.closed:
                    try:
                        return channel.recv(4096) or None
                    except (socket.timeout, TimeoutError):
                        continue
                    except (OSError, EOFError, paramiko.SSHException):
                        return None
                return None

            def record(line: str, **fields: Any) -> None:
                self.record("cli", command=line, **fields)

            channel.settimeout(0.2)
            try:
                CliShell(self.sim.fixture.cli, channel.sendall, recv, record).run()
            except (OSError, EOFError, paramiko.SSHException) as exc:
                log.debug("simulator: CLI client %s went away: %r", self.peer, exc)
            finally:
                with contextlib.suppress(Exception):
                    channel.send_exit_status(0)
                    channel.close()

        threading.Thread(target=serve, name=f"ssh-sim-cli-{self.peer}", daemon=True).start()
        return True

    def queue_exec(self, channel: paramiko.Channel, command: str) -> bool:
        self._pending.append((channel, command))
        self._wakeup.set()
        return True

    def close(self) -> None:
        self._closed.set()
        self._wakeup.set()
        with contextlib.suppress(Exception):
            if self.transport is not None:
                self.transport.close()
        with contextlib.suppress(Exception):
            self.sock.close()

    @property
    def closed(self) -> bool:
        return self._closed.is_set() or self.sim._stopping.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False if the connection or the simulator was closed meanwhile."""
        deadline = time.monotonic() + seconds
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            if self.transport is not None and not self.transport.is_active():
                return False
            self.sim._stopping.wait(min(left, 0.1))
        return False

    # -- main loop (runs in its own thread)
    def run(self) -> None:
        sim = self.sim
        started = time.monotonic()
        try:
            transport = paramiko.Transport(self.sock)
            transport.set_log_channel(_TRANSPORT_LOG)
            self.transport = transport
            transport._kex_info = _KEX_INFO  # instance override: adds the SHA-1 kex (see module doc)
            if sim.personality.version:
                transport.local_version = sim.personality.version
            options = transport.get_security_options()
            if sim.personality.ciphers:
                options.ciphers = sim.personality.ciphers
            if sim.personality.macs:
                options.digests = sim.personality.macs
            options.kex = sim.personality.kex or tuple(k for k in paramiko.Transport._preferred_kex
                                                      if not k.startswith("diffie-hellman-group-exchange"))
            transport.add_server_key(sim.host_key)
            transport.banner_timeout = sim.handshake_timeout
            transport.handshake_timeout = sim.handshake_timeout
            transport.auth_timeout = sim.handshake_timeout
            negotiated = threading.Event()
            transport.start_server(event=negotiated, server=_Interface(sim, self))
            deadline = time.monotonic() + sim.handshake_timeout
            while not negotiated.wait(0.1):
                if self.closed or not transport.is_active() or time.monotonic() > deadline:
                    return
            if not transport.is_active():
                return
            while not self.closed and transport.is_active():
                if time.monotonic() - started > sim.max_session_seconds:
                    self.record("channel", command="session time limit reached", refused=True)
                    return
                if not transport.is_authenticated() and time.monotonic() - started > sim.handshake_timeout * 2:
                    return  # login grace time
                self._wakeup.wait(0.2)
                self._wakeup.clear()
                while self._pending and not self.closed:
                    channel, command = self._pending.pop(0)
                    self._answer(channel, command)
        except Exception as exc:  # a broken client never takes the simulator down
            log.debug("simulator connection from %s ended: %r", self.peer, exc)
        finally:
            self.close()

    # -- answering
    def _answer(self, channel: paramiko.Channel, command: str) -> None:
        if self.sim.personality.windows:
            chunks = self._windows(channel, command)
        else:
            chunks = self._linux(command)
        self._send(channel, chunks)

    def _linux(self, command: str) -> Iterator[bytes | int]:
        try:
            parsed: BatchScript | None = read_script(command)
        except NotABatchScript:
            parsed = None
        sudo_ok = self.sim.personality.sudo
        names = self.sim.request_names
        if parsed is None:
            self.record("exec", command=command, commands=[], sudo=False, name=names.name_of(command))
            chunks = self._plain(command)
        else:
            wants = any(sudo for _i, _c, sudo in parsed.commands)
            self.record("exec", command=command, sudo=bool(wants and sudo_ok),
                        commands=[{"index": i, "command": c, "sudo": s, "name": names.name_of(c, s)}
                                  for i, c, s in parsed.commands])
            chunks = self._script(parsed, sudo_ok)
        return chunks

    def _windows(self, channel: paramiko.Channel, command: str) -> Iterator[bytes | int]:
        """cmd.exe runs the command: only the PowerShell bootstrap does anything, with the script from stdin."""
        names = self.sim.request_names
        if not is_bootstrap(command):
            self.record("exec", command=command, commands=[], sudo=False, name=None)
            return self._output(not_recognized(command), None)
        script = self._stdin(channel)
        try:
            parsed = read_powershell_script(script)
        except NotAPowerShellScript as exc:
            self.record("exec", command=command, script=script, commands=[], sudo=False, name=None, error=str(exc))
            return iter([f"ERROR: {exc}\r\n".encode(), 1])
        self.record("exec", command=command, script=script, sudo=False,
                    commands=[{"index": i, "command": c, "sudo": False, "name": names.name_of(c)}
                              for i, c in enumerate(parsed.sections)])
        return self._sections(parsed)

    def _stdin(self, channel: paramiko.Channel) -> str:
        """The script the client writes to stdin, up to EOF (bounded in size and time)."""
        channel.settimeout(self.sim.send_timeout)
        data = bytearray()
        with contextlib.suppress(OSError, EOFError, paramiko.SSHException):
            while len(data) <= _MAX_STDIN:
                chunk = channel.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data.decode("utf-8", "replace")

    def _sections(self, parsed: PowerShellScript) -> Iterator[bytes | int]:
        return powershell_sections(self.sim.fixture, self.sim.request_names, parsed, self._output)

    def _send(self, channel: paramiko.Channel, chunks: Iterator[bytes | int]) -> None:
        channel.settimeout(self.sim.send_timeout)
        try:
            exit_status = 0
            for chunk in chunks:
                if self.closed:
                    return
                if isinstance(chunk, int):
                    exit_status = chunk
                    continue
                for start in range(0, len(chunk), _SEND_CHUNK):
                    channel.sendall(chunk[start:start + _SEND_CHUNK])
            channel.send_exit_status(exit_status)
            channel.shutdown_write()
        except (OSError, EOFError, paramiko.SSHException) as exc:
            log.debug("simulator: client %s stopped reading: %r", self.peer, exc)
        finally:
            with contextlib.suppress(Exception):
                channel.close()

    def _lookup(self, command: str, as_root: bool, wants_sudo: bool = False) -> Answer:
        found = self.sim.fixture.command(command, self.sim.request_names.name_of(command, wants_sudo))
        return not_found(command) if found is None else found.answer(as_root)

    def _output(self, answer: Answer, timeout: float | None) -> Iterator[bytes | int]:
        """Yield an answer's bytes (and finally its exit code), honouring sleep/stall like a real host."""
        if answer.stall and not self.wait(answer.stall):
            return
        if answer.sleep:
            if timeout is not None and answer.sleep >= timeout:
                self.wait(timeout)  # coreutils timeout kills it: no output, exit 124
                yield 124
                return
            if not self.wait(answer.sleep):
                return
        data = answer.stdout.replace(b"{port}", str(self.sim.port).encode())
        if answer.repeat == 1 or not data:
            yield data
        else:
            block = data * max(1, _SEND_CHUNK // len(data))
            per_block = max(1, _SEND_CHUNK // len(data))
            left = answer.repeat
            while left > 0 and not self.closed:
                count = min(left, per_block)
                yield block if count == per_block else data * count
                left -= count
        yield answer.exit

    def _plain(self, command: str) -> Iterator[bytes | int]:
        yield from self._output(self._lookup(command, as_root=False), None)

    def _script(self, parsed: BatchScript, sudo_ok: bool) -> Iterator[bytes | int]:
        prefix = f"__IACS_{parsed.nonce}_"
        if parsed.sudo_check:
            yield f"{prefix}SUDO__ {'yes' if sudo_ok else 'no'}\n".encode()
        for index, command, wants_sudo in parsed.commands:
            yield f"{prefix}B_{index}__\n".encode()
            exit_code: int | None = None
            answer = self._lookup(command, as_root=wants_sudo and sudo_ok, wants_sudo=wants_sudo)
            for chunk in self._output(answer, parsed.timeout):
                if isinstance(chunk, int):
                    exit_code = chunk
                else:
                    yield chunk
            if exit_code is None:
                return  # interrupted (closed or stopping)
            yield f"\n{prefix}E_{index}__ {exit_code}\n".encode()
        yield 0


class SshSimulator:
    """A real SSH server on loopback answering from a host fixture (see the module docstring)."""

    def __init__(self, fixture: str | Path, host: str = "127.0.0.1", port: int = 0, username: str = "auditor",
                 authorized_key: paramiko.PKey | None = None, password: str | None = None,
                 host_key: paramiko.PKey | None = None, *, max_connections: int = 64,
                 handshake_timeout: float = 10.0, send_timeout: float = 30.0, max_session_seconds: float = 300.0,
                 max_auth_tries: int = 6):
        self.request_names = RequestNames()
        self.fixture = load_fixture(fixture, self.request_names)
        self.personality = self.fixture.host
        self.host = host
        self._requested_port = port
        self.port = 0
        self.username = username
        self.authorized_key = authorized_key
        self.password = password
        self.host_key = host_key or self._generate_host_key(self.personality.host_key_type)
        self.auth_methods = self.personality.auth_methods
        self.banner = self.personality.banner
        self.max_connections = max_connections
        self.handshake_timeout = handshake_timeout
        self.send_timeout = send_timeout
        self.max_session_seconds = max_session_seconds
        self.max_auth_tries = max_auth_tries
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._connections: set[_Connection] = set()
        self._threads: set[threading.Thread] = set()
        self._lock = threading.Lock()
        self._log: list[dict[str, Any]] = []
        self._stopping = threading.Event()

    @staticmethod
    def _generate_host_key(key_type: str) -> paramiko.PKey:
        return paramiko.RSAKey.generate(2048) if key_type == "rsa" else paramiko.ECDSAKey.generate(bits=256)

    # -- public API
    @property
    def requests(self) -> list[dict[str, Any]]:
        """Snapshot of every request received so far (connect, auth, exec, refused channel requests)."""
        with self._lock:
            return [dict(entry) for entry in self._log]

    def exec_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["kind"] == "exec"]

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    @property
    def known_hosts_line(self) -> str:
        name = self.host if self.port == 22 else f"[{self.host}]:{self.port}"
        return f"{name} {self.host_key.get_name()} {self.host_key.get_base64()}\n"

    def start(self) -> "SshSimulator":
        if self._listener is not None:
            raise RuntimeError("simulator already started")
        self._stopping.clear()
        listener = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self._requested_port))
        listener.listen(128)
        listener.settimeout(0.2)
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._accept_thread = threading.Thread(target=self._accept_loop, name=f"ssh-sim-{self.host}:{self.port}",
                                               daemon=True)
        self._accept_thread.start()
        return self

    def stop(self, timeout: float = 3.0) -> None:
        """Stop accepting, close every connection and wait (bounded) for the worker threads."""
        self._stopping.set()
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.close()
        with self._lock:
            connections = list(self._connections)
            threads = list(self._threads)
        for conn in connections:
            conn.close()
        deadline = time.monotonic() + timeout
        for thread in [self._accept_thread, *threads]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        self._accept_thread = None

    def __enter__(self) -> "SshSimulator":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"SshSimulator({self.fixture.name!r}, {self.host}:{self.port})"

    # -- internals
    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._log.append(entry)

    def _accept_loop(self) -> None:
        listener = self._listener
        while not self._stopping.is_set() and listener is not None:
            try:
                sock, address = listener.accept()
            except (socket.timeout, TimeoutError):
                continue
            except OSError:
                return  # listener closed by stop()
            peer = f"{address[0]}:{address[1]}"
            with self._lock:
                too_many = len(self._connections) >= self.max_connections
            if too_many:
                self._record({"time": time.time(), "peer": peer, "kind": "connect", "username": None,
                              "command": None, "commands": [], "sudo": None, "refused": "too many connections"})
                with contextlib.suppress(OSError):
                    sock.close()
                continue
            sock.settimeout(None)
            with contextlib.suppress(OSError):  # small SSH packets back to back: no Nagle/delayed-ACK stalls
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = _Connection(self, sock, peer)
            conn.record("connect")
            thread = threading.Thread(target=self._serve, args=(conn,), name=f"ssh-sim-conn-{peer}", daemon=True)
            with self._lock:
                self._connections.add(conn)
                self._threads.add(thread)
            thread.start()

    def _serve(self, conn: _Connection) -> None:
        try:
            conn.run()
        finally:
            with self._lock:
                self._connections.discard(conn)
                self._threads.discard(threading.current_thread())
