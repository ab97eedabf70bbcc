"""The engine parses without libcst's per-node validation (``engine.parse_unvalidated``):
the same tree, and validation back on for every node made after the parse."""

from __future__ import annotations

import threading
from pathlib import Path

import libcst as cst
import pytest

from memlint import engine

FIXTURES = sorted((Path(__file__).resolve().parent.parent / "fixtures").rglob("*.py"))[:40]


@pytest.mark.parametrize("path", FIXTURES, ids=lambda path: path.name)
def test_same_tree_as_libcst(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert engine.parse_unvalidated(text).deep_equals(cst.parse_module(text))  # type: ignore[attr-defined]


def test_the_parse_skips_node_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    # A check that always fails: libcst's own parse stops at the first Name, ours does not.
    def refuse(node: cst.Name) -> None:
        raise cst.CSTValidationError("checked")

    monkeypatch.setattr(cst.Name, "_validate", refuse)
    with pytest.raises(cst.CSTValidationError):
        cst.parse_module("x = y\n")
    module = engine.parse_unvalidated("x = y\n")
    assert module.code == "x = y\n"  # type: ignore[attr-defined]


def test_nodes_made_after_a_parse_are_validated() -> None:
    engine.parse_unvalidated("def f():\n    return 1\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_validation_is_back_after_a_failed_parse() -> None:
    with pytest.raises(cst.ParserSyntaxError):
        engine.parse_unvalidated("def (:\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_parses_in_threads_leave_validation_on() -> None:
    text = "\n".join(f"def f{index}(a, b):\n    return a + b * {index}\n" for index in range(300))
    errors = []

    def parse() -> None:
        try:
            for _ in range(5):
                engine.parse_unvalidated(text)
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=parse) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")


def test_check_text_leaves_validation_on() -> None:
    from memlint import check_source

    check_source("import socket\n\ndef f():\n    s = socket.socket()\n    s.send(b'x')\n")
    with pytest.raises(cst.CSTValidationError):
        cst.Name("")



def test_a_libcst_without_the_hook_is_left_alone() -> None:
    # A libcst release that validates somewhere other than CSTNode.__post_init__ must make the
    # engine parse as libcst does, not fail looking for the hook.
    assert callable(engine.validation_hook(cst.CSTNode))
    assert engine.validation_hook(type("ElsewhereNode", (), {})) is None
    assert engine.validation_hook(cst.Name) is None  # inherited, not the base's own
