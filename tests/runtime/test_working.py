"""WorkingMemory: budgets, pruning that keeps system messages and always ends, token counters."""

from __future__ import annotations

import sys
import threading
from typing import List

import pytest

from memlint.runtime import WorkingMemory
from memlint.runtime._tokens import char_token_count, keep_tail, resolve_counter, truncate_head
from memlint.runtime.working import BudgetExceededError


def words(text: str) -> int:
    return len(text.split())


def test_document_budgets_and_the_system_reserve() -> None:
    assert WorkingMemory.MAX_CONTEXT_SIZE == 4000
    assert WorkingMemory.MAX_TASK_SIZE == 2000
    assert WorkingMemory.MAX_TEMP_SIZE == 1000
    assert WorkingMemory.MAX_TOTAL_SIZE == 8000
    memory = WorkingMemory()
    assert memory.system_reserve == 1000
    with pytest.raises(ValueError, match="exceed the total"):
        WorkingMemory(max_total_size=6000)
    with pytest.raises(ValueError):
        WorkingMemory(max_context_size=0)


def test_default_counter_is_characters_over_four_rounded_up() -> None:
    assert char_token_count("") == 0
    assert char_token_count("abcd") == 1
    assert char_token_count("abcde") == 2
    assert WorkingMemory().count_tokens("x" * 400) == 100


def test_pruning_drops_oldest_messages_and_keeps_system_ones() -> None:
    memory = WorkingMemory()
    memory.add_to_conversation("You are terse.", role="system")
    for number in range(30):
        memory.add_to_conversation(f"message {number:02d} " + "y" * 789)  # 200 tokens each
    context = memory.conversation_context
    assert context[0] == {"role": "system", "content": "You are terse."}
    assert context[-1]["content"].startswith("message 29")
    usage = memory.usage()
    assert usage["conversation"] <= 4000
    assert usage["conversation"] == sum(char_token_count(m["content"]) for m in context[1:])
    assert len(context) == 1 + 20  # 20 x 200 tokens fill the 4,000-token budget exactly
    assert context[1]["content"].startswith("message 10")


def test_a_system_message_in_the_middle_survives_pruning() -> None:
    memory = WorkingMemory(max_context_size=100, max_task_size=10, max_temp_size=10, max_total_size=200)
    memory.add_to_conversation("a" * 200)
    memory.add_to_conversation("rules", role="system")
    for _ in range(10):
        memory.add_to_conversation("b" * 200)
    roles = [message["role"] for message in memory.conversation_context]
    assert roles.count("system") == 1
    assert memory.usage()["conversation"] <= 100


def test_one_huge_message_is_truncated_and_pruning_ends() -> None:
    memory = WorkingMemory()
    memory.add_to_conversation("Be brief.", role="system")
    memory.add_to_conversation("earlier")
    huge = "z" * 1_000_000
    memory.add_to_conversation(huge)
    context = memory.conversation_context
    assert [message["role"] for message in context] == ["system", "user"]
    kept = context[-1]["content"]
    assert kept.endswith(" [...]")
    assert kept.startswith("zzzz")
    assert 3990 <= char_token_count(kept) <= 4000
    assert memory.usage()["conversation"] == char_token_count(kept)


def test_truncation_uses_the_pluggable_counter() -> None:
    memory = WorkingMemory(token_counter=words)
    memory.add_to_conversation(" ".join(f"w{number}" for number in range(10_000)))
    kept = memory.conversation_context[-1]["content"]
    assert words(kept) <= 4000
    assert kept.startswith("w0 w1 w2")
    assert memory.usage()["conversation"] == words(kept)


def test_system_messages_are_charged_to_the_reserve_and_refused_beyond_it() -> None:
    memory = WorkingMemory()
    memory.add_to_conversation("s" * 3000, role="system")  # 750 tokens
    assert memory.usage()["system"] == 750
    assert memory.usage()["conversation"] == 0
    with pytest.raises(BudgetExceededError, match="system reserve"):
        memory.add_to_conversation("s" * 1200, role="system")  # 300 more: over 1,000
    assert len(memory.conversation_context) == 1


def test_task_context_refuses_what_does_not_fit() -> None:
    memory = WorkingMemory()
    memory.task_context["plan"] = "p" * 4000  # 1 + 1,000 tokens
    with pytest.raises(BudgetExceededError, match="does not fit"):
        memory.task_context["notes"] = "n" * 4000
    assert "notes" not in memory.task_context
    assert memory.task_context["plan"] == "p" * 4000
    memory.task_context["plan"] = "short"  # replacing a key frees its old cost
    memory.task_context["notes"] = "n" * 4000
    assert memory.usage()["task"] == char_token_count("plan") + 2 + char_token_count("notes") + 1000
    with pytest.raises(BudgetExceededError, match="more than the whole"):
        memory.task_context["huge"] = "h" * 9000


def test_temp_data_evicts_the_oldest_entries() -> None:
    memory = WorkingMemory()
    for number in range(5):
        memory.temp_data[f"k{number}"] = "v" * 1200  # 1 + 300 tokens
    assert list(memory.temp_data) == ["k2", "k3", "k4"]
    assert memory.usage()["temp"] <= 1000
    with pytest.raises(BudgetExceededError):
        memory.temp_data["big"] = "v" * 5000
    assert list(memory.temp_data) == ["k2", "k3", "k4"]
    del memory.temp_data["k3"]
    assert memory.usage()["temp"] == 2 * 301


