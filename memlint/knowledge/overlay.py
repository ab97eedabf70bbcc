"""One configuration's knowledge: the shipped models plus the resources its
``[tool.memlint.resources]`` declares, as one set of tables.

A declared resource may set every field a model in ``memlint/knowledge/*.toml`` may
(``non_raising_methods``, ``borrowed_params``, ``subclass_bases``, ``methods``, ...), and
some of those feed tables that are not about the resource alone (the methods known not
to raise, the parameters that only borrow). So a configuration's resources are not added
to the process-wide tables: ``knowledge_for`` builds a separate ``Knowledge`` for that
configuration (cached per configuration), and ``knowledge_in_use`` makes it the one the
analysis reads while one file is checked. Two configurations in one process never see
each other's resources.

The analysis stages read the tables through names bound in ``memlint.analysis.resources``;
the tables a configuration can change are bound there to ``ActiveTable`` views, which
look the table up in the knowledge in use at the time of the lookup.
"""

from __future__ import annotations

import contextlib
import contextvars
import dataclasses
import functools
import hashlib
from typing import Any, Dict, Iterator, List, Mapping, Tuple, Union

from memlint.knowledge.loader import (
    CALLABLE_SUBSETS,
    KNOWLEDGE_DIR,
    RECEIVERS,
    Knowledge,
    KnowledgeError,
    Model,
    build,
    load_knowledge,
    parse_model,
)

# ``[tool.memlint.resources]`` values: ``"close"``, or a table normalised to sorted
# (field, value) pairs, lists made tuples (hashable, and JSON-able for the cache key).
ConfiguredResource = Union[str, Tuple[Tuple[str, Any], ...]]

# What messages call a configured resource that names no ``kind``.
CONFIGURED_KIND = "resource"
# The family a configured model belongs to (knowledge files are families by file name).
CONFIGURED_FAMILY = "configuration"

_IN_USE: "contextvars.ContextVar[Knowledge]" = contextvars.ContextVar("memlint_knowledge_in_use")


def shipped() -> Knowledge:
    """The knowledge shipped with memlint (read once per process)."""
    return load_knowledge(KNOWLEDGE_DIR)


def in_use() -> Knowledge:
    """The knowledge of the configuration whose file is being checked (the shipped
    knowledge outside ``knowledge_in_use``)."""
    return _IN_USE.get(None) or shipped()


@contextlib.contextmanager
def knowledge_in_use(resources: Mapping[str, ConfiguredResource]) -> Iterator[Knowledge]:
    """Make the knowledge of a configuration with these resources the one in use."""
    token = _IN_USE.set(knowledge_for(resources))
    try:
        yield _IN_USE.get()
    finally:
        _IN_USE.reset(token)


def knowledge_for(resources: Mapping[str, ConfiguredResource]) -> Knowledge:
    """The shipped knowledge with these configured resources added (``KnowledgeError``,
    one line, when they do not fit together)."""
    if not resources:
        return shipped()
    return _overlay(tuple(sorted(resources.items())))


# -- normalising what the configuration file says -----------------------------------------


def freeze(value: Mapping[str, Any]) -> ConfiguredResource:
    """A checked table as sorted (field, value) pairs; ``parts`` entries become pairs too."""
    frozen = []
    for key, item in value.items():
        if key == "parts":
            item = tuple((part["index"], part["model"]) for part in item)
        elif isinstance(item, list):
            item = tuple(item)
        frozen.append((key, item))
    return tuple(sorted(frozen))


def thaw(value: ConfiguredResource) -> Dict[str, Any]:
    """The table ``freeze`` was given (a plain ``"close"`` is the table ``release = ["close"]``)."""
    if isinstance(value, str):
        return {"release": [value]}
    table: Dict[str, Any] = {}
    for key, item in value:
        if key == "parts":
            table[key] = [{"index": index, "model": model} for index, model in item]
        else:
            table[key] = list(item) if isinstance(item, tuple) else item
    return table


def _verb_of(release: Any) -> str:
    """"closed" for ``close``, else what the release is: "released with `dispose()`"."""
    methods = [m for m in release if isinstance(m, str)] if isinstance(release, list) else []
    if not methods or "close" in methods:
        return "closed"
    return f"released with `{methods[0]}()`"


