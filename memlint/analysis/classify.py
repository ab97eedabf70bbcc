"""Stage 2, the acquisition classifier: which calls create a resource, and of what kind.

``acquisition_spec`` answers for one call, from the knowledge tables
(``memlint/knowledge/*.toml``), the configured resources, and what the module facts
know (module-local factories and resource classes, names bound to paths or archives).
"""

from __future__ import annotations

from typing import Optional, Set

import libcst as cst

from memlint.analysis.borrowed_files import reads_with_opened_file
from memlint.analysis.delayed_opens import opened_later
from memlint.analysis.file_object_readers import reads_a_file_object
from memlint.analysis.facts import CONTEXT_MANAGER_DECORATORS, PYTEST_FIXTURES, SMALL_CONTAINERS, ModuleContext, Scope, decorator_names
from memlint.analysis.names import dotted, iter_statements
from memlint.analysis.given_client import bound_only_to_calls, made_by_its_class
from memlint.analysis.enabling_parameters import left_off
from memlint.analysis.optional_acquisitions import given_a_value
from memlint.analysis.resources import (
    BORROWS_FILE_A_WITH_OPENED,
    BORROWS_GIVEN_FILE,
    IN_MEMORY_WRAPPERS,
    KEEPS_FILE,
    KEYWORD_ONLY_CONSTRUCTORS,
    KNOWLEDGE,
    RECEIVER_MODELS,
    MAY_BE_DETACHED,
    MEMORY_BUFFERS,
    PATH_CONSTRUCTORS,
    PATH_METHODS,
    READS_A_FILE_OBJECT,
    ResourceSpec,
)
from memlint.analysis.declared_types import parameter_annotation, receiver_is_another_class
from memlint.analysis.reaching_bindings import reaching_value
from memlint.analysis.walk import find


def acquisition_spec(ctx: ModuleContext, call: cst.Call, scope: Scope) -> Optional[ResourceSpec]:
    """The kind of resource ``call`` creates, or None when it creates none."""
    func = call.func
    if isinstance(func, cst.Name):
        last = func.value
    elif isinstance(func, cst.Attribute):
        last = func.attr.value
    else:
        return None
    if last not in ctx.candidates and last not in ctx.factories and last not in ctx.resource_classes:
        if not (scope.class_info and last in scope.class_info.factories):
            return None
    name = dotted(func)
    if name is not None:
        qualified = ctx.resolve(func) or name
        spec = ctx.table.get(qualified)
        if spec is not None:
            if not _condition_holds(spec, call) or _works_through_given(ctx, spec, call, scope):
                return None
            if qualified in KEYWORD_ONLY_CONSTRUCTORS and any(arg.keyword is None and not arg.star for arg in call.args):
                # ``openai.OpenAI(model, key)``: a constructor of keyword arguments only raises
                # TypeError when given a positional one, so nothing is made (or the name is another callable's).
                return None
            if qualified in IN_MEMORY_WRAPPERS and _over_memory_buffer(ctx, call, scope):
                return None
            if qualified in MAY_BE_DETACHED and _detached(call):
                return None
            if qualified in BORROWS_GIVEN_FILE and _given_file_object(call, scope):
                return None
            if qualified in BORROWS_FILE_A_WITH_OPENED and reads_with_opened_file(call, scope):
                return None
            if qualified in READS_A_FILE_OBJECT and reads_a_file_object(ctx, qualified, call, scope):
                return None
            return opened_later(spec, call, qualified)
        if isinstance(func, cst.Name):
            if name in ctx.factories:
                factory = ctx.factories[name]
                if factory.not_when_given[0] and given_a_value(factory.not_when_given, call, scope.body):
                    return None  # ``dump_artifact(obj, path, "env")``: writes that named file
                if factory.only_when_given[0] and left_off(factory.only_when_given, call):
                    return None  # ``get_env("PORT")`` without ``expand=True``: a plain value
                return factory
            if name in ctx.resource_classes:
                return ctx.resource_classes[name]
        if scope.class_info is not None and name.startswith("self.") and name.count(".") == 1:
            method = scope.class_info.factories.get(last)
            if method is not None and not (method.only_when_given[0] and left_off(method.only_when_given, call)):
                return method
    if isinstance(func, cst.Attribute):
        # Methods that return a new resource (``path.open()``, ``server.accept()``), in the
        # order the knowledge files list them.
        for method in KNOWLEDGE.method_acquisitions.get(last, ()):
            if method.arguments == "mode-string" and not _socket_makefile_call(call):
                continue
            if method.receiver == "any" and receiver_is_another_class(ctx, scope, method.model, func.value):
                continue  # ``channel: Channel`` then ``channel.makefile("r")``: the channel's own
            if method.arguments == "none" and call.args:
                continue  # ``proto.accept(protos, reader=r)`` is not ``socket.accept()``
            if not _condition_holds(method.spec, call):
                continue
            if method.receiver == "any" or _receiver_is(ctx, method.receiver, func.value, scope):
                return method.spec
    return None


