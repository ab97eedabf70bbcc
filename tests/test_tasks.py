"""The asyncio-task stage and MEM061: knowledge, prefilter, messages, no fix.

The cases both ways are fixtures (``fixtures/MEM061``); here is what fixtures cannot say.
"""

from __future__ import annotations

import ast

import pytest

import memlint
from memlint.knowledge.loader import KnowledgeError
from memlint.knowledge.tasks import parse_tasks, task_knowledge, task_trigger_names
from memlint.prefilter import needs_analysis, task_candidates, tree_needs_analysis

SELECT = {"select": ["MEM061"]}


def findings(source: str, config=SELECT):
    return [f for f in memlint.check_source(source, "task_case.py", config) if f.code == "MEM061"]


def test_task_knowledge_is_checked_field_by_field():
    assert "asyncio.create_task" in task_knowledge()["creating.functions"]
    with pytest.raises(KnowledgeError, match=r"^t.toml: unknown section\(s\) \['colour'\]"):
        parse_tasks({"colour": {}}, "t.toml")
    with pytest.raises(KnowledgeError, match=r"\[creating\] functions must be a list of non-empty strings"):
        parse_tasks({"creating": {"functions": "asyncio.create_task"}}, "t.toml")
    with pytest.raises(KnowledgeError, match=r"\[task\] unknown field"):
        parse_tasks({"task": {"keeping": []}}, "t.toml")
    with pytest.raises(KnowledgeError, match=r"pass_futures_through names \['x.ensure'\], which are not in functions"):
        parse_tasks({"creating": {"functions": ["asyncio.create_task"], "pass_futures_through": ["x.ensure"]}}, "t.toml")


def test_trigger_names_come_from_the_data():
    assert {"create_task", "ensure_future"} <= task_trigger_names()
    assert "asyncio.create_task" not in task_trigger_names()


def test_the_byte_prefilter_lets_tasks_through_only_when_mem061_is_selected():
    data = b"import asyncio\nasync def f():\n    asyncio.ensure_future(g())\n"
    assert needs_analysis({}, ["MEM061"])(data)
    assert not needs_analysis({}, ["MEM001"])(data)
    assert not needs_analysis({}, ["MEM061"])(b"async def f():\n    await g()\n")


def test_the_tree_prefilter_needs_a_task_creating_call():
    assert task_candidates(ast.parse("def f(loop):\n    loop.create_task(g())\n"))
    assert task_candidates(ast.parse("from asyncio import create_task as spawn\nspawn(g())\n"))
    assert not task_candidates(ast.parse("# create_task(g())\nx = 'ensure_future'\n"))
    assert tree_needs_analysis(ast.parse("import asyncio\nasyncio.create_task(g())\n"), {}, ["MEM061"])
    assert not tree_needs_analysis(ast.parse("import asyncio\nasyncio.create_task(g())\n"), {}, ["MEM001"])


def test_a_dropped_task_message_names_the_callable_and_what_to_do():
    (finding,) = findings("import asyncio as aio\nasync def f():\n    aio.create_task(g())\n")
    assert finding.line == 3
    assert finding.message.startswith("the task from `asyncio.create_task()` is dropped: ")
    assert "weakly" in finding.message and "TaskGroup" in finding.message


def test_a_local_task_message_names_the_local_and_the_method_that_keeps_nothing():
    source = (
        "import asyncio\n"
        "async def start():\n"
        "    job = asyncio.create_task(g())\n"
        "    job.add_done_callback(print)\n"
    )
    (finding,) = findings(source)
    assert finding.message.startswith(
        "`job`, the task from `asyncio.create_task()`, is let go when `start()` returns "
        "(`add_done_callback()` keeps nothing; it is not awaited"
    )


def test_a_lambda_run_by_the_loop_is_named_in_the_message():
    source = "import asyncio\ndef on_signal(loop):\n    loop.call_soon(lambda: asyncio.create_task(g()))\n"
    (finding,) = findings(source)
    assert "`call_soon()` runs the lambda and throws away the task it returns" in finding.message


def test_the_same_local_awaited_in_another_function_does_not_count():
    source = (
        "import asyncio\n"
        "async def start():\n"
        "    job = asyncio.create_task(g())\n"
        "async def stop(job):\n"
        "    await job\n"
    )
    assert [f.line for f in findings(source)] == [3]


def test_there_is_no_fix():
    source = "import asyncio\nasync def f():\n    asyncio.create_task(g())\n"
    (finding,) = findings(source)
    assert finding.fix is None


def test_the_rule_is_on_by_default():
    """rules/MEM061.md says `default: on` (judged precision on the check sets, see its Figures)."""
    source = "import asyncio\nasync def f():\n    asyncio.ensure_future(g())\n"
    assert [f.line for f in findings(source, None)] == [3]
