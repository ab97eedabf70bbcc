"""Stage 0, the project index: which functions and classes of the checked project make a
resource, so that calling them from another module counts as acquiring one.

memlint analyses one file at a time (in worker processes, behind a result cache), and a
file alone cannot say that ``sessions.session()`` or ``self._build_session()`` (a method
of a base class in another module) returns a ``requests.Session``. Before the files are
checked, this stage summarises, with ``ast`` only and lazily (a module is read the first
time a checked file imports it), the modules of the project that a checked file imports:

- a function that returns what a known acquisition made (``return socket.socket()``,
  ``sock = create_connection(...); return sock``; a tuple whose items include one), or
  what another summarised function of the project returns;
- a class whose base is a known resource type (``class PipSession(requests.Session)``),
  or that the package re-exports under a name the knowledge files know
  (``requests.Session`` is ``requests.sessions.Session``);
- the methods of a class that return a resource, inherited ones included.

The facts it produces, per checked file, are "name as the file resolves it -> summary"
pairs (``SummaryEntry``), only for the modules the file imports. They travel to the
worker in the file's ``RuleOptions.project_resources`` and are part of the file's cache
key, so a change in a module the file uses (its summary) invalidates the file's result.
A summary is a knowledge model name (``"socket"``), or ``"0=temporary-file"`` for the
parts of a returned tuple.
"""

from __future__ import annotations

import ast
import os
import re
from typing import Any, Dict, FrozenSet, Iterable, List, Optional, Set, Tuple

from memlint.analysis.ast_scopes import kept_by_container, walk
from memlint.analysis.list_cells import cell_key, list_cell_calls
from memlint.analysis.project_owned import (
    chain_releases,
    class_chain,
    own_nodes,
    project_class,
    wraps_released_attribute,
)
from memlint.analysis.project_inert import INERT_MARK, inert_release_methods_named, inert_release_methods_of
from memlint.analysis.project_quiet import QUIET_MARK, project_callable_is_quiet
from memlint.analysis.project_scan import (
    absolute_module,
    attributes_read,
    called_or_inherited,
    defined_or_imported_words,
    defines_or_imports,
    imported_prefixes,
    is_word,
    module_location,
    package_fingerprint,
    star_imported_bases,
)
from memlint.analysis.property_setters import add_setter_entry, setter_entries
from memlint.analysis.released_attributes import released_attributes
from memlint.analysis.resources import (
    KNOWLEDGE,
    RESOURCE_CALLS,
    SUBCLASS_BASES,
    ResourceSpec,
    made_only_in_context,
)
from memlint.analysis.stored_values import stored_names

# One fact of the index: (the name as the importing file resolves it, the summary).
SummaryEntry = Tuple[str, str]
# Appended to a class's name for the fact "these attributes of self are released by these
# methods" (summary ``"_conn:close;sock:close"``), read by the ownership stage.
RELEASES_MARK = "#releases"

# The release methods that make a value a resource known by its release (``inferred.py``).
_INFERRED_VERBS = tuple(sorted(KNOWLEDGE.inferred_release_verbs))
# Decorators after which a function's return value is not what a call gives.
_NOT_FACTORIES = frozenset({"contextmanager", "asynccontextmanager", "property", "cached_property", "fixture"})
# Summaries follow calls into other modules this deep (a factory calling a factory).
_MAX_DEPTH = 3
# Modules bigger than this are not summarised (generated tables, vendored bundles).
_MAX_MODULE_BYTES = 2_000_000


_TOP_DEFINITION = re.compile(r"^(?:async[ \t]+)?(def|class)[ \t]+(\w+)", re.M)
_TOP_IMPORT = re.compile(
    r"^(?:from[ \t]+[.\w]+[ \t]+import[ \t]+(?:\([^)]*\)|(?:[^\n\\]|\\\r?\n)*)|import[ \t]+[^\n]*)", re.M
)
# After a top-level definition, the next line that starts a statement at column 0.
_NEXT_TOP_STATEMENT = re.compile(r"^[A-Za-z_@]", re.M)


