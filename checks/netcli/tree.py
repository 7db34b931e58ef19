"""A configuration as an indentation tree: each top-level line with the lines indented under it.

Cisco-style configurations (IOS, IOS-XE, and the Cisco-like CLIs of many industrial switches) nest
sub-commands by indentation under ``interface``, ``line``, ``archive`` ... A tree of that is all the
checks need; the GPL-licensed ciscoconfparse2 is kept out of the runtime on purpose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Iterator


@dataclass
class Node:
    text: str
    children: list["Node"] = field(default_factory=list)

    def child(self, pattern: str) -> re.Match[str] | None:
        """The first direct child matching ``pattern`` (``re.match`` on the stripped text)."""
        return next(self.children_matching(pattern), None)

    def children_matching(self, pattern: str) -> Iterator[re.Match[str]]:
        regex = re.compile(pattern)
        for node in self.children:
            match = regex.match(node.text)
            if match:
                yield match

    def has(self, pattern: str) -> bool:
        return self.child(pattern) is not None


@dataclass
class ConfigTree:
    roots: list[Node]

    @classmethod
    def parse(cls, text: str) -> "ConfigTree":
        roots: list[Node] = []
        stack: list[tuple[int, Node]] = []
        banner_end: str | None = None
        for raw in text.splitlines():
            if banner_end is not None:  # banner text is data, never configuration
                stack[0][1].children.append(Node(raw))
                if banner_end in raw:
                    banner_end = None
                continue
            line = raw.rstrip()
            stripped = line.strip()
            if not stripped or stripped.startswith("!"):
                continue
            indent = len(line) - len(line.lstrip())
            node = Node(stripped)
            while stack and stack[-1][0] >= indent:
                stack.pop()
            (stack[-1][1].children if stack else roots).append(node)
            stack.append((indent, node))
            banner = re.match(r"banner \S+ (\^C|\S)(.*)$", stripped)
            if banner and indent == 0:
                delimiter, rest = banner.groups()
                if delimiter not in rest:
                    banner_end = delimiter
                    stack[:] = [(indent, node)]
        return cls(roots)

    def lines(self, pattern: str) -> list[re.Match[str]]:
        """Top-level lines matching ``pattern`` (``re.match``)."""
        regex = re.compile(pattern)
        return [m for m in (regex.match(node.text) for node in self.roots) if m]

    def line(self, pattern: str) -> re.Match[str] | None:
        found = self.lines(pattern)
        return found[0] if found else None

    def has(self, pattern: str) -> bool:
        return self.line(pattern) is not None

    def blocks(self, pattern: str) -> list[tuple[re.Match[str], Node]]:
        regex = re.compile(pattern)
        return [(m, node) for node in self.roots if (m := regex.match(node.text))]