def test_non_string_values_are_counted_as_json() -> None:
    memory = WorkingMemory()
    memory.task_context["step"] = {"name": "fetch", "tries": 3}
    expected = char_token_count("step") + char_token_count('{"name": "fetch", "tries": 3}')
    assert memory.usage()["task"] == expected
    memory.temp_data["odd"] = {1: "a", "b": 2}  # unsortable keys: counted by repr
    assert memory.usage()["temp"] == char_token_count("odd") + char_token_count(repr({1: "a", "b": 2}))


def test_total_never_exceeds_the_total_budget() -> None:
    memory = WorkingMemory()
    memory.add_to_conversation("s" * 3996, role="system")
    for number in range(50):
        memory.add_to_conversation("m" * 1000)
        memory.temp_data[f"t{number}"] = "t" * 400
    for number in range(19):
        memory.task_context[f"k{number:02d}"] = "x" * 400
    usage = memory.usage()
    assert usage["total"] <= 8000
    assert usage["total"] == usage["conversation"] + usage["system"] + usage["task"] + usage["temp"]


def test_clear_and_clear_temp() -> None:
    memory = WorkingMemory()
    memory.add_to_conversation("sys", role="system")
    memory.add_to_conversation("hello")
    memory.task_context["a"] = 1
    memory.temp_data["b"] = 2
    memory.clear_temp()
    assert len(memory.temp_data) == 0 and memory.task_context["a"] == 1
    memory.clear(keep_system=True)
    assert memory.conversation_context == ({"role": "system", "content": "sys"},)
    assert memory.usage() == {"conversation": 0, "system": 1, "task": 0, "temp": 0, "total": 1}
    memory.clear()
    assert memory.conversation_context == ()
    assert memory.usage()["total"] == 0


def test_conversation_context_is_a_read_only_snapshot() -> None:
    memory = WorkingMemory()
    memory.add_to_conversation("hello")
    snapshot = memory.conversation_context
    with pytest.raises(AttributeError):
        snapshot.append({"role": "user", "content": "x"})  # type: ignore[attr-defined]
    snapshot[0]["content"] = "changed"
    assert memory.conversation_context[0]["content"] == "hello"


def test_bad_input_is_refused() -> None:
    memory = WorkingMemory()
    with pytest.raises(TypeError):
        memory.add_to_conversation(42)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        memory.add_to_conversation("hi", role="")
    with pytest.raises(ValueError, match="unknown token counter"):
        WorkingMemory(token_counter="bytes")
    with pytest.raises(TypeError):
        WorkingMemory(token_counter=3)  # type: ignore[arg-type]
    broken = WorkingMemory(token_counter=lambda text: -1)
    with pytest.raises(ValueError, match="non-negative int"):
        broken.add_to_conversation("hi")
    floaty = WorkingMemory(token_counter=lambda text: 1.5)  # type: ignore[arg-type,return-value]
    with pytest.raises(ValueError, match="non-negative int"):
        floaty.add_to_conversation("hi")


def test_tiktoken_is_only_used_when_asked_and_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "tiktoken", None)  # as if not installed
    with pytest.raises(ImportError, match="pip install tiktoken"):
        WorkingMemory(token_counter="tiktoken")
    assert WorkingMemory().count_tokens("abcdefgh") == 2  # the default never needs it


def test_tiktoken_counter_when_installed() -> None:
    tiktoken = pytest.importorskip("tiktoken", reason="tiktoken is optional and not installed here")
    try:
        encoding = tiktoken.get_encoding("cl100k_base")
    except Exception as error:  # noqa: BLE001 - tiktoken fetches its tables over the network
        pytest.skip(f"tiktoken cannot load cl100k_base here: {error}")
    counter = resolve_counter("tiktoken")
    assert counter("hello world") == len(encoding.encode("hello world"))


def test_fitting_helpers_respect_the_budget() -> None:
    text = "\n".join(f"line {number}" for number in range(100))
    tail = keep_tail(text, 20, char_token_count)
    assert char_token_count(tail) <= 20 and tail.endswith("line 99")
    assert keep_tail("x" * 1000, 10, char_token_count).startswith("[...] ")
    assert char_token_count(keep_tail("x" * 1000, 10, char_token_count)) <= 10
    assert truncate_head("short", 10, char_token_count) == "short"
    assert truncate_head("abcdefghijkl", 1, char_token_count) == "abcd"  # no room for the mark


def test_cleanup_from_another_thread_keeps_the_accounting_right() -> None:
    memory = WorkingMemory()
    stop = threading.Event()
    errors: List[BaseException] = []

    def cleaner() -> None:
        try:
            while not stop.is_set():
                memory.clear(keep_system=True)
        except BaseException as error:  # noqa: BLE001 - reported by the assertion below
            errors.append(error)

    memory.add_to_conversation("pinned", role="system")
    thread = threading.Thread(target=cleaner)
    thread.start()
    try:
        for number in range(3000):
            memory.add_to_conversation("m" * 400)
            memory.temp_data[f"t{number % 10}"] = "t" * 100
    finally:
        stop.set()
        thread.join()
    assert errors == []
    context = memory.conversation_context
    usage = memory.usage()
    assert usage["conversation"] == sum(char_token_count(m["content"]) for m in context if m["role"] != "system")
    assert context[0] == {"role": "system", "content": "pinned"}


@pytest.mark.slow
def test_pruning_ends_even_with_a_counter_that_never_shrinks() -> None:
    calls: List[int] = []

    def stubborn(text: str) -> int:
        calls.append(1)
        if len(calls) > 10_000:
            raise AssertionError("pruning does not terminate")
        return 5000  # every text, even an empty one, "costs" more than the budget

    memory = WorkingMemory(token_counter=stubborn)
    memory.add_to_conversation("first")
    memory.add_to_conversation("second")
    assert [message["role"] for message in memory.conversation_context] == ["user"]
