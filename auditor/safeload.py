"""The one way the auditor reads a file a user hands it: bounded size, bounded nesting, strict YAML.

A configuration file (inventory, profile, waivers, answers) or a scan's JSON (result, evidence bundle) may
be hostile or simply broken. Whatever it holds, reading it ends either in data or in a
:class:`~auditor.errors.ConfigError` naming the file, the line and the reason (exit code 2); never in a
traceback, and never after minutes of parsing:

* a file over its size limit (:data:`MAX_YAML_BYTES`, :data:`MAX_CSV_BYTES`, :data:`MAX_JSON_BYTES`) is
  refused before a byte of it is parsed;
* YAML nested deeper than :data:`MAX_YAML_DEPTH`, or whose aliases expand to more than
  :data:`MAX_YAML_NODES` nodes, is refused (PyYAML's composer recurses, and an alias bomb is small on disk);
* a duplicate mapping key is an error naming both lines (otherwise the last ``address:`` silently wins);
* a scalar YAML cannot turn into a value (an integer over Python's 4,300-digit limit, 30 February) is an
  error naming its line;
* JSON nested deeper than the interpreter can decode is refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from yaml.composer import ComposerError
from yaml.constructor import ConstructorError
from yaml.parser import ParserError
from yaml.reader import ReaderError
from yaml.scanner import ScannerError

from auditor.errors import ConfigError

MAX_YAML_BYTES = 8 * 1024 * 1024  # inventories, profiles, waivers and answers files
MAX_CSV_BYTES = 8 * 1024 * 1024  # answers files in CSV form
MAX_JSON_BYTES = 512 * 1024 * 1024  # result.json and evidence.json
MAX_YAML_DEPTH = 64
MAX_YAML_NODES = 1_000_000


def read_bounded(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of ``path``, or :class:`ConfigError` if it is missing, unreadable or larger than ``limit``."""
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # never more, even from a FIFO or a device that lies about its size
    except FileNotFoundError:
        raise ConfigError.single(path, "", "file not found") from None
    except IsADirectoryError:
        raise ConfigError.single(path, "", "is a directory, not a file") from None
    except OSError as exc:
        raise ConfigError.single(path, "", f"cannot read: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise ConfigError.single(path, "", f"larger than {_size(limit)}, the limit for {what}; refused unread")
    return data


def read_text_bounded(path: str | Path, limit: int, what: str, encoding: str = "utf-8") -> str:
    """:func:`read_bounded`, decoded; a file that is not UTF-8 text is a :class:`ConfigError`."""
    try:
        return read_bounded(path, limit, what).decode(encoding)
    except UnicodeDecodeError as exc:
        raise ConfigError.single(path, f"byte {exc.start}", "not UTF-8 text") from None


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit >= 1024 * 1024 else f"{limit} bytes"


class _StrictLoader(yaml.SafeLoader):
    """PyYAML's safe loader with bounded nesting, duplicate keys refused and unrepresentable scalars reported."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent, index):  # type: ignore[no-untyped-def]
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                                    self.peek_event().start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_object(self, node, deep=False):  # type: ignore[no-untyped-def]
        try:
            return super().construct_object(node, deep)
        except (ValueError, OverflowError) as exc:
            # int() beyond 4,300 digits, datetime() of 30 February, ...: the scalar's line, not a traceback
            raise ConstructorError(None, None, f"cannot read {_brief(node)}: {str(exc).split(';')[0]}",
                                   node.start_mark) from None

    def construct_mapping(self, node, deep=False):  # type: ignore[no-untyped-def]
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, Any] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # merged keys may be overridden: that is what '<<' is for
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.setdefault(key, key_node.start_mark)
                except TypeError:
                    continue  # unhashable: the base class says so with its own message
                if first is not key_node.start_mark:
                    raise ConstructorError("while constructing a mapping", node.start_mark,
                                           f"duplicate key {key!r} (first on line {first.line + 1})",
                                           key_node.start_mark)
        return super().construct_mapping(node, deep)


def _brief(node: yaml.Node) -> str:
    value = str(node.value) if isinstance(node, yaml.ScalarNode) else node.tag
    return repr(value if len(value) <= 40 else value[:20] + "..." + value[-8:])


def _expanded_nodes(root: yaml.Node | None) -> int:
    """How many nodes the document has once every alias is expanded (an alias bomb is small on disk)."""
    if root is None:
        return 0
    sizes: dict[int, int] = {}

    def size(node: yaml.Node) -> int:  # depth is bounded by MAX_YAML_DEPTH, so recursion is safe
        if id(node) not in sizes:
            total = 1
            if isinstance(node, yaml.SequenceNode):
                total += sum(size(child) for child in node.value)
            elif isinstance(node, yaml.MappingNode):
                total += sum(size(key) + size(value) for key, value in node.value)
            sizes[id(node)] = min(total, MAX_YAML_NODES + 1)
        return sizes[id(node)]

    return size(root)


def yaml_loads(text: str, source: str | Path) -> Any:
    """Parse one YAML document strictly (see the module); errors are :class:`ConfigError` for ``source``."""
    loader = None
    try:
        loader = _StrictLoader(text)  # the reader refuses control characters here already
        node = loader.get_single_node()
        if _expanded_nodes(node) > MAX_YAML_NODES:
            raise ComposerError(None, None, f"expands to more than {MAX_YAML_NODES:,} nodes (aliases)",
                                node.start_mark if node is not None else None)
        return loader.construct_document(node) if node is not None else None
    except ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        character = f"U+{exc.character:04X}" if isinstance(exc.character, int) else repr(exc.character)
        raise ConfigError.single(source, f"line {line}",
                                 f"YAML syntax error: character {character} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        kind = "YAML syntax error" if isinstance(exc, (ScannerError, ParserError)) else "YAML error"
        raise ConfigError.single(source, where, f"{kind}: {problem}") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml_file(path: str | Path, what: str = "a YAML file") -> Any:
    """Read a YAML file (at most :data:`MAX_YAML_BYTES`) through :func:`yaml_loads`."""
    return yaml_loads(read_text_bounded(path, MAX_YAML_BYTES, what), Path(path))


def load_list_file(path: str | Path, key: str, what: str) -> dict:
    """A YAML file holding a list under ``key``: the mapping, the bare list, or nothing (an empty list).

    ``what`` names the file in the error, e.g. "a waivers file" -> "a waivers file is a mapping with a
    'waivers' list" (exit 2)."""
    data = load_yaml_file(path, what)
    if data is None:
        data = {key: []}
    if isinstance(data, list):
        data = {key: data}
    if not isinstance(data, dict):
        article = "an" if key[0] in "aeiou" else "a"
        raise ConfigError.single(path, "", f"{what} is a mapping with {article} '{key}' list")
    return data


def json_loads(data: bytes | str) -> Any:
    """``json.loads`` whose failures are all ``ValueError`` (too deep included), for the callers that name the file."""
    try:
        return json.loads(data)
    except RecursionError:
        raise ValueError("JSON nested too deeply to read") from None


def load_json_file(path: str | Path, what: str) -> Any:
    """Read a JSON file (at most :data:`MAX_JSON_BYTES`); any problem is a :class:`ConfigError`."""
    raw = read_bounded(path, MAX_JSON_BYTES, what)
    try:
        return json_loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ConfigError.single(path, "", f"not valid JSON: {exc}") from None
