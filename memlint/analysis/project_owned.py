"""Project-index facts about what a class owns through ``self``, across its project bases.

Two facts, both read from the ``ast`` of the class and of its bases in other modules of the
project (the base chain, nearest first):

- what the chain releases: ``Provider.__aexit__`` (in ``providers/__init__.py``) closes
  ``self._own_http_client``, so every subclass, wherever it is defined, has that attribute
  released by the inherited ``__aexit__``;
- what a method's returned resource is built on: ``_create_openai_client()`` returns
  ``AsyncOpenAI(http_client=http_client)``, where ``http_client`` is what
  ``self._get_http_client()`` returns after storing it on ``self._own_http_client``. The
  returned client holds nothing of its own but that pool; when the chain releases the
  attribute the pool is kept on, the method hands out a view of something the object
  already owns and releases, not a fresh resource. (A client passed in by the caller stays
  the caller's: the method stores only the one it made.)
"""

from __future__ import annotations

import ast
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from memlint.analysis.ast_scopes import own_nodes

# module name -> the summarised module (project_index._Module), or None
Loader = Callable[[str], Any]
# How far up the chain of project bases the facts look.
_MAX_BASES_DEPTH = 4


def class_chain(load: Loader, module: Any, node: ast.ClassDef) -> List[Tuple[Any, ast.ClassDef]]:
    """The class and its bases defined in the same project, nearest first, each once."""
    chain: List[Tuple[Any, ast.ClassDef]] = []
    seen: Set[Tuple[str, str]] = set()
    pending: List[Tuple[Any, ast.ClassDef, int]] = [(module, node, 0)]
    while pending:
        owner, cls, depth = pending.pop(0)
        if (owner.name, cls.name) in seen:
            continue
        seen.add((owner.name, cls.name))
        chain.append((owner, cls))
        if depth >= _MAX_BASES_DEPTH:
            continue
        for base in cls.bases:
            if isinstance(base, ast.Subscript):
                base = base.value  # ``Provider[AsyncOpenAI]``: a generic base is its class
            found = project_class(load, owner, owner.qualify(base))
            if found is not None:
                pending.append((found[0], found[1], depth + 1))
    return chain


def project_class(load: Loader, owner: Any, qualified: Optional[str]) -> Optional[Tuple[Any, ast.ClassDef]]:
    """The class a dotted name names in the project, following a package's re-export."""
    top = owner.name.split(".", 1)[0]
    for _hop in range(3):
        module_name, _, name = (qualified or "").rpartition(".")
        if not module_name or module_name.split(".", 1)[0] != top:
            return None
        module = load(module_name)
        if module is None:
            return None
        if name in module.classes:
            node = module.classes[name]
            return (module, node) if isinstance(node, ast.ClassDef) else None
        qualified = module.aliases.get(name)  # ``from .base import Provider`` in an ``__init__``
    return None


def chain_releases(chain: List[Tuple[Any, ast.ClassDef]], released_of: Callable[[ast.ClassDef], Dict[str, str]]) -> Dict[str, str]:
    """``attribute -> releasing method`` over the chain; the nearest class's method wins."""
    merged: Dict[str, str] = {}
    for _module, cls in chain:
        for attr, method in released_of(cls).items():
            merged.setdefault(attr, method)
    return merged


def wraps_released_attribute(function: ast.AST, chain: List[Tuple[Any, ast.ClassDef]], released: Dict[str, str]) -> bool:
    """Whether the resource ``function`` returns is built on a value it (or a method of the
    chain it calls) stores on an attribute of ``self`` that the chain releases."""
    if not released:
        return False
    kept = _kept_on_self(function)
    for node in own_nodes(function):
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        value = value.value if isinstance(value, ast.Await) else value
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            continue
        method = _self_method_called(value)
        stored = _stores_returned_value(_method_in(chain, method)) if method else None
        if stored:
            kept.setdefault(node.targets[0].id, stored)
    for node in own_nodes(function):
        if not isinstance(node, ast.Return) or node.value is None:
            continue
        value = node.value.value if isinstance(node.value, ast.Await) else node.value
        if not isinstance(value, ast.Call):
            continue
        given = list(value.args) + [keyword.value for keyword in value.keywords]
        if any(isinstance(arg, ast.Name) and kept.get(arg.id) in released for arg in given):
            return True
    return False


def _kept_on_self(function: ast.AST) -> Dict[str, str]:
    """``self.<attr> = name`` in the function: ``name -> attr``."""
    kept: Dict[str, str] = {}
    for node in own_nodes(function):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name):
            for target in node.targets:
                if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) and target.value.id == "self":
                    kept.setdefault(node.value.id, target.attr)
    return kept


def _stores_returned_value(function: Optional[ast.AST]) -> Optional[str]:
    """The attribute of ``self`` a method stores the name it returns on, if it does."""
    if function is None:
        return None
    kept = _kept_on_self(function)
    for node in own_nodes(function):
        if isinstance(node, ast.Return) and isinstance(node.value, ast.Name) and node.value.id in kept:
            return kept[node.value.id]
    return None


def _self_method_called(value: Optional[ast.AST]) -> Optional[str]:
    if isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
        receiver = value.func.value
        if isinstance(receiver, ast.Name) and receiver.id == "self":
            return value.func.attr
    return None


def _method_in(chain: List[Tuple[Any, ast.ClassDef]], name: str) -> Optional[ast.AST]:
    for _module, cls in chain:
        for item in cls.body:
            if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name == name:
                return item
    return None
