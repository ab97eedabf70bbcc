"""Names the two quiet-function judges read alike: a file's libcst tree (``quiet_functions``)
and a project module's ``ast`` (``project_quiet``) each read their own nodes and ask here what a
name means.

- What counts as a constant argument for ``calls.toml`` [raising]'s
  ``non_raising_with_constant_arguments`` (``struct.pack(IFF_FMT, 0)``, ``defaultdict(list)``).
- Which exception names catch every failure (``except Exception``) and which calls make a
  ``with`` block that swallows them (``contextlib.suppress(Exception)``).
"""

from __future__ import annotations

# Names that stand for a constant value when passed (``defaultdict(list)``, ``None``).
_CONSTANT_NAMES = frozenset({"True", "False", "None", "list", "dict", "set", "int", "float", "str", "bytes", "tuple", "object"})


# The last part of an exception's name that catches every failure.
BROAD_EXCEPTIONS = frozenset({"Exception", "BaseException"})
# Calls whose ``with`` block swallows the exceptions they are given.
SUPPRESSORS = frozenset({"contextlib.suppress", "suppress"})


def constant_name(last: str) -> bool:
    """The last part of a name or attribute passed as an argument: a builtin type or constant,
    or a module constant written in capitals (``IFF_FMT``, ``socket.AF_INET``)."""
    return last in _CONSTANT_NAMES or (last.lstrip("_").isupper() and any(c.isalpha() for c in last))

