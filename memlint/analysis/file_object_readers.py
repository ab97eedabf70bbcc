"""Archive readers built over a file object: they own no descriptor.

``zipfile.ZipFile(f)`` and ``tarfile.open(fileobj=f)`` given a file object (not a path)
keep a reference to it and open nothing of their own: ``ZipFile`` marks the object
``_filePassed`` and its ``close()`` leaves it open; ``TarFile`` marks it ``_extfileobj``
(the gzip/bz2/xz layer it may put in between is in memory over the same object). Opened to
read, their ``close()`` therefore only drops references, so an archive that is never closed
leaks nothing; whoever opened ``f`` owns the only descriptor there is. Opened to write or
append, ``close()`` still writes the end of the archive: those stay resources.

Whether the argument is a file object rather than a path is decided from the code, never
from a name: a keyword that only takes a file object (``fileobj=``), a test around the call
that the argument has a file's methods (``if hasattr(data, "read"):``, ``isinstance(data,
io.IOBase)``), or a binding of the name to a call the knowledge says opens a file (whose
own leak, if any, is reported on that call). Which callables read so, and where their file
argument sits: ``hold_nothing_reading_a_file_object`` and ``borrowed_params`` of the
knowledge (``stdlib-io.toml``); their mode is the stdlib's ``mode`` (second positional).
"""

from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from memlint.analysis.declared_types import parameter_annotation
from memlint.analysis.facts import ModuleContext, Scope
from memlint.analysis.names import dotted, iter_statements
from memlint.analysis.reaching_bindings import reaching_value
from memlint.analysis.resources import BORROWED_PARAMS, KNOWLEDGE
from memlint.analysis.walk import find

# Methods only a file object has (a path string has none of them).
_FILE_METHODS = frozenset({"read", "readinto", "write", "seek", "tell", "fileno"})
# Annotations that declare a file object (also subscripted, ``IO[bytes]``; also ``X | None``,
# ``Optional[X]``: None is no path either).
_FILE_OBJECT_TYPES = frozenset(("IO", "BinaryIO", "TextIO", "BytesIO", "StringIO", "IOBase", "BufferedIOBase",
                                "RawIOBase", "BufferedReader", "BufferedRandom", "TextIOWrapper", "SpooledTemporaryFile"))
# Classes an ``isinstance`` test names when it means "a file object".
_FILE_CLASS_WORDS = ("IOBase", "BufferedIOBase", "RawIOBase", "BufferedReader", "BufferedRandom", "BinaryIO", "IO", "TextIOWrapper")


def reads_a_file_object(ctx: ModuleContext, qualified: str, call: cst.Call, scope: Scope) -> bool:
    """Whether ``call`` (of the reader ``qualified``) reads an archive from a file object it
    was given, in read mode: it then holds nothing of its own."""
    if not _read_mode(call):
        return False
    for keyword, position in BORROWED_PARAMS.get(qualified, ()):
        value = _argument(call, keyword, position)
        if value is None:
            continue
        if position < 0:
            # A keyword that takes only a file object (``fileobj=``): given a value, it is one.
            return not (isinstance(value, cst.Name) and value.value == "None")
        if _is_file_object(ctx, value, scope, call):
            return True
    return False


def _read_mode(call: cst.Call) -> bool:
    """No mode given, or a literal mode that reads (``"r"``, ``"r:gz"``, ``"r|*"``)."""
    for position, arg in enumerate(call.args):
        if arg.star:
            return False
        if (arg.keyword is not None and arg.keyword.value == "mode") or (arg.keyword is None and position == 1):
            value = arg.value
            return isinstance(value, cst.SimpleString) and str(value.evaluated_value).startswith("r")
    return True


def _argument(call: cst.Call, keyword: str, position: int) -> Optional[cst.BaseExpression]:
    for index, arg in enumerate(call.args):
        if arg.star:
            return None
        if arg.keyword is not None and arg.keyword.value == keyword:
            return arg.value
        if arg.keyword is None and position >= 0 and index == position:
            return arg.value
    return None


def _is_file_object(ctx: ModuleContext, value: cst.BaseExpression, scope: Scope, call: cst.Call) -> bool:
    if _opens_a_file(ctx, value):
        return True
    if not isinstance(value, cst.Name):
        return False
    if _tested_as_file_object(value.value, call, _ancestors(call, scope)):
        return True
    if _declared_file_object(value.value, scope):
        return True
    reaching = reaching_value(list(scope.body), call, value.value)
    return isinstance(reaching, cst.BaseExpression) and _opens_a_file(ctx, reaching)


