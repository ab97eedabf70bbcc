"""An abstract base whose release is an abstract method its subclasses implement.

``class Session(ABC)`` stores ``self.temp_dir = TemporaryDirectory()`` and declares
``@abstractmethod def end()``; ``ProcessSession.end()`` and ``ThreadSession.end()`` both call
``self.temp_dir.cleanup()``. A class with an abstract method cannot be made by itself: every
object is one of its subclasses, and the base's contract names ``end()`` as what they must
provide. When every subclass of the module implements that abstract method so that it
releases the attribute (and there is at least one), the class hierarchy releases it.
A subclass of the module that does not release it keeps the finding.
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
    return any(dotted(decorator.decorator) in _ABSTRACT_DECORATORS for decorator in method.decorators)
