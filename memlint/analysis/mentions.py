"""What one mention of a followed resource does to it: a use, a release, an escape (handed
on), a rebinding, an alias, a registration with its owner, a reclaim.

The path interpreter (``lifetime``) asks ``Mentions.classify`` for every occurrence of
one of the resource's names in a statement.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional, Sequence, Set, Tuple

import libcst as cst

from memlint.analysis.callee_releases import released_by_callee
from memlint.analysis.checked_keys import checked_lookups
from memlint.analysis.container_items import constant_slice
from memlint.analysis.error_cleanups import released_only_on_failure
from memlint.analysis.facts import local_callee
from memlint.analysis.flow import Tracker
from memlint.analysis.local_holders import kept_by_local_holder
from memlint.analysis.names import dotted, is_binding_target, self_attribute
from memlint.analysis.ownership import parameter_behaviour, releasers_of, wrapping_methods
from memlint.analysis.reached_calls import self_calls_after
from memlint.analysis.path_removers import (
    kept_by_returned_object,
    module_removal,
    removed_in_callee_finally,
    returns_its_argument,
)
from memlint.analysis.sites import borrowed_argument, given_back
from memlint.analysis.spelled_paths import formatted_argument_call, parameter_default_callee
from memlint.analysis.resources import (
    BORROWER_PREFIXES,
    BORROWERS,
    DEFERRING_CALLS,
    HANDOFF_CALLS,
    HANDOFF_METHODS,
    KNOWLEDGE,
    LOGGING_METHODS,
    PATH_CONSTRUCTORS,
    PATH_HANDOFF_PREFIXES,
    PATH_KEEPERS,
    PATH_METHODS,
    PATH_WRAPPERS,
    RECLAIM_METHODS,
    ResourceSpec,
)

if TYPE_CHECKING:  # pragma: no cover
    from memlint.analysis.facts import ModuleContext


class Mentions:
    """Classifies the mentions of one tracked resource in one scope."""

    def __init__(self, ctx: "ModuleContext", tracker: Tracker, scope_class: Optional[str]) -> None:
        self.ctx = ctx
        self.tracker = tracker
        self.scope_class = scope_class
        # Calls written as ``with`` items (the interpreter notes them before their header is
        # read): what they borrow by a keyword such as ``http_client=`` is lent for the block.
        self.with_item_calls: Set[int] = set()

    def classify(self, found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> Tuple[str, Optional[cst.CSTNode]]:
        """What one mention of the resource does to it: use, release, escape, rebind, alias."""
        spec = self.tracker.spec
        parent = path[-1] if path else None
        grand = path[-2] if len(path) > 1 else None
        if parent is None:
            return "use", None
        if is_binding_target(found, path):
            if isinstance(parent, cst.AugAssign) and parent.target is found:
                return "use", None
            return "rebind", None
        if isinstance(parent, cst.Attribute) and parent.value is found:
            method = parent.attr.value
            if spec.is_path and method in PATH_METHODS and isinstance(grand, cst.Call) and self._path_handed_back(path[:-2]):
                return "escape", None  # ``return str(out.absolute())``: the caller gets the path
            if isinstance(grand, cst.Call) and grand.func is parent:
                if method in spec.release or method in ("__exit__", "__aexit__") or _moves_by_one_argument(spec, method, grand):
                    return "release", grand
                return "use", None
            if isinstance(grand, cst.Attribute) and len(path) > 2 and isinstance(path[-3], cst.Call) and path[-3].func is grand:
                if (method, grand.attr.value) in spec.attribute_release_methods or (
                    _reads_all(path[-3]) and (method, grand.attr.value + "()") in spec.attribute_release_methods
                ):
                    return "release", path[-3]  # ``tf.file.close()``, ``response.raw.read()``
            if isinstance(grand, cst.Arg) and len(path) > 2 and isinstance(path[-3], cst.Call):
                callee = self.ctx.resolve(path[-3].func) or ""  # type: ignore[attr-defined]
                if (method, callee) in spec.attribute_release_funcs:
                    return "release", path[-3]
                if _removed_by_name(spec, method, path[-3]):
                    return "release", path[-3]  # ``delete(tmpdir.name)``: the directory's path removed
            if method in KNOWLEDGE.released_by_reading.get(spec.model, ()) and not isinstance(grand, cst.Call):
                return "escape", None  # ``response.text``: the body is read to the end
            if isinstance(grand, cst.Arg) and method in spec.release | {"__exit__", "__aexit__"}:
                # ``atexit.register(f.close)``, ``stack.callback(s.close)``: released later.
                return "escape", path[-3] if len(path) > 2 else None
            return "use", None
        if (
            spec.is_path
            and isinstance(parent, cst.BinaryOperation)
            and isinstance(parent.operator, cst.Divide)
            and parent.left is found
            and isinstance(grand, (cst.Assign, cst.AnnAssign))
            and grand.value is parent
        ):
            # ``out = folder / name``: a path inside the followed directory, followed with it.
            targets = [t.target for t in grand.targets] if isinstance(grand, cst.Assign) else [grand.target]
            if all(isinstance(t, cst.Name) for t in targets):
                return "alias:" + ",".join(t.value for t in targets), None  # type: ignore[attr-defined]
        if isinstance(parent, cst.Subscript) and parent.value is found:
            if id(parent) in checked_lookups(self.ctx):
                return "use", None  # ``if key in h5file: h5file[key]``: the key is there
            if self.tracker.container and constant_slice(parent):
                return "use", None  # ``procs[::-1]``: slicing the function's own list raises nothing
            return "raising-use", None
        if (
            spec.is_path
            and isinstance(parent, cst.BinaryOperation)
            and isinstance(grand, cst.Arg)
            and len(path) > 2
            and isinstance(path[-3], cst.Call)
        ):
            # ``webbrowser.open("file://" + page.name)``: the path, spelled another way.
            return self._argument_verdict(path[-3], path[:-1]), path[-3]
        formatted_in = formatted_argument_call(path) if spec.is_path else None
        if formatted_in is not None:
            # ``webbrowser.open(f"file://{fname}")``: only a hand-off counts; a release read
            # from the callee's name (``os.remove(f"{tmp}.lock")``) concerns another path.
            verdict = self._argument_verdict(formatted_in, path[:-2])
            return ("escape", formatted_in) if verdict == "escape" else ("use", None)
        if isinstance(parent, cst.Arg):
            call = grand
            if not isinstance(call, cst.Call):
                return "use", None
            if given_back(self.ctx, spec, path, len(path) - 1) and len(path) > 2:
                # ``lines = iter(f)``: the same file under another name.
                return self.classify(call, path[:-2])
            return self._argument_verdict(call, path), call
        if isinstance(parent, (cst.Return, cst.Yield)):
            return "escape", None
        if isinstance(parent, (cst.Element, cst.DictElement, cst.StarredElement, cst.StarredDictElement)):
            container = grand
            if isinstance(container, (cst.Tuple, cst.List)) and len(path) > 2:
                holder = path[-3]
                if isinstance(holder, (cst.For, cst.CompFor)) or _is_borrowing_arg(self, path, 3):
                    return "use", None
            return "escape", None
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is found:
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            names = [t.value for t in targets if isinstance(t, cst.Name)]
            if len(names) == len(targets):
                return "alias:" + ",".join(names), None
            return self._store_verdict(targets, parent), None
        if isinstance(parent, cst.WithItem):
            statement = grand if isinstance(grand, cst.With) else parent
            return ("release" if self.tracker.with_closes(statement) else "use"), None
        if isinstance(parent, cst.Del) or (isinstance(parent, cst.Tuple) and isinstance(grand, cst.Del)):
            # ``del f`` drops the name; the object is closed only by the garbage collector.
            return "rebind", None
        if isinstance(parent, cst.NamedExpr) and parent.value is found:
            return "alias:" + dotted(parent.target), None  # type: ignore[arg-type,operator]
        return "use", None

    def _store_verdict(self, targets: Sequence[cst.BaseExpression], store: cst.CSTNode) -> str:
        """Storing the resource somewhere else: on ``self`` it is registered with its owner."""
        for target in targets:
            attr = self_attribute(target)
            if attr is not None and self._registers_with_owner(attr, store):
                return "register"
        return "escape"

    def _registers_with_owner(self, attr: str, store: cst.CSTNode) -> bool:
        """True when this method itself calls the method that releases ``self.attr``, so the
        registration does not end its responsibility (the rules document's MEM-003 case).
        Only a call it can still make after the store counts (reached_calls)."""
        releasers = releasers_of(self.ctx, self.scope_class, attr)
        # A method that only wraps ``self.attr`` in another attribute (``self._makefile()``
        # keeping ``SocketIO(self.connection)`` on ``self.rfile``) leaves it the object's.
        wrapping = wrapping_methods(self.ctx, self.scope_class, attr)
        active = (releasers - wrapping) & self.ctx.self_calls_in_scope
        scope = self.ctx.scope
        if active and scope is not None:
            reached = self_calls_after(list(scope.body), store)
            if reached is not None:
                active &= reached
            if released_only_on_failure(scope.body, active, releasers):
                return False  # its cleanup is for a failed call; the object keeps it otherwise
        if active:
            self.tracker.release_self_methods |= active
            return True
        return False

    def _argument_verdict(self, call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> str:
        spec = self.tracker.spec
        func = call.func
        qualified = self.ctx.resolve(func) or ""
        if qualified.startswith("<local>."):  # ``_openfunc(url)`` with ``_openfunc=webbrowser.open``
            qualified = parameter_default_callee(self.ctx, func) or qualified
        if qualified in spec.release_funcs:
            return "release"
        if spec.is_path and qualified in PATH_CONSTRUCTORS and len(path) > 2:
            outer = path[-3] if len(path) > 2 else None
            if isinstance(outer, cst.Attribute) and outer.attr.value in ("unlink", "rmdir"):
                return "release"
        last = func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
        if isinstance(func, cst.Attribute):
            attr = self_attribute(func.value)
            if attr is not None and last in HANDOFF_METHODS and self._registers_with_owner(attr, call):
                return "register"
        if last in HANDOFF_METHODS or qualified in HANDOFF_CALLS or self._deferred_into_handoff(qualified, path):
            return "escape"
        if isinstance(func, cst.Attribute) and last in RECLAIM_METHODS and not (spec.is_path and module_removal(func, qualified)):
            return "reclaim"
        if isinstance(func, cst.Attribute) and dotted(func.value) in self.tracker.names:
            return "use"
        if spec.is_path:
            if any(word in last.lower() for word in ("remove", "unlink", "rmtree", "delete", "cleanup")):
                return "release"
            if self._path_handed_back(path):
                return "escape"
            if qualified in PATH_KEEPERS or last.lstrip("_").startswith(PATH_HANDOFF_PREFIXES):
                # ``webbrowser.open(url)``, ``self.add_file(path)``, ``handle_file(tmp.name)``:
                # the path is given to something that keeps or shows the file.
                return "escape"
            stored = self._path_stored(path)
            if stored:
                return stored
            if removed_in_callee_finally(self.ctx, call, path[-1]) or kept_by_returned_object(self.ctx, call, path[-1], path):
                return "escape"  # the callee removes it on every way out, or the caller gets it
            return "use"
        if qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES):
            return "use"
        if last in KNOWLEDGE.borrowing_methods and local_callee(self.ctx, func) is None:
            return "use"  # ``loop.sock_connect(sock, addr)``; a method of this class is read instead
        if isinstance(path[-1], cst.Arg) and borrowed_argument(qualified, call, path[-1], id(call) in self.with_item_calls):
            return "use"
        if last.startswith("assert") or last in LOGGING_METHODS:
            return "use"
        if path and released_by_callee(self.ctx, call, path[-1], spec.release):
            return "release"  # ``resize_image(image)``, whose top level calls ``img.resize()``
        local = parameter_behaviour(self.ctx, qualified, call, path)
        if local is not None:
            return local
        if self.tracker.release_self_methods:
            # Registered with its owner, whose helper this scope calls: the scope has taken
            # on the release, and lending the value to a call does not pass that on.
            return "use"
        if kept_by_local_holder(self.ctx, call, path):
            return "use"  # ``finder = Finder(session)``, and ``finder`` never leaves
        return "escape"

    def _deferred_into_handoff(self, qualified: str, path: Tuple[cst.CSTNode, ...]) -> bool:
        """``stack.callback(functools.partial(os.unlink, p))``: the wrapped call is registered
        for later, so ``p`` is handed off as in ``stack.callback(os.unlink, p)``."""
        if qualified not in DEFERRING_CALLS or len(path) < 4:
            return False
        outer_arg, outer = path[-3], path[-4]
        if not (isinstance(outer_arg, cst.Arg) and isinstance(outer, cst.Call)):
            return False
        func = outer.func
        last = func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
        return last in HANDOFF_METHODS or (self.ctx.resolve(func) or "") in HANDOFF_CALLS

    def holder_handed_on(self, found: cst.CSTNode, path: Tuple[cst.CSTNode, ...]) -> bool:
        """Whether this mention gives the object that owns the tracked path to someone else."""
        parent = path[-1] if path else None
        if isinstance(parent, (cst.Return, cst.Yield, cst.Element, cst.DictElement)):
            return True
        if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is found:
            return True
        if isinstance(parent, cst.Arg) and len(path) > 1 and isinstance(path[-2], cst.Call):
            qualified = self.ctx.resolve(path[-2].func) or ""  # type: ignore[attr-defined]
            return not (qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES))
        return False

    def _path_stored(self, path: Tuple[cst.CSTNode, ...]) -> str:
        """``self.path = os.path.join(folder, name)``: the object keeps a path inside the
        tracked one (an escape); ``target = os.path.join(folder, name)``: an alias."""
        for index in range(len(path) - 1, -1, -1):
            node = path[index]
            if isinstance(node, cst.Arg):
                continue
            if isinstance(node, cst.Call) and (self.ctx.resolve(node.func) or "") in PATH_WRAPPERS:
                continue
            if isinstance(node, cst.Attribute) and node.attr.value in PATH_METHODS:
                continue  # ``Path(p).resolve()``: the same file
            if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) and node.func.attr.value in PATH_METHODS:
                continue
            if isinstance(node, cst.Call) and index < len(path) - 1 and isinstance(path[index + 1], cst.Arg):
                last = node.func.attr.value if isinstance(node.func, cst.Attribute) else dotted(node.func) or ""
                if last in HANDOFF_METHODS or last.lstrip("_").startswith(PATH_HANDOFF_PREFIXES):
                    return "escape"  # ``self.files.add(str(Path(p).resolve()))``
                return ""
            if isinstance(node, (cst.Assign, cst.AnnAssign)) and index < len(path) - 1 and node.value is path[index + 1]:
                targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
                if any(self_attribute(t) for t in targets):
                    return "escape"
                names = [t.value for t in targets if isinstance(t, cst.Name)]
                if names and len(names) == len(targets):
                    return "alias:" + ",".join(names)
            return ""
        return ""

    def _path_handed_back(self, path: Tuple[cst.CSTNode, ...]) -> bool:
        """``yield Path(tmp)``, ``return os.path.join(tmp, name)``, ``return fill(tmp)`` with a
        module function that returns that argument: the caller gets the path."""
        argument: Optional[cst.CSTNode] = None
        for node in reversed(path):
            if isinstance(node, (cst.Return, cst.Yield)):
                return True
            if isinstance(node, cst.Arg):
                argument = node
                continue
            if isinstance(node, cst.Call) and (
                (self.ctx.resolve(node.func) or "") in PATH_WRAPPERS
                or (argument is not None and returns_its_argument(self.ctx, node, argument))
            ):
                continue
            return False
        return False


def _is_borrowing_arg(interpreter: Mentions, path: Tuple[cst.CSTNode, ...], depth: int) -> bool:
    if len(path) <= depth:
        return False
    arg = path[-depth]
    if isinstance(arg, cst.Arg) and len(path) > depth and isinstance(path[-depth - 1], cst.Call):
        call = path[-depth - 1]
        qualified = interpreter.ctx.resolve(call.func) or ""  # type: ignore[attr-defined]
        return qualified in BORROWERS or qualified.startswith(BORROWER_PREFIXES)
    return False


def _moves_by_one_argument(spec: ResourceSpec, method: str, call: cst.Call) -> bool:
    """``partial.replace(target)`` on a temporary path moves it away (knowledge's
    ``release_with_one_argument``); with two arguments it would be a str's replace."""
    model = KNOWLEDGE.models.get(spec.model or "")
    return model is not None and method in model.release_with_one_argument and len(call.args) == 1


_PATH_REMOVERS = frozenset({"os.remove", "os.unlink", "os.rmdir", "shutil.rmtree"})


def _removed_by_name(spec: ResourceSpec, attribute: str, call: cst.CSTNode) -> bool:
    """``delete(tmpdir.name)``: the attribute is the resource's path (the functions that
    remove or move it are known for it) and the callee is named for removal, as a temporary
    path handed to such a helper is removed."""
    if not isinstance(call, cst.Call) or not any(
        attr == attribute and callee in _PATH_REMOVERS for attr, callee in spec.attribute_release_funcs
    ):
        return False
    func = call.func
    last = func.attr.value if isinstance(func, cst.Attribute) else (func.value if isinstance(func, cst.Name) else "")
    return any(word in last.lower() for word in ("remove", "unlink", "rmtree", "delete"))


# Keywords of urllib3's ``HTTPResponse.read`` that leave the amount at None (read to the end).
_READ_ALL_KEYWORDS = frozenset({"decode_content", "cache_content"})


def _reads_all(call: cst.CSTNode) -> bool:
    """``raw.read()`` with no amount (``"raw:read()"`` in ``release_methods_of_attribute``)."""
    return isinstance(call, cst.Call) and all(
        arg.keyword is not None and not arg.star and arg.keyword.value in _READ_ALL_KEYWORDS for arg in call.args
    )
