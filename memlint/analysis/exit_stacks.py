"""An exit stack holds nothing until something is entered on it or pushed to it.

``stack = ExitStack()`` followed by a call that raises before any
``stack.enter_context(...)``/``callback(...)``/``push(...)`` could have run leaves an empty
stack behind: closing it would do nothing, so that call is no exception path for MEM003.
Nor are the arguments of an entering call (``stack.enter_context(session.activate())``:
when ``activate()`` or its ``__enter__`` fails, nothing was entered by that call).

"Could have run" is read from the code's shape: an entering call in a statement before the
raising one, in the same block or in an enclosing one, or anywhere in an enclosing loop
(a later iteration follows an earlier one, also in a comprehension).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.names import dotted
from memlint.analysis.walk import find

EXIT_STACK_MODEL = "exit-stack"
_ENTERING = frozenset({"enter_context", "enter_async_context", "callback", "push", "push_async_callback", "push_async_exit"})
_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


class FirstEntry:
    """The entering calls on one followed stack in one function body."""

    def __init__(self) -> None:
        self._paths: Optional[Dict[int, Tuple[cst.CSTNode, ...]]] = None
        self._entering: List[cst.CSTNode] = []
        self._inside_entering: Set[int] = set()

    def raising_after(self, body: Sequence[cst.CSTNode], names: Set[str], calls: List[cst.CSTNode]) -> List[cst.CSTNode]:
        """Of ``calls`` (calls and awaits that may raise), those that can leave something on
        the stack."""
        if self._paths is None:
            self._index(body, names)
        return [call for call in calls if id(call) not in self._inside_entering and self._after_an_entry(call)]

    def _index(self, body: Sequence[cst.CSTNode], names: Set[str]) -> None:
        root = cst.IndentedBlock(body=tuple(body))  # type: ignore[arg-type]
        self._paths = {}
        for found, path in find(root, (cst.Call, cst.Await)):
            self._paths[id(found)] = path
            if isinstance(found, cst.Call) and _enters(found, names):
                self._entering.append(found)
                if not any(isinstance(ancestor, _LOOPS) for ancestor in path):
                    # (in a loop, the argument fails with earlier iterations' entries held)
                    self._inside_entering |= {id(inner) for inner, _ in find(found, (cst.Call, cst.Await))}

    def _after_an_entry(self, call: cst.CSTNode) -> bool:
        assert self._paths is not None
        path = self._paths.get(id(call))
        if path is None:
            return True  # not in this body's own code: taken as it comes
        if not self._entering:
            return False
        entering_ids = {id(node) for node in self._entering}
        for index, ancestor in enumerate(path):
            if isinstance(ancestor, _LOOPS) and _holds_any(ancestor, entering_ids):
                return True
            if isinstance(ancestor, (cst.IndentedBlock, cst.Module)) and index + 1 < len(path):
                statement = path[index + 1]
                for sibling in ancestor.body:
                    if sibling is statement:
                        break
                    if _holds_any(sibling, entering_ids):
                        return True
        return False


def _holds_any(node: cst.CSTNode, ids: Set[int]) -> bool:
    return any(id(found) in ids for found, _ in find(node, (cst.Call,)))


def _enters(call: cst.Call, names: Set[str]) -> bool:
    func = call.func
    return isinstance(func, cst.Attribute) and func.attr.value in _ENTERING and dotted(func.value) in names
