"""The rules document's examples for MEM-002, MEM-004, working/conversation/task memory and
alerts, run unchanged against ``memlint.runtime``.

The examples and the document's method signatures are embedded here so the test runs
anywhere; when the seed document itself is available (``MEMLINT_SEED_RULES`` or the shared
seed directory), a second test checks that the embedded copies still match it.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

import memlint.runtime as runtime

# --- the document's usage examples, verbatim -------------------------------------------------

MEM002_USAGE = """\
# Usage
monitor = MemoryMonitor(threshold_mb=500)
if monitor.should_cleanup():
    # Trigger cleanup
    memory_manager.cleanup_old_data()
"""

MEM004_USAGE = """\
# Usage
with memory_context(memory_manager, "task_001") as mem:
    mem.store("key", "value")
    # Context automatically cleaned up
"""

# --- the document's public API: "Class.method" -> parameters after self ("name=default") ----

DOC_SIGNATURES: Dict[str, List[str]] = {
    "MemoryMonitor.__init__": ["threshold_mb=500"],
    "MemoryMonitor.check_memory": [],
    "MemoryMonitor.should_cleanup": [],
    "memory_context": ["memory_manager", "context_name"],
    "WorkingMemory.__init__": [],
    "WorkingMemory.add_to_conversation": ["message"],
    "WorkingMemory.clear": [],
    "ConversationMemory.__init__": ["max_messages=20"],
    "ConversationMemory.add_message": ["role", "content"],
    "ConversationMemory.get_context": [],
    "TaskMemory.__init__": [],
    "TaskMemory.start_task": ["task_id", "task_data"],
    "TaskMemory.update_task": ["task_id", "key", "value"],
    "TaskMemory.complete_task": ["task_id", "result"],
    "TaskMemory.cleanup_old_completed": ["max_age_hours=24"],
    "MemoryAlerts.check_memory_status": ["current_mb", "limit_mb"],
}

DOC_CONSTANTS: Dict[str, Any] = {
    "MemoryAlerts.WARN_THRESHOLD": 0.7,
    "MemoryAlerts.CRITICAL_THRESHOLD": 0.9,
    "WorkingMemory.MAX_CONTEXT_SIZE": 4000,
    "WorkingMemory.MAX_TASK_SIZE": 2000,
}

MIB = 1024 * 1024


def _resolve(dotted: str) -> Any:
    owner, _, member = dotted.partition(".")
    value = getattr(runtime, owner)
    return getattr(value, member) if member else value


@pytest.mark.parametrize("dotted", sorted(DOC_SIGNATURES))
def test_document_signatures_work_unchanged(dotted: str) -> None:
    parameters = list(inspect.signature(_resolve(dotted)).parameters.values())
    if parameters and parameters[0].name == "self":
        parameters = parameters[1:]
    expected = DOC_SIGNATURES[dotted]
    for spec, parameter in zip(expected, parameters):
        name, has_default, default = spec.partition("=")
        assert parameter.name == name
        assert parameter.kind == inspect.Parameter.POSITIONAL_OR_KEYWORD
        if has_default:
            assert parameter.default == ast.literal_eval(default)
    assert len(parameters) >= len(expected)
    for extra in parameters[len(expected) :]:
        # Anything added beyond the document must be optional, so the document's calls work.
        assert extra.default is not inspect.Parameter.empty or extra.kind in (
            inspect.Parameter.VAR_POSITIONAL,
            inspect.Parameter.VAR_KEYWORD,
        )


@pytest.mark.parametrize("dotted", sorted(DOC_CONSTANTS))
def test_document_constants(dotted: str) -> None:
    assert _resolve(dotted) == DOC_CONSTANTS[dotted]


def test_mem002_usage_runs() -> None:
    manager = runtime.MemoryManager()
    namespace: Dict[str, Any] = {"MemoryMonitor": runtime.MemoryMonitor, "memory_manager": manager}
    exec(compile(MEM002_USAGE, "MEM-002 usage", "exec"), namespace)
    assert isinstance(namespace["monitor"], runtime.MemoryMonitor)
    assert namespace["monitor"].threshold_mb == 500


def test_mem002_usage_triggers_cleanup_above_the_threshold() -> None:
    freed: List[str] = []
    usage = {"mb": 600.0}
    manager = runtime.MemoryManager(monitor=runtime.MemoryMonitor(threshold_mb=500, reader=lambda: usage["mb"]))

    def free() -> None:
        freed.append("freed")
        usage["mb"] = 100.0

    manager.monitor.add_cleanup_action(free)

    def monitor_at_600(threshold_mb: float = 500) -> runtime.MemoryMonitor:
        # The document's own class, only reading an injected 600 MiB instead of this process.
        return runtime.MemoryMonitor(threshold_mb=threshold_mb, reader=lambda: usage["mb"])

    namespace: Dict[str, Any] = {"MemoryMonitor": monitor_at_600, "memory_manager": manager}
    exec(compile(MEM002_USAGE, "MEM-002 usage", "exec"), namespace)
    assert freed == ["freed"]


def test_mem004_usage_runs() -> None:
    manager = runtime.MemoryManager(monitor=runtime.MemoryMonitor(reader=lambda: 1.0))
    namespace: Dict[str, Any] = {"memory_context": runtime.memory_context, "memory_manager": manager}
    exec(compile(MEM004_USAGE, "MEM-004 usage", "exec"), namespace)
    assert namespace["mem"] is manager
    assert manager.contexts == ()  # the context was popped


def test_the_documents_classes_used_as_the_document_uses_them() -> None:
    monitor = runtime.MemoryMonitor(threshold_mb=500)
    status = monitor.check_memory()
    assert {"memory_mb", "threshold_mb", "needs_cleanup", "usage_percent"} <= set(status)
    assert status["usage_percent"] == pytest.approx(status["memory_mb"] / 500 * 100)
    assert isinstance(monitor.should_cleanup(), bool)

    alerts = runtime.MemoryAlerts()
    assert [alerts.check_memory_status(mb, 100.0) for mb in (10.0, 75.0, 95.0)] == ["OK", "WARNING", "CRITICAL"]

    working = runtime.WorkingMemory()
    working.add_to_conversation("Hello")
    working.task_context["step"] = 1
    working.temp_data["scratch"] = "x"
    assert working.conversation_context[-1]["content"] == "Hello"
    working.clear()
    assert len(working.conversation_context) == 0 and len(working.task_context) == 0 and len(working.temp_data) == 0

    conversation = runtime.ConversationMemory(max_messages=20)
    for number in range(21):
        conversation.add_message("user", f"message {number}")
    assert conversation.summary is not None and "key_points" in conversation.summary
    assert conversation.get_context()[0]["content"].startswith("Previous conversation summary: ")
    assert len(conversation.messages) == 11

    tasks = runtime.TaskMemory()
    tasks.start_task("task_001", {"goal": "demo"})
    tasks.update_task("task_001", "key", "value")
    tasks.complete_task("task_001", {"ok": True})
    assert tasks.active_tasks == {}
    assert tasks.completed_tasks[0]["result"] == {"ok": True}
    tasks.cleanup_old_completed(max_age_hours=24)
    assert len(tasks.completed_tasks) == 1  # completed just now: not old


# --- the embedded copies against the seed document, when it is available --------------------


def _seed_document() -> Optional[Path]:
    candidates = [os.environ.get("MEMLINT_SEED_RULES", "")]
    here = Path(__file__).resolve()
    candidates += [str(parent / "shared" / "seed" / "memory-management-rules.md") for parent in here.parents]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    return None


def _document_signatures(blocks: List[str]) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}

    def describe(function: ast.FunctionDef) -> List[str]:
        arguments = function.args.args
        defaults: List[Optional[ast.expr]] = [None] * (len(arguments) - len(function.args.defaults))
        defaults += list(function.args.defaults)
        specs: List[str] = []
        for argument, default in zip(arguments, defaults):
            if argument.arg == "self":
                continue
            specs.append(argument.arg if default is None else f"{argument.arg}={ast.literal_eval(default)!r}")
        return specs

    for block in blocks:
        try:
            tree = ast.parse(block)
        except SyntaxError:
            continue
        for node in tree.body:
            if isinstance(node, ast.FunctionDef):
                found[node.name] = describe(node)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.FunctionDef) and (item.name == "__init__" or not item.name.startswith("_")):
                        found[f"{node.name}.{item.name}"] = describe(item)
    return found


def _seed_blocks() -> Tuple[str, List[str]]:
    path = _seed_document()
    if path is None:
        pytest.skip("the seed rules document is not available here (set MEMLINT_SEED_RULES to its path)")
    text = path.read_text(encoding="utf-8")
    return text, re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)


def test_embedded_examples_match_the_seed_document() -> None:
    text, _ = _seed_blocks()
    assert MEM002_USAGE in text
    assert MEM004_USAGE in text


def test_embedded_signatures_match_the_seed_document() -> None:
    _, blocks = _seed_blocks()
    document = _document_signatures(blocks)
    relevant = {name: specs for name, specs in document.items() if name in DOC_SIGNATURES}
    assert relevant == DOC_SIGNATURES
    # Every public method of these classes in the document is covered.
    classes = {"MemoryMonitor", "MemoryAlerts", "WorkingMemory", "ConversationMemory", "TaskMemory"}
    public = {name for name in document if name.split(".")[0] in classes}
    assert public <= set(DOC_SIGNATURES)


def test_runtime_doc_section_examples_run() -> None:
    readme = Path(__file__).resolve().parents[2] / "docs" / "runtime.md"
    text = readme.read_text(encoding="utf-8")
    marker = "<!-- section: runtime monitoring and working memory (runtime part 2) -->"
    assert marker in text
    section = text.split(marker, 1)[1].split("<!-- section:", 1)[0]
    blocks = re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)
    assert len(blocks) >= 5  # one per class
    for number, block in enumerate(blocks):
        exec(compile(block, f"docs/runtime.md example {number}", "exec"), {"__name__": "readme_example"})
