"""An abstract base whose release is an abstract method its subclasses implement.

``class Session(ABC)`` stores ``self.temp_dir = TemporaryDirectory()`` and declares
``@abstractmethod def end()``; ``ProcessSession.end()`` and ``ThreadSession.end()`` both call
``self.temp_dir.cleanup()``. A class with an abstract method cannot be made by itself: every
object is one of its subclasses, and the base's contract names ``end()`` as what they must
provide. When every subclass of the module implements that abstract method so that it
releases the attribute (and there is at least one), the class hierarchy releases it.
A subclass of the module that does not release it keeps the finding. A method whose whole
body is ``raise NotImplementedError`` is abstract by the same convention without ``abc``
(platformio's ``AsyncPipeBase.do_reading``, which both subclasses implement by closing the
pipe they read to its end).
"""

from __future__ import annotations

from typing import Callable, Optional, Set

import libcst as cst

from memlint.analysis.facts import ModuleContext
from memlint.analysis.names import dotted

# releasers_of(ctx, class_name, attr): the methods of a class that release ``self.attr``.
Releasers = Callable[[ModuleContext, Optional[str], str], Set[str]]

_ABSTRACT_DECORATORS = ("abstractmethod", "abc.abstractmethod")


def released_by_implementations(ctx: ModuleContext, class_name: str, attr: str, releasers_of: Releasers) -> Set[str]:
    """The abstract methods of ``class_name`` that every subclass of the module implements
    by releasing ``self.attr``; empty when the class is not abstract or has no subclass here."""
    info = ctx.classes.get(class_name)
    if info is None:
        return set()
    abstract = {name for name, method in info.methods.items() if _is_abstract(method)}
    if not abstract:
        return set()
    subclasses = [name for name, other in ctx.classes.items() if class_name in other.bases and name != class_name]
    if not subclasses:
        return set()
    common = set(abstract)
    for subclass in subclasses:
        implemented = set(ctx.classes[subclass].methods) & abstract
        common &= implemented & releasers_of(ctx, subclass, attr)
        if not common:
            return set()
    return common


def _is_abstract(method: cst.FunctionDef) -> bool:
    if any(dotted(decorator.decorator) in _ABSTRACT_DECORATORS for decorator in method.decorators):
        return True
    return not method.decorators and _only_raises_not_implemented(method)


def _only_raises_not_implemented(method: cst.FunctionDef) -> bool:
    """``def do_reading(self): raise NotImplementedError()`` (a docstring allowed): abstract
    by convention, without ``abc`` -- the base declares that its subclasses provide it."""
    body = method.body
    if not isinstance(body, cst.IndentedBlock):
        return False
    smalls = []
    for line in body.body:
        if not isinstance(line, cst.SimpleStatementLine):
            return False
        smalls.extend(line.body)
    if smalls and isinstance(smalls[0], cst.Expr) and isinstance(smalls[0].value, (cst.SimpleString, cst.ConcatenatedString)):
        smalls = smalls[1:]
    if len(smalls) != 1 or not isinstance(smalls[0], cst.Raise) or smalls[0].exc is None:
        return False
    raised = smalls[0].exc
    if isinstance(raised, cst.Call):
        raised = raised.func
    return dotted(raised) == "NotImplementedError"
