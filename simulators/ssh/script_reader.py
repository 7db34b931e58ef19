"""The SSH simulator's own reader of the auditor's batch script, independent of the connector's parser.

The connector sends every command of a host in one ``sh`` script whose shape is described in the
docstring of :mod:`connectors.ssh.script` (the "script, statement by statement" block). This module
reads that shape from the description alone: it splits the script into shell statements and words
the way ``sh`` would (single quotes, double quotes, backslashes, ``;`` and newlines as separators;
no expansion) and then matches the statements one by one. It deliberately shares no code with
:mod:`connectors.ssh.script`: if both sides had the same bug, a test could never see it.

:func:`read_script` returns a :class:`BatchScript`, or raises :class:`NotABatchScript` when the text is
anything else (the simulator then treats it as a plain command, like a shell would).
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BatchScript", "NotABatchScript", "Word", "read_script", "statements"]


class NotABatchScript(ValueError):
    """The text is not a batch script of the documented shape (the reason says where it differs)."""


@dataclass(frozen=True)
class Word:
    """One shell word: as written (``raw``) and after quote removal (``text``); ``quoted`` if any part was."""

    raw: str
    text: str
    quoted: bool


@dataclass(frozen=True)
class BatchScript:
    """What the script asks for: its nonce, per-command timeout, whether it checks sudo, and the commands."""

    nonce: str
    timeout: float | None
    sudo_check: bool
    commands: list[tuple[int, str, bool]] = field(default_factory=list)  # (index, command text, wants sudo)
    sudo_password: bool = False  # the script has sudo read a password from its stdin first


# ----------------------------------------------------------------------------------------- words
_SEPARATORS = {";", "\n"}
_UNSUPPORTED = set("|()`")  # operators the batch script never uses outside quotes


def statements(script: str) -> list[list[Word]]:
    """Split shell text into statements (lists of words), as ``sh`` tokenises it, without any expansion."""
    result: list[list[Word]] = []
    current: list[Word] = []
    raw: list[str] = []
    text: list[str] = []
    quoted = False
    in_word = False
    i, n = 0, len(script)

    def end_word() -> None:
        nonlocal raw, text, quoted, in_word
        if in_word:
            current.append(Word("".join(raw), "".join(text), quoted))
        raw, text, quoted, in_word = [], [], False, False

    while i < n:
        ch = script[i]
        if ch == "'":
            close = script.find("'", i + 1)
            if close < 0:
                raise NotABatchScript("unterminated single quote")
            raw.append(script[i:close + 1])
            text.append(script[i + 1:close])
            quoted = in_word = True
            i = close + 1
        elif ch == '"':
            j = i + 1
            value: list[str] = []
            while True:
                if j >= n:
                    raise NotABatchScript("unterminated double quote")
                c = script[j]
                if c == '"':
                    break
                if c == "\\" and j + 1 < n and script[j + 1] in '$`"\\\n':
                    if script[j + 1] != "\n":  # backslash-newline is a line continuation: nothing
                        value.append(script[j + 1])
                    j += 2
                    continue
                if c == "`":
                    raise NotABatchScript("command substitution with backquotes")
                value.append(c)
                j += 1
            raw.append(script[i:j + 1])
            text.append("".join(value))
            quoted = in_word = True
            i = j + 1
        elif ch == "\\":
            if i + 1 >= n:
                raise NotABatchScript("backslash at the end of the script")
            if script[i + 1] != "\n":
                raw.append(script[i:i + 2])
                text.append(script[i + 1])
                quoted = in_word = True
            i += 2
        elif ch in " \t":
            end_word()
            i += 1
        elif ch in _SEPARATORS:
            end_word()
            if current:
                result.append(current)
            current = []
            i += 1
        elif ch in _UNSUPPORTED or (ch == "&" and not (raw and raw[-1].endswith(">"))):
            raise NotABatchScript(f"shell operator {ch!r} outside quotes")
        else:
            raw.append(ch)
            text.append(ch)
            in_word = True
            i += 1
    end_word()
    if current:
        result.append(current)
    return result


# ----------------------------------------------------------------------------------------- statements
def _raw(statement: list[Word]) -> list[str]:
    return [w.raw for w in statement]


def _is_nonce(text: str) -> bool:
    return 8 <= len(text) <= 64 and text.isascii() and text.isalnum()


def _assignment(statement: list[Word], name: str) -> str | None:
    """The value of ``name=value`` when the statement is exactly that assignment."""
    if len(statement) == 1 and statement[0].raw.startswith(name + "="):
        return statement[0].text[len(name) + 1:]
    return None


def _printf(statement: list[Word], fmt: str, *args: str) -> list[str] | None:
    """The raw arguments after ``printf FMT "$__iacs_n"`` when the statement is that printf."""
    if len(statement) < 3 or statement[0].raw != "printf" or statement[1].text != fmt:
        return None
    if not statement[1].raw.startswith("'") or statement[2].raw != '"$__iacs_n"':
        return None
    rest = _raw(statement[3:])
    return rest if len(rest) == len(args) and all(a in ("*", r) for a, r in zip(args, rest)) else None


_REDIRECTS_QUIET = ["</dev/null", ">/dev/null", "2>&1"]
_BEGIN = "__IACS_%s_B_%s__\\n"
_END = "\\n__IACS_%s_E_%s__ %s\\n"
_SUDO_YES = "__IACS_%s_SUDO__ yes\\n"
_SUDO_NO = "__IACS_%s_SUDO__ no\\n"


def read_script(script: str) -> BatchScript:
    """Read a batch script (shape: :mod:`connectors.ssh.script`); :class:`NotABatchScript` if it is not one."""
    if not script.startswith("LC_ALL=C;"):
        raise NotABatchScript("does not start with LC_ALL=C;")
    todo = statements(script)
    position = 0

    def take() -> list[Word]:
        nonlocal position
        if position >= len(todo):
            raise NotABatchScript("the script ends early")
        position += 1
        return todo[position - 1]

    def expect(*raw: str) -> None:
        got = take()
        if _raw(got) != list(raw):
            raise NotABatchScript(f"expected {' '.join(raw)!r}, found {' '.join(_raw(got))[:80]!r}")

    expect("LC_ALL=C")
    expect("export", "LC_ALL")
    expect("unset", "IFS")
    path = take()
    if _assignment(path, "PATH") is None:
        raise NotABatchScript("no PATH assignment")
    expect("export", "PATH")
    nonce = _assignment(take(), "__iacs_n")
    if nonce is None or not _is_nonce(nonce):
        raise NotABatchScript("no valid nonce (__iacs_n=)")
    if _assignment(take(), "__iacs_t") != "":
        raise NotABatchScript("__iacs_t is not reset")
    expect("if", "timeout", "-k", "1", "5", "true", *_REDIRECTS_QUIET)
    then = take()
    value = _assignment(then[1:], "__iacs_t") if then and then[0].raw == "then" else None
    parts = (value or "").split()
    if len(parts) != 4 or parts[:2] != ["timeout", "-k"] or not parts[2].isdigit() or not parts[3].isdigit():
        raise NotABatchScript("no per-command timeout (then __iacs_t=\"timeout -k K T\")")
    timeout = float(parts[3])
    expect("fi")

    sudo_check = sudo_password = False
    probed: str | None = None
    if position < len(todo) and _assignment(todo[position], "__iacs_s") == "":
        take()
        if position < len(todo) and _raw(todo[position]) == ["sudo", "-S", "-v", ">/dev/null", "2>&1"]:
            take()
            sudo_password = True
        probe = take()
        if len(probe) != 13 or _raw(probe[:9]) != ["if", "sudo", "-n", "-l", "env", "LC_ALL=C", "$__iacs_t", "sh",
                                                   "-c"] or _raw(probe[10:]) != _REDIRECTS_QUIET:
            raise NotABatchScript("the sudo check does not ask 'sudo -n -l' about one command")
        probed = probe[9].text
        then = take()
        if not then or then[0].raw != "then" or _assignment(then[1:], "__iacs_s") != "sudo -n env LC_ALL=C":
            raise NotABatchScript("the sudo check does not set __iacs_s")
        if _printf(take(), _SUDO_YES) is None:
            raise NotABatchScript("the sudo check does not report yes")
        other = take()
        if not other or other[0].raw != "else" or _printf(other[1:], _SUDO_NO) is None:
            raise NotABatchScript("the sudo check does not report no")
        expect("fi")
        sudo_check = True

    commands: list[tuple[int, str, bool]] = []
    while position < len(todo):
        index = len(commands)
        if _printf(take(), _BEGIN, str(index)) is None:
            raise NotABatchScript(f"section {index}: no begin marker")
        run = take()
        sudo = run[0].raw == "$__iacs_s"
        words = run[1:] if sudo else run
        if sudo and not sudo_check:
            raise NotABatchScript(f"section {index}: wants sudo without a sudo check")
        if len(words) != 6 or _raw(words[:3]) != ["$__iacs_t", "sh", "-c"] or \
                _raw(words[4:]) != ["</dev/null", "2>&1"] or not words[3].text:
            raise NotABatchScript(f"section {index}: not one 'sh -c' command")
        if _raw(take()) != ["__iacs_rc=$?"]:
            raise NotABatchScript(f"section {index}: exit status not kept")
        if _printf(take(), _END, str(index), '"$__iacs_rc"') is None:
            raise NotABatchScript(f"section {index}: no end marker")
        commands.append((index, words[3].text, sudo))
    first_sudo = next((text for _index, text, sudo in commands if sudo), None)
    if sudo_check and probed != first_sudo:
        raise NotABatchScript("the sudo check asks about another command than the first that wants sudo")
    return BatchScript(nonce, timeout, sudo_check, commands, sudo_password)
