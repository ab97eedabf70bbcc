"""The call files' sections (``calls.toml``, ``inferred.toml``): knowledge about calls rather
than resources, read into a ``Knowledge``'s call tables, each checked and named on error.

``memlint.knowledge.loader`` reads the files and the models, builds the model tables and
hands the merged call sections to ``read_call_sections``; the few call tables that also
take something from the models (``borrowers``, ``any_release_funcs``, ...) stay there and
read their call part through ``call_strings``. Nothing here imports the loader (the error
and the name patterns both use are defined here, the loader re-exports them).
"""

from __future__ import annotations

import re
from typing import Any, Dict, FrozenSet, Mapping, Tuple

CALLS_FILE = "calls.toml"
DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class KnowledgeError(ValueError):
    """A knowledge file (or a ``[tool.memlint.resources]`` table) breaks the schema."""


def call_strings(calls: Mapping[str, Any], section: str, key: str) -> Tuple[str, ...]:
    """``[section] key`` of the call files, a list of strings (empty when absent)."""
    table = calls.get(section, {})
    value = table.get(key, []) if isinstance(table, Mapping) else None
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise KnowledgeError(f"{CALLS_FILE}: [{section}] {key} must be a list of strings")
    return tuple(value)


def read_call_sections(knowledge: Any, calls: Mapping[str, Any]) -> None:
    """Every table of ``knowledge`` (a ``loader.Knowledge``) that comes from the call files alone."""

    def strings(section: str, key: str) -> Tuple[str, ...]:
        return call_strings(calls, section, key)

    knowledge.borrower_prefixes = strings("borrowing", "prefixes")
    knowledge.consumers = frozenset(strings("borrowing", "consumers"))
    knowledge.borrowing_keywords = frozenset(strings("borrowing", "keywords"))
    knowledge.scoped_borrowing_keywords = frozenset(strings("borrowing", "keywords_in_with"))
    knowledge.handoff_methods = frozenset(strings("handing-off", "methods"))
    knowledge.handoff_calls = frozenset(strings("handing-off", "callables"))
    knowledge.deferring_calls = frozenset(strings("handing-off", "deferring_callables"))
    knowledge.cleanup_registrations = frozenset(strings("handing-off", "cleanup_registrations"))
    knowledge.fallible_handoff_methods = frozenset(strings("handing-off", "fallible_methods"))
    knowledge.borrowing_methods = frozenset(strings("borrowing", "methods"))
    knowledge.non_raising_in_coroutines = frozenset(strings("raising", "non_raising_in_coroutines"))
    knowledge.reclaim_methods = frozenset(strings("handing-off", "reclaiming_methods"))
    knowledge.adding_methods = frozenset(strings("containers", "adding_methods"))
    knowledge.keeping_methods = frozenset(strings("containers", "keeping_methods"))
    knowledge.any_release_methods = frozenset(strings("releasing", "methods"))
    knowledge.class_release_methods = strings("releasing", "class_methods")
    knowledge.non_raising_calls = frozenset(strings("raising", "non_raising_callables"))
    knowledge.non_raising_with_constant_arguments = frozenset(strings("raising", "non_raising_with_constant_arguments"))
    knowledge.non_raising_on_held = frozenset(strings("raising", "non_raising_on_held"))
    knowledge.non_raising_with_several_arguments = frozenset(strings("raising", "non_raising_with_several_arguments"))
    knowledge.non_raising_with_a_default = frozenset(strings("raising", "non_raising_with_a_default"))
    knowledge.non_raising_on_null_device = frozenset(strings("raising", "non_raising_on_null_device"))
    knowledge.exception_bases = _exception_bases(calls.get("exceptions", {}))
    knowledge.configuring_own_methods = frozenset(strings("raising", "configuring_own_methods"))
    knowledge.os_error_names = frozenset(strings("raising", "os_error_names"))
    knowledge.os_error_prefixes = strings("raising", "os_error_prefixes")
    knowledge.logging_methods = frozenset(strings("raising", "logging_methods"))
    knowledge.terminators = frozenset(strings("raising", "terminators"))
    knowledge.raising_prefixes = strings("raise-evidence", "raising_prefixes")
    knowledge.quiet_prefixes = strings("raise-evidence", "quiet_prefixes")
    knowledge.raising_builtins = frozenset(strings("raise-evidence", "raising_builtins"))
    knowledge.raising_constructors = frozenset(strings("raise-evidence", "raising_constructors"))
    knowledge.standard_stream_closers = frozenset(strings("standard-streams", "closing_calls"))
    knowledge.inherited_releases = _inherited_releases(calls.get("inherited-releases", {}))
    knowledge.non_raising_methods_of = _name_lists(calls.get("raising", {}), "non_raising_methods_of")
    knowledge.raised_only_by = _name_lists(calls.get("raising", {}), "raised_only_by")
    knowledge.non_raising_on_held_with = _name_lists(calls.get("raising", {}), "non_raising_on_held_with")
    knowledge.returns_pairs = frozenset(strings("raising", "returns_pairs"))
    knowledge.non_raising_going_back = _name_lists(calls.get("raising", {}), "non_raising_going_back", qualified_names=True)
    knowledge.non_raising_on_plain_values = _name_lists(calls.get("raising", {}), "non_raising_on_plain_values", qualified_names=True)
    knowledge.fails_only_with = _name_lists(calls.get("raising", {}), "fails_only_with")
    knowledge.errors_of_own_work = _name_lists(calls.get("raising", {}), "errors_of_own_work", qualified_names=True)
    knowledge.fails_only_with_on_text = _name_lists(calls.get("raising", {}), "fails_only_with_on_text")
    knowledge.text_with_a_default = frozenset(strings("raising", "text_with_a_default"))
    knowledge.cleanup_after_yield_prefixes = strings("cleanup-after-yield", "method_prefixes")
    knowledge.cleanup_after_yield_functions = frozenset(strings("cleanup-after-yield", "functions"))
    knowledge.path_keepers = frozenset(strings("paths", "keepers"))
    knowledge.path_handoff_prefixes = strings("paths", "handoff_prefixes")
    knowledge.path_constructors = frozenset(strings("paths", "constructors"))
    knowledge.path_methods = frozenset(strings("paths", "methods"))
    knowledge.path_wrappers = frozenset(strings("paths", "wrappers"))
    knowledge.same_path_methods = frozenset(strings("paths", "same_path_methods"))
    knowledge.memory_buffers = frozenset(strings("memory-buffers", "constructors"))
    knowledge.idle_until = _name_lists(calls.get("idle-objects", {}), "started_by", "idle-objects")
    reexports = calls.get("re-exports", {}).get("modules", {}) if isinstance(calls.get("re-exports", {}), Mapping) else None
    if not isinstance(reexports, Mapping) or not all(
        isinstance(key, str) and isinstance(value, str) and DOTTED.match(value) for key, value in reexports.items()
    ):
        raise KnowledgeError(f"{CALLS_FILE}: [re-exports] modules must map a name to a dotted module name")
    knowledge.reexported_modules = dict(reexports)
    verbs = calls.get("inferring", {}).get("release_methods", {}) if isinstance(calls.get("inferring"), Mapping) else {}
    if not isinstance(verbs, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in verbs.items()):
        raise KnowledgeError("inferred.toml: [inferring] release_methods must map method names to verbs")
    knowledge.inferred_release_verbs = dict(verbs)
    knowledge.inferred_not_with_methods = frozenset(strings("inferring", "not_with_methods"))
    knowledge.inferred_not_from = frozenset(strings("inferring", "not_from_callables"))
    knowledge.inferred_not_from_methods = frozenset(strings("inferring", "not_from_methods"))
    knowledge.inferred_identity_callables = frozenset(strings("inferring", "identity_callables"))
    knowledge.inferred_set_up_methods = frozenset(strings("inferring", "set_up_methods"))
    knowledge.inferred_starting_methods = frozenset(strings("inferring", "starting_methods"))
    knowledge.inferred_closed_with_receiver_methods = frozenset(strings("inferring", "closed_with_receiver_methods"))
    knowledge.inferred_in_memory_bases = frozenset(strings("inferring", "in_memory_bases"))
    held_after = calls.get("inferring", {}).get("held_after_calls", {}) if isinstance(calls.get("inferring"), Mapping) else {}
    if not isinstance(held_after, Mapping) or not all(
        isinstance(k, str) and isinstance(v, list) and all(isinstance(m, str) for m in v) for k, v in held_after.items()
    ):
        raise KnowledgeError("inferred.toml: [inferring] held_after_calls must map callables to lists of method names")
    knowledge.inferred_held_after_calls = {callee: frozenset(methods) for callee, methods in held_after.items()}
    held_with = calls.get("inferring", {}).get("held_only_with_keyword", {}) if isinstance(calls.get("inferring"), Mapping) else {}
    if not isinstance(held_with, Mapping) or not all(isinstance(k, str) and isinstance(v, str) and IDENTIFIER.match(v) for k, v in held_with.items()):
        raise KnowledgeError("inferred.toml: [inferring] held_only_with_keyword must map callables to a keyword name")
    knowledge.inferred_held_only_with_keyword = dict(held_with)


