"""``memlint.leakcheck()`` and ``memlint.LeakError``, used directly in code."""

from __future__ import annotations

import inspect
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from typing import Any, List

import pytest

import memlint
from memlint import LeakError, leakcheck
from memlint._leaks.api import LeakCheck

HERE = os.path.basename(__file__)


def _line_of(marker: str) -> int:
    """The line of this file that carries ``marker`` in a comment."""
    lines = inspect.getsource(sys.modules[__name__]).splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.rstrip().endswith(f"# {marker}"))


def test_public_names_are_exported_lazily() -> None:
    assert isinstance(memlint.leakcheck(grace_period=0), LeakCheck)
    assert memlint.LeakError is LeakError
    assert issubclass(LeakError, AssertionError)


@pytest.mark.parametrize(
    "imports",
    ["import memlint", "from memlint import LeakError", "import memlint._leaks.api"],
)
def test_memlint_leakcheck_is_callable_whatever_was_imported_first(imports: str) -> None:
    code = (
        f"{imports}\nimport memlint, sys\n"
        "assert 'psutil' not in sys.modules, 'importing must stay cheap'\n"
        "with memlint.leakcheck(grace_period=0) as check:\n    pass\n"
        "print(type(check).__name__, check.leaks)\n"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == "LeakCheck []"


def test_leak_error_survives_pickling() -> None:
    from memlint._leaks.model import Leak, Site

    error = LeakError([Leak("fd", "/tmp/x", "fd 3", Site("/src/a.py", 3, "f"))])
    copy = pickle.loads(pickle.dumps(error))
    assert copy.leaks == error.leaks
    assert str(copy) == str(error)


def test_leaked_file_raises_with_path_and_site() -> None:
    kept: List[Any] = []
    try:
        with pytest.raises(LeakError) as caught:
            with leakcheck(grace_period=0):
                kept.append(open(__file__, encoding="utf-8"))  # FILE-SITE
    finally:
        for handle in kept:
            handle.close()
    [leak] = caught.value.leaks
    assert leak.kind == "fd"
    assert leak.name == os.path.abspath(__file__)
    assert leak.site is not None and leak.site.lineno == _line_of("FILE-SITE")
    message = str(caught.value)
    assert message.startswith("the block leaked 1 resource:")
    assert f"{HERE}:{_line_of('FILE-SITE')}" in message


def test_clean_block_passes_and_records_nothing() -> None:
    with leakcheck(grace_period=0) as check:
        with open(__file__, encoding="utf-8") as handle:
            handle.read()
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
    assert check.leaks == []


def test_every_kind_in_one_block() -> None:
    kept: List[Any] = []
    stop = threading.Event()
    try:
        with pytest.raises(LeakError) as caught:
            with leakcheck(grace_period=0.05):
                kept.append(socket.socket())
                kept.append(subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]))
                worker = threading.Thread(target=stop.wait, name="leakcheck-worker", daemon=True)
                worker.start()
                kept.append(worker)
                kept.append(tempfile.mkdtemp(prefix="memlint-leakcheck-"))
    finally:
        stop.set()
        for item in kept:
            if isinstance(item, subprocess.Popen):
                item.kill()
                item.wait()
            elif isinstance(item, threading.Thread):
                item.join()
            elif isinstance(item, str):
                shutil.rmtree(item)
            else:
                item.close()
    kinds = sorted(leak.kind for leak in caught.value.leaks)
    assert kinds == ["process", "socket", "temp", "thread"]
    by_kind = {leak.kind: leak for leak in caught.value.leaks}
    assert by_kind["thread"].name == "leakcheck-worker"
    assert "time.sleep(30)" in by_kind["process"].name
    assert by_kind["temp"].name.startswith(os.path.join(tempfile.gettempdir(), "memlint-leakcheck-"))
    for leak in caught.value.leaks:
        assert leak.site is not None and os.path.basename(leak.site.filename) == HERE, leak


# It leaks on purpose, and the plugin (when this suite runs with it) would see it too.
@pytest.mark.memlint_leaks(enabled=False)
def test_file_closed_by_garbage_collector_is_a_leak() -> None:
    with pytest.raises(LeakError) as caught:
        with leakcheck(grace_period=0):
            handle = open(__file__, encoding="utf-8")  # GC-SITE
            handle.cycle = handle  # type: ignore[attr-defined]
            del handle
    [leak] = caught.value.leaks
    assert leak.kind == "resource-warning"
    assert "unclosed file" in leak.name
    assert leak.site is not None and leak.site.lineno == _line_of("GC-SITE")


def test_pipe_is_reported_with_its_site() -> None:
    fds: List[int] = []
    try:
        with pytest.raises(LeakError) as caught:
            with leakcheck(grace_period=0):
                fds.extend(os.pipe())  # PIPE-SITE
    finally:
        for fd in fds:
            os.close(fd)
    assert [leak.kind for leak in caught.value.leaks] == ["fd", "fd"]
    for leak in caught.value.leaks:
        assert leak.name.startswith("pipe:")
        assert leak.site is not None and leak.site.lineno == _line_of("PIPE-SITE")