def _receiver_is(ctx: ModuleContext, receiver: str, node: cst.BaseExpression, scope: Scope) -> bool:
    if receiver == "path":
        return is_path(ctx, node, scope)
    return is_made_by(ctx, receiver, node, scope)


def is_path(ctx: ModuleContext, node: cst.BaseExpression, scope: Scope) -> bool:
    """Whether ``node`` is known to be a pathlib path."""
    if isinstance(node, cst.Call):
        qualified = ctx.resolve(node.func) or ""
        if qualified in PATH_CONSTRUCTORS:
            return True
        if isinstance(node.func, cst.Attribute) and node.func.attr.value in PATH_METHODS:
            return is_path(ctx, node.func.value, scope)
        return False
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Divide):
        return True
    if isinstance(node, cst.Attribute) and node.attr.value == "parent":
        return is_path(ctx, node.value, scope)
    if isinstance(node, cst.Name):
        return node.value in scope.path_names
    return False


def is_made_by(ctx: ModuleContext, model: str, node: cst.BaseExpression, scope: Scope) -> bool:
    """Whether ``node`` is known to be a resource of ``model`` (a zip archive whose
    ``.open()`` gives a member, an SFTP client made by ``ssh.open_sftp()``)."""
    if isinstance(node, cst.Await):
        node = node.expression
    if isinstance(node, cst.Call):
        if (ctx.resolve(node.func) or "") in KNOWLEDGE.models[model].acquired_by:
            return True
        if isinstance(node.func, cst.Attribute):
            for method in KNOWLEDGE.method_acquisitions.get(node.func.attr.value, ()):
                if method.model.name == model and (
                    method.receiver == "any" or (method.receiver != "path" and is_made_by(ctx, method.receiver, node.func.value, scope))
                ):
                    return True
        return False
    return isinstance(node, cst.Name) and node.value in scope.receiver_names.get(model, ())


def _condition_holds(spec: ResourceSpec, call: cst.Call) -> bool:
    """``requests.get(url, stream=True)`` acquires; ``requests.get(url)`` does not."""
    model = KNOWLEDGE.models.get(spec.model)
    if model is not None and model.not_when_keyword_false and any(
        arg.keyword is not None and arg.keyword.value == model.not_when_keyword_false and dotted(arg.value) == "False"
        for arg in call.args
    ):
        return False  # ``os.fdopen(fd, closefd=False)``: the wrapper does not own the descriptor
    if model is not None and any(_given_constant(call, entry) for entry in model.not_with_constant):
        return False  # ``QdrantClient(":memory:")``: the data lives in the process's memory
    if model is None or not model.only_when_keyword_true:
        return True
    return any(
        arg.keyword is not None and arg.keyword.value == model.only_when_keyword_true and dotted(arg.value) == "True"
        for arg in call.args
    )

def _given_constant(call: cst.Call, entry: str) -> bool:
    """``location@0=:memory:``: the call passes that string as ``location=`` or first."""
    name_position, _, constant = entry.partition("=")
    name, _, position = name_position.partition("@")
    positional = [arg for arg in call.args if arg.keyword is None and not arg.star]
    for arg in call.args:
        given = (arg.keyword is not None and arg.keyword.value == name) or (
            position.isdigit() and int(position) < len(positional) and positional[int(position)] is arg
        )
        if given and isinstance(arg.value, cst.SimpleString) and arg.value.evaluated_value == constant:
            return True
    return False


