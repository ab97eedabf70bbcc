"""Names a comprehension binds for itself.

In Python 3 a comprehension or generator expression is a scope of its own: the names its
``for`` clauses bind are local to it, and every mention of such a name inside it is that
local, not the function's variable of the same name. Only the iterable of the first ``for``
is evaluated in the enclosing scope. So in

    fobj = open(fname, "w")
    fobj.write("\\n".join(fobj.path for fobj in items))

the generator's ``fobj`` neither rebinds nor uses the open file.
(A container of resources is the exception the caller makes: there the comprehension's
name is followed as each item, see container_items.)
"""

from __future__ import annotations

from typing import Sequence, Set

import libcst as cst

_COMPREHENSION_TYPES = frozenset((cst.GeneratorExp, cst.ListComp, cst.SetComp, cst.DictComp))


def comprehension_local(found: cst.CSTNode, path: Sequence[cst.CSTNode]) -> bool:
    """True when the name ``found`` (or the name an attribute chain starts from) is, where it
    is written, a variable that an enclosing comprehension binds for itself."""
    # ``type() in``/``is``: libcst has no subclasses of these concrete classes, and
    # isinstance() on its node classes goes through ABCMeta (this runs for every mention).
    base = found
    while type(base) is cst.Attribute:
        base = base.value  # type: ignore[attr-defined]
    if type(base) is not cst.Name:
        return False
    comprehensions = _COMPREHENSION_TYPES
    for depth in range(len(path) - 1, -1, -1):
        node = path[depth]
        if type(node) not in comprehensions:
            continue
        first = node.for_in
        if any(part is first.iter for part in path[depth:]) or found is first.iter:
            continue  # the first iterable is read in the enclosing scope
        if base.value in _bound_names(first):
            return True
    return False


def _bound_names(clause: cst.CompFor) -> Set[str]:
    names: Set[str] = set()
    current = clause
    while current is not None:
        stack = [current.target]
        while stack:
            target = stack.pop()
            if isinstance(target, cst.Name):
                names.add(target.value)
            elif isinstance(target, (cst.Tuple, cst.List)):
                stack.extend(element.value for element in target.elements)
            elif isinstance(target, cst.StarredElement):
                stack.append(target.value)
        current = current.inner_for_in
    return names
