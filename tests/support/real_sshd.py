"""Real OpenSSH ``sshd`` instances on loopback for integration tests.

``RealSshd("weak", workdir)`` / ``RealSshd("hardened", workdir)`` start the
system's ``/usr/sbin/sshd`` (Debian 12: OpenSSH 9.2) in the foreground on a free
port of 127.0.0.1 with a config file, host keys, pid file and log that all live
in *workdir*; ``/etc/ssh`` is never read for keys nor written.  The auditor can
then log in as the unprivileged test user ``iacsaudit`` with a freshly generated
ed25519 key and audit that daemon like it would audit a real host.

Requirements: root (sshd must start as root to switch to the logged-in user,
and the test user is created with useradd) and the ``openssh-server`` package.
Use :func:`require_real_sshd` at the start of a test or fixture: it skips when
they are missing, except under ``CI=true`` where it fails so CI can never
silently skip these tests.

Only loopback is ever used: sshd gets ``-o ListenAddress=127.0.0.1``.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, Literal

from tests.support import require

__all__ = [
    "HARDENED_BANNER",
    "REQUESTED_WEAK_ALGORITHMS",
    "RealSshd",
    "SshdStartError",
    "SshdUnavailable",
    "require_real_sshd",
    "sshd_unavailable_reason",
]

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")
TEST_USER = "iacsaudit"
HARDENED_BANNER = "Authorized use only. Activity is monitored.\n"
# Weak algorithms requested for the "weak" profile, appended ("+") to
# OpenSSH's defaults.  Each one is probed with ``sshd -t`` first; the ones the
# installed OpenSSH rejects are left out and listed in ``RealSshd.rejected_algorithms``.
REQUESTED_WEAK_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "Ciphers": ("aes128-cbc", "3des-cbc"),
    "MACs": ("hmac-sha1", "hmac-md5"),
    "KexAlgorithms": ("diffie-hellman-group14-sha1", "diffie-hellman-group1-sha1"),
    "HostKeyAlgorithms": ("ssh-rsa",),
    "PubkeyAcceptedAlgorithms": ("ssh-rsa",),
}

_SBIN_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_LOCK_FILE = Path("/run/lock/iacs-auditor-real-sshd.lock")
_START_TIMEOUT = 10.0  # seconds until the port must accept TCP
_TERM_GRACE = 3.0  # seconds between SIGTERM and SIGKILL
_CMD_TIMEOUT = 60.0  # bound for every helper command (ssh-keygen, useradd, sshd -t)

Profile = Literal["weak", "hardened"]


class SshdUnavailable(RuntimeError):
    """A real sshd cannot be run here (not installed, or not root)."""


class SshdStartError(RuntimeError):
    """sshd is available but the instance could not be set up or started."""


# --------------------------------------------------------------------------- #
# availability / pytest helper
# --------------------------------------------------------------------------- #
def sshd_unavailable_reason() -> str | None:
    """Why a real sshd cannot be started here, or ``None`` if it can."""
    if not SSHD.is_file() or not os.access(SSHD, os.X_OK):
        return f"{SSHD} not found (install the openssh-server package)"
    if os.geteuid() != 0:
        return "real sshd tests need root (to create the test user and let sshd switch users)"
    for tool in ("ssh-keygen", "useradd", "usermod"):
        if shutil.which(tool, path=_SBIN_PATH) is None:
            return f"{tool} not found"
    return None


def require_real_sshd() -> None:
    """Skip the calling test if no real sshd can run here; fail instead under CI=true."""
    require("real sshd", sshd_unavailable_reason())


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #
def _run(argv: list[str], *, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PATH=_SBIN_PATH + ":" + os.environ.get("PATH", ""), LC_ALL="C")
    proc = subprocess.run(
        argv,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=_CMD_TIMEOUT,
        env=env,
    )
    if check and proc.returncode != 0:
        raise SshdStartError(
            f"{' '.join(argv)} exited {proc.returncode}: {(proc.stderr or proc.stdout).strip()}"
        )
    return proc


@contextlib.contextmanager
def _global_lock() -> Iterator[None]:
    """Serialise test-user creation and authorized_keys edits across processes."""
    lock_path = _LOCK_FILE if _LOCK_FILE.parent.is_dir() else Path("/tmp") / _LOCK_FILE.name
    with open(lock_path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _port_accepts(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(ppid, starttime) of *pid* from /proc, or None if it is gone or a zombie."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rfind(")") + 2 :].split()  # comm may contain spaces
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[1]), int(fields[19])  # ppid, starttime


def _descendants(root: int) -> list[tuple[int, int]]:
    """All descendants of *root* as (pid, starttime), found through /proc."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        st = _proc_stat(int(entry.name))
        if st is not None:
            children.setdefault(st[0], []).append((int(entry.name), st[1]))
    found: list[tuple[int, int]] = []
    todo = [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            found.append((pid, start))
            todo.append(pid)
    return found


def _same_process_alive(pid: int, start: int) -> bool:
    st = _proc_stat(pid)
    return st is not None and st[1] == start


# Instances not yet stopped; the atexit hook stops them if a run is aborted.
_LIVE: set["RealSshd"] = set()


@atexit.register
def _stop_leftovers() -> None:
    for inst in list(_LIVE):
        with contextlib.suppress(Exception):
            inst.stop()


# --------------------------------------------------------------------------- #
# the harness
# --------------------------------------------------------------------------- #
class RealSshd:
    """Context manager running one real sshd on 127.0.0.1 with a weak or hardened config.

    Attributes (valid inside the ``with`` block):
        host                  "127.0.0.1", or the ``listen`` address
        port                  TCP port sshd listens on
        username              "iacsaudit" (unprivileged, no sudo rights)
        client_key            Path of the ed25519 private key authorised for ``username``
        config_path           Path of the sshd config file (weak 0644, hardened 0600)
        known_hosts           Path of a known_hosts file with ``[127.0.0.1]:PORT`` entries
        host_key_fingerprints {"ssh-ed25519": "SHA256:...", ["ssh-rsa": ...]}
        pid                   pid of the sshd listener process
        log_path              sshd's stderr log (``-e``)
        pid_file              sshd's PidFile
        banner_path           banner file (hardened only, else None)
        argv                  sshd command line as started
        rejected_algorithms   weak algorithms this OpenSSH refused ({} if none)
        weak_algorithms       weak algorithms actually enabled (weak profile)
    """

    username = TEST_USER

    def __init__(self, profile: Profile, workdir: Path, *, unreadable_dropin: list[str] | None = None,
                 listen: str = "127.0.0.1", extra_config: list[str] | None = None) -> None:
        """``unreadable_dropin``: lines of a 0600 drop-in that the (then 0644) main config includes by a glob
        first, as cloud-init's 50-cloud-init.conf is: what an unprivileged audit account cannot read.
        ``listen``: the loopback address to listen on (any 127.x.y.z, e.g. a target only a jump host
        should reach); ``extra_config``: sshd lines placed before the profile's (sshd keeps the first value)."""
        if profile not in ("weak", "hardened"):
            raise ValueError(f"profile must be 'weak' or 'hardened', not {profile!r}")
        if not listen.startswith("127."):
            raise ValueError(f"only loopback addresses are used, not {listen!r}")
        self.profile: Profile = profile
        self.host = listen
        self.extra_config = list(extra_config or [])
        self._extra_authorized: list[str] = []
        self.unreadable_dropin = unreadable_dropin
        self.workdir = Path(workdir).resolve()
        self.client_key = self.workdir / "client_key"
        self.config_path = self.workdir / "sshd_config"
        self.known_hosts = self.workdir / "known_hosts"
        self.log_path = self.workdir / "sshd.log"
        self.pid_file = self.workdir / "sshd.pid"
        self.banner_path: Path | None = (
            self.workdir / "banner.txt" if profile == "hardened" else None
        )
        self.port: int = 0
        self.argv: list[str] = []
        self.host_keys: list[Path] = []
        self.host_key_fingerprints: dict[str, str] = {}
        self.rejected_algorithms: dict[str, list[str]] = {}
        self.weak_algorithms: dict[str, list[str]] = {}
        self._proc: subprocess.Popen[bytes] | None = None
        self._authorized_line: str | None = None

    # ------------------------------------------------------------ lifecycle
    def __enter__(self) -> "RealSshd":
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        reason = sshd_unavailable_reason()
        if reason is not None:
            raise SshdUnavailable(reason)
        if self._proc is not None:
            raise SshdStartError("already started")
        _LIVE.add(self)
        try:
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._ensure_privsep_dir()
            self._generate_keys()
            self._ensure_user_and_key()
            self._write_config()
            self._launch()
            self._write_known_hosts()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Terminate sshd and every process it spawned (sessions), then reap it."""
        proc, self._proc = self._proc, None
        try:
            if proc is not None:
                self._terminate(proc)
        finally:
            try:
                self._remove_authorized_key()
            finally:
                _LIVE.discard(self)

    # ------------------------------------------------------------ setup steps
    @staticmethod
    def _ensure_privsep_dir() -> None:
        PRIVSEP_DIR.mkdir(mode=0o755, parents=True, exist_ok=True)
        st = PRIVSEP_DIR.stat()
        if st.st_uid != 0:
            os.chown(PRIVSEP_DIR, 0, 0)
        if st.st_mode & 0o7777 != 0o755:
            os.chmod(PRIVSEP_DIR, 0o755)

    def _keygen(self, path: Path, *extra: str) -> None:
        for p in (path, path.with_name(path.name + ".pub")):
            p.unlink(missing_ok=True)  # ssh-keygen would ask before overwriting
        _run(["ssh-keygen", *extra, "-N", "", "-f", str(path), "-q"])

    def _generate_keys(self) -> None:
        self._keygen(self.client_key, "-t", "ed25519", "-C", f"iacs-auditor-test@{self.workdir}")
        ed = self.workdir / "ssh_host_ed25519_key"
        self._keygen(ed, "-t", "ed25519", "-C", "iacs-test-host")
        self.host_keys = [ed]
        if self.profile == "weak":
            rsa = self.workdir / "ssh_host_rsa_key"
            self._keygen(rsa, "-t", "rsa", "-b", "2048", "-C", "iacs-test-host")
            self.host_keys.append(rsa)
        self.host_key_fingerprints = {}
        for key in self.host_keys:
            pub = key.with_name(key.name + ".pub")
            keytype = pub.read_text().split()[0]
            out = _run(["ssh-keygen", "-l", "-E", "sha256", "-f", str(pub)]).stdout.split()
            self.host_key_fingerprints[keytype] = out[1]

    def _ensure_user_and_key(self) -> None:
        pub = self.client_key.with_name(self.client_key.name + ".pub").read_text().strip()
        with _global_lock():
            try:
                pw = pwd.getpwnam(TEST_USER)
            except KeyError:
                # -p '*': no password can ever match, so password logins are
                # impossible (the account's password is locked).  We do not use
                # the usual "!" lock marker: with UsePAM no, sshd treats a "!"
                # password as a locked *account* and refuses even key logins.
                _run(["useradd", "-m", "-s", "/bin/bash", "-p", "*",
                      "-c", "iacs-auditor test account", TEST_USER])
                pw = pwd.getpwnam(TEST_USER)
            if self._shadow_password(TEST_USER) != "*":
                _run(["usermod", "-p", "*", TEST_USER])
            home = Path(pw.pw_dir)
            if not home.is_dir():
                home.mkdir(mode=0o755, parents=True)
                os.chown(home, pw.pw_uid, pw.pw_gid)
            # StrictModes: home and ~/.ssh not group/world writable, owned by the user.
            os.chmod(home, home.stat().st_mode & ~0o022)
            ssh_dir = home / ".ssh"
            ssh_dir.mkdir(mode=0o700, exist_ok=True)
            os.chown(ssh_dir, pw.pw_uid, pw.pw_gid)
            os.chmod(ssh_dir, 0o700)
            ak = ssh_dir / "authorized_keys"
            lines = ak.read_text().splitlines() if ak.exists() else []
            if pub not in lines:
                lines.append(pub)
            ak.write_text("".join(line + "\n" for line in lines))
            os.chown(ak, pw.pw_uid, pw.pw_gid)
            os.chmod(ak, 0o600)
            self._authorized_line = pub

    @staticmethod
    def _shadow_password(user: str) -> str | None:
        try:
            for line in Path("/etc/shadow").read_text().splitlines():
                fields = line.split(":")
                if fields[0] == user and len(fields) > 1:
                    return fields[1]
        except OSError:
            pass
        return None

    def authorize(self, public_key_line: str) -> None:
        """Authorise one more public key for the test user until this instance stops."""
        line = public_key_line.strip()
        with _global_lock():
            ak = Path(pwd.getpwnam(TEST_USER).pw_dir) / ".ssh" / "authorized_keys"
            lines = ak.read_text().splitlines() if ak.exists() else []
            if line not in lines:
                ak.write_text("".join(x + "\n" for x in [*lines, line]))
        self._extra_authorized.append(line)

    def _remove_authorized_key(self) -> None:
        line, self._authorized_line = self._authorized_line, None
        extra, self._extra_authorized = self._extra_authorized, []
        remove = set(extra) | ({line} if line is not None else set())
        if not remove:
            return
        with _global_lock():
            try:
                ak = Path(pwd.getpwnam(TEST_USER).pw_dir) / ".ssh" / "authorized_keys"
                lines = ak.read_text().splitlines()
            except (KeyError, OSError):
                return
            if remove & set(lines):
                ak.write_text("".join(x + "\n" for x in lines if x not in remove))

    def _sshd_accepts(self, lines: list[str]) -> bool:
        probe = self.workdir / "sshd_probe_config"
        probe.write_text("\n".join([f"HostKey {self.host_keys[0]}", *lines, ""]))
        try:
            return _run([str(SSHD), "-t", "-f", str(probe)], check=False).returncode == 0
        finally:
            probe.unlink(missing_ok=True)

    def _weak_crypto_lines(self) -> list[str]:
        self.rejected_algorithms = {}
        self.weak_algorithms = {}
        lines = []
        for keyword, algs in REQUESTED_WEAK_ALGORITHMS.items():
            ok = [a for a in algs if self._sshd_accepts([f"{keyword} +{a}"])]
            bad = [a for a in algs if a not in ok]
            if bad:
                self.rejected_algorithms[keyword] = bad
            if ok:
                self.weak_algorithms[keyword] = ok
                lines.append(f"{keyword} +{','.join(ok)}")
        return lines

    def _write_config(self) -> None:
        common = [
            f"# iacs-auditor test sshd, profile={self.profile}; generated, do not edit",
            *(f"HostKey {k}" for k in self.host_keys),
            f"PidFile {self.pid_file}",
            # UsePAM no: the test runs in containers where PAM session modules
            # (pam_loginuid, pam_systemd) may fail, and PAM would add nothing
            # here: authentication is by key, account checks use /etc/shadow.
            "UsePAM no",
            "StrictModes yes",
            "PubkeyAuthentication yes",
            "AuthorizedKeysFile .ssh/authorized_keys",
            # Port and ListenAddress come from the command line (-p, -o).
        ]
        if self.profile == "weak":
            body = [
                "LogLevel INFO",
                "PermitRootLogin yes",
                "PasswordAuthentication yes",
                "PermitEmptyPasswords yes",
                "MaxAuthTries 10",
                "LoginGraceTime 300",
                "ClientAliveInterval 0",
                "X11Forwarding yes",
                "AllowTcpForwarding yes",
                *self._weak_crypto_lines(),
            ]
            mode = 0o644
        else:
            assert self.banner_path is not None
            self.banner_path.write_text(HARDENED_BANNER)
            os.chmod(self.banner_path, 0o644)
            body = [
                "LogLevel VERBOSE",
                "PermitRootLogin no",
                "PasswordAuthentication no",
                "KbdInteractiveAuthentication no",
                "PermitEmptyPasswords no",
                "MaxAuthTries 3",
                "LoginGraceTime 30",
                f"Banner {self.banner_path}",
                "ClientAliveInterval 300",
                "ClientAliveCountMax 1",
                "X11Forwarding no",
                "AllowTcpForwarding no",
                f"AllowUsers {TEST_USER}",
                "Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,"
                "aes128-gcm@openssh.com,aes256-ctr",
                "MACs hmac-sha2-512-etm@openssh.com,hmac-sha2-256-etm@openssh.com",
                "KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org,"
                "diffie-hellman-group16-sha512",
                "HostKeyAlgorithms ssh-ed25519",
                "MaxSessions 4",
                "MaxStartups 10:30:60",
            ]
            mode = 0o600
        if self.unreadable_dropin is not None:
            dropins = self.workdir / "sshd_config.d"
            dropins.mkdir(mode=0o755, exist_ok=True)
            os.chmod(dropins, 0o755)
            dropin = dropins / "50-cloud-init.conf"
            dropin.unlink(missing_ok=True)
            fd = os.open(dropin, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write("\n".join([*self.unreadable_dropin, ""]))
            common.insert(1, f"Include {dropins}/*.conf")  # first: its values win, as sshd reads first-wins
            mode = 0o644
        # create with the final mode so the file is never briefly world-readable
        self.config_path.unlink(missing_ok=True)
        fd = os.open(self.config_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        with os.fdopen(fd, "w") as fh:
            fh.write("\n".join([*common, *self.extra_config, *body, ""]))
        os.chmod(self.config_path, mode)
        check = _run([str(SSHD), "-t", "-f", str(self.config_path)], check=False)
        if check.returncode != 0:
            raise SshdStartError(f"sshd -t rejected {self.config_path}: {check.stderr.strip()}")

    def effective_config(self) -> dict[str, str]:
        """``sshd -T`` of this instance's config (keys lower-case, as sshd prints them)."""
        out = _run([str(SSHD), "-T", "-f", str(self.config_path),
                    "-p", str(self.port or 22), "-o", f"ListenAddress={self.host}"]).stdout
        result: dict[str, str] = {}
        for line in out.splitlines():
            key, _, value = line.partition(" ")
            result.setdefault(key, value)
        return result

    def _launch(self) -> None:
        last_error = ""
        for _attempt in range(3):  # a freed port can be grabbed by someone else
            self.port = _free_port(self.host)
            self.pid_file.unlink(missing_ok=True)
            self.argv = [str(SSHD), "-D", "-e", "-f", str(self.config_path),
                         "-p", str(self.port), "-o", f"ListenAddress={self.host}"]
            log = open(self.log_path, "ab")
            try:
                self._proc = subprocess.Popen(
                    self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    cwd=self.workdir, close_fds=True,
                )
            finally:
                log.close()
            deadline = time.monotonic() + _START_TIMEOUT
            while time.monotonic() < deadline:
                if self._proc.poll() is not None:
                    break
                if _port_accepts(self.port, self.host) and self._proc.poll() is None:
                    return
                time.sleep(0.05)
            proc, self._proc = self._proc, None
            self._terminate(proc)
            last_error = self.log_tail()
            if "Address already in use" not in last_error:
                break
        raise SshdStartError(
            f"sshd ({self.profile}) did not accept TCP on {self.host}:{self.port} within "
            f"{_START_TIMEOUT:.0f}s; log tail:\n{last_error}"
        )

    def _write_known_hosts(self) -> None:
        lines = []
        for key in self.host_keys:
            keytype, blob = key.with_name(key.name + ".pub").read_text().split()[:2]
            lines.append(f"[{self.host}]:{self.port} {keytype} {blob}\n")
        self.known_hosts.write_text("".join(lines))

    # ------------------------------------------------------------ teardown
    @staticmethod
    def _terminate(proc: subprocess.Popen[bytes]) -> None:
        # Per-connection children call setsid() and are not killed by the
        # listener's SIGTERM handler, so collect them first (they reparent
        # once the listener is gone) and stop them too.
        kids = _descendants(proc.pid) if proc.poll() is None else []
        proc.terminate()  # Popen does not signal an already reaped pid
        for pid, start in kids:
            if _same_process_alive(pid, start):  # guards against pid reuse
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
        try:
            proc.wait(timeout=_TERM_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=_TERM_GRACE)
        deadline = time.monotonic() + _TERM_GRACE
        while kids and time.monotonic() < deadline:
            kids = [k for k in kids if _same_process_alive(*k)]
            time.sleep(0.05)
        for pid, start in kids:
            if _same_process_alive(pid, start):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    # ------------------------------------------------------------ diagnostics
    def log_tail(self, n: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    def __repr__(self) -> str:
        return (f"RealSshd(profile={self.profile!r}, port={self.port}, pid={self.pid}, "
                f"config={str(self.config_path)!r})")


@contextlib.contextmanager
def weak_and_hardened(prefix: str) -> Iterator[dict[str, RealSshd]]:
    """Both daemons at once, each in a world-traversable work dir (0755), so that only the config file's
    own mode decides whether the audit user can read it; everything is removed afterwards."""
    require_real_sshd()
    dirs = {}
    for profile in ("weak", "hardened"):
        path = Path(tempfile.mkdtemp(prefix=f"{prefix}-{profile}-"))
        os.chmod(path, 0o755)
        dirs[profile] = path
    try:
        with RealSshd("weak", dirs["weak"]) as weak, RealSshd("hardened", dirs["hardened"]) as hardened:
            yield {"weak": weak, "hardened": hardened}
    finally:
        for path in dirs.values():
            shutil.rmtree(path, ignore_errors=True)
