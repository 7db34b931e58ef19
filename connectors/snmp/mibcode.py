"""pysnmp's MIB modules compiled once per process instead of twice per SNMP engine.

Every ``SnmpEngine()`` loads about 27 MIB modules into its own MIB builder (they hold that engine's state:
its engine id, its USM users). pysnmp's builder compiles each module's Python source when it looks the
module up, then evaluates the file with ``runpy.run_path``, which reads and compiles it again: about 60 of
the 70 ms of CPU an engine costs. A scan makes an engine per switch (two with the security-level probe), so
a plant of a few hundred switches spent half a minute of the scanner's CPU compiling the same files.

:func:`install` gives the builder module a ``compile`` that keeps each code object (keyed by file name and
the exact source, so an edited file compiles anew) and a ``run_path`` that executes it as ``runpy.run_path``
does, in fresh globals: each engine still gets its own module objects and state; only compiling is shared.
What these two do not recognise (a MIB in a zip, other arguments) goes to the real ones.
"""

from __future__ import annotations

import runpy
from types import CodeType
from typing import Any

_CODE: dict[tuple[str, str, str | bytes], CodeType] = {}


def _compile(source: Any, filename: Any, mode: str = "exec", *args: Any, **kwargs: Any) -> CodeType:
    """``compile`` with a cache for what pysnmp's builder compiles: MIB sources, whole, in ``exec`` mode."""
    if args or kwargs or mode != "exec" or not isinstance(source, (str, bytes)) or not isinstance(filename, str):
        return compile(source, filename, mode, *args, **kwargs)
    key = (filename, mode, source)
    code = _CODE.get(key)
    if code is None:
        code = _CODE[key] = compile(source, filename, mode, dont_inherit=True)
    return code


class _CompiledOnce:
    """Stands in for the ``runpy`` module inside ``pysnmp.smi.builder`` (which only calls ``run_path``)."""

    @staticmethod
    def run_path(path_name: Any, init_globals: dict[str, Any] | None = None,
                 run_name: str | None = None) -> dict[str, Any]:
        if not isinstance(path_name, str) or not path_name.endswith(".py"):
            return runpy.run_path(path_name, init_globals, run_name)
        try:
            with open(path_name, "rb") as handle:
                source = handle.read()
        except OSError:  # not a plain file (a zip member): as pysnmp would have it
            return runpy.run_path(path_name, init_globals, run_name)
        namespace: dict[str, Any] = dict(init_globals or {})
        namespace.update(__name__=run_name or "<run_path>", __file__=path_name, __cached__=None, __doc__=None,
                         __loader__=None, __package__=None, __spec__=None)
        exec(_compile(source, path_name), namespace)  # noqa: S102 - pysnmp's own MIB module, as runpy runs it
        return namespace


def install() -> None:
    """Give pysnmp's MIB builder the compile-once ``compile`` and ``run_path`` (idempotent)."""
    from pysnmp.smi import builder

    if not isinstance(getattr(builder, "runpy", None), _CompiledOnce):
        builder.compile = _compile  # type: ignore[attr-defined]  # shadows the builtin in that module only
        builder.runpy = _CompiledOnce()  # type: ignore[attr-defined]