def test_thread_that_finishes_within_the_grace_period_is_not_a_leak() -> None:
    release = threading.Event()
    with leakcheck(grace_period=5):
        threading.Thread(target=release.wait, args=(0.05,), name="short-lived").start()


def test_exception_in_block_propagates_unchanged() -> None:
    kept: List[Any] = []
    try:
        with pytest.raises(KeyError):
            with leakcheck(grace_period=0):
                kept.append(open(__file__, encoding="utf-8"))
                raise KeyError("original")
    finally:
        for handle in kept:
            handle.close()


def test_allow_patterns() -> None:
    kept: List[Any] = []
    try:
        with leakcheck(allow=[f"fd:*{HERE}"], grace_period=0):
            kept.append(open(__file__, encoding="utf-8"))
        with pytest.raises(LeakError):
            with leakcheck(allow=[f"socket:*{HERE}"], grace_period=0):
                kept.append(open(__file__, encoding="utf-8"))
    finally:
        for handle in kept:
            handle.close()


def test_decorator_form_checks_each_call() -> None:
    kept: List[Any] = []

    @leakcheck(grace_period=0)
    def work(leak: bool) -> str:
        handle = open(__file__, encoding="utf-8")
        if leak:
            kept.append(handle)
        else:
            handle.close()
        return "done"

    try:
        assert work(False) == "done"
        with pytest.raises(LeakError):
            work(True)
        assert work(False) == "done"
        assert work.__name__ == "work"
    finally:
        for handle in kept:
            handle.close()


def test_bare_decorator() -> None:
    kept: List[Any] = []

    @leakcheck
    def work() -> None:
        kept.append(socket.socket())

    try:
        with pytest.raises(LeakError, match="socket"):
            work()
    finally:
        for item in kept:
            item.close()


def test_nested_checks_each_see_their_own_leaks() -> None:
    kept: List[Any] = []
    try:
        with pytest.raises(LeakError) as outer:
            with leakcheck(grace_period=0):
                with pytest.raises(LeakError) as inner:
                    with leakcheck(grace_period=0):
                        kept.append(open(__file__, encoding="utf-8"))
                kept.append(socket.socket())
    finally:
        for item in kept:
            item.close()
    assert [leak.kind for leak in inner.value.leaks] == ["fd"]
    assert sorted(leak.kind for leak in outer.value.leaks) == ["fd", "socket"]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"allow": "fd:*"}, TypeError),
        ({"allow": [""]}, ValueError),
        ({"grace_period": -1}, ValueError),
        ({"grace_period": "soon"}, ValueError),
    ],
)
def test_bad_arguments_are_refused(kwargs: Any, error: type) -> None:
    with pytest.raises(error):
        with leakcheck(**kwargs):
            pass


def test_not_reentrant() -> None:
    check = leakcheck(grace_period=0)
    with check:
        with pytest.raises(RuntimeError, match="not re-entrant"):
            check.__enter__()


def test_decorated_coroutine_function_checks_its_body() -> None:
    import asyncio

    kept: List[Any] = []

    @leakcheck(grace_period=0)
    async def work(leak: bool) -> str:
        await asyncio.sleep(0)
        handle = open(__file__, encoding="utf-8")  # ASYNC-SITE
        if leak:
            kept.append(handle)
        else:
            handle.close()
        return "done"

    try:
        assert inspect.iscoroutinefunction(work)
        assert asyncio.run(work(False)) == "done"
        with pytest.raises(LeakError) as caught:
            asyncio.run(work(True))
    finally:
        for handle in kept:
            handle.close()
    [leak] = caught.value.leaks
    assert leak.site is not None and leak.site.lineno == _line_of("ASYNC-SITE")


def test_decorated_generator_function_checks_until_it_is_exhausted() -> None:
    kept: List[Any] = []

    @leakcheck(grace_period=0)
    def produce() -> Any:
        yield 1
        kept.append(open(__file__, encoding="utf-8"))
        received = yield 2
        yield received

    try:
        generator = produce()
        assert inspect.isgenerator(generator)
        assert next(generator) == 1
        assert next(generator) == 2
        assert generator.send("sent") == "sent"  # send() reaches the body
        with pytest.raises(LeakError):
            next(generator)
    finally:
        for handle in kept:
            handle.close()


def test_async_generator_function_is_refused() -> None:
    async def produce() -> Any:
        yield 1

    with pytest.raises(TypeError, match="async generator"):
        leakcheck(produce)


def test_async_with_form() -> None:
    import asyncio

    kept: List[Any] = []

    async def main() -> None:
        async with leakcheck(grace_period=0):
            kept.append(open(__file__, encoding="utf-8"))

    try:
        with pytest.raises(LeakError):
            asyncio.run(main())
    finally:
        for handle in kept:
            handle.close()


def test_grace_wait_ends_early_for_a_thread_blocked_for_good() -> None:
    import time

    release = threading.Event()
    started = time.monotonic()
    try:
        with pytest.raises(LeakError, match="blocked-for-good"):
            with leakcheck(grace_period=20):
                threading.Thread(target=release.wait, name="blocked-for-good").start()
    finally:
        release.set()
    # Behaviour, not speed: the old wait took the whole 20 s grace period.
    assert time.monotonic() - started < 10
