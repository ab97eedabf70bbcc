"""What counts as a constant argument for ``calls.toml`` [raising]'s
``non_raising_with_constant_arguments`` (``struct.pack(IFF_FMT, 0)``, ``defaultdict(list)``):
the same names for a file's libcst tree (``quiet_functions``) and a project module's ``ast``
(``project_quiet``); each tree reads its own nodes and asks here what a name means.
"""

from __future__ import annotations

# Names that stand for a constant value when passed (``defaultdict(list)``, ``None``).
_CONSTANT_NAMES = frozenset({"True", "False", "None", "list", "dict", "set", "int", "float", "str", "bytes", "tuple", "object"})


def constant_name(last: str) -> bool:
    """The last part of a name or attribute passed as an argument: a builtin type or constant,
    or a module constant written in capitals (``IFF_FMT``, ``socket.AF_INET``)."""
    return last in _CONSTANT_NAMES or (last.lstrip("_").isupper() and any(c.isalpha() for c in last))

