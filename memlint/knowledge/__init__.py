"""Resource knowledge as data: ``memlint/knowledge/*.toml``, one file per family.

``knowledge()`` is the shipped knowledge: the models and call tables, read once per
process. ``knowledge_for`` adds a configuration's ``[tool.memlint.resources]`` to it
(``memlint.knowledge.overlay``), ``knowledge_in_use`` makes that the one the analysis
reads while a file is checked, and
``resource_table_markdown`` writes the README's list of known resources from the data.
Nothing here imports libcst.
"""

from __future__ import annotations

from typing import Any, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

from memlint.knowledge.loader import (
    KNOWLEDGE_DIR,
    MODEL_FIELDS,
    Knowledge,
    KnowledgeError,
    Model,
    knowledge_files,
    load_knowledge,
)
from memlint.knowledge.overlay import (
    CONFIGURED_KIND,
    ConfiguredResource,
    configured_model,
    freeze,
    in_use,
    knowledge_for,
    knowledge_in_use,
)
from memlint.knowledge.spec import ResourceSpec

# The fields a configured resource may set: every field of a shipped model.
CONFIG_FIELDS = tuple(sorted(MODEL_FIELDS))


def knowledge() -> Knowledge:
    """The built-in knowledge (cached: read once per process)."""
    return load_knowledge(KNOWLEDGE_DIR)


def parse_configured(name: str, value: Any, where: str) -> ConfiguredResource:
    """Check one ``[tool.memlint.resources]`` value as a shipped model is checked, and
    normalise it; ``KnowledgeError`` (one line, naming the entry) when it is wrong.
    What only the whole table can tell (two entries acquired by one callable, a
    ``receiver`` naming another entry) is checked by ``check_configured``."""
    if isinstance(value, str):
        return value
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where}: must be a method name like \"close\" or a table of model fields")
    configured_model(name, value, where)
    return freeze(value)


def check_configured(resources: Mapping[str, ConfiguredResource], where: str) -> None:
    """Build the configuration's knowledge once, so that a problem between its entries is
    reported when the configuration is read (``KnowledgeError`` prefixed with ``where``)."""
    try:
        knowledge_for(resources)
    except KnowledgeError as error:
        raise KnowledgeError(f"{where}: {error}") from None


def custom_specs(resources: Mapping[str, ConfiguredResource]) -> Dict[str, ResourceSpec]:
    """Entries from ``[tool.memlint.resources]``: qualified name -> spec."""
    known = knowledge_for(resources)
    return {name: known.resource_calls[name] for name in resources}


def candidate_names(extra: Iterable[str] = (), known: Optional[Knowledge] = None) -> FrozenSet[str]:
    """The last name of every resource-creating callable or method of ``known`` (the
    knowledge in use when not given) and of ``extra`` callables: a cheap first filter."""
    known = known or in_use()
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
        # A receiver-only model's callables are named (what its methods start from) but its
        # kind is no resource.
        if kind not in kinds and not model.only_a_receiver:
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
        # A receiver-only model's calls hold nothing: they appear as what a method is called on.
        creates = [] if model.only_a_receiver else [f"`{name}`" for name in model.acquired_by]
        for method in model.methods:
            on = {"any": "", "path": " on a pathlib path"}.get(model.receiver, f" on a {model.receiver.replace('-', ' ')}")
            receiver = known.models.get(model.receiver)
            if receiver is not None and receiver.only_a_receiver:
                on = " on " + " or ".join(f"`{name}()`" for name in receiver.acquired_by)
            creates.append(f"`.{method}()`{on}")
        if not creates:
            continue  # reached only as a part of another model's result
        if model.parts:
            released = "; ".join(f"part {index}: {_released_by(known.models[part])}" for index, part in model.parts)
        else:
            released = _released_by(model)
        if model.only_when_keyword_true:
            released += f" (a resource only with `{model.only_when_keyword_true}=True`)"
        if not released:
            released = "only its own `with`"
        if model.exit == "commits-only":
            released += " (its own `with` does not close it)"
        elif model.exit == "nothing" and not model.parts:
            released += " (a `with` on it, if it has one, releases nothing)"
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
    """The model a spec was built from, in the knowledge in use (``KeyError`` for
    module-local kinds)."""
    return in_use().models[spec.model]


__all__ = [
    "CONFIG_FIELDS",
    "CONFIGURED_KIND",
    "ConfiguredResource",
    "Knowledge",
    "KnowledgeError",
    "Model",
    "ResourceSpec",
    "candidate_names",
    "check_configured",
    "custom_specs",
    "knowledge",
    "knowledge_files",
    "knowledge_for",
    "knowledge_in_use",
    "in_use",
    "model_of",
    "parse_configured",
    "resource_reference_markdown",
    "resource_table_markdown",
]

