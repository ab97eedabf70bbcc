"""Working memory within token budgets (the rules document's "Working Memory Management").

Budgets, in tokens: conversation 4,000, task context 2,000, temporary data 1,000, total
8,000. The 1,000 tokens between the sum of the three (7,000) and the total are the
**system reserve**: system messages are pinned (pruning never drops them), so they cannot
share the conversation budget without eventually leaving no room for anything else. They
are charged to the reserve instead, and adding one that would overflow it raises
``BudgetExceededError``. Every area is bounded, so the total can never exceed 8,000.

On overflow:

- conversation: the oldest non-system messages are dropped; if the newest message alone
  is over the budget it is truncated to fit (its beginning kept, ``" [...]"`` appended),
  so pruning always ends;
- task context: the assignment is refused with ``BudgetExceededError`` (silently losing
  task state is worse than an error);
- temporary data: the oldest entries are evicted; a single value larger than the whole
  budget is refused.

A value's cost is counted when it is stored: its key plus its text (``str`` as is,
anything else as JSON, or ``repr`` when not JSON-serialisable). Mutating a stored object
in place afterwards is not re-counted; store it again instead.

All state is guarded by one re-entrant lock, so a ``MemoryMonitor`` cleanup action (which
runs on the watcher thread) may call ``clear()`` or ``clear_temp()`` safely.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any, Dict, Iterator, List, MutableMapping, Optional, Tuple

from memlint.runtime._tokens import CounterSpec, TokenCounter, optional_int, resolve_counter, truncate_head

__all__ = ["BudgetExceededError", "WorkingMemory"]

logger = logging.getLogger(__name__)

SYSTEM = "system"


class BudgetExceededError(ValueError):
    """Something does not fit in its token budget and is not allowed to push others out."""


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=repr)
    except (TypeError, ValueError):
        # Mixed-type keys cannot be sorted, circular structures cannot be dumped.
        return repr(value)


class _BudgetedMapping(MutableMapping[str, Any]):
    """A dict-like area of working memory that keeps its entries within a token budget."""

    def __init__(self, area: str, budget: int, counter: TokenCounter, lock: threading.RLock, evict: bool) -> None:
        self._area = area
        self.budget = budget
        self._counter = counter
        self._lock = lock
        self._evict = evict
        self._data: "OrderedDict[str, Tuple[Any, int]]" = OrderedDict()
        self._tokens = 0

    @property
    def tokens(self) -> int:
        with self._lock:
            return self._tokens

    def cost(self, key: str, value: Any) -> int:
        return self._counter(str(key)) + self._counter(_text_of(value))

    def __setitem__(self, key: str, value: Any) -> None:
        cost = self.cost(key, value)
        with self._lock:
            if cost > self.budget:
                raise BudgetExceededError(
                    f"{self._area} entry {key!r} costs {cost} tokens, "
                    f"more than the whole {self._area} budget of {self.budget}"
                )
            old_cost = self._data[key][1] if key in self._data else 0
            if self._tokens - old_cost + cost > self.budget and not self._evict:
                raise BudgetExceededError(
                    f"{self._area} entry {key!r} ({cost} tokens) does not fit: "
                    f"{self._tokens - old_cost} of {self.budget} tokens are in use"
                )
            if key in self._data:
                self._tokens -= self._data.pop(key)[1]
            while self._tokens + cost > self.budget:
                evicted, (_, evicted_cost) = self._data.popitem(last=False)
                self._tokens -= evicted_cost
                logger.debug("evicted %s entry %r (%d tokens) to make room", self._area, evicted, evicted_cost)
            self._data[key] = (value, cost)
            self._tokens += cost

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            return self._data[key][0]

    def __delitem__(self, key: str) -> None:
        with self._lock:
            _, cost = self._data.pop(key)
            self._tokens -= cost

    def __iter__(self) -> Iterator[str]:
        with self._lock:
            keys = list(self._data)
        return iter(keys)

    def __len__(self) -> int:
        with self._lock:
            return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self._tokens = 0

    def __repr__(self) -> str:
        with self._lock:
            items = {key: value for key, (value, _) in self._data.items()}
        return f"<{self._area} {items!r} ({self._tokens}/{self.budget} tokens)>"


class WorkingMemory:
    """Conversation, task context and temporary data, each within its token budget.

    ``token_counter``: ``None``/``"chars"`` (characters / 4), ``"tiktoken"`` (only if
    installed) or any callable from text to a token count. The budgets can be lowered or
    raised per instance; the system reserve is whatever the total leaves over.
    """

    MAX_CONTEXT_SIZE = 4000  # tokens
    MAX_TASK_SIZE = 2000  # tokens
    MAX_TEMP_SIZE = 1000  # tokens
    MAX_TOTAL_SIZE = 8000  # tokens

    def __init__(
        self,
        token_counter: CounterSpec = None,
        *,
        max_context_size: Optional[int] = None,
        max_task_size: Optional[int] = None,
        max_temp_size: Optional[int] = None,
        max_total_size: Optional[int] = None,
    ) -> None:
        self.max_context_size = optional_int(max_context_size, self.MAX_CONTEXT_SIZE, "max_context_size")
        self.max_task_size = optional_int(max_task_size, self.MAX_TASK_SIZE, "max_task_size")
        self.max_temp_size = optional_int(max_temp_size, self.MAX_TEMP_SIZE, "max_temp_size")
        self.max_total_size = optional_int(max_total_size, self.MAX_TOTAL_SIZE, "max_total_size")
        self.system_reserve = self.max_total_size - self.max_context_size - self.max_task_size - self.max_temp_size
        if self.system_reserve < 0:
            raise ValueError(
                f"the conversation, task and temporary budgets ({self.max_context_size}+{self.max_task_size}"
                f"+{self.max_temp_size}) exceed the total budget ({self.max_total_size})"
            )
        self._count = resolve_counter(token_counter)
        self._lock = threading.RLock()
        # Each entry is [role, content, tokens]; tokens are counted once, on arrival.
        self._messages: List[List[Any]] = []
        self._conversation_tokens = 0
        self._system_tokens = 0
        self._task = _BudgetedMapping("task context", self.max_task_size, self._count, self._lock, evict=False)
        self._temp = _BudgetedMapping("temporary data", self.max_temp_size, self._count, self._lock, evict=True)
        # Dict-like; assignments are checked against the budgets.
        self.task_context: MutableMapping[str, Any] = self._task
        self.temp_data: MutableMapping[str, Any] = self._temp

    def count_tokens(self, text: str) -> int:
        """Tokens in ``text`` by this memory's counter."""
        return self._count(text)

    def add_to_conversation(self, message: str, role: str = "user") -> None:
        """Append a message, then prune the conversation back into its budget.

        System messages (``role="system"``) are pinned and charged to the system reserve;
        ``BudgetExceededError`` if the reserve cannot hold one more.
        """
        if not isinstance(message, str):
            raise TypeError(f"message must be a str, not {type(message).__name__}")
        if not isinstance(role, str) or not role:
            raise ValueError(f"role must be a non-empty str, not {role!r}")
        tokens = self._count(message)
        with self._lock:
            if role == SYSTEM:
                if self._system_tokens + tokens > self.system_reserve:
                    raise BudgetExceededError(
                        f"system message of {tokens} tokens does not fit the system reserve: "
                        f"{self._system_tokens} of {self.system_reserve} tokens are in use"
                    )
                self._messages.append([role, message, tokens])
                self._system_tokens += tokens
                return
            self._messages.append([role, message, tokens])
            self._conversation_tokens += tokens
            if self._conversation_tokens > self.max_context_size:
                self._prune_conversation()

    def _prune_conversation(self) -> None:
        """Drop the oldest non-system messages; truncate the last one if it alone is too big.

        Each pass removes a message or ends, so this always terminates.
        """
        while self._conversation_tokens > self.max_context_size:
            movable = [index for index, entry in enumerate(self._messages) if entry[0] != SYSTEM]
            if len(movable) > 1:
                _, _, tokens = self._messages.pop(movable[0])
                self._conversation_tokens -= tokens
                continue
            entry = self._messages[movable[0]]
            shortened = truncate_head(entry[1], self.max_context_size, self._count)
            logger.warning(
                "conversation message of %d tokens truncated to the %d-token budget", entry[2], self.max_context_size
            )
            new_tokens = self._count(shortened)
            self._conversation_tokens += new_tokens - entry[2]
            entry[1], entry[2] = shortened, new_tokens
            break

    @property
    def conversation_context(self) -> Tuple[Dict[str, str], ...]:
        """The conversation, oldest first, as ``{"role", "content"}`` dicts (a snapshot)."""
        with self._lock:
            return tuple({"role": role, "content": content} for role, content, _ in self._messages)

    def usage(self) -> Dict[str, int]:
        """Tokens in use per area (``conversation`` excludes ``system``) and in ``total``."""
        with self._lock:
            task = self._task.tokens
            temp = self._temp.tokens
            return {
                "conversation": self._conversation_tokens,
                "system": self._system_tokens,
                "task": task,
                "temp": temp,
                "total": self._conversation_tokens + self._system_tokens + task + temp,
            }

    def clear_temp(self) -> None:
        """Drop the temporary data only (e.g. on a context switch)."""
        self._temp.clear()

    def clear(self, keep_system: bool = False) -> None:
        """Clear all working memory; with ``keep_system=True`` the system messages stay."""
        with self._lock:
            if keep_system:
                self._messages = [entry for entry in self._messages if entry[0] == SYSTEM]
            else:
                self._messages = []
                self._system_tokens = 0
            self._conversation_tokens = 0
            self._task.clear()
            self._temp.clear()
