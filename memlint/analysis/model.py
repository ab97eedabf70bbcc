"""What the analysis hands to the rules: facts about one module, never findings.

An ``Acquisition`` is one call that creates a resource. The other classes are facts the
stages establish about acquisitions, classes and context managers; each rule module
(``memlint/rules/mem0xx.py``) decides which facts are findings and words the message,
producing a ``Defect``, which the fixer reads too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, List, Optional, Tuple, Union

import libcst as cst

from memlint.knowledge.spec import ResourceSpec


@dataclass(eq=False)
class Acquisition:
    """A call that creates a resource."""

    call: cst.CSTNode  # the call (or ``await`` of it) whose value is the resource
    spec: ResourceSpec
    label: str  # how the call reads in messages: "`socket.create_connection()`"
    # The statement holding the call, and the names its result is bound to (empty when it is
    # not bound to a local name).
    statement: Optional[cst.CSTNode] = None
    names: Tuple[str, ...] = ()
    # The function (or module) whose body holds it.
    scope: Optional[cst.CSTNode] = None


# -- facts about acquisitions (acquisition sites, the path interpreter) ---------------------


@dataclass(eq=False)
class UnnamedUse:
    """The value of an acquisition is used without ever being named: ``open(p).read()``
    (``how`` = "inline") or thrown away (``how`` = "dropped").

    For "inline", ``use`` says how: "passed-to" (``use_name`` is the callee),
    "method-call"/"attribute" (``use_name`` is the method or attribute), "indexed",
    "discarded" (a tuple result thrown away), "iterated", "iterated-stoppable" (by a loop
    that can stop before exhausting a self-closing iterator).
    """

    acquisition: Acquisition
    how: str
    use: str = ""
    use_name: str = ""


@dataclass(eq=False)
class Lifetime:
    """What the path interpreter concluded about a resource followed under ``name``.

    ``category``: "ok", "never" (no path releases it), "return", "raise", "rebind",
    "loop-exit", "branch" (normal paths that leave it held) or "error" (an exception
    raised at ``witness`` leaves it held).
    """

    acquisition: Acquisition
    name: str
    spec: ResourceSpec
    category: str
    witness: Optional[cst.CSTNode] = None
    # "return", "raise", "reraise", "call", "break", "continue", "rebind".
    witness_kind: str = ""
    # How the witness reads in messages when it is a call (``ModuleContext.label``).
    witness_label: str = ""
    release_nodes: Tuple[cst.CSTNode, ...] = ()
    # A lock taken with ``x.acquire()`` rather than an object from a call.
    is_lock: bool = False
    # A unique path made in a directory the caller chose (``mkstemp(dir=...)``).
    in_chosen_directory: bool = False
    # Acquired inside a loop (a "rebind" at the acquisition is then the next iteration's).
    in_loop: bool = False
    # ``name`` holds many of them (``files = [open(p) for p in paths]``).
    in_container: bool = False
    # The first ``with`` on it whose ``__exit__`` does not close it (``with sqlite_conn:``).
    non_closing_with: Optional[cst.CSTNode] = None
    # For "error": nothing but the want of knowing better says the witness can raise.
    indirect_witness: bool = False


@dataclass(eq=False)
class UnboundInFinally:
    """A ``finally`` releases ``name`` (at ``release``), which its ``try`` may not have
    bound yet when the acquisition raises."""

    acquisition: Acquisition
    name: str
    release: cst.CSTNode


@dataclass(eq=False)
class LockNeverReleased:
    """A module-global lock taken in a function that goes on working and never releases it."""

    acquisition: Acquisition
    name: str


@dataclass(eq=False)
class HandWrittenRelease:
    """``x = acquire()`` directly followed by a ``try`` whose ``finally`` only releases ``x``."""

    acquisition: Acquisition
    name: str


# -- facts about classes and context managers (ownership, context-manager bodies) ----------


@dataclass(eq=False)
class OwnedResource:
    """What a class keeps on ``self.<attr>``, and the methods that release it."""

    attr: str
    node: cst.CSTNode
    acquisition: Acquisition
    releasing_methods: FrozenSet[str]


@dataclass(eq=False)
class OwnerClass:
    """A class of the module that stores resources on ``self``."""

    name: str
    name_node: cst.CSTNode
    owned: Tuple[OwnedResource, ...]
    # Its methods and those of its bases defined in the module.
    methods: FrozenSet[str]
    # Some base is defined elsewhere (and may supply ``__enter__``/``__exit__``).
    has_external_base: bool
    # Its methods (and its module bases') defined with ``async def``: an async ``close()``
    # asks for ``__aenter__``/``__aexit__``.
    async_methods: FrozenSet[str] = frozenset()


@dataclass(eq=False)
class GeneratorContextManager:
    """A ``@contextmanager`` function; ``unprotected_yield`` is the first ``yield`` after
    which cleanup runs only when the ``with`` body succeeds (None: there is none)."""

    function: cst.FunctionDef
    unprotected_yield: Optional[cst.CSTNode]


@dataclass(eq=False)
class ExitMethod:
    """An ``__exit__``/``__aexit__`` method and whether its last statement is a return
    and every return in it is ``return True``."""

    function: cst.FunctionDef
    always_returns_true: bool


Fact = Union[
    UnnamedUse, Lifetime, UnboundInFinally, LockNeverReleased, HandWrittenRelease, OwnerClass,
    GeneratorContextManager, ExitMethod,
]


@dataclass(eq=False)
class Defect:
    """What a rule makes of a fact: code, blamed node, message (``{L0}`` etc. name lines)."""

    code: str
    node: cst.CSTNode
    message: str
    category: str
    line_refs: Tuple[cst.CSTNode, ...] = ()
    acquisition: Optional[Acquisition] = None
    # Nodes the fixer needs: the statement that releases the resource, when there is one.
    release_statements: Tuple[cst.CSTNode, ...] = ()
    # "high" or "low" (``memlint.diagnostics.CONFIDENCE_LEVELS``): how sure the rule is.
    confidence: str = "high"


@dataclass
class ModuleAnalysis:
    """Every fact about one module, in the order the stages established them."""

    facts: List[Fact] = field(default_factory=list)
    acquisitions: List[Acquisition] = field(default_factory=list)
