"""Conversation memory with rolling summarisation (the rules document's Pattern 1).

When more than ``max_messages`` are held, the older half is summarised and dropped. Unlike
the document's version, the previous summary is not overwritten: it is handed to the
summariser as the first message (``{"role": "system", "kind": "summary", ...}``), so each
summary folds in the one before, and ``message_count`` counts every message ever
summarised. The summary text is kept within ``summary_budget`` tokens by dropping its
oldest lines first. System messages are kept verbatim within a reserve of
``system_reserve`` messages (as ``WorkingMemory`` charges them to a reserve): older
system messages beyond it are summarised like the others, so at most
``max_messages + system_reserve`` messages are ever held, whatever their roles.

The default summariser is deterministic and needs no model: one line per message with its
role and first sentence (at most 160 characters), after the previous summary's lines.
Any callable from a list of message dicts to a ``str`` can replace it, an LLM call included.
"""

from __future__ import annotations

import logging
import re
import threading
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence

from memlint.runtime._tokens import CounterSpec, keep_tail, optional_int, resolve_counter
from memlint.runtime._utc import Clock, iso_utc, now_utc, resolve_clock

__all__ = ["ConversationMemory", "Summarizer", "summarize_messages"]

logger = logging.getLogger(__name__)

Summarizer = Callable[[List[Dict[str, str]]], str]

SUMMARY_KIND = "summary"
SUMMARY_PREFIX = "Previous conversation summary: "
_SNIPPET_CHARS = 160
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def _first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    sentence = _SENTENCE_END.split(flat, maxsplit=1)[0]
    if len(sentence) > _SNIPPET_CHARS:
        sentence = sentence[: _SNIPPET_CHARS - 3].rstrip() + "..."
    return sentence


def summarize_messages(messages: Sequence[Mapping[str, str]]) -> str:
    """The default summariser: the previous summary's lines, then one line per message."""
    lines: List[str] = []
    for message in messages:
        content = message.get("content", "")
        if message.get("kind") == SUMMARY_KIND:
            lines.extend(line for line in content.splitlines() if line.strip())
            continue
        snippet = _first_sentence(content)
        if snippet:
            lines.append(f"- {message.get('role', '?')}: {snippet}")
    return "\n".join(lines)


class ConversationMemory:
    """The recent messages of a conversation plus a bounded summary of the older ones.

    ``clock`` supplies aware UTC time (message and summary timestamps are ISO 8601 strings
    with a ``+00:00`` offset, so ``get_context()`` stays JSON-serialisable).
    """

    def __init__(
        self,
        max_messages: int = 20,
        summarizer: Optional[Summarizer] = None,
        *,
        summary_budget: int = 500,
        token_counter: CounterSpec = None,
        clock: Optional[Clock] = None,
        system_reserve: Optional[int] = None,
    ) -> None:
        self.max_messages = optional_int(max_messages, 20, "max_messages")
        if self.max_messages < 2:
            raise ValueError("max_messages must be at least 2 (half of them are summarised at a time)")
        #: How many system messages are kept verbatim on top of ``max_messages``.
        self.system_reserve = optional_int(system_reserve, max(1, self.max_messages // 4), "system_reserve")
        if summarizer is not None and not callable(summarizer):
            raise TypeError(f"summarizer must be callable, not {type(summarizer).__name__}")
        self.summary_budget = optional_int(summary_budget, 500, "summary_budget")
        self._summarizer: Summarizer = summarizer if summarizer is not None else summarize_messages
        self._count = resolve_counter(token_counter)
        self._clock = resolve_clock(clock)
        self._lock = threading.RLock()
        self._messages: List[Dict[str, str]] = []
        self._summary: Optional[Dict[str, Any]] = None

    def add_message(self, role: str, content: str) -> None:
        """Append a message; summarise the older half once there are more than ``max_messages``.

        If the summariser raises, the message is kept, nothing is summarised, and the error
        propagates; the next ``add_message`` tries again.
        """
        if not isinstance(role, str) or not role:
            raise ValueError(f"role must be a non-empty str, not {role!r}")
        if not isinstance(content, str):
            raise TypeError(f"content must be a str, not {type(content).__name__}")
        timestamp = iso_utc(now_utc(self._clock))
        with self._lock:
            self._messages.append({"role": role, "content": content, "timestamp": timestamp})
            systems = sum(1 for message in self._messages if message["role"] == "system")
            if len(self._messages) > self.max_messages or systems > self.system_reserve:
                self._summarize_old_messages()

    def _summarize_old_messages(self) -> None:
        half = len(self._messages) // 2 if len(self._messages) > self.max_messages else 0
        older, newer = self._messages[:half], self._messages[half:]
        old = [message for message in older if message["role"] != "system"]
        # System messages are kept verbatim up to the reserve (the newest ones); the older
        # ones are summarised too, or system messages alone would grow without bound.
        system_ids = [id(message) for message in self._messages if message["role"] == "system"]
        excess = set(system_ids[:max(0, len(system_ids) - self.system_reserve)])
        old.extend(message for message in self._messages if id(message) in excess)
        position = {id(message): number for number, message in enumerate(self._messages)}
        old.sort(key=lambda message: position[id(message)])
        pinned = [message for message in older if message["role"] == "system" and id(message) not in excess]
        newer = [message for message in newer if id(message) not in excess]
        if not old:
            return  # only reserved system messages are old: nothing may be summarised
        given: List[Dict[str, str]] = []
        if self._summary is not None:
            given.append({"role": "system", "kind": SUMMARY_KIND, "content": self._summary["key_points"]})
        given.extend(dict(message) for message in old)
        text = self._summarizer(given)
        if not isinstance(text, str):
            raise TypeError(f"summarizer returned {type(text).__name__}, expected str")
        fitted = keep_tail(text, self.summary_budget, self._count)
        if fitted != text:
            logger.info("conversation summary shortened to its %d-token budget", self.summary_budget)
        previous_count = self._summary["message_count"] if self._summary is not None else 0
        self._summary = {
            "message_count": previous_count + len(old),
            "key_points": fitted,
            "timestamp": iso_utc(now_utc(self._clock)),
        }
        self._messages = pinned + newer

    @property
    def messages(self) -> List[Dict[str, str]]:
        """The messages not yet summarised, oldest first (copies)."""
        with self._lock:
            return [dict(message) for message in self._messages]

    @property
    def summary(self) -> Optional[Dict[str, Any]]:
        """``{"message_count", "key_points", "timestamp"}`` of everything summarised, or ``None``."""
        with self._lock:
            return dict(self._summary) if self._summary is not None else None

    def get_context(self) -> List[Dict[str, str]]:
        """The context for a model: the summary first as a system message, then the messages."""
        with self._lock:
            context: List[Dict[str, str]] = []
            if self._summary is not None:
                context.append({"role": "system", "content": SUMMARY_PREFIX + self._summary["key_points"]})
            context.extend(dict(message) for message in self._messages)
            return context

    def clear(self) -> None:
        """Forget the messages and the summary."""
        with self._lock:
            self._messages = []
            self._summary = None