def _works_through_given(ctx: ModuleContext, spec: ResourceSpec, call: cst.Call, scope: Scope) -> bool:
    """``Redis(connection_pool=pool)``: the connections are the given pool's, and the pool
    belongs to whoever made it. Only when the value is surely a pool: a call that acquires
    nothing here (``shared_http_client()``) or a local name that is no parameter. A parameter
    or an attribute (``http_client=self.config.http_client``) may be None, and then the
    client makes its own; a pool made right in the call is held by the client alone."""
    model = KNOWLEDGE.models.get(spec.model)
    if model is None or not model.not_when_keyword_given:
        return False
    if (ctx.resolve(call.func) or "") not in model.acquired_by:
        return False  # a project function wrapping the constructor: its keyword is its own parameter
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value in model.not_when_keyword_given:
            value = arg.value
            if isinstance(value, cst.Call):
                return (ctx.resolve(value.func) or "") not in ctx.table
            if model.closes_given_client:
                # Its release closes the given client too: one made fresh here is its own.
                # a local bound only to calls that acquire nothing here is borrowed; one made
                # fresh here, or that may be None (the SDK then makes its own), is not.
                if isinstance(value, cst.Name):
                    return value.value not in _parameters(scope) and bound_only_to_calls(ctx, scope, value.value)
                return made_by_its_class(ctx, scope, value)
            return isinstance(value, cst.Name) and value.value not in _parameters(scope)
    return False


