"""SSH host simulator: a real paramiko SSH server answering exec requests from YAML host fixtures."""

from simulators.ssh.server import FIXTURES, SshSimulator, load_fixture

__all__ = ["FIXTURES", "SshSimulator", "load_fixture"]