def _inherited_releases(table: Any) -> Dict[str, Dict[str, str]]:
    """``[inherited-releases] bases``, checked: base -> attribute -> releasing method."""
    where = f"{CALLS_FILE}: [inherited-releases] bases"
    entries = table.get("bases", []) if isinstance(table, Mapping) else None
    if not isinstance(entries, list):
        raise KnowledgeError(f"{where} must be a list of {{ base, method, attributes }} tables")
    found: Dict[str, Dict[str, str]] = {}
    for entry in entries:
        if (
            not isinstance(entry, Mapping)
            or set(entry) != {"base", "method", "attributes"}
            or not isinstance(entry["base"], str)
            or not DOTTED.match(entry["base"])
            or not isinstance(entry["method"], str)
            or not IDENTIFIER.match(entry["method"])
            or not isinstance(entry["attributes"], list)
            or not all(isinstance(a, str) and IDENTIFIER.match(a) for a in entry["attributes"])
        ):
            raise KnowledgeError(f"{where}: each entry is {{ base = \"pkg.Class\", method = \"close\", attributes = [\"sock\"] }}")
        found.setdefault(entry["base"], {}).update({attr: entry["method"] for attr in entry["attributes"]})
    return found


def _exception_bases(table: Any) -> Dict[str, str]:
    """``[exceptions] bases``, checked: exception -> its base class."""
    bases = table.get("bases", {}) if isinstance(table, Mapping) else None
    if not isinstance(bases, Mapping) or not all(
        isinstance(k, str) and DOTTED.match(k) and isinstance(v, str) and DOTTED.match(v) for k, v in bases.items()
    ):
        raise KnowledgeError(f"{CALLS_FILE}: [exceptions] bases must map an exception to its base class")
    return dict(bases)


def _name_lists(table: Any, key: str, section: str = "raising", qualified_names: bool = False) -> Dict[str, FrozenSet[str]]:
    """A table of qualified name -> names (``[raising] non_raising_methods_of``,
    ``raised_only_by``; ``[idle-objects] started_by``), or -> qualified names, checked."""
    where = f"{CALLS_FILE}: [{section}] {key}"
    value = table.get(key, {}) if isinstance(table, Mapping) else None
    if not isinstance(value, Mapping):
        raise KnowledgeError(f"{where} must be a table of \"pkg.Name\" = [\"name\", ...]")
    found: Dict[str, FrozenSet[str]] = {}
    for qualified, names in value.items():
        if not DOTTED.match(qualified) or not isinstance(names, list) or not all(
            isinstance(n, str) and (DOTTED if qualified_names else IDENTIFIER).match(n) for n in names
        ):
            raise KnowledgeError(f"{where}: {qualified!r} must map to a list of names")
        found[qualified] = frozenset(names)
    return found
