"""The log handlers redact every known secret (all forms) and escape device control characters, at every
verbosity and in ``--log-file``; in-process, with records shaped like the libraries' own."""

from __future__ import annotations

import base64
import logging
from pathlib import Path

import pytest

from auditor.plant import secrets
from tests.support.logs import shown_on_stderr

SECRET = "Redact-Me-4c1b9e"




def _leaky_library() -> None:
    raw = SECRET.encode()
    token = f"UserNameIdentityToken(UserName='auditor', Password={raw!r})"
    logging.getLogger("asyncua.client.ua_client").debug("activate_session %s", token)
    logging.getLogger("asyncua.client.ua_client").warning("retrying with %s / %s", raw.hex(),
                                                          base64.b64encode(raw).decode())
    logging.getLogger("auditor.engine").error("our own line names %s", SECRET)
    try:
        raise ValueError(f"bad password {SECRET!r}")
    except ValueError:
        logging.getLogger("paramiko.transport").error("failed", exc_info=True)


@pytest.mark.parametrize("verbose", [0, 1, 2])
def test_every_verbosity_and_the_log_file_redact_every_form(verbose: int, tmp_path: Path) -> None:
    secrets.remember(SECRET)
    log_file = tmp_path / "audit.log"
    shown = shown_on_stderr(verbose, log_file, _leaky_library)
    written = log_file.read_text()
    assert "our own line names [secret]" in shown and "our own line names [secret]" in written
    assert "bad password '[secret]'" in written and "retrying with [secret] / [secret]" in written
    if verbose == 2:  # library DEBUG lines are shown and written at -vv only
        assert "Password=b'[secret]'" in shown and "Password=b'[secret]'" in written
    raw = SECRET.encode()
    for form in (SECRET, raw.hex(), raw.hex().upper(), base64.b64encode(raw).decode().rstrip("=")):
        assert form not in shown and form not in written


def test_forms_cover_reprs_hex_and_base64() -> None:
    found = secrets.forms("pä$s'word")
    assert {"pä$s'word", "p\\xe4$s'word", "70c3a4247327776f7264", "cMOkJHMnd29yZA"} <= found
    assert secrets.forms("abc") == {"YWJj", "616263", "616263".upper()}  # shorter forms are never redacted


def test_device_control_characters_are_escaped_in_log_lines(tmp_path: Path) -> None:
    banner = "SSH-2.0-x\x1b]0;pwned\x07\x1b[2J\x9b31m"
    shown = shown_on_stderr(1, tmp_path / "audit.log", lambda: logging.getLogger("connectors.ssh").warning("banner %s", banner))
    for text in (shown, (tmp_path / "audit.log").read_text()):
        assert "\x1b" not in text and "\x07" not in text and "\x9b" not in text
        assert "banner SSH-2.0-x\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m" in text