def _ancestors(call: cst.Call, scope: Scope) -> Tuple[cst.CSTNode, ...]:
    for node, path in find(cst.IndentedBlock(body=tuple(scope.body)), (cst.Call,)):  # type: ignore[arg-type]
        if node is call:
            return tuple(path)
    return ()


def _opens_a_file(ctx: ModuleContext, value: cst.CSTNode) -> bool:
    """A call the knowledge says makes an object that is no path (``open(p, "rb")``,
    ``NamedTemporaryFile()``; not ``mkdtemp()``, whose value is a path)."""
    if not isinstance(value, cst.Call):
        return False
    spec = ctx.table.get(ctx.resolve(value.func) or "")
    if spec is None:
        return False
    model = KNOWLEDGE.models.get(spec.model)
    return model is not None and not model.is_path


def _tested_as_file_object(name: str, call: cst.Call, path: Tuple[cst.CSTNode, ...]) -> bool:
    """The call sits where a test of the enclosing ``if`` says ``name`` is a file object:
    the body of ``if hasattr(name, "read") [and ...]:`` or the ``else`` of ``if not ...:``."""
    child: cst.CSTNode = call
    for node in reversed(path):
        if isinstance(node, cst.If):
            if child is node.body and _says_file_object(node.test, name, positive=True):
                return True
            if child is node.orelse and _says_file_object(node.test, name, positive=False):
                return True
        child = node
    return False


def _says_file_object(test: cst.BaseExpression, name: str, positive: bool) -> bool:
    """Whether ``test`` being true (``positive``) or false proves ``name`` a file object."""
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return _says_file_object(test.expression, name, not positive)
    if isinstance(test, cst.BooleanOperation):
        # ``a and b`` true makes both true; ``a or b`` false makes both false.
        if isinstance(test.operator, cst.And) if positive else isinstance(test.operator, cst.Or):
            return _says_file_object(test.left, name, positive) or _says_file_object(test.right, name, positive)
        return False
    return positive and _file_object_check(test, name)


def _file_object_check(test: cst.BaseExpression, name: str) -> bool:
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name) and len(test.args) == 2):
        return False
    subject, what = test.args[0].value, test.args[1].value
    if not (isinstance(subject, cst.Name) and subject.value == name):
        return False
    if test.func.value == "hasattr":
        return isinstance(what, cst.SimpleString) and what.evaluated_value in _FILE_METHODS
    if test.func.value == "isinstance":
        classes = what.elements if isinstance(what, cst.Tuple) else ()
        names = [element.value for element in classes] if classes else [what]
        return bool(names) and all(_names_a_file_class(node) for node in names)
    return False


def _names_a_file_class(node: cst.BaseExpression) -> bool:
    last = node.attr.value if isinstance(node, cst.Attribute) else (node.value if isinstance(node, cst.Name) else "")
    return last in _FILE_CLASS_WORDS


def _declared_file_object(name: str, scope: Scope) -> bool:
    """``name`` is declared a file object in the function: its parameter annotation, or every
    annotated binding of it in the body (``file_object: BinaryIO | None = None``), names only
    file-object types (and None). A declaration a type checker holds the code to: no path."""
    function = scope.node if isinstance(scope.node, cst.FunctionDef) else None
    declared = [parameter_annotation(function, name)] if function is not None else []
    for statement in iter_statements(list(scope.body), into_functions=False):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.target.value == name:
                    declared.append(small.annotation.annotation)
    found = [annotation for annotation in declared if annotation is not None]
    return bool(found) and all(_file_object_type(annotation) for annotation in found)


def _file_object_type(annotation: cst.BaseExpression) -> bool:
    if isinstance(annotation, cst.BinaryOperation) and isinstance(annotation.operator, cst.BitOr):
        return _union_of_file_objects([annotation.left, annotation.right])
    if isinstance(annotation, cst.Subscript):
        outer = (dotted(annotation.value) or "").split(".")[-1]
        if outer in ("Optional", "Union"):
            return _union_of_file_objects([element.slice.value for element in annotation.slice if isinstance(element.slice, cst.Index)])
        return outer in _FILE_OBJECT_TYPES
    if isinstance(annotation, cst.SimpleString):
        return False  # a string annotation is not read here
    return (dotted(annotation) or "").split(".")[-1] in _FILE_OBJECT_TYPES


def _union_of_file_objects(members: List[cst.BaseExpression]) -> bool:
    """Members that are each a file-object type or None, not all of them None."""
    return bool(members) and all(_file_object_type(m) or _is_none(m) for m in members) and not all(_is_none(m) for m in members)


def _is_none(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"
