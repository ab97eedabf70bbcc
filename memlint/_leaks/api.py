"""``memlint.leakcheck()``: fail when a block of code leaves resources behind.

::

    with memlint.leakcheck():
        run_the_code()

    @memlint.leakcheck(allow=["thread:worker-*"])
    def test_it(): ...

    @memlint.leakcheck
    def other(): ...

    @memlint.leakcheck                 # also ``async def`` and generator functions:
    async def job(): ...               # the check spans the body, not the call

At the end of the block it reports open file descriptors (with paths), sockets (with
addresses), threads, child processes, files and folders left in the temp directory, and
every ResourceWarning or unraisable exception raised inside, each with the file:line that
created it. Nothing heavy is imported until a check actually starts.
"""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Sequence, Tuple, TypeVar, Union, overload

if TYPE_CHECKING:  # pragma: no cover
    from memlint._leaks.checker import LeakChecker
    from memlint._leaks.model import Leak

__all__ = ["LeakCheck", "LeakError", "leakcheck"]

F = TypeVar("F", bound=Callable[..., Any])


class LeakError(AssertionError):
    """Raised when a checked block leaked; ``leaks`` lists what it left behind.

    It derives from ``AssertionError`` so test runners report it as a test failure.
    """

    def __init__(self, leaks: "Sequence[Leak]", what: str = "the block") -> None:
        from memlint._leaks.model import format_leaks

        self.leaks: Tuple["Leak", ...] = tuple(leaks)
        self.what = what
        super().__init__(format_leaks(self.leaks, what))

    def __reduce__(self) -> Any:
        # The default would rebuild it from the message alone (xdist, multiprocessing).
        return (type(self), (self.leaks, self.what))


class LeakCheck:
    """Check that the enclosed code releases every resource it acquires (see ``leakcheck``).

    When the block raises, its exception propagates unchanged and the leak report is
    skipped (a failing block's leftovers are expected). ``leaks`` holds the findings of
    the last check.
    """

    def __init__(self, *, allow: Sequence[str] = (), grace_period: Optional[float] = None) -> None:
        from memlint._leaks.checker import DEFAULT_GRACE_PERIOD, validate_grace_period
        from memlint._leaks.model import AllowList

        if isinstance(allow, str):
            raise TypeError("leakcheck(allow=...) takes a list of patterns, not a single string")
        AllowList(allow)  # validate early, at the call site
        self.allow: Tuple[str, ...] = tuple(allow)
        self.grace_period = DEFAULT_GRACE_PERIOD if grace_period is None else validate_grace_period(grace_period)
        self._checker: Optional["LeakChecker"] = None
        self.leaks: List["Leak"] = []

    def __enter__(self) -> "LeakCheck":
        from memlint._leaks.checker import LeakChecker

        if self._checker is not None:
            raise RuntimeError("a LeakCheck is not re-entrant; create a new one for each block")
        checker = LeakChecker(allow=self.allow, grace_period=self.grace_period)
        checker.start()
        self._checker = checker
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        checker, self._checker = self._checker, None
        if checker is None:
            return
        if exc_type is not None:
            checker.close()
            return
        self.leaks = checker.stop()
        if self.leaks:
            raise LeakError(self.leaks)

    async def __aenter__(self) -> "LeakCheck":
        return self.__enter__()

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        self.__exit__(exc_type, exc, tb)

    def close(self) -> None:
        """Abandon a running check without reporting (safe to call at any time)."""
        checker, self._checker = self._checker, None
        if checker is not None:
            checker.close()

    def __call__(self, func: F) -> F:
        """Decorator form: each call of ``func`` runs under a fresh check.

        For an ``async def`` function the check spans the coroutine's run (calling it only
        creates the coroutine), for a generator function it spans the generator from its
        first ``next()`` until it is exhausted (closed early, it reports nothing, as a
        block that raises). An async generator function is refused with ``TypeError``.
        """
        allow, grace_period = self.allow, self.grace_period
        if inspect.isasyncgenfunction(func):
            raise TypeError(
                f"leakcheck cannot check the async generator function {func.__qualname__}; "
                "use 'async with memlint.leakcheck():' inside it"
            )
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def checked_coroutine(*args: Any, **kwargs: Any) -> Any:
                with LeakCheck(allow=allow, grace_period=grace_period):
                    return await func(*args, **kwargs)

            return checked_coroutine  # type: ignore[return-value]
        if inspect.isgeneratorfunction(func):

            @functools.wraps(func)
            def checked_generator(*args: Any, **kwargs: Any) -> Any:
                with LeakCheck(allow=allow, grace_period=grace_period):
                    return (yield from func(*args, **kwargs))

            return checked_generator  # type: ignore[return-value]

        @functools.wraps(func)
        def checked(*args: Any, **kwargs: Any) -> Any:
            with LeakCheck(allow=allow, grace_period=grace_period):
                return func(*args, **kwargs)

        return checked  # type: ignore[return-value]


@overload
def leakcheck(func: None = None, *, allow: Sequence[str] = (), grace_period: Optional[float] = None) -> LeakCheck: ...
@overload
def leakcheck(func: F, *, allow: Sequence[str] = (), grace_period: Optional[float] = None) -> F: ...


def leakcheck(
    func: Optional[F] = None, *, allow: Sequence[str] = (), grace_period: Optional[float] = None
) -> Union[LeakCheck, F]:
    """``with leakcheck(): ...``, ``@leakcheck()`` or ``@leakcheck``: raise ``LeakError``
    when the code leaves resources behind.

    ``allow`` holds glob patterns of leaks to accept, either ``"glob"`` (matched against the
    resource's name: path, address, thread name, command line, warning text) or
    ``"kind:glob"`` with kind one of fd, socket, thread, process, temp, resource-warning,
    unraisable. ``grace_period`` (seconds, default 0.5) is how long new threads and child
    processes may take to finish once the code is done (the wait ends sooner once they
    stop making progress). ``async with leakcheck():`` works too.
    """
    check = LeakCheck(allow=allow, grace_period=grace_period)
    return check if func is None else check(func)
