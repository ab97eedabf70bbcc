"""ConversationMemory: rolling, bounded, deterministic summaries that fold in the previous one."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Dict, List

import pytest

from memlint.runtime import ConversationMemory
from memlint.runtime._tokens import char_token_count
from memlint.runtime.conversation import SUMMARY_PREFIX, summarize_messages

START = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


class StepClock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def test_summarises_the_older_half_past_max_messages() -> None:
    memory = ConversationMemory(clock=StepClock())
    assert memory.max_messages == 20
    for number in range(20):
        memory.add_message("user", f"Question {number}. More detail follows here.")
    assert memory.summary is None and len(memory.messages) == 20
    memory.add_message("assistant", "Answer twenty.")
    summary = memory.summary
    assert summary is not None
    assert summary["message_count"] == 10
    assert summary["key_points"].splitlines()[0] == "- user: Question 0."
    assert summary["key_points"].splitlines()[-1] == "- user: Question 9."
    assert [m["content"] for m in memory.messages][0] == "Question 10. More detail follows here."
    assert len(memory.messages) == 11


def test_get_context_puts_the_summary_first_as_a_system_message() -> None:
    memory = ConversationMemory(max_messages=4, clock=StepClock())
    for number in range(5):
        memory.add_message("user", f"m{number}")
    context = memory.get_context()
    assert context[0] == {"role": "system", "content": SUMMARY_PREFIX + "- user: m0\n- user: m1"}
    assert [m["content"] for m in context[1:]] == ["m2", "m3", "m4"]
    json.dumps(context)  # ready to send to a model


def test_successive_summaries_fold_in_the_previous_one() -> None:
    memory = ConversationMemory(max_messages=4, clock=StepClock())
    for number in range(12):
        memory.add_message("user", f"fact {number}")
    summary = memory.summary
    assert summary is not None
    lines = summary["key_points"].splitlines()
    # Nothing summarised is ever lost while the budget allows: the first facts are still there.
    assert lines[:2] == ["- user: fact 0", "- user: fact 1"]
    assert summary["message_count"] == len(lines)
    assert summary["message_count"] + len(memory.messages) == 12


def test_the_summary_stays_within_its_budget_dropping_oldest_points_first() -> None:
    memory = ConversationMemory(max_messages=4, summary_budget=30, clock=StepClock())
    for number in range(40):
        memory.add_message("user", f"point number {number:02d} is here")
    summary = memory.summary
    assert summary is not None
    assert char_token_count(summary["key_points"]) <= 30
    newest_summarised = 40 - len(memory.messages) - 1
    assert summary["key_points"].endswith(f"point number {newest_summarised:02d} is here")
    assert "point number 00" not in summary["key_points"]
    assert summary["message_count"] == 40 - len(memory.messages)


def test_a_custom_summariser_gets_the_previous_summary_first() -> None:
    seen: List[List[Dict[str, str]]] = []

    def summarizer(messages: List[Dict[str, str]]) -> str:
        seen.append(messages)
        return f"summary {len(seen)}"

    memory = ConversationMemory(max_messages=2, summarizer=summarizer, clock=StepClock())
    for number in range(5):
        memory.add_message("user", f"m{number}")
    assert [m.get("kind") for m in seen[0]] == [None]
    assert seen[1][0] == {"role": "system", "kind": "summary", "content": "summary 1"}
    assert memory.get_context()[0]["content"] == SUMMARY_PREFIX + f"summary {len(seen)}"


def test_a_long_custom_summary_is_cut_to_the_budget() -> None:
    memory = ConversationMemory(max_messages=2, summarizer=lambda messages: "word " * 1000, summary_budget=50)
    for number in range(3):
        memory.add_message("user", f"m{number}")
    summary = memory.summary
    assert summary is not None
    assert char_token_count(summary["key_points"]) <= 50


def test_system_messages_are_never_summarised_away() -> None:
    memory = ConversationMemory(max_messages=4, clock=StepClock())
    memory.add_message("system", "Always answer in French.")
    for number in range(10):
        memory.add_message("user", f"m{number}")
    assert memory.messages[0]["content"] == "Always answer in French."
    summary = memory.summary
    assert summary is not None
    assert "French" not in summary["key_points"]


def test_only_system_messages_cannot_loop() -> None:
    memory = ConversationMemory(max_messages=2)
    for number in range(5):
        memory.add_message("system", f"rule {number}")
    # The reserve (1 system message for max_messages=2) holds the newest; the rest are summarised.
    assert [m["content"] for m in memory.messages] == ["rule 4"]
    assert memory.summary is not None and memory.summary["message_count"] == 4


def test_the_default_summariser_is_deterministic_and_needs_no_model() -> None:
    def run() -> object:
        memory = ConversationMemory(max_messages=6, clock=StepClock())
        for number in range(20):
            memory.add_message("user" if number % 2 else "assistant", f"Turn {number}! Extra words. " * 3)
        return memory.get_context()

    assert run() == run()
    long_line = summarize_messages([{"role": "user", "content": "a" * 500}])
    assert len(long_line) == len("- user: ") + 160 and long_line.endswith("...")
    assert summarize_messages([{"role": "user", "content": "   "}]) == ""


def test_a_failing_summariser_keeps_the_messages() -> None:
    def failing(messages: List[Dict[str, str]]) -> str:
        raise RuntimeError("model offline")

    memory = ConversationMemory(max_messages=2, summarizer=failing)
    memory.add_message("user", "a")
    memory.add_message("user", "b")
    with pytest.raises(RuntimeError, match="offline"):
        memory.add_message("user", "c")
    assert [m["content"] for m in memory.messages] == ["a", "b", "c"]
    assert memory.summary is None
    bad = ConversationMemory(max_messages=2, summarizer=lambda messages: None)  # type: ignore[arg-type,return-value]
    bad.add_message("user", "a")
    bad.add_message("user", "b")
    with pytest.raises(TypeError, match="expected str"):
        bad.add_message("user", "c")


def test_timestamps_are_aware_utc() -> None:
    eastern = timezone(timedelta(hours=-5))
    memory = ConversationMemory(max_messages=2, clock=lambda: datetime(2026, 3, 1, 7, 0, tzinfo=eastern))
    for number in range(3):
        memory.add_message("user", f"m{number}")
    stamp = datetime.fromisoformat(memory.messages[0]["timestamp"])
    assert stamp.utcoffset() == timedelta(0)
    assert stamp == datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    summary = memory.summary
    assert summary is not None
    assert datetime.fromisoformat(summary["timestamp"]).utcoffset() == timedelta(0)
    naive = ConversationMemory(clock=lambda: datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive"):
        naive.add_message("user", "hi")


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        ConversationMemory(max_messages=1)
    with pytest.raises(ValueError):
        ConversationMemory(max_messages=0)
    with pytest.raises(TypeError):
        ConversationMemory(summarizer="llm")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ConversationMemory(summary_budget=0)
    memory = ConversationMemory()
    with pytest.raises(ValueError):
        memory.add_message("", "hi")
    with pytest.raises(TypeError):
        memory.add_message("user", None)  # type: ignore[arg-type]


def test_copies_and_clear() -> None:
    memory = ConversationMemory(max_messages=2)
    for number in range(3):
        memory.add_message("user", f"m{number}")
    memory.messages[0]["content"] = "changed"
    summary = memory.summary
    assert summary is not None
    summary["key_points"] = "changed"
    assert memory.messages[0]["content"] != "changed"
    assert memory.summary is not None and memory.summary["key_points"] != "changed"
    memory.clear()
    assert memory.messages == [] and memory.summary is None and memory.get_context() == []


def test_system_messages_are_bounded_by_their_reserve() -> None:
    # Issue 16, defect 1: 1,000 system messages used to be kept, all of them.
    conversation = ConversationMemory(max_messages=4)
    for number in range(1000):
        conversation.add_message("system", f"Rule {number}. Keep it short.")
    held = conversation.messages
    # max_messages plus the default reserve (a quarter of it, at least one); the old code held 1,000.
    assert len(held) <= 4 + 1
    assert len(held) <= conversation.max_messages + conversation.system_reserve
    # The newest system messages stay verbatim; the older ones went into the summary.
    assert held[-1]["content"] == "Rule 999. Keep it short."
    summary = conversation.summary
    assert summary is not None and summary["message_count"] == 1000 - len(held)


def test_system_reserve_mixed_with_user_messages() -> None:
    conversation = ConversationMemory(max_messages=6, system_reserve=2)
    for number in range(300):
        conversation.add_message("system" if number % 3 == 0 else "user", f"Message {number}.")
        assert len(conversation.messages) <= 8
    roles = [message["role"] for message in conversation.messages]
    assert roles.count("system") <= 2
    with pytest.raises(ValueError):
        ConversationMemory(system_reserve=0)
