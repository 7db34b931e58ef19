"""The SSH simulator reads the connector's batch script with its OWN reader (simulators/ssh/script_reader.py).

Both sides must agree on every script the connector builds: built with :func:`connectors.ssh.script.build_script`,
read by :func:`simulators.ssh.script_reader.read_script`, the commands, their sudo flags, the nonce and the
timeout are exactly what was built and what the connector's own parser reads. The commands include the
hostile ones of tests/unit/test_ssh_script.py, every registered request, and random text.
"""

from __future__ import annotations

import ast
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from auditor.registry import REGISTRY
from connectors.ssh.script import build_script, parse_script_details
from simulators.ssh.script_reader import NotABatchScript, read_script, statements
from tests.unit.test_ssh_script import COMMANDS, NONCE

REPO = Path(__file__).resolve().parents[2]

HOSTILE = [
    *COMMANDS,
    ("", False),  # replaced below: a command that is itself a whole built script
    ("echo a; echo b", False),
    ("'", False), ('"', False), ("\\", False), ("\\'", False), ("'\"'\"'", True),
    ("$(id -u) `id -u` ${HOME:-x}", False),
    ("printf '%s\\n' \"$__iacs_n\" 0", False),  # looks like a marker printf
    ("__iacs_rc=$?; printf '\\n__IACS_%s_E_%s__ %s\\n' \"$__iacs_n\" 0 \"$__iacs_rc\"", False),
    ("x\n__iacs_rc=$?\nprintf '__IACS_%s_B_%s__\\n' \"$__iacs_n\" 1\n", True),  # fake statements after a newline
    ("tab\there  two  spaces ", False), ("trailing backslash \\", False), ("ünïcödé ☃ \u2028", False),
    ("a\r\nb", False), ("fi; then; else; if", False), ("hang", False), ("a=b", False), ("-n", False),
]


def expected(commands: list[tuple[str, bool]]) -> list[tuple[int, str, bool]]:
    return [(i, c, s) for i, (c, s) in enumerate(commands)]


def agree(commands: list[tuple[str, bool]], timeout: float = 30, nonce: str = NONCE) -> None:
    script = build_script(commands, nonce, timeout)
    ours = read_script(script)
    theirs = parse_script_details(script)
    assert ours.commands == expected(commands) == theirs.commands
    assert (ours.nonce, ours.timeout, ours.sudo_check) == (theirs.nonce, theirs.timeout, theirs.sudo_check)
    assert ours.sudo_check == any(s for _c, s in commands)


def test_hostile_commands() -> None:
    inner = build_script([("id -un", True), ("cat /etc/shadow", False)], "f" * 32, 5)
    commands = [(inner, False) if c == "" else (c, s) for c, s in HOSTILE]
    agree(commands)
    for command in commands:  # and each one alone (no sudo check, first section)
        agree([command])


def test_every_registered_request() -> None:
    requests = [r for r in REGISTRY.load().named_requests().values() if r.protocol == "ssh" and r.op == "exec"]
    assert len(requests) >= 20
    agree([(r.target, bool(r.option("sudo"))) for r in requests], timeout=37.5)
    agree([(r.target, False) for r in requests], timeout=1)  # an endpoint without sudo: no sudo check at all


def test_random_commands() -> None:
    alphabet = "abc xyz'\"\\$`;&|()<>{}*?[]#~=%!\n\t\r-_./:@^,+é☃\u00a0\x01\x7f"
    rng = random.Random(62443)
    for _ in range(300):
        commands = []
        for _ in range(rng.randint(1, 6)):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
            if text.strip():
                commands.append((text, rng.random() < 0.3))
        if commands:
            agree(commands, timeout=rng.choice([0.5, 1, 2.5, 60, 3600]), nonce="".join(
                rng.choice("abcdefABCDEF0123456789") for _ in range(rng.randint(8, 64))))


@pytest.mark.parametrize("text", [
    "id -un", "", "LC_ALL=C; export LC_ALL\necho hi\n", "LC_ALL=C; export LC_ALL\n",
    build_script([("id -un", False)], NONCE, 5).replace("sh -c 'id -un'", "sh -c 'id -un' extra"),
    build_script([("id -un", False)], NONCE, 5).replace(" 0\n", " 1\n"),                 # misnumbered section
    build_script([("id -un", False)], NONCE, 5) + "rm -rf /tmp/x\n",                   # a statement too many
    build_script([("id -un", False)], NONCE, 5).replace("$__iacs_t sh -c", "$__iacs_s $__iacs_t sh -c"),
    build_script([("id -un", False)], NONCE, 5).replace(f"__iacs_n={NONCE}", "__iacs_n=short"),
    build_script([("id -un", False)], NONCE, 5).replace("'id -un'", "'id -un"),          # unterminated quote
    build_script([("id -un", False)], NONCE, 5).replace("sh -c 'id -un'", "sh -c 'id' | sh"),
])
def test_anything_else_is_not_a_batch_script(text: str) -> None:
    with pytest.raises(NotABatchScript):
        read_script(text)


def test_words_like_sh() -> None:
    words = statements("a 'b c'\"d\\\"e\"f\\ g; h\n\ni 'j\nk'")
    assert [[w.text for w in s] for s in words] == [["a", "b cd\"ef g"], ["h"], ["i", "j\nk"]]


@pytest.mark.skipif(shutil.which("sh") is None, reason="needs a POSIX sh")
def test_the_reader_reads_what_sh_would_run() -> None:
    """Each command our reader extracts is what a real sh passes to 'sh -c' (printed instead of run)."""
    commands = [(c, False) for c, _s in HOSTILE if c] + [("printf 'a\\nb'", False)]
    script = build_script(commands, NONCE, 5).replace("$__iacs_t sh -c ", "printf '%s\\0' ")
    run = subprocess.run(["sh", "-c", script], capture_output=True, timeout=20, stdin=subprocess.DEVNULL)
    printed = [chunk.decode() for chunk in run.stdout.split(b"\0")[:-1]]
    assert [p.split("__\n", 1)[-1].lstrip("\n") if "__IACS_" in p else p for p in printed] \
        == [c for _i, c, _s in read_script(build_script(commands, NONCE, 5)).commands]


def test_the_simulator_does_not_use_the_connectors_parser() -> None:
    """Independence: neither the reader nor the simulator imports connectors.ssh.script."""
    for path in (REPO / "simulators/ssh/script_reader.py", REPO / "simulators/ssh/server.py"):
        tree = ast.parse(path.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {m for m in imported if m and m.startswith("connectors")}, (path, imported)
