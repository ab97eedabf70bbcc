"""Resources that end with the resource they were made from or in.

``sftp = ssh.open_sftp()`` inside ``with client as ssh:`` (or in the body of a ``try``
whose ``finally`` calls ``ssh.close()``) opens a channel over the client's transport:
closing the client closes the transport and every channel on it (paramiko), so on every
way out of that block the channel is closed with its parent. Which acquisitions end with
their receiver is knowledge (``closed_with_its_receiver`` models, inferred.toml's
``closed_with_receiver_methods``). Only a parent this function ends counts: the target of
its ``with``, or a name its ``finally`` closes (a parameter the function does not close is
the caller's, and when it ends is not seen here), followed through plain local aliases
(``ssh_client = ssh._client``), and only when no loop lies between the block and the
acquisition (a channel opened per iteration would pile up until the parent ends).

``NamedTemporaryFile(delete=False, dir=tmp_dir)`` inside
``with tempfile.TemporaryDirectory() as tmp_dir:``: leaving the block removes the tree and
the file in it (models with ``removes_what_is_made_in_it``), so its path needs no removal
of its own.
"""

from __future__ import annotations

from typing import Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.own_values import single_binding
from memlint.analysis.resources import (
    CLOSED_WITH_RECEIVER_METHODS,
    CLOSED_WITH_RECEIVER_MODELS,
    CONTENT_REMOVING_MODELS,
    RESOURCE_CALLS,
    ResourceSpec,
)

_LOOPS = (cst.For, cst.While, cst.CompFor)


def closed_with_parent(ctx, call: cst.Call, path: Tuple[cst.CSTNode, ...], spec: ResourceSpec) -> bool:  # ctx: facts.ModuleContext
    """Whether the resource ``call`` makes ends with its receiver, which the enclosing block
    of this function releases on every way out of it."""
    func = call.func
    if not isinstance(func, cst.Attribute):
        return False
    if spec.model not in CLOSED_WITH_RECEIVER_MODELS and func.attr.value not in CLOSED_WITH_RECEIVER_METHODS:
        return False
    names = _parent_names(ctx, func.value)
    if not names:
        return False
    inner: cst.CSTNode = call
    for node in reversed(path):
        if isinstance(node, _LOOPS):
            return False
        if isinstance(node, cst.With) and inner is node.body and _with_targets(node) & names:
            return True
        if isinstance(node, cst.Try) and inner is node.body and node.finalbody is not None:
            if _closes(node.finalbody.body.body, names):
                return True
        inner = node
    return False


def made_in_removed_directory(ctx, call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> bool:  # ctx: facts.ModuleContext
    """``NamedTemporaryFile(delete=False, dir=d)`` in the body of ``with TemporaryDirectory() as d``."""
    directory = next(
        (arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "dir"), None
    )
    if not isinstance(directory, cst.Name):
        return False
    inner: cst.CSTNode = call
    for node in reversed(path):
        if isinstance(node, cst.With) and inner is node.body:
            for item in node.items:
                target = item.asname.name if item.asname is not None else None
                if isinstance(target, cst.Name) and target.value == directory.value:
                    made = item.item
                    if isinstance(made, cst.Call):
                        spec = RESOURCE_CALLS.get(ctx.resolve(made.func) or "")
                        return spec is not None and spec.model in CONTENT_REMOVING_MODELS
                    return False
        inner = node
    return False


def _parent_names(ctx, receiver: cst.BaseExpression) -> Set[str]:
    """The local names the receiver comes from: ``ssh`` for ``ssh._client`` or
    ``ssh.get_transport()``, and through ``ssh_client = ssh._client``, the function's one
    binding of that name (``own_values.single_binding``)."""
    names: Set[str] = set()
    root = _root(receiver)
    for _hop in range(3):
        if root is None or root in names or root == "self":
            break
        names.add(root)
        value = single_binding(ctx, root)
        root = _root(value) if isinstance(value, (cst.Name, cst.Attribute)) else None
    return names


def _root(node: cst.BaseExpression) -> Optional[str]:
    while True:
        if isinstance(node, cst.Attribute):
            node = node.value
        elif isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and not node.args:
            node = node.func.value  # ``ssh.get_transport()``
        else:
            break
    return node.value if isinstance(node, cst.Name) else None


def _with_targets(node: cst.With) -> Set[str]:
    return {
        item.asname.name.value
        for item in node.items
        if item.asname is not None and isinstance(item.asname.name, cst.Name)
    }


def _closes(statements: Sequence[cst.CSTNode], names: Set[str]) -> bool:
    """An unconditional ``name.close()`` among the top-level statements of a ``finally``."""
    for statement in statements:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            value = small.value if isinstance(small, cst.Expr) else None
            if (
                isinstance(value, cst.Call)
                and isinstance(value.func, cst.Attribute)
                and value.func.attr.value == "close"
                and isinstance(value.func.value, cst.Name)
                and value.func.value.value in names
            ):
                return True
    return False