def configured_model(name: str, table: Mapping[str, Any], where: str) -> Model:
    """The model one ``[tool.memlint.resources]`` entry stands for, checked as a shipped
    model is. The entry's own name is one of the callables that acquire it, and names the
    model unless the table gives a ``name``."""
    fields = dict(table)
    fields.setdefault("kind", CONFIGURED_KIND)
    fields.setdefault("verb", _verb_of(fields.get("release")))
    extra = fields.get("acquired_by", [])
    if isinstance(extra, list) and name not in extra:
        fields["acquired_by"] = [name] + extra
    model = parse_model(fields, where, CONFIGURED_FAMILY, require_name=False)
    return model if model.name else dataclasses.replace(model, name=name)


# -- the tables of one configuration -------------------------------------------------------


@functools.lru_cache(maxsize=16)
def _overlay(items: Tuple[Tuple[str, ConfiguredResource], ...]) -> Knowledge:
    base = shipped()
    configured = [configured_model(name, thaw(value), f"resources.{name!r}") for name, value in items]
    _check_references([name for name, _value in items], configured, base)
    # A configured callable replaces what the shipped knowledge says of it.
    replaced = {qualified for model in configured for qualified in model.acquired_by}
    kept = [_without(model, replaced) for model in base.model_list]
    # Configured models first: their acquiring methods are tried first, and the shipped
    # lock and kept-file models stay the ones those special cases use.
    known = build(configured + kept, base.calls_document)
    known.digest = hashlib.blake2b(f"{base.digest}{items!r}".encode(), digest_size=20).hexdigest()
    return known


def _without(model: Model, replaced: Any) -> Model:
    if not replaced.intersection(model.acquired_by):
        return model
    changes = {key: tuple(q for q in getattr(model, key) if q not in replaced) for key in ("acquired_by",) + CALLABLE_SUBSETS}
    return dataclasses.replace(model, **changes)


def _check_references(entries: List[str], configured: List[Model], base: Knowledge) -> None:
    """What ``build`` checks across models, said of the configuration entry at fault."""
    names: Dict[str, str] = {}
    callables: Dict[str, str] = {}
    for entry, model in zip(entries, configured):
        where = f"resources.{entry!r}"
        if model.name in base.models or model.name in names:
            raise KnowledgeError(f"{where}: model name {model.name!r} is already taken; choose another `name`")
        names[model.name] = where
        for qualified in model.acquired_by:
            if qualified in callables:
                raise KnowledgeError(f"{where}: {qualified!r} is also acquired by {callables[qualified]}")
            callables[qualified] = where
    models = {**base.models, **{model.name: model for model in configured}}
    for model in configured:
        where = names[model.name]
        if model.receiver not in RECEIVERS and model.receiver not in models:
            raise KnowledgeError(f"{where}: `receiver` {model.receiver!r} is not path, any or the name of a model")
        for _index, part in model.parts:
            if part not in models or models[part].parts:
                raise KnowledgeError(f"{where}: part {part!r} is not the name of a model without parts")
        if model.keep_the_file_with_delete_false and not (
            model.kept_path_model in models and models[model.kept_path_model].is_path
        ):
            raise KnowledgeError(f"{where}: `kept_path_model` must name a model with is_path = true")


# -- the views the analysis stages read ------------------------------------------------------


class ActiveTable:
    """A read-only view of one table of the knowledge in use (``in``, ``get``, ``[]``,
    iteration): bound once at import like the other tables, it follows the configuration
    of the file being checked."""

    __slots__ = ("attribute",)

    def __init__(self, attribute: str) -> None:
        self.attribute = attribute

    def table(self) -> Any:
        return getattr(_IN_USE.get(None) or shipped(), self.attribute)

    def __contains__(self, key: object) -> bool:
        return key in self.table()

    def __getitem__(self, key: Any) -> Any:
        return self.table()[key]

    def get(self, key: Any, default: Any = None) -> Any:
        return self.table().get(key, default)

    def __iter__(self) -> Iterator[Any]:
        return iter(self.table())

    def __len__(self) -> int:
        return len(self.table())

    def __repr__(self) -> str:
        return f"ActiveTable({self.attribute!r})"


class ActiveKnowledge:
    """``KNOWLEDGE.models`` and the like, read from the knowledge in use."""

    def __getattr__(self, attribute: str) -> Any:
        return getattr(_IN_USE.get(None) or shipped(), attribute)
