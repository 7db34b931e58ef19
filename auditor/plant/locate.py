"""Where a value sits in a YAML file: a path of keys and list indexes -> line and column.

Errors name a field by its path (``assets[2] (id=plc-01).type``); an editor wants the line. The file is
composed (``yaml.compose``: nodes with their marks, nothing constructed) once, apart from the loader that
builds the data, and each path is walked down that node tree as far as it goes.
"""

from __future__ import annotations

from typing import Sequence

import yaml


class YamlLocator:
    """Line and column (1-based) of a path in one YAML text; ``None`` when the text cannot be composed."""

    def __init__(self, text: str):
        try:
            self.root: yaml.Node | None = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.YAMLError:
            self.root = None

    def locate(self, path: Sequence[str | int]) -> tuple[int, int] | None:
        """The deepest node the path reaches: a mapping key's own position for a key that is present
        (the field to fix), else the enclosing node (where a missing field belongs)."""
        node = self.root
        if node is None:
            return None
        mark = node.start_mark
        for part in path:
            if isinstance(node, yaml.MappingNode) and isinstance(part, str):
                found = next(((key, value) for key, value in node.value
                              if isinstance(key, yaml.ScalarNode) and key.value == part), None)
                if found is None:
                    break
                mark, node = found[0].start_mark, found[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
                node = node.value[part]
                mark = node.start_mark
            else:
                break
        return mark.line + 1, mark.column + 1