def _parameters(scope: Scope) -> Set[str]:
    function = scope.node
    if not isinstance(function, cst.FunctionDef):
        return set()
    params = function.params
    every = list(params.posonly_params) + list(params.params) + list(params.kwonly_params)
    every += [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return {param.name.value for param in every}


def _socket_makefile_call(call: cst.Call) -> bool:
    """``sock.makefile("rb")``, not some other ``makefile`` (``TarFile.makefile(info, path)``)."""
    func = call.func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return False
    positional = [arg for arg in call.args if arg.keyword is None]
    return len(positional) <= 1 and all(isinstance(arg.value, (cst.SimpleString, cst.ConcatenatedString)) for arg in positional)


# The names these constructors give their file-object parameter (``wave.open(f=...)``,
# ``Image.open(fp=...)``).
_FILE_KEYWORDS = ("f", "fp", "file", "fileobj")


def _given_file_object(call: cst.Call, scope: "Scope") -> bool:
    """``wave.open(f)`` on a file object the caller passed in does not own that file (also
    given by the keyword of a file parameter, ``Image.open(fp=buf)``)."""
    given = [
        arg for index, arg in enumerate(call.args)
        if (arg.keyword is None and index == 0) or (arg.keyword is not None and arg.keyword.value in _FILE_KEYWORDS)
    ]
    if len(given) != 1 or given[0].star:
        return False
    first = given[0].value
    if not isinstance(first, cst.Name):
        return False
    if not scope.params and isinstance(scope.node, cst.FunctionDef):
        # Factories are found before the scopes are filled: there only a parameter declared a
        # file object counts (``buf: IO[bytes]``); an undeclared ``img`` may be a path.
        return _declared_file_object(scope.node, first.value)
    if first.value not in scope.params:
        return False
    name = first.value.lower()
    return not any(word in name for word in ("path", "name"))


# Annotations that declare a file object (also subscripted: ``IO[bytes]``).
_FILE_OBJECT_TYPES = frozenset(("IO", "BinaryIO", "TextIO", "BytesIO", "StringIO", "IOBase", "BufferedIOBase", "RawIOBase"))


def _declared_file_object(function: cst.FunctionDef, name: str) -> bool:
    declared = parameter_annotation(function, name)
    if declared is None:
        return False
    if isinstance(declared, cst.Subscript):
        declared = declared.value
    return (dotted(declared) or "").split(".")[-1] in _FILE_OBJECT_TYPES


def _detached(call: cst.Call) -> bool:
    """A child started in its own session on purpose outlives its parent: not a leak."""
    for arg in call.args:
        if arg.keyword is None:
            continue
        key = arg.keyword.value
        if key == "start_new_session" and dotted(arg.value) == "True":
            return True
        if key == "preexec_fn" and (dotted(arg.value) or "").endswith("setsid"):
            return True
        if key == "creationflags" and "DETACHED" in (dotted(arg.value) or "") + _text_of(arg.value):
            return True
    return False


def _text_of(node: cst.CSTNode) -> str:
    return " ".join(n.value for n, _ in find(node, (cst.Name,)))  # type: ignore[attr-defined]


def _over_memory_buffer(ctx: "ModuleContext", call: cst.Call, scope: Optional[Scope] = None) -> bool:
    for arg in call.args:
        if arg.keyword is None or arg.keyword.value in ("file", "fileobj", "f", "fp", "filename"):
            value = arg.value
            if _is_memory_buffer(ctx, value):
                return True
            if isinstance(value, cst.Name) and scope is not None and _bound_to_memory_buffer(ctx, value.value, scope, call):
                return True
            if arg.keyword is None:
                break
    return False


def _is_memory_buffer(ctx: "ModuleContext", value: cst.CSTNode) -> bool:
    return isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") in MEMORY_BUFFERS


def _bound_to_memory_buffer(ctx: "ModuleContext", name: str, scope: Scope, call: cst.Call) -> bool:
    """``data = BytesIO(raw)`` is the binding of ``name`` that reaches ``call``
    (``img = BytesIO(img); img = Image.open(img)``), or every binding of it in the scope."""
    reaching = reaching_value(list(scope.body), call, name)
    if isinstance(reaching, cst.BaseExpression):
        return _is_memory_buffer(ctx, reaching)
    values = []
    for statement in iter_statements(list(scope.body), into_functions=False):
        for small in getattr(statement, "body", ()) if isinstance(statement, cst.SimpleStatementLine) else ():
            if isinstance(small, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else [small.target]
                if any(isinstance(t, cst.Name) and t.value == name for t in targets):
                    values.append(small.value)
        if isinstance(statement, cst.For) and name in _text_of(statement.target).split():
            return False  # also bound by a loop
        if isinstance(statement, cst.With) and any(item.asname and name in _text_of(item.asname).split() for item in statement.items):
            return False  # also bound by ``with ... as``
    return bool(values) and all(value is not None and _is_memory_buffer(ctx, value) for value in values)


def keeps_file(ctx: ModuleContext, call: cst.Call) -> bool:
    """``NamedTemporaryFile(delete=False)``: the file outlives the handle."""
    if (ctx.resolve(call.func) or "") not in KEEPS_FILE:
        return False
    return any(
        arg.keyword is not None and arg.keyword.value == "delete" and dotted(arg.value) == "False" for arg in call.args
    )


def fill_scope_names(ctx: ModuleContext, scope: Scope) -> None:
    """Local names known to hold a pathlib path or a zip archive."""
    if isinstance(scope.node, cst.FunctionDef):
        every = scope.node.params
        scope.params = {p.name.value for p in list(every.params) + list(every.posonly_params) + list(every.kwonly_params)}
        decorators = decorator_names(ctx, scope.node)
        # pytest runs a fixture's code after ``yield`` as its teardown whether the test
        # passed or not, so a yield there is no exit either.
        scope.is_context_manager = bool(decorators & (CONTEXT_MANAGER_DECORATORS | PYTEST_FIXTURES))
        for param in scope.node.params.params:
            annotation = param.annotation
            if annotation is not None and (dotted(annotation.annotation) or "").split(".")[-1] in ("Path", "PurePath", "PosixPath"):
                scope.path_names.add(param.name.value)
    for statement in iter_statements(list(scope.body), into_functions=False):
        if isinstance(statement, SMALL_CONTAINERS):
            for small in statement.body:
                if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
                    name = small.targets[0].target.value
                    if isinstance(small.value, (cst.Dict, cst.List, cst.Set)) or (
                        isinstance(small.value, cst.Call) and dotted(small.value.func) in ("dict", "list", "set")
                    ):
                        scope.containers.add(name)
                    if is_path(ctx, small.value, scope):
                        scope.path_names.add(name)
                    else:
                        _note_receiver(ctx, small.value, name, scope)
        elif isinstance(statement, cst.For) and isinstance(statement.target, cst.Name):
            iterator = statement.iter
            if isinstance(iterator, cst.Call) and isinstance(iterator.func, cst.Attribute):
                if iterator.func.attr.value in ("glob", "rglob", "iterdir") and is_path(ctx, iterator.func.value, scope):
                    scope.path_names.add(statement.target.value)
        elif isinstance(statement, cst.With):
            for item in statement.items:
                if item.asname is not None and isinstance(item.asname.name, cst.Name):
                    _note_receiver(ctx, item.item, item.asname.name.value, scope)


def _note_receiver(ctx: ModuleContext, value: cst.BaseExpression, name: str, scope: Scope) -> None:
    """Remember that ``name`` holds a resource whose methods acquire (``zf = ZipFile(p)``).
    Not one that holds nothing (``ZipFile(f)`` reading a file object it was given): what its
    methods make share that object and close nothing of it (zipfile's ``_fpclose`` keeps a
    ``_filePassed`` file open)."""
    if isinstance(value, cst.Call) and (ctx.resolve(value.func) or "") in ctx.table and acquisition_spec(ctx, value, scope) is None:
        return
    for model in RECEIVER_MODELS:
        if is_made_by(ctx, model, value, scope):
            scope.receiver_names.setdefault(model, set()).add(name)
            return
