"""A file fact's glob patterns, compiled into one test, select exactly what ``fnmatchcase`` per pattern does."""

from __future__ import annotations

import fnmatch
import gc

from auditor.batching import no_cyclic_gc
from checks.linux.facts.files import texts, unreadable
from checks.linux.facts.parsing import FileRead

PATHS = ["/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/10-x.conf", "/etc/ssh/sshd_config.d/sub/y.conf",
         "/etc/pam.d/sshd", "/etc/pam.d/common-auth", "/etc/login.defs", "/etc/login.defs.bak", "/etc/a1",
         "/etc/b1", "/etc/c1", "/etc/[x]"]
PATTERNS = [(), ("/etc/login.defs",), ("/etc/ssh/sshd_config.d/*.conf", "/etc/pam.d/*"), ("/etc/[ab]?",),
            ("/etc/[!a]1", "/etc/*.bak"), ("/etc/[[]x]",)]


def test_texts_and_unreadable_match_fnmatchcase_per_pattern() -> None:
    readable = {p: FileRead(path=p, content=f"# {p}") for p in PATHS}
    refused = {p: FileRead(path=p, content=None, error="Permission denied") for p in PATHS}
    for patterns in PATTERNS:
        wanted = [p for p in PATHS if any(fnmatch.fnmatchcase(p, q) for q in patterns)]
        assert [path for path, _ in texts(readable, *patterns)] == wanted, patterns
        assert unreadable(refused, *patterns) == wanted, patterns


def test_the_cyclic_collector_is_paused_only_inside_the_batch() -> None:
    assert gc.isenabled()
    try:
        with no_cyclic_gc():
            assert not gc.isenabled()
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        with no_cyclic_gc():
            pass
        assert not gc.isenabled()  # left as the caller had it
    finally:
        gc.enable()