class _Definitions:
    """The module's top-level functions (or classes) by name, parsed one at a time when
    asked for: a module is read for a few names, and parsing all of it costs most."""

    def __init__(self, module: "_Module", kind: str) -> None:
        self.module = module
        self.kind = kind

    def __contains__(self, name: object) -> bool:
        return self.module.kinds.get(name) == self.kind  # type: ignore[arg-type]

    def __getitem__(self, name: str) -> ast.AST:
        # A name seen at column 0 that does not parse as a definition (inside a string, say)
        # gives an empty node, which no summary takes for a function or a class.
        node = self.module.definition(name)
        return node if node is not None else ast.Pass()


class _Module:
    """One summarised module: its import table and what its names make. Only its import
    lines are parsed up front; a function or class is parsed when a summary needs it (the
    whole module only when a definition alone does not parse)."""

    def __init__(self, name: str, is_init: bool, text: str) -> None:
        self.name = name
        self.is_init = is_init
        self.text = text
        self.aliases: Dict[str, str] = {}
        # name -> "def" or "class" (the last top-level definition wins, as at run time)
        self.kinds: Dict[str, str] = {}
        self.starts: Dict[str, int] = {}
        for match in _TOP_DEFINITION.finditer(text):
            self.kinds[match.group(2)] = match.group(1)
            self.starts[match.group(2)] = match.start()
        self._parsed: Dict[str, Optional[ast.AST]] = {}
        self._whole: Optional[Dict[str, ast.AST]] = None
        imports = "\n".join(match.group(0) for match in _TOP_IMPORT.finditer(text))
        try:
            statements = ast.parse(imports).body
        except (SyntaxError, ValueError):
            statements = [node for node in self._tree_body() if isinstance(node, (ast.Import, ast.ImportFrom))]
        for node in statements:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".", 1)[0]
                        self.aliases.setdefault(head, head)
            elif isinstance(node, ast.ImportFrom):
                written = "." * node.level + (node.module or "")
                source = absolute_module(written, name, is_init)
                for alias in node.names:
                    if alias.name != "*":
                        self.aliases[alias.asname or alias.name] = f"{source}.{alias.name}" if source else alias.name

    # Views made when asked: a view kept on the module would be a reference cycle, keeping
    # its parsed definitions alive until a garbage collection.
    functions = property(lambda self: _Definitions(self, "def"))
    classes = property(lambda self: _Definitions(self, "class"))

    def definition(self, name: str) -> Optional[ast.AST]:
        """The top-level ``def`` or ``class`` called ``name``, parsed on its own."""
        if name in self._parsed:
            return self._parsed[name]
        node: Optional[ast.AST] = None
        start = self.starts.get(name)
        if start is not None:
            # Its decorators, written on the lines just above it, belong to it.
            while True:
                previous = self.text.rfind("\n", 0, max(start - 1, 0))
                line = self.text[previous + 1 : start - 1] if start > 0 else ""
                if start > 0 and line.startswith("@"):
                    start = previous + 1
                else:
                    break
            first_line_end = self.text.find("\n", self.starts[name])
            following = _NEXT_TOP_STATEMENT.search(self.text, first_line_end + 1) if first_line_end >= 0 else None
            block = self.text[start : following.start() if following else len(self.text)]
            try:
                body = ast.parse(block).body
                node = body[0] if len(body) == 1 else None
            except (SyntaxError, ValueError, RecursionError, MemoryError):
                node = None
            if node is None or getattr(node, "name", None) != name:
                node = self._whole_module().get(name)
        self._parsed[name] = node
        return node

    def _tree_body(self) -> List[ast.AST]:
        try:
            return list(ast.parse(self.text).body)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            return []

    def _whole_module(self) -> Dict[str, ast.AST]:
        if self._whole is None:
            self._whole = {
                node.name: node
                for node in self._tree_body()
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
            }
        return self._whole

    def names_module_level(self, node: ast.AST) -> bool:
        """Whether an expression starts from an import or a module-level def or class."""
        while isinstance(node, ast.Attribute):
            node = node.value
        return isinstance(node, ast.Name) and (node.id in self.aliases or node.id in self.functions or node.id in self.classes)

    def qualify(self, node: ast.AST) -> Optional[str]:
        """The absolute dotted name an expression names in this module, if any."""
        parts: List[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return None
        head = node.id
        if head in self.aliases:
            return ".".join([self.aliases[head]] + parts)
        if head in self.functions or head in self.classes:
            return ".".join([self.name, head] + parts)
        return ".".join([head] + parts)


class ProjectIndex:
    """Summaries of the modules of the checked projects, built on demand, once per run."""

    def __init__(self) -> None:
        self._modules: Dict[str, Optional[_Module]] = {}
        self._summaries: Dict[str, Optional[ResourceSpec]] = {}
        self._reexports: Dict[str, Dict[str, ResourceSpec]] = {}
        self._methods: Dict[str, Dict[str, ResourceSpec]] = {}
        self._in_progress: Set[str] = set()
        self._fingerprints: Dict[str, str] = {}
        # By class node: each file importing a class asked again (a sixth of the index's time).
        self._releases: Dict[ast.AST, Dict[str, str]] = {}
        # By (root, module, name): a name's facts, asked again by every file importing it;
        # final once computed, as every summary and verdict they are made of is.
        self._entries: Dict[Tuple[str, str, str], Tuple[SummaryEntry, ...]] = {}
        # By module key: the words ``_may_define`` looks for in a module not loaded (None:
        # no such module), read once instead of once per file importing it.
        self._words: Dict[str, Optional[FrozenSet[str]]] = {}

    # -- what a checked file uses ---------------------------------------------------------

    def cache_key(self, path: str, digest: str) -> Optional[str]:
        """What the file's facts depend on: its own bytes and every module of its package
        (``None`` outside a package, where there are no facts to keep)."""
        root, current, is_init = module_location(path)
        if "." not in current and not is_init:
            return None
        folder = os.path.join(root, current.split(".", 1)[0])
        if folder not in self._fingerprints:
            self._fingerprints[folder] = package_fingerprint(folder)
        return f"{self._fingerprints[folder]}:{digest}"

    def entries_for(self, path: str, text: str) -> Tuple[SummaryEntry, ...]:
        """The summaries ``path`` (whose source is ``text``) can use: for every project
        module it imports, each summarised name under the name the file resolves it to."""
        root, current, is_init = module_location(path)
        if "." not in current and not is_init:
            return ()  # a module outside any package: no project to index (a folder of scripts)
        top = current.split(".", 1)[0]
        found: Dict[str, str] = {}
        for written, names in imported_prefixes(text):
            source = absolute_module(written, current, is_init)
            if source.split(".", 1)[0] != top:
                continue  # another project, or the standard library: known by the knowledge files
            # ``from . import sessions``: the memlint import table writes it "..sessions".
            # Only the names the file can reach are summarised: those it imports, and those
            # it reads off an imported module (``sessions.session``).
            targets = [(written, source, called_or_inherited(text, names))] + [
                (f"{written}.{name}", f"{source}.{name}" if source else name, attributes_read(text, name))
                for name in names
            ]
            if not names:
                targets[0] = (written, source, attributes_read(text, written))
            for key_prefix, module, wanted in targets:
                for name, summary in self._module_entries(root, module, wanted):
                    found.setdefault(f"{key_prefix}.{name}", summary)
        for written, bases in star_imported_bases(text):
            source = absolute_module(written, current, is_init)
            if source.split(".", 1)[0] == top:  # ``from .transport import *``: bare names are its
                for name, summary in self._module_entries(root, source, bases):
                    found.setdefault(name, summary)
        return tuple(sorted(found.items()))

    def _module_entries(self, root: str, module: str, wanted: Set[str]) -> List[SummaryEntry]:
        if not wanted or not self._may_define(root, module, wanted):
            return []
        loaded = self._load(root, module)
        if loaded is None:
            return []
        entries: List[SummaryEntry] = []
        for name in wanted:
            entries.extend(self._name_entries(root, module, loaded, name))
        return entries

    def _name_entries(self, root: str, module: str, loaded: _Module, name: str) -> Tuple[SummaryEntry, ...]:
        """The facts of one name of a loaded module, the same for every file importing it."""
        key = (root, module, name)
        if key in self._entries:
            return self._entries[key]
        entries: List[SummaryEntry] = []
        if name in loaded.functions or name in loaded.classes:
            spec = self._summary(root, f"{module}.{name}", 0)
            if spec is not None:
                entries.append((name, encode(spec)))
        if project_callable_is_quiet(lambda owner: self._load(root, owner), module, name):
            entries.append((f"{name}{QUIET_MARK}", "quiet"))
        if name in loaded.classes:
            for method, spec in self._class_methods(root, loaded, loaded.classes[name], 0).items():
                entries.append((f"{name}.{method}", encode(spec)))
        found_class = project_class(lambda owner: self._load(root, owner), loaded, f"{module}.{name}")
        inert = inert_release_methods_named(lambda owner: self._load(root, owner), loaded, name, found_class, _INFERRED_VERBS)
        entries.append((f"{name}{INERT_MARK}", ",".join(inert)))  # dropped when empty
        if found_class is not None:  # defined here, or re-exported (``from .base import Provider``)
            # What the class and its project bases (other modules too) release: ``TcpConnection.close()``
            # closes ``self.connection``, a property giving ``self._conn``: a subclass elsewhere that
            # sets ``_conn`` has it released. Their plain property setters (property_stores.py).
            chain = class_chain(lambda owner: self._load(root, owner), *found_class)
            releases = chain_releases(chain, self._released)
            entries.append((f"{name}{RELEASES_MARK}", ";".join(f"{a}:{m}" for a, m in sorted(releases.items()))))
            entries.extend(setter_entries(name, chain))
        found = tuple(entry for entry in entries if entry[1])
        self._entries[key] = found
        return found

    # -- loading ----------------------------------------------------------------------------

    def _load(self, root: str, module: str) -> Optional[_Module]:
        key = f"{root}\0{module}"
        if key not in self._modules:
            self._modules[key] = _parse_module(root, module)
        return self._modules[key]

    def _may_define(self, root: str, module: str, wanted: Set[str]) -> bool:
        """A cheap look at the module's text before parsing it: does it define (``def``,
        ``class``) or import any wanted name? Constants and variables need no parse."""
        key = f"{root}\0{module}"
        if key in self._modules:
            return True
        if key not in self._words:
            text = _module_text(root, module)
            self._words[key] = defined_or_imported_words(text) if text is not None else None
        words = self._words[key]
        if words is None:
            self._modules[key] = None
            return False
        if all(is_word(name) for name in wanted):
            return not words.isdisjoint(wanted)
        return defines_or_imports(_module_text(root, module) or "", wanted)

    def _released(self, node: ast.AST) -> Dict[str, str]:
        if node not in self._releases:
            self._releases[node] = released_attributes(node)
        return self._releases[node]

    def _package_reexports(self, root: str, module: str) -> Dict[str, ResourceSpec]:
        """Names of the top package's ``__init__`` that the knowledge files know
        (``requests.Session``), by the absolute name of what they re-export."""
        top = module.split(".", 1)[0]
        key = f"{root}\0{top}"
        if key not in self._reexports:
            found: Dict[str, ResourceSpec] = {}
            package = self._load(root, top)
            if package is not None and package.is_init:
                for local, target in package.aliases.items():
                    spec = RESOURCE_CALLS.get(f"{top}.{local}")
                    if spec is not None and target != f"{top}.{local}":
                        found[target] = spec
            self._reexports[key] = found
        return self._reexports[key]

    # -- summaries ----------------------------------------------------------------------------

    def _summary(self, root: str, qualified: str, depth: int) -> Optional[ResourceSpec]:
        """What calling ``qualified`` (a function or class of the project) gives, if a resource."""
        key = f"{root}\0{qualified}"
        if key in self._summaries:
            return self._summaries[key]
        if key in self._in_progress or depth > _MAX_DEPTH:
            return None
        self._in_progress.add(key)
        try:
            spec = self._compute(root, qualified, depth)
        finally:
            self._in_progress.discard(key)
        self._summaries[key] = spec
        return spec

    def _compute(self, root: str, qualified: str, depth: int) -> Optional[ResourceSpec]:
        reexported = self._package_reexports(root, qualified)
        if qualified in reexported:
            return reexported[qualified]
        module_name, _, name = qualified.rpartition(".")
        module = self._load(root, module_name) if module_name else None
        if module is None:
            return None
        if name in module.functions:
            return self._function_result(root, module, module.functions[name], depth)
        if name in module.classes:
            return self._class_spec(root, module, module.classes[name], depth)
        target = module.aliases.get(name)
        if target and target != qualified:
            return self._summary(root, target, depth + 1)
        return None

    def _call_spec(
        self, root: str, module: _Module, call: ast.Call, depth: int, owner: Optional[ast.ClassDef]
    ) -> Optional[ResourceSpec]:
        """What one call in ``module`` makes, if a resource (known, or of the project)."""
        func = call.func
        if owner is not None and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "self":
            return self._class_methods(root, module, owner, depth + 1).get(func.attr)
        qualified = module.qualify(func)
        if qualified is None:
            if isinstance(func, ast.Attribute):
                return _method_acquisition(func.attr)
            return None
        qualified = _unvendored(qualified)
        spec = RESOURCE_CALLS.get(qualified)
        if spec is not None:
            if made_only_in_context(qualified, call):
                return None
            if spec.model and KNOWLEDGE.models[spec.model].only_when_keyword_true:
                return None
            return spec
        if qualified.split(".", 1)[0] == module.name.split(".", 1)[0] or qualified.startswith(module.name + "."):
            found = self._summary(root, qualified, depth + 1)
            if found is not None:
                return found
        if isinstance(func, ast.Attribute) and not module.names_module_level(func.value):
            return _method_acquisition(func.attr)  # a method of a local value or parameter
        return None

    def _function_result(
        self, root: str, module: _Module, function: ast.AST, depth: int, owner: Optional[ast.ClassDef] = None
    ) -> Optional[ResourceSpec]:
        """What a function returns when that is a fresh resource it made."""
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        for decorator in function.decorator_list:
            target = decorator.func if isinstance(decorator, ast.Call) else decorator
            last = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            if last in _NOT_FACTORIES:
                return None
        bound: Dict[str, ResourceSpec] = {}
        kept: Set[str] = set()
        returns: List[ast.AST] = []
        declared: Set[str] = set()
        # A list displayed into a name is what ``list_cell_calls`` starts from (its walk is
        # skipped when the function, nested ``def``s included, binds none).
        lists = False
        for node in own_nodes(function):
            if isinstance(node, (ast.Yield, ast.YieldFrom)):
                return None
            if isinstance(node, (ast.Global, ast.Nonlocal)):
                declared.update(node.names)
            elif isinstance(node, ast.Return) and node.value is not None:
                returns.append(node.value)
            elif isinstance(node, ast.Expr):
                kept.update(kept_by_container(node.value, function))
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                lists = lists or isinstance(node.value, ast.List)
                # ``self._clients[key] = client``, ``_local.conn, _local.path = conn, p``: kept, not fresh
                kept.update(stored_names(targets, node.value))
                value = node.value.value if isinstance(node.value, ast.Await) else node.value
                if len(targets) == 1 and isinstance(targets[0], ast.Name) and isinstance(value, ast.Call):
                    spec = self._call_spec(root, module, value, depth, owner)
                    if spec is not None and not spec.parts:
                        bound[targets[0].id] = spec
        # ``global _client; _client = httpx.AsyncClient()``: a module-wide cached object.
        kept |= declared
        for name in kept:
            bound.pop(name, None)
        for key, call in list_cell_calls(function) if lists else ():
            spec = self._call_spec(root, module, call, depth, owner)
            if spec is not None and not spec.parts:
                bound.setdefault(key, spec)
        for value in returns:
            value = value.value if isinstance(value, ast.Await) else value
            spec = self._returned(root, module, value, bound, depth, owner)
            if spec is not None:
                return spec
        return None

    def _returned(
        self,
        root: str,
        module: _Module,
        value: ast.AST,
        bound: Dict[str, ResourceSpec],
        depth: int,
        owner: Optional[ast.ClassDef],
    ) -> Optional[ResourceSpec]:
        if isinstance(value, ast.Name):
            return bound.get(value.id)
        if isinstance(value, ast.Subscript):  # ``return _closure[0]`` (list_cells)
            return bound.get(cell_key(value) or "")
        if isinstance(value, ast.Call):
            spec = self._call_spec(root, module, value, depth, owner)
            return spec if spec is not None and not spec.parts else None
        if isinstance(value, ast.Tuple):
            parts = []
            for position, item in enumerate(value.elts):
                if isinstance(item, ast.Starred):
                    return None
                spec = self._returned(root, module, item, bound, depth, owner)
                if spec is not None:
                    parts.append((position, spec))
            if parts:
                first = parts[0][1]
                return ResourceSpec(first.kind, parts=tuple(parts), verb=first.verb)
        return None

    def _class_spec(self, root: str, module: _Module, node: ast.AST, depth: int) -> Optional[ResourceSpec]:
        """A class whose objects are resources: a subclass of a known resource type, or of
        a class of the project that is one."""
        if not isinstance(node, ast.ClassDef):
            return None
        for base in node.bases:
            qualified = module.qualify(base)
            if qualified is None:
                continue
            qualified = _unvendored(qualified)
            spec = SUBCLASS_BASES.get(qualified) or RESOURCE_CALLS.get(qualified)
            if spec is None and qualified.split(".", 1)[0] == module.name.split(".", 1)[0]:
                spec = self._summary(root, qualified, depth + 1)
            if spec is not None and not spec.parts:
                return spec
        return None

    def _class_methods(self, root: str, module: _Module, node: ast.AST, depth: int) -> Dict[str, ResourceSpec]:
        """Methods of a class (inherited from project bases too) that return a fresh resource."""
        if not isinstance(node, ast.ClassDef):
            return {}
        key = f"{root}\0{module.name}.{node.name}#methods"
        if key in self._methods:
            return self._methods[key]
        if key in self._in_progress or depth > _MAX_DEPTH:
            return {}
        self._in_progress.add(key)
        found: Dict[str, ResourceSpec] = {}
        try:
            for base in node.bases:
                qualified = module.qualify(base)
                base_module_name, _, base_name = (qualified or "").rpartition(".")
                same_project = base_module_name.split(".", 1)[0] == module.name.split(".", 1)[0]
                base_module = self._load(root, base_module_name) if base_module_name and same_project else None
                if base_module is not None and base_name in base_module.classes:
                    found.update(self._class_methods(root, base_module, base_module.classes[base_name], depth + 1))
            chain = class_chain(lambda name: self._load(root, name), module, node)
            released = chain_releases(chain, self._released)
            for item in node.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and not item.name.startswith("__"):
                    spec = self._function_result(root, module, item, depth + 1, node)
                    # A client built on the pool the object keeps and releases is no fresh one.
                    if spec is not None and not spec.parts and not wraps_released_attribute(item, chain, released):
                        found[item.name] = spec
                    else:
                        found.pop(item.name, None)  # overridden by a method that makes none
        finally:
            self._in_progress.discard(key)
        self._methods[key] = found
        return found


def _unvendored(qualified: str) -> str:
    """``pip._vendor.requests.Session`` is ``requests.Session``: a library's bundled copy."""
    for marker in ("._vendor.", ".vendor.", "._vendored."):
        if marker in qualified:
            return qualified.split(marker, 1)[1]
    return qualified


def _method_acquisition(method: str) -> Optional[ResourceSpec]:
    """A method that makes a resource whatever it is called on (``ctx.wrap_socket(s)``)."""
    for found in KNOWLEDGE.method_acquisitions.get(method, ()):
        conditional = bool(found.model.only_when_keyword_true)
        if found.receiver == "any" and found.arguments in ("", "any") and not found.spec.parts and not conditional:
            return found.spec
    return None


def _module_text(root: str, module: str) -> Optional[str]:
    if not module or not all(part.isidentifier() for part in module.split(".")):
        return None
    base = os.path.join(root, *module.split("."))
    for path in (base + ".py", os.path.join(base, "__init__.py")):
        try:
            if os.path.getsize(path) > _MAX_MODULE_BYTES:
                return None
            with open(path, "rb") as handle:
                return handle.read().decode("utf-8", "replace")
        except OSError:
            continue
    return None


def _parse_module(root: str, module: str) -> Optional[_Module]:
    if not module or not all(part.isidentifier() for part in module.split(".")):
        return None
    base = os.path.join(root, *module.split("."))
    for path, is_init in ((base + ".py", False), (os.path.join(base, "__init__.py"), True)):
        try:
            if os.path.getsize(path) > _MAX_MODULE_BYTES:
                return None
            with open(path, "rb") as handle:
                text = handle.read().decode("utf-8", "replace")
        except OSError:
            continue
        return _Module(module, is_init, text)
    return None


def encode(spec: ResourceSpec) -> str:
    """A summary as text: the model name, or ``index=model`` pairs for a tuple's parts."""
    if spec.parts:
        if not all(part.model for _index, part in spec.parts):
            return ""
        return ";".join(f"{index}={part.model}" for index, part in spec.parts)
    return spec.model


def decode(summary: str) -> Optional[ResourceSpec]:
    """The spec a summary stands for (None when its model is unknown to this memlint)."""
    if "=" not in summary:
        return KNOWLEDGE.specs.get(summary)
    parts = []
    for item in summary.split(";"):
        index, _, model = item.partition("=")
        spec = KNOWLEDGE.specs.get(model)
        if spec is None or not index.isdigit():
            return None
        parts.append((int(index), spec))
    first = parts[0][1]
    return ResourceSpec(first.kind, parts=tuple(parts), verb=first.verb)


def add_project_resources(ctx: Any, entries: Iterable[SummaryEntry]) -> None:  # ctx: facts.ModuleContext
    """Put the index's facts for this file into its context: functions and classes of other
    modules as acquisitions (``ctx.table``), methods of project classes by qualified name
    (``ctx.project_methods``, for ``self.x()`` in a subclass)."""
    names = set()
    for name, summary in entries:
        if name.endswith(QUIET_MARK):
            ctx.project_quiet_classes.add(name[: -len(QUIET_MARK)])
            continue
        if name.endswith(INERT_MARK):
            inert_release_methods_of(ctx)[name[: -len(INERT_MARK)]] = set(summary.split(","))
            continue
        if add_setter_entry(ctx, name, summary):
            continue
        if name.endswith(RELEASES_MARK):
            pairs = (pair.partition(":") for pair in summary.split(";"))
            ctx.project_releases[name[: -len(RELEASES_MARK)]] = {attr: method for attr, _, method in pairs}
            continue
        spec = decode(summary)
        if spec is None or name in ctx.table:
            continue
        ctx.table[name] = spec
        ctx.project_methods[name] = spec
        names.add(name.rsplit(".", 1)[-1])
    ctx.candidates = ctx.candidates | names


def mentions_any(entries: Iterable[SummaryEntry], data: bytes) -> bool:
    """Whether a file's bytes name any of the project's resource makers (the byte prefilter)."""
    return any(
        name.rsplit(".", 1)[-1].encode("ascii", "replace") in data for name, _summary in entries if "#" not in name
    )


def inherit_project_methods(ctx: Any) -> None:
    """``class InstallCommand(RequirementCommand)`` whose base, in another module, has a
    ``_build_session()`` that returns a session: ``self._build_session()`` acquires one."""
    if not ctx.project_methods:
        return
    for info in ctx.classes.values():
        for base in info.node.bases:
            qualified = ctx.resolve(base.value)
            if not qualified:
                continue
            prefix = qualified + "."
            for name, spec in ctx.project_methods.items():
                method = name[len(prefix):]
                if name.startswith(prefix) and "." not in method and method not in info.methods and not spec.parts:
                    info.factories.setdefault(method, spec)


def inherit_local_factories(ctx: Any) -> None:
    """``class HTTPSConnection(HTTPConnection)`` of the same module: the base's
    ``_new_conn()`` that returns a socket makes one when a subclass calls it on ``self``."""
    from memlint.analysis.names import dotted  # libcst: only the worker needs it

    for _round in range(2):  # a base of a base
        for info in ctx.classes.values():
            for base in info.node.bases:
                name = dotted(base.value)
                parent = ctx.classes.get(name or "")
                if parent is None or parent is info:
                    continue
                for method, spec in parent.factories.items():
                    if method not in info.methods:
                        info.factories.setdefault(method, spec)
