"""Hypothesis strategies that mutate real device answers (the seed corpus) and real files.

A parser meets three kinds of input here: a recorded answer slightly changed (a line dropped or repeated,
a token replaced by an awkward value), one changed beyond recognition (random text spliced in, cut
anywhere), and for structured (JSON) evidence a tree with any node replaced, removed or retyped.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

SEEDS = json.loads((Path(__file__).resolve().parent / "seeds" / "evidence.json").read_text())

# values that break parsers: empty, signs, huge and special numbers, separators, quotes, controls, non-ASCII
AWKWARD = ["", "0", "-1", "-0", "+1", "9" * 5000, "18446744073709551616", "4294967296", "0x1f", "1e999", "nan",
           "inf", "-inf", "1.5", "\x00", "\x1b[2J", "\ufeff", "\u202e", "é", "\udcff", ":", "=", "/", " ", "  ",
           "\t", "\n", "\r\n", "{", "}", "[", "]", "(", ")", "\"", "'", "#", "*", "yes", "no", "true", "null",
           "-", "--", "%", "\\", ",", ";", "...", "UNKNOWN", "none", "root", "0000", "777", "-rwxrwxrwx"]
_TOKEN = re.compile(r"[^\s:=,;/()\[\]{}\"']+")


@st.composite
def mutated_text(draw: st.DrawFn, seed: str) -> str:
    """``seed`` with 0..5 random edits (the unchanged seed is part of the space, as it should be)."""
    text = seed
    for _ in range(draw(st.integers(0, 5))):
        op = draw(st.sampled_from(["token", "token", "delete", "insert", "dup_line", "drop_line", "truncate",
                                   "swap_lines"]))
        lines = text.splitlines(keepends=True)
        if op == "token":
            tokens = list(_TOKEN.finditer(text))
            if tokens:
                match = draw(st.sampled_from(tokens))
                value = draw(st.one_of(st.sampled_from(AWKWARD), st.text(max_size=20)))
                text = text[:match.start()] + value + text[match.end():]
        elif op == "delete" and text:
            start = draw(st.integers(0, len(text) - 1))
            text = text[:start] + text[start + draw(st.integers(1, 200)):]
        elif op == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.one_of(st.sampled_from(AWKWARD), st.text(max_size=80))) + text[at:]
        elif op == "dup_line" and lines:
            index = draw(st.integers(0, len(lines) - 1))
            lines.insert(index, lines[index])
            text = "".join(lines)
        elif op == "drop_line" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "".join(lines)
        elif op == "truncate":
            text = text[:draw(st.integers(0, len(text)))]
        elif op == "swap_lines" and len(lines) > 1:
            a, b = draw(st.integers(0, len(lines) - 1)), draw(st.integers(0, len(lines) - 1))
            lines[a], lines[b] = lines[b], lines[a]
            text = "".join(lines)
    return text


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([10 ** 4000, -(2 ** 64), 2 ** 63]) |
    st.floats(allow_nan=False) | st.sampled_from(AWKWARD) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)


def _paths(node: Any, path: tuple = ()) -> list[tuple]:
    found = [path]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*path, index))
    return found


@st.composite
def mutated_json(draw: st.DrawFn, seed: Any) -> Any:
    """``seed`` (parsed JSON) with 0..4 nodes replaced, removed, duplicated or their strings mutated."""
    data = json.loads(json.dumps(seed))
    for _ in range(draw(st.integers(0, 4))):
        path = draw(st.sampled_from(_paths(data)))
        op = draw(st.sampled_from(["replace", "remove", "text", "text", "empty"]))
        if not path:
            data = draw(json_values) if op == "replace" else data
            continue
        parent = data
        for step in path[:-1]:
            parent = parent[step]
        key, current = path[-1], parent[path[-1]]
        if op == "remove":
            parent.pop(key)
        elif op == "text" and isinstance(current, str):
            parent[key] = draw(mutated_text(current))
        elif op == "empty":
            parent[key] = type(current)() if isinstance(current, (dict, list, str)) else None
        else:
            parent[key] = draw(json_values)
    return data


@st.composite
def mutated_item(draw: st.DrawFn, item: dict[str, Any]) -> dict[str, Any]:
    """A seed evidence item with its response (text, JSON or base64 bytes), exit code and status mutated."""
    item = dict(item)
    encoding, response = item["encoding"], item["response"]
    if encoding == "json":
        if draw(st.integers(0, 19)) == 0:
            item["response"] = draw(mutated_text(response))  # no longer JSON at all
        else:
            item["response"] = json.dumps(draw(mutated_json(json.loads(response))))
    elif encoding == "base64":
        raw = base64.b64decode(response)
        changed = draw(mutated_text(raw.decode("latin-1"))).encode("latin-1", "replace")
        item["response"] = base64.b64encode(changed).decode()
    else:
        item["response"] = draw(mutated_text(response))
    if item.get("exit_code") is not None or draw(st.booleans()):
        item["exit_code"] = draw(st.sampled_from([item.get("exit_code"), item.get("exit_code"), 0, 1, 2, 124, 126,
                                                  127, 255, None, -1]))
    if draw(st.integers(0, 29)) == 0:
        item.update(status="error", error=draw(st.text(max_size=40)))
    return item
