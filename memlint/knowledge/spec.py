"""``ResourceSpec``: how one kind of resource behaves, as the analysis reads it.

Built from a model of ``memlint/knowledge/*.toml`` (or from ``[tool.memlint.resources]``)
by ``memlint.knowledge.loader``; nothing here reads files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import FrozenSet, Tuple

# What a resource's own ``__exit__`` does.
EXIT_BEHAVIOURS = ("closes", "commits-only", "nothing")


@dataclass(frozen=True)
class ResourceSpec:
    """How one kind of resource behaves."""

    # What a person calls it, used in messages: "file", "socket", "database connection".
    kind: str
    # Methods on the object that release it (``with`` and ``__exit__`` always do).
    release: FrozenSet[str] = frozenset()
    # Functions that release it when given it as an argument (``os.close(fd)``).
    release_funcs: FrozenSet[str] = frozenset()
    # Typically kept for the life of the program (executors, sessions): a module-level
    # global of this kind is not reported.
    long_lived: bool = False
    # A path on disk rather than an object: handing the string to a call is only a use.
    is_path: bool = False
    # For calls that return a tuple: (index, spec) of the parts that are resources.
    parts: Tuple[Tuple[int, "ResourceSpec"], ...] = field(default=())
    # The verb used in messages ("closed", "removed", "waited for", ...).
    verb: str = "closed"
    # The model it comes from ("file", "socket", ...; "" for module-local kinds), and what
    # its own ``__exit__`` does. Neither takes part in comparisons.
    model: str = field(default="", compare=False)
    exit: str = field(default="closes", compare=False)
    # (attribute, function): the function releases it when given that attribute of it
    # (``os.waitpid(proc.pid, 0)``).
    attribute_release_funcs: FrozenSet[Tuple[str, str]] = field(default=frozenset(), compare=False)
    # (attribute, method): that method of that attribute releases it (``tf.file.close()``).
    attribute_release_methods: FrozenSet[Tuple[str, str]] = field(default=frozenset(), compare=False)
    # Known only by the release the same scope makes (``memlint/knowledge/inferred.toml``):
    # its library, and so what a ``with`` on it would do, is unknown.
    inferred: bool = field(default=False, compare=False)
    # A lazy object (``paramiko.SSHClient()``): it holds something only once one of these
    # methods was called on it (``"any"``: any method but its releases); before that, dropping
    # it or raising leaks nothing.
    held_after: FrozenSet[str] = field(default=frozenset(), compare=False)
    # A module-local factory that acquires only under ``if <parameter> is None:``: that
    # parameter's name and position (``analysis/optional_acquisitions.py``); a call giving
    # it a value that is certainly not None acquires nothing.
    not_when_given: Tuple[str, int] = field(default=("", -1), compare=False)
    # A local factory that acquires only under ``if <parameter>:`` with a falsy default: that
    # parameter's name and position (``analysis/enabling_parameters.py``); a call leaving it
    # out or passing a falsy literal acquires nothing.
    only_when_given: Tuple[str, int] = field(default=("", -1), compare=False)
