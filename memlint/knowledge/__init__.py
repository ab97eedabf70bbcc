"""Resource knowledge as data: ``memlint/knowledge/*.toml``, one file per family.

``knowledge()`` is the one entry point: the models and call tables, read once per
process. ``custom_specs`` turns ``[tool.memlint.resources]`` entries into specs, and
``resource_table_markdown`` writes the README's list of known resources from the data.
Nothing here imports libcst.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Tuple, Union

from memlint.knowledge.loader import (
    KNOWLEDGE_DIR,
    Knowledge,
    KnowledgeError,
    Model,
    knowledge_files,
    load_knowledge,
    parse_model,
    spec_of,
)
from memlint.knowledge.spec import ResourceSpec

# ``[tool.memlint.resources]`` values: ``"close"``, or a table normalised to sorted
# (field, value) pairs (hashable, and JSON-able for the cache key).
ConfiguredResource = Union[str, Tuple[Tuple[str, Any], ...]]
# The fields a configured resource may set (the others need a whole model file).
CONFIG_FIELDS = ("kind", "release", "release_functions", "verb", "exit", "long_lived", "is_path")


def knowledge() -> Knowledge:
    """The built-in knowledge (cached: read once per process)."""
    return load_knowledge(KNOWLEDGE_DIR)


def parse_configured(name: str, value: Any, where: str) -> ConfiguredResource:
    """Check one ``[tool.memlint.resources]`` value and normalise it; ``KnowledgeError``
    (one line, naming the entry) when it is wrong."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where}: must be a method name like \"close\" or a table of model fields")
    unknown = sorted(set(value) - set(CONFIG_FIELDS))
    if unknown:
        raise KnowledgeError(f"{where}: unknown field(s) {unknown}; a configured resource may set {', '.join(CONFIG_FIELDS)}")
    table = _with_defaults(dict(value))
    parse_model(table, where, "config", require_name=False)
    return tuple(sorted((key, tuple(item) if isinstance(item, list) else item) for key, item in value.items()))


# What messages call a configured resource that names no ``kind``: the message already
# says which call made it ("a resource from `mylib.connect()`").
CONFIGURED_KIND = "resource"


def _verb_of(release: Any) -> str:
    """"closed" for ``close``, else what the release is: "released with `dispose()`"."""
    methods = [m for m in release if isinstance(m, str)] if isinstance(release, list) else []
    if not methods or "close" in methods:
        return "closed"
    return f"released with `{methods[0]}()`"


def _with_defaults(table: Dict[str, Any]) -> Dict[str, Any]:
    table.setdefault("kind", CONFIGURED_KIND)
    table.setdefault("verb", _verb_of(table.get("release")))
    return table


def custom_specs(resources: Mapping[str, ConfiguredResource]) -> Dict[str, ResourceSpec]:
    """Entries from ``[tool.memlint.resources]``: qualified name -> spec."""
    specs: Dict[str, ResourceSpec] = {}
    for name, value in resources.items():
        if isinstance(value, str):
            specs[name] = ResourceSpec(CONFIGURED_KIND, frozenset((value,)), verb=_verb_of([value]))
            continue
        table: Dict[str, Any] = _with_defaults({key: list(item) if isinstance(item, tuple) else item for key, item in value})
        specs[name] = spec_of(parse_model(table, name, "config", require_name=False))
    return specs


def candidate_names(extra: Iterable[str] = ()) -> FrozenSet[str]:
    """The last name of every resource-creating callable or method: a cheap first filter."""
    known = knowledge()
    names = {qualified.rsplit(".", 1)[-1] for qualified in known.resource_calls}
    names.update(qualified.rsplit(".", 1)[-1] for qualified in extra)
    names.update(known.method_acquisitions)
    names.update(known.lock_methods)
    return frozenset(names)


def resource_table_markdown() -> str:
    """The README's compact list of known resources: one row per knowledge file, its
    callables grouped by package (``tests/test_knowledge.py`` keeps README.md equal).
    The full table is ``resource_reference_markdown`` (docs/resources.md)."""
    known = knowledge()
    families: Dict[str, Tuple[List[str], Dict[str, List[str]], List[str]]] = {}
    for model in known.models.values():
        kinds, packages, methods = families.setdefault(model.family, ([], {}, []))
        creates = list(model.acquired_by) + [f".{method}()" for method in model.methods]
        if not creates:
            continue
        kind = model.kind + (f" (with `{model.only_when_keyword_true}=True`)" if model.only_when_keyword_true else "")
        if kind not in kinds:
            kinds.append(kind)
        for name in model.acquired_by:
            package, _, rest = name.partition(".")
            names = packages.setdefault(package, [])
            if rest and rest not in names:
                names.append(rest)
        methods.extend(f"`.{method}()`" for method in model.methods if f"`.{method}()`" not in methods)
    lines = [
        "| family | resources | created by (`package`: callables; what releases each: [docs/resources.md](docs/resources.md)) |",
        "|---|---|---|",
    ]
    for family, (kinds, packages, methods) in families.items():
        if not kinds:
            continue
        created = [f"`{package}`" + (f": {', '.join(names)}" if names else "") for package, names in packages.items()]
        lines.append(f"| {family} | {', '.join(kinds)} | {'; '.join(created + methods)} |")
    return "\n".join(lines) + "\n"


def resource_reference_markdown() -> str:
    """docs/resources.md's full table: one row per model that something acquires, in the
    order of the knowledge files (``tests/test_knowledge.py`` keeps the file equal)."""
    known = knowledge()
    rows: Dict[Tuple[str, str, str], List[str]] = {}
    for model in known.models.values():
        creates = [f"`{name}`" for name in model.acquired_by]
        for method in model.methods:
            on = {"any": "", "path": " on a pathlib path"}.get(model.receiver, f" on a {model.receiver.replace('-', ' ')}")
            creates.append(f"`.{method}()`{on}")
        if not creates:
            continue  # reached only as a part of another model's result
        if model.parts:
            released = "; ".join(f"part {index}: {_released_by(known.models[part])}" for index, part in model.parts)
        else:
            released = _released_by(model)
        if model.only_when_keyword_true:
            released += f" (a resource only with `{model.only_when_keyword_true}=True`)"
        if model.exit != "closes":
            released += " (its own `with` does not close it)" if model.exit == "commits-only" else ""
        # Models that read the same in the table share a row.
        rows.setdefault((model.kind, released, model.family), []).extend(creates)
    lines = ["| creates | what | released by (besides `with`) | family |", "|---|---|---|---|"]
    for (kind, released, family), creates in rows.items():
        lines.append(f"| {', '.join(creates)} | {kind} | {released} | {family} |")
    return "\n".join(lines) + "\n"


def _released_by(model: Model) -> str:
    methods = [f"`.{name}()`" for name in sorted(model.release)]
    functions = [f"`{name}()`" for name in sorted(model.release_functions)]
    return ", ".join(methods + functions)


def model_of(spec: ResourceSpec) -> Model:
    """The model a spec was built from (``KeyError`` for module-local and configured kinds)."""
    return knowledge().models[spec.model]


__all__ = [
    "CONFIG_FIELDS",
    "ConfiguredResource",
    "Knowledge",
    "KnowledgeError",
    "Model",
    "ResourceSpec",
    "candidate_names",
    "custom_specs",
    "knowledge",
    "knowledge_files",
    "model_of",
    "parse_configured",
    "resource_reference_markdown",
    "resource_table_markdown",
]

