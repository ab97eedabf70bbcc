"""What MEM061 (dangling asyncio tasks) knows, as data: ``asyncio-tasks/tasks.toml``.

Kept in a folder of its own so that the resource loader (``loader.py``), which reads every
``*.toml`` beside it as resource models, never sees it. ``task_knowledge()`` reads it once per
process and checks every field; ``task_trigger_names()`` gives the prefilter the words a file
must contain for MEM061 to find anything in it.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Tuple

from memlint.knowledge.loader import KnowledgeError
from memlint.knowledge.sections import SectionLists, parse_section_lists, read_document

TASKS_FILE = Path(__file__).resolve().parent / "asyncio-tasks" / "tasks.toml"

_FIELDS: Dict[str, Tuple[str, ...]] = {
    "creating": ("functions", "pass_futures_through", "loop_methods", "loop_getters", "loop_name_words",
                 "callback_runners"),
    "task": ("loop_runners", "loop_running_calls", "not_keeping_methods"),
    "no_running_loop": ("need_running_loop", "current_loop_getters"),
}


# The lists of ``tasks.toml``, by ``section.field``.
TaskKnowledge = SectionLists


def parse_tasks(document: Mapping[str, Any], where: str) -> TaskKnowledge:
    """Check a parsed ``tasks.toml``: every section and field known, every value a list of strings."""
    lists = parse_section_lists(document, _FIELDS, where, non_empty=True)
    stray = sorted(lists["creating.pass_futures_through"] - lists["creating.functions"])
    if stray:
        raise KnowledgeError(f"{where}: [creating] pass_futures_through names {stray}, which are not in functions")
    return TaskKnowledge(lists)


@functools.lru_cache(maxsize=1)
def task_knowledge() -> TaskKnowledge:
    """The built-in task knowledge (read once per process)."""
    return parse_tasks(read_document(TASKS_FILE), TASKS_FILE.name)


def task_trigger_names() -> FrozenSet[str]:
    """The last names of the task-creating functions and loop methods: a file without one of
    them (as a whole word) cannot draw MEM061."""
    known = task_knowledge()
    return frozenset(name.rsplit(".", 1)[-1] for name in known["creating.functions"]) | known["creating.loop_methods"]
