"""What MEM061 (dangling asyncio tasks) knows, as data: ``asyncio-tasks/tasks.toml``.

Kept in a folder of its own so that the resource loader (``loader.py``), which reads every
``*.toml`` beside it as resource models, never sees it. ``task_knowledge()`` reads it once per
process and checks every field; ``task_trigger_names()`` gives the prefilter the words a file
must contain for MEM061 to find anything in it.
"""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python < 3.11
    import tomli as tomllib

from memlint.knowledge.loader import KnowledgeError

TASKS_FILE = Path(__file__).resolve().parent / "asyncio-tasks" / "tasks.toml"

_FIELDS: Dict[str, Tuple[str, ...]] = {
    "creating": ("functions", "pass_futures_through", "loop_methods", "loop_getters", "loop_name_words",
                 "callback_runners"),
    "task": ("loop_runners", "not_keeping_methods"),
}


@dataclass(frozen=True)
class TaskKnowledge:
    """The lists of ``tasks.toml``, by ``section.field``."""

    lists: Mapping[str, FrozenSet[str]]

    def __getitem__(self, key: str) -> FrozenSet[str]:
        return self.lists[key]


def parse_tasks(document: Mapping[str, Any], where: str) -> TaskKnowledge:
    """Check a parsed ``tasks.toml``: every section and field known, every value a list of strings."""
    unknown = sorted(set(document) - set(_FIELDS))
    if unknown:
        raise KnowledgeError(f"{where}: unknown section(s) {unknown}; expected {sorted(_FIELDS)}")
    lists: Dict[str, FrozenSet[str]] = {}
    for section, fields in _FIELDS.items():
        table = document.get(section, {})
        if not isinstance(table, Mapping):
            raise KnowledgeError(f"{where}: [{section}] must be a table")
        extra = sorted(set(table) - set(fields))
        if extra:
            raise KnowledgeError(f"{where}: [{section}] unknown field(s) {extra}; known: {list(fields)}")
        for name in fields:
            value = table.get(name, [])
            if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
                raise KnowledgeError(f"{where}: [{section}] {name} must be a list of non-empty strings")
            lists[f"{section}.{name}"] = frozenset(value)
    stray = sorted(lists["creating.pass_futures_through"] - lists["creating.functions"])
    if stray:
        raise KnowledgeError(f"{where}: [creating] pass_futures_through names {stray}, which are not in functions")
    return TaskKnowledge(lists)


@functools.lru_cache(maxsize=1)
def task_knowledge() -> TaskKnowledge:
    """The built-in task knowledge (read once per process)."""
    try:
        document = tomllib.loads(TASKS_FILE.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise KnowledgeError(f"{TASKS_FILE.name}: cannot be read: {error}") from None
    return parse_tasks(document, TASKS_FILE.name)


def task_trigger_names() -> FrozenSet[str]:
    """The last names of the task-creating functions and loop methods: a file without one of
    them (as a whole word) cannot draw MEM061."""
    known = task_knowledge()
    return frozenset(name.rsplit(".", 1)[-1] for name in known["creating.functions"]) | known["creating.loop_methods"]
